import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSafetensors } from '../../../../electron/engine/graph/index.js';
import { countParams, paramSpecs, studentConfig } from '../../../../electron/engine/model/config.js';
import { stretchPositions } from '../../../../electron/engine/model/longclip.js';
import { initialWeights } from '../../../../electron/engine/model/network.js';
import { loadHfClip, readWeights, saveWeights } from '../../../../electron/engine/model/weights.js';

describe('student configs and parameter counts (from shapes, nothing allocated)', () => {
  it('longclip-b16: CLIP-B/16 backbone sizes, LoRA r=8 on q/k/v/out + MLP, head', () => {
    const n = countParams(studentConfig('longclip-b16'));
    // ViT-B/16 vision tower incl. visual_projection: 86.19M (DESIGN.md: 86.2M)
    expect(n.vision).toBe(86_192_640);
    // text tower with 248 positions: CLIP's 63.43M + 171×512 extra positions
    expect(n.text).toBe(63_515_648);
    // LoRA: per vision layer 8·(4·(768+768) + (768+3072)·2) = 110,592; per text layer 8·(4·1024 + 2·2560) = 73,728
    expect(n.lora).toBe(12 * 110_592 + 12 * 73_728);
    expect(n.trainable).toBe(n.lora + n.head);
    expect(n.total).toBe(n.vision + n.text + n.lora + n.head);
    expect(n.trainable / 1e6).toBeGreaterThan(8.0);
    expect(n.trainable / 1e6).toBeLessThan(9.5); // paper: 8.6M
    expect(n.total / 1e6).toBeGreaterThan(155);
    expect(n.total / 1e6).toBeLessThan(161); // paper: 158M
  });
  it('without LoRA everything trains; overrides are validated', () => {
    const c = studentConfig('tiny', { lora: { rank: 0 } });
    const n = countParams(c);
    expect(n.trainable).toBe(n.total);
    expect(() => studentConfig('tiny', { image: { size: 100 } })).toThrow(/multiple of the patch/);
    expect(() => studentConfig('nope')).toThrow(/unknown student config/);
  });
});

describe('Long-CLIP positional stretch 77 → 248', () => {
  it('keeps the first 20 rows, interpolates ×4, extrapolates the tail', () => {
    const D = 3;
    const t = Float32Array.from({ length: 77 * D }, (_, i) => Math.floor(i / D) ** 2 + (i % D)); // row r = r² + d
    const s = stretchPositions(t, 77, D);
    expect(s.length).toBe(248 * D);
    const row = (r: number) => [...s.subarray(r * D, r * D + D)];
    expect(row(19)).toEqual([361, 362, 363]);
    // position 20 → rows 20..23: p20, ¾p20+¼p21, ½…, ¼p20+¾p21
    expect(row(20)).toEqual([400, 401, 402]);
    expect(row(21)[0]).toBeCloseTo(0.75 * 400 + 0.25 * 441, 4);
    expect(row(23)[0]).toBeCloseTo(0.25 * 400 + 0.75 * 441, 4);
    // position 75 → rows 240..243; the last position 76 → 244..247 extrapolated with step (p76 − p75)/4
    expect(row(240)[0]).toBeCloseTo(75 ** 2, 3);
    expect(row(244)[0]).toBeCloseTo(76 ** 2, 3);
    expect(row(247)[0]).toBeCloseTo(76 ** 2 + (3 * (76 ** 2 - 75 ** 2)) / 4, 3);
  });
});

describe('HF CLIP folders', () => {
  const c = studentConfig('tiny', { text: { contextLength: 248 } });
  const hfConfig = (over: Record<string, unknown> = {}) => ({
    projection_dim: c.embedDim,
    text_config: { hidden_size: 128, num_hidden_layers: 4, num_attention_heads: 4, intermediate_size: 512, vocab_size: 258, max_position_embeddings: 77 },
    vision_config: { hidden_size: 128, num_hidden_layers: 4, num_attention_heads: 4, intermediate_size: 512, image_size: 128, patch_size: 16 },
    ...over,
  });
  /** An HF-style folder: backbone only (no LoRA, no head), 77 text positions, plus logit_scale. */
  async function hfFolder(mutate?: (t: Record<string, { data: Float32Array; shape: number[] }>) => void) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hfclip-'));
    const w = initialWeights(c, { seed: 3 });
    const tensors: Record<string, { data: Float32Array; shape: number[] }> = {};
    for (const s of paramSpecs(c)) {
      if (s.name.includes('lora_') || s.name.startsWith('head.')) continue;
      if (s.name === 'text_model.embeddings.position_embedding.weight') tensors[s.name] = { data: w.get(s.name)!.slice(0, 77 * 128), shape: [77, 128] };
      else tensors[s.name] = { data: w.get(s.name)!, shape: s.shape };
    }
    tensors.logit_scale = { data: Float32Array.of(4.6), shape: [] };
    mutate?.(tensors);
    await writeSafetensors(path.join(dir, 'model.safetensors'), tensors);
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(hfConfig()));
    return { dir, w };
  }

  it('loads by name, stretches 77 → 248, initialises LoRA and head', async () => {
    const { dir, w } = await hfFolder();
    const { weights, report } = loadHfClip(dir, c, { seed: 1, stretch: true });
    expect(report.stretched).toBe(true);
    expect(report.initialised.every((n) => n.includes('lora_') || n.startsWith('head.'))).toBe(true);
    expect(weights.get('text_model.embeddings.position_embedding.weight')!.length).toBe(248 * 128);
    expect(weights.get('vision_model.encoder.layers.2.mlp.fc1.weight')).toEqual(w.get('vision_model.encoder.layers.2.mlp.fc1.weight'));
    // round trip through our own file
    const f = path.join(dir, 'student.safetensors');
    await saveWeights(f, weights, c);
    expect(readWeights(f, c).get('head.rotation.fc2.bias')).toEqual(weights.get('head.rotation.fc2.bias'));
  });

  it('without stretch the 77-row table is a listed shape mismatch', async () => {
    const { dir } = await hfFolder();
    expect(() => loadHfClip(dir, c, { seed: 1 })).toThrow(/max_position_embeddings: 77 vs 248/);
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(hfConfig({ text_config: {} })));
    expect(() => loadHfClip(dir, c, { seed: 1 })).toThrow(/position_embedding.weight: file \[77,128\] vs model \[248,128\] \(stretch not asked\)/);
  });

  it('lists missing, unexpected and mismatched tensors in one error', async () => {
    const { dir } = await hfFolder((t) => {
      delete t['vision_model.encoder.layers.1.self_attn.k_proj.bias'];
      t['vision_model.extra.weight'] = { data: new Float32Array(2), shape: [2] };
      t['text_projection.weight'] = { data: new Float32Array(64 * 128), shape: [64, 128] };
    });
    try {
      loadHfClip(dir, c, { seed: 1, stretch: true });
      expect.unreachable();
    } catch (e) {
      const d = (e as { details: { missing: string[]; unexpected: string[]; mismatched: string[] } }).details;
      expect((e as { code: string }).code).toBe('SHAPE_MISMATCH');
      expect(d.missing).toEqual(['vision_model.encoder.layers.1.self_attn.k_proj.bias']);
      expect(d.unexpected).toEqual(['vision_model.extra.weight']);
      expect(d.mismatched).toEqual(['text_projection.weight: file [64,128] vs model [128,128]']);
    }
  });

  it('a config.json of another architecture is refused with the differences', async () => {
    const { dir } = await hfFolder();
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify(hfConfig({ projection_dim: 512, hidden_act: 'gelu' })));
    expect(() => loadHfClip(dir, c, { seed: 1, stretch: true })).toThrow(/projection_dim: 512 vs 128; hidden_act: gelu vs quick_gelu/);
  });
});
