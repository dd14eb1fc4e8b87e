import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InferSession, readSafetensors, writeSafetensors } from '../../../../electron/engine/graph/index.js';
import { type StudentConfig, studentConfig } from '../../../../electron/engine/model/config.js';
import { buildStudent, initialWeights } from '../../../../electron/engine/model/network.js';
import { saveWeights } from '../../../../electron/engine/model/weights.js';
import { Rng } from '../../../../electron/engine/util/rng.js';

const PYTHON = '/usr/bin/python3';
const REF = fileURLToPath(new URL('../../../python/student_ref.py', import.meta.url));

/** Random pixels and token rows of different lengths (SOT … EOT then zeros), EOT the largest id. */
function inputs(c: StudentConfig, B: number, T: number, seed: number) {
  const rng = new Rng(seed);
  const S = c.image.size;
  const pixels = Float32Array.from({ length: B * 3 * S * S }, () => rng.int(256));
  const tokens = new BigInt64Array(B * T);
  for (let b = 0; b < B; b++) {
    const len = 3 + rng.int(T - 3);
    tokens[b * T] = BigInt(c.text.sotToken);
    for (let i = 1; i < len - 1; i++) tokens[b * T + i] = BigInt(rng.int(c.text.eotToken - 1));
    tokens[b * T + len - 1] = BigInt(c.text.eotToken);
  }
  return { pixels, tokens };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function parity(c: StudentConfig, B: number, T: number) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'student-parity-'));
  // LoRA B non-zero so the adapters take part in the comparison
  const weights = initialWeights(c, { seed: 11, loraBStd: 0.02 });
  const { pixels, tokens } = inputs(c, B, T, 5);
  await saveWeights(path.join(dir, 'w.safetensors'), weights, c);
  await writeSafetensors(path.join(dir, 'in.safetensors'), { pixels: { data: pixels, shape: [B, 3, c.image.size, c.image.size] }, tokens: { data: tokens, shape: [B, T] } });
  writeFileSync(path.join(dir, 'cfg.json'), JSON.stringify(c));
  const r = spawnSync(PYTHON, [REF, ...['cfg.json', 'w.safetensors', 'in.safetensors', 'out.safetensors'].map((f) => path.join(dir, f))], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`student_ref.py failed (needs Debian python3-torch): ${r.stderr || r.error?.message}`);
  const ref = readSafetensors(path.join(dir, 'out.safetensors')).tensors;

  const s = buildStudent(c, weights, { batch: B, textLength: T, frozen: true });
  const sess = await InferSession.create(s.g, { image_embeds: s.imageEmbeds, text_embeds: s.textEmbeds, logits: s.logits }, { ep: 'cpu', threads: 1 });
  const out = await sess.run({ pixels: { data: pixels, dims: [B, 3, c.image.size, c.image.size] }, tokens: { data: tokens, dims: [B, T] } });
  const diffs: Record<string, number> = {};
  for (const k of ['image_embeds', 'text_embeds', 'logits']) {
    const ours = out[k].data as Float32Array;
    expect(out[k].dims).toEqual(ref.get(k)!.shape);
    diffs[k] = maxAbsDiff(ours, ref.get(k)!.data as Float32Array);
  }
  console.log(`parity ${c.name} vision ${c.vision.layers} layers, text ${c.text.layers}: max |diff| ${JSON.stringify(diffs)}`);
  return diffs;
}

describe('student network vs the PyTorch re-implementation (test/python/student_ref.py)', () => {
  it('tiny: vision, text and head outputs agree within 1e-4', async () => {
    const d = await parity(studentConfig('tiny'), 2, 24);
    expect(d.image_embeds).toBeLessThan(1e-4);
    expect(d.text_embeds).toBeLessThan(1e-4);
    expect(d.logits).toBeLessThan(1e-4);
  }, 60_000);

  it('longclip-b16 shapes at reduced depth (1 layer per tower, 224 px, 248 tokens, vocab 49,408) agree within 1e-4', async () => {
    const c = studentConfig('longclip-b16', { vision: { layers: 1 }, text: { layers: 1 } });
    const d = await parity(c, 1, 248);
    expect(d.image_embeds).toBeLessThan(1e-4);
    expect(d.text_embeds).toBeLessThan(1e-4);
    expect(d.logits).toBeLessThan(1e-4);
  }, 120_000);
});
