import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { InferSession, decodeModel, emitOnnx } from '../../../../electron/engine/graph/index.js';
import { studentConfig } from '../../../../electron/engine/model/config.js';
import { buildStudent, initialWeights } from '../../../../electron/engine/model/network.js';
import { mergeLora, quantizeInt8 } from '../../../../electron/engine/model/quantize.js';
import { Rng } from '../../../../electron/engine/util/rng.js';

const c = studentConfig('tiny', { vision: { layers: 2 }, text: { layers: 2 } });
const rng = new Rng(9);
const B = 2;
const T = 16;
const pixels = Float32Array.from({ length: B * 3 * 128 * 128 }, () => rng.int(256));
const tokens = BigInt64Array.from({ length: B * T }, (_, i) => BigInt(i % T === 0 ? 256 : i % T === 9 ? 257 : i % T < 9 ? 97 + (i % 20) : 0));
const feeds = { pixels: { data: pixels, dims: [B, 3, 128, 128] }, tokens: { data: tokens, dims: [B, T] } };

async function logits(cfg: typeof c, w: ReadonlyMap<string, Float32Array>) {
  const s = buildStudent(cfg, w, { batch: B, textLength: T, frozen: true });
  const sess = await InferSession.create(s.g, { logits: s.logits }, { ep: 'cpu', threads: 1 });
  return { s, data: (await sess.run(feeds)).logits.data as Float32Array };
}

describe('inference rewrites of the policy', () => {
  it('mergeLora: folding the adapters into the weights gives the same logits, with no adapter left', async () => {
    const w = initialWeights(c, { seed: 4, loraBStd: 0.05 });
    const a = await logits(c, w);
    const m = mergeLora(c, w);
    expect(m.config.lora.rank).toBe(0);
    expect([...m.weights.keys()].some((k) => k.includes('lora_'))).toBe(false);
    const b = await logits(m.config, m.weights);
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < a.data.length; i++) {
      diff = Math.max(diff, Math.abs(a.data[i] - b.data[i]));
      scale = Math.max(scale, Math.abs(a.data[i]));
    }
    expect(scale).toBeGreaterThan(0.1);
    expect(diff).toBeLessThan(1e-4);
    // and the adapters did matter: without them the logits differ
    const noLora = new Map(w);
    for (const k of noLora.keys()) if (k.endsWith('lora_B.weight')) noLora.set(k, new Float32Array(noLora.get(k)!.length));
    const z = await logits(c, noLora);
    expect(Math.max(...a.data.map((v, i) => Math.abs(v - z.data[i])))).toBeGreaterThan(1e-3);
  }, 60_000);

  it('quantizeInt8: every weight MatMul of the towers becomes DynamicQuantizeMatMul, the head stays fp32, and the logits stay close', async () => {
    const m = mergeLora(c, initialWeights(c, { seed: 4, loraBStd: 0.05 }));
    const s = buildStudent(m.config, m.weights, { batch: B, textLength: T, frozen: true });
    const fp = emitOnnx(s.g, { outputs: { logits: s.logits }, contrib: true });
    const q = quantizeInt8(fp.bytes);
    // 6 linears per block × 4 blocks, 2 projections; the head's 2 per stream × 3 streams are kept (KEEP_FLOAT)
    expect(q.quantized.length).toBe(6 * 4 + 2);
    expect(q.quantized.some((n) => n.startsWith('head.'))).toBe(false);
    // Asked to, the head is quantized too.
    const all = quantizeInt8(fp.bytes, { keepFloat: /^$/ });
    expect(all.quantized.length).toBe(6 * 4 + 2 + 6);
    expect(all.bytes.length).toBeLessThan(fp.bytes.length * 0.5);
    const nodes = decodeModel(q.bytes).graph as { node: { opType: string }[] };
    expect(nodes.node.filter((n) => n.opType === 'DynamicQuantizeMatMul')).toHaveLength(q.quantized.length);
    expect(q.bytes.length).toBeLessThan(fp.bytes.length); // the tiny head is half the weights, kept fp32
    const run = async (bytes: Uint8Array) => {
      const sess = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
      return (await sess.run({ pixels: new ort.Tensor('float32', pixels, [B, 3, 128, 128]), tokens: new ort.Tensor('int64', tokens, [B, T]) })).logits.data as Float32Array;
    };
    const a = await run(fp.bytes);
    const b = await run(q.bytes);
    let num = 0;
    let den = 0;
    for (let i = 0; i < a.length; i++) {
      num += (a[i] - b[i]) ** 2;
      den += a[i] ** 2;
    }
    expect(Math.sqrt(num / den)).toBeLessThan(0.05); // relative L2 error of the logits
    expect(Math.sqrt(num / den)).toBeGreaterThan(0); // it really is quantized
  }, 60_000);
});
