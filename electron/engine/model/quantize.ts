import { LabError } from '../errors.js';
import { ModelProto } from '../graph/onnx-proto.js';
import { type StudentConfig, paramSpecs } from './config.js';
import type { Weights } from './network.js';

/**
 * Inference-only rewrites of the deployable policy.
 *
 * `mergeLora`: W' = W + (α/r)·B·A folded into every adapted linear (torch layout), and a config with
 * rank 0, so the policy graph has no adapter matmuls.
 *
 * `quantizeInt8`: every MatMul whose right operand is a 2-D float initializer of at least `minElements`
 * becomes com.microsoft DynamicQuantizeMatMul: weights int8, symmetric, one scale per output column;
 * activations quantized per tensor at run time by ORT (its int8 GEMMs use AVX-512 VNNI / AMX where the
 * CPU has them). The rewrite works on the serialized ModelProto, so it applies to any graph we emit.
 */
export function mergeLora(c: StudentConfig, weights: Weights): { config: StudentConfig; weights: Map<string, Float32Array> } {
  if (c.lora.rank === 0) return { config: c, weights: new Map(weights) };
  const scale = c.lora.alpha / c.lora.rank;
  const r = c.lora.rank;
  const out = new Map<string, Float32Array>();
  for (const s of paramSpecs(c)) {
    if (s.name.includes('.lora_')) continue;
    const w = weights.get(s.name);
    if (!w) throw new LabError('NOT_FOUND', `mergeLora: missing ${s.name}`, { name: s.name });
    const base = s.name.replace(/\.weight$/, '');
    const A = weights.get(`${base}.lora_A.weight`);
    const B = weights.get(`${base}.lora_B.weight`);
    if (!A || !B) {
      out.set(s.name, w);
      continue;
    }
    const [o, i] = s.shape;
    const m = Float32Array.from(w);
    for (let q = 0; q < o; q++)
      for (let k = 0; k < r; k++) {
        const b = scale * B[q * r + k];
        if (b === 0) continue;
        for (let p = 0; p < i; p++) m[q * i + p] += b * A[k * i + p];
      }
    out.set(s.name, m);
  }
  return { config: { ...c, lora: { ...c.lora, rank: 0 } }, weights: out };
}

interface TensorMsg { name: string; dims: (number | { toNumber(): number })[]; dataType: number; rawData?: Uint8Array; floatData?: number[] }
interface NodeMsg { opType: string; domain?: string; input: string[]; output: string[]; name?: string }

/**
 * Weights left in fp32 by default: the tri-stream head. Its output matmul writes the 256-bin logits
 * directly, so its rounding error moves argmax ties; it is ~4 % of the b16 student's weights and a
 * smaller share of its FLOPs (one row per step against 197 tokens per vision layer).
 */
export const KEEP_FLOAT = /^head\./;

const INT8 = 3;
const FLOAT = 1;

export function quantizeInt8(bytes: Uint8Array, opts: { minElements?: number; keepFloat?: RegExp } = {}): { bytes: Uint8Array; quantized: string[] } {
  const minElements = opts.minElements ?? 4096;
  const keepFloat = opts.keepFloat ?? KEEP_FLOAT;
  const model = ModelProto.decode(bytes) as unknown as { graph: { node: NodeMsg[]; initializer: TensorMsg[] }; opsetImport: { domain?: string; version: number | { toNumber(): number } }[] };
  const inits = new Map(model.graph.initializer.map((t) => [t.name, t]));
  const uses = new Map<string, number>();
  for (const n of model.graph.node) for (const i of n.input) uses.set(i, (uses.get(i) ?? 0) + 1);
  const quantized: string[] = [];
  const drop = new Set<string>();
  const added: TensorMsg[] = [];
  for (const n of model.graph.node) {
    if (n.opType !== 'MatMul' || (n.domain && n.domain !== '')) continue;
    const w = inits.get(n.input[1]);
    if (!w || w.dataType !== FLOAT || w.dims.length !== 2 || !w.rawData) continue;
    const [K, N] = w.dims.map(Number);
    if (K * N < minElements || keepFloat.test(w.name)) continue;
    const raw = w.rawData;
    const f = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    const scale = new Float32Array(N);
    for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) scale[j] = Math.max(scale[j], Math.abs(f[k * N + j]));
    for (let j = 0; j < N; j++) scale[j] = scale[j] > 0 ? scale[j] / 127 : 1;
    const q = new Int8Array(K * N);
    for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) q[k * N + j] = Math.max(-127, Math.min(127, Math.round(f[k * N + j] / scale[j])));
    const base = w.name;
    const qName = `${base}:int8`;
    if (!inits.has(qName)) {
      added.push({ name: qName, dims: [K, N], dataType: INT8, rawData: new Uint8Array(q.buffer) });
      added.push({ name: `${base}:scale`, dims: [N], dataType: FLOAT, rawData: new Uint8Array(scale.buffer) });
      added.push({ name: `${base}:zero`, dims: [N], dataType: INT8, rawData: new Uint8Array(N) });
      inits.set(qName, added[added.length - 3]);
    }
    n.opType = 'DynamicQuantizeMatMul';
    n.domain = 'com.microsoft';
    n.input = [n.input[0], qName, `${base}:scale`, `${base}:zero`];
    const left = (uses.get(base) ?? 1) - 1;
    uses.set(base, left);
    if (left === 0) drop.add(base);
    quantized.push(base);
  }
  if (!quantized.length) throw new LabError('INVALID_INPUT', 'quantizeInt8: no MatMul with a float weight initializer to quantize', {});
  model.graph.initializer = [...model.graph.initializer.filter((t) => !drop.has(t.name)), ...added];
  if (!model.opsetImport.some((o) => o.domain === 'com.microsoft')) model.opsetImport.push({ domain: 'com.microsoft', version: 1 });
  return { bytes: ModelProto.encode(model as never).finish(), quantized };
}
