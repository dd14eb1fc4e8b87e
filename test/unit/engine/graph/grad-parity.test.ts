import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gradients } from '../../../../electron/engine/graph/autodiff.js';
import { GraphBuilder } from '../../../../electron/engine/graph/builder.js';
import { emitOnnx } from '../../../../electron/engine/graph/emit.js';
import type { Tensor } from '../../../../electron/engine/graph/ir.js';
import * as nn from '../../../../electron/engine/graph/nn.js';
import { Rng } from '../../../../electron/engine/util/rng.js';
import { type Arr, type OracleResult, dec, enc, graphCase, ortFeed, relErr, resolveDim, runOracle } from './oracle.js';

/**
 * Gradient parity with torch.autograd: every op of the table (and a LoRA pre-norm block) is built here,
 * differentiated by our autodiff, emitted to ONNX and run on onnxruntime; the oracle runs the same
 * computation with torch's native functions. Gradients of every trainable input must agree within 1e-4
 * (norm-wise relative, float32).
 */
const TOL = 1e-4;

interface Case {
  name: string;
  g: GraphBuilder;
  out: Tensor;
  inputs: Record<string, { data: Arr; shape: number[] }>;
  bind?: Record<string, number>;
  /** Extra spec for the oracle (the block case is native torch, not a serialized graph). */
  oracle?: (cot: Float32Array) => unknown;
}

const rng = new Rng(1234);
const rand = (n: number, lo = -1, hi = 1) => Float32Array.from({ length: n }, () => rng.uniform(lo, hi));
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** Build one case: `p(shape)` makes a trainable param with random values (optionally positive). */
function mk(name: string, build: (g: GraphBuilder, p: (shape: number[], lo?: number, hi?: number) => Tensor) => Tensor | [Tensor, Case['inputs']], bind?: Record<string, number>): Case {
  const g = new GraphBuilder();
  let k = 0;
  const p = (shape: number[], lo = -1, hi = 1) => g.param(`p${k++}`, shape, rand(size(shape), lo, hi));
  const r = build(g, p);
  const [out, inputs] = Array.isArray(r) ? r : [r, {}];
  return { name, g, out, inputs, bind };
}

const ints = (n: number, hi: number) => BigInt64Array.from({ length: n }, () => BigInt(rng.int(hi)));

const cases: Case[] = [
  mk('Add broadcast [2,3,4]+[4]', (g, p) => g.add(p([2, 3, 4]), p([4]))),
  mk('Add broadcast [2,3,4]+[3,1]', (g, p) => g.add(p([2, 3, 4]), p([3, 1]))),
  mk('Sub broadcast [2,3]-[1,3]', (g, p) => g.sub(p([2, 3]), p([1, 3]))),
  mk('Mul broadcast [2,3,4]*[2,1,4]', (g, p) => g.mul(p([2, 3, 4]), p([2, 1, 4]))),
  mk('Div broadcast', (g, p) => g.div(p([2, 3, 4]), p([3, 1], 0.5, 1.5))),
  mk('Pow constant exponent', (g, p) => g.pow(p([3, 4], 0.5, 1.5), 3)),
  mk('Pow tensor exponent', (g, p) => g.pow(p([3, 4], 0.5, 1.5), p([4], 0.5, 2))),
  mk('Min broadcast', (g, p) => g.min(p([3, 4]), p([4]))),
  mk('Max with a scalar (ReLU-like, ties at 0 excluded)', (g, p) => g.max(p([3, 4]), 0.1)),
  mk('Neg', (g, p) => g.neg(p([3, 4]))),
  mk('Exp', (g, p) => g.exp(p([3, 4]))),
  mk('Log', (g, p) => g.log(p([3, 4], 0.2, 2))),
  mk('Sqrt', (g, p) => g.sqrt(p([3, 4], 0.2, 2))),
  mk('Reciprocal', (g, p) => g.reciprocal(p([3, 4], 0.5, 2))),
  mk('Tanh', (g, p) => g.tanh(p([3, 4], -2, 2))),
  mk('Sigmoid', (g, p) => g.sigmoid(p([3, 4], -3, 3))),
  mk('Relu', (g, p) => g.relu(p([3, 4]))),
  mk('Erf', (g, p) => g.erf(p([3, 4], -2, 2))),
  mk('Gelu (erf)', (g, p) => g.gelu(p([3, 5], -3, 3))),
  mk('QuickGelu', (g, p) => g.quickGelu(p([3, 5], -3, 3))),
  mk('MatMul [2,3,4]@[4,5] (shared weight)', (g, p) => g.matmul(p([2, 3, 4]), p([4, 5]))),
  mk('MatMul batched [2,3,4]@[2,4,5]', (g, p) => g.matmul(p([2, 3, 4]), p([2, 4, 5]))),
  mk('MatMul broadcast batch [2,1,3,4]@[3,4,5]', (g, p) => g.matmul(p([2, 1, 3, 4]), p([3, 4, 5]))),
  mk('MatMul transA', (g, p) => g.matmul(p([2, 4, 3]), p([2, 4, 5]), { transA: true })),
  mk('MatMul transB (shared weight)', (g, p) => g.matmul(p([2, 3, 4]), p([5, 4]), { transB: true })),
  mk('MatMul transA transB', (g, p) => g.matmul(p([4, 3]), p([5, 4]), { transA: true, transB: true })),
  mk('Gemm (transB, alpha, beta, bias)', (g, p) => g.gemm(p([3, 4]), p([5, 4]), p([5]), { transB: true, alpha: 0.5, beta: 2 })),
  mk('Softmax last axis', (g, p) => g.softmax(p([2, 3, 5], -2, 2))),
  mk('Softmax axis 1', (g, p) => g.softmax(p([2, 3, 5], -2, 2), 1)),
  mk('LogSoftmax', (g, p) => g.logSoftmax(p([2, 3, 5], -2, 2))),
  mk('LayerNorm', (g, p) => g.layerNorm(p([2, 3, 8], -2, 2), p([8], 0.5, 1.5), p([8]))),
  mk('Reshape', (g, p) => g.mul(g.reshape(p([2, 3, 4]), [6, 4]), p([6, 4]))),
  mk('Transpose', (g, p) => g.transpose(p([2, 3, 4]), [2, 0, 1])),
  mk('Concat', (g, p) => g.concat([p([2, 3]), p([2, 5])], 1)),
  mk('Slice', (g, p) => g.slice(p([4, 6]), 1, 1, 4)),
  mk('Split', (g, p) => {
    const [a, b, c] = g.split(p([6, 4]), 0, [1, 2, 3]);
    return g.concat([g.mul(a, 2), g.exp(b), c], 0);
  }),
  mk('Gather (embedding, repeated rows)', (g, p) => {
    const idx = g.input('idx', 'int64', [2, 5]);
    return [g.gather(p([7, 4]), idx), { idx: { data: BigInt64Array.from([0n, 3n, 3n, 6n, 1n, 3n, 0n, 2n, 6n, 6n]), shape: [2, 5] } }];
  }),
  mk('ReduceSum axis 1', (g, p) => g.reduceSum(p([2, 3, 4]), [1])),
  mk('ReduceSum keepdims', (g, p) => g.reduceSum(p([2, 3, 4]), [0, 2], true)),
  mk('ReduceMean all', (g, p) => g.reduceMean(p([2, 3, 4]))),
  mk('ReduceMean axis -1 keepdims', (g, p) => g.reduceMean(p([2, 3, 4]), [-1], true)),
  mk('ReduceMax axis -1', (g, p) => g.reduceMax(p([2, 3, 4]), [-1])),
  mk('Where', (g, p) => {
    const c = p([3, 4]);
    return g.where(g.greater(c, 0), g.mul(c, p([4])), p([3, 1]));
  }),
  mk('Cast + Greater (mask product)', (g, p) => {
    const x = p([3, 4]);
    return g.mul(x, g.cast(g.greater(x, 0.2), 'float32'));
  }),
  mk('Expand', (g, p) => g.mul(g.expand(p([3, 1]), [2, 3, 4]), p([2, 3, 4]))),
  mk('Attention with causal mask', (g, p) => nn.attention(g, p([2, 2, 5, 4]), p([2, 2, 5, 4]), p([2, 2, 5, 4]), { mask: nn.causalMask(g, 5) })),
  mk('Dropout (fed mask)', (g, p) => {
    const y = g.dropout(p([4, 6]), 0.5, 'd');
    const mask = Float32Array.from({ length: 24 }, (_, i) => (i % 3 ? 2 : 0));
    return [g.tanh(y), { 'dropout_mask:d': { data: mask, shape: [4, 6] } }];
  }),
  mk('Weighted cross-entropy', (g, p) => {
    const t = g.input('t', 'int64', [2, 3]);
    const w = g.input('w', 'float32', [2, 3]);
    return [g.reshape(nn.crossEntropy(g, p([2, 3, 5], -2, 2), t, w), [1]), { t: { data: ints(6, 5), shape: [2, 3] }, w: { data: rand(6, 0.1, 2), shape: [2, 3] } }];
  }),
  mk('Conv2d patch embedding (stride = kernel)', (g, p) => g.conv2d(p([2, 3, 8, 8]), p([4, 3, 4, 4]), p([4]))),
  mk('Symbolic batch: x[B,6,4]·W + b, reshape [-1,5]', (g, p) => {
    const x = g.input('x', 'float32', ['B', 6, 4]);
    return [g.reshape(g.add(g.matmul(x, p([4, 5])), p([5])), [-1, 5]), { x: { data: rand(3 * 24), shape: [3, 6, 4] } }];
  }, { B: 3 }),
  mk('Symbolic batch: mean over B (run-time count)', (g, p) => {
    const x = g.input('x', 'float32', ['B', 4]);
    return [g.reduceMean(g.tanh(g.matmul(x, p([4, 3]))), [0]), { x: { data: rand(5 * 4), shape: [5, 4] } }];
  }, { B: 5 }),
];

/** The LoRA pre-norm block: ours (composition) vs torch's own multi-head attention with merged LoRA. */
function blockCase(act: 'gelu' | 'quick_gelu'): Case {
  const g = new GraphBuilder();
  const W = 16;
  const T = 5;
  const heads = 2;
  const prm = nn.blockParams(g, 'blk', { width: W, heads, loraRank: 4, loraAlpha: 8 }, new Rng(7), 0.2);
  const xInit = rand(2 * T * W);
  const x = g.param('x', [2, T, W], xInit);
  const mask = nn.causalMask(g, T);
  const out = nn.preNormBlock(g, x, prm, { heads, mask, act });
  const maskValues = Float32Array.from({ length: T * T }, (_, i) => (i % T > Math.floor(i / T) ? -1e9 : 0));
  return {
    name: `pre-norm block with LoRA (${act})`, g, out, inputs: {},
    oracle: (cot) => ({
      kind: 'block', prefix: 'blk', heads, act, lora_scale: prm.lora!.scale,
      params: Object.fromEntries(g.params.filter((p) => p.name !== 'x').map((p) => [p.name, { ...enc(p.init, p.shape), trainable: p.trainable }])),
      inputs: { x: enc(xInit, [2, T, W]) },
      mask: enc(maskValues, [T, T]),
      cotangent: enc(cot, [2, T, W]),
    }),
  };
}
cases.push(blockCase('quick_gelu'), blockCase('gelu'));

interface Ours { output: Float32Array; grads: Record<string, Float32Array> }

/** Our gradients, run twice: with com.microsoft fused ops (default) and with standard ONNX ops only. */
async function runOurs(c: Case, cot: Float32Array): Promise<[Ours, Ours]> {
  const { g, out } = c;
  const shape = out.shape.map((d) => resolveDim(d, c.bind ?? {}));
  const seed = g.input('cotangent', 'float32', out.shape);
  const trainable = g.params.filter((p) => p.trainable);
  const grads = gradients(g, out, trainable.map((p) => p.tensor), seed);
  const outputs: Record<string, Tensor> = { out };
  for (const p of trainable) outputs[`grad:${p.name}`] = grads.get(p.tensor)!;
  const feeds: Record<string, ort.Tensor> = { cotangent: ortFeed(cot, shape) };
  for (const [k, v] of Object.entries(c.inputs)) feeds[k] = ortFeed(v.data, v.shape);
  const run = async (contrib: boolean): Promise<Ours> => {
    const model = emitOnnx(g, { outputs, contrib });
    const s = await ort.InferenceSession.create(model.bytes, { intraOpNumThreads: 1 });
    const r = await s.run(Object.fromEntries(s.inputNames.map((n) => [n, feeds[n]])));
    return {
      output: r.out.data as Float32Array,
      grads: Object.fromEntries(trainable.map((p) => [p.name, r[`grad:${p.name}`].data as Float32Array])),
    };
  };
  return [await run(true), await run(false)];
}

describe('gradient parity with torch.autograd (1e-4 relative, float32)', () => {
  const ours: Ours[] = [];
  const oursStd: Ours[] = [];
  let theirs: OracleResult[] = [];
  beforeAll(async () => {
    const specs: unknown[] = [];
    for (const c of cases) {
      const n = c.out.shape.reduce<number>((a, d) => a * resolveDim(d, c.bind ?? {}), 1);
      const cot = rand(n);
      // serialize the forward graph before our backward nodes are appended to it
      specs.push(c.oracle ? c.oracle(cot) : graphCase(c.g, c.out, c.inputs, cot, c.bind));
      const [fused, std] = await runOurs(c, cot);
      ours.push(fused);
      oursStd.push(std);
    }
    theirs = runOracle(specs);
  });

  const worst = { err: 0, where: '' };
  afterAll(() => console.info(`gradient parity: worst norm-wise relative error ${worst.err.toExponential(2)} (${worst.where}) over ${cases.length} cases`));

  cases.forEach((c, i) => {
    it(c.name, () => {
      const t = theirs[i];
      expect(relErr(ours[i].output, dec(t.output!)), 'forward output').toBeLessThan(TOL);
      const names = Object.keys(ours[i].grads);
      expect(names.length).toBeGreaterThan(0);
      for (const name of names) {
        expect(t.grads![name], `oracle has a gradient for ${name}`).toBeDefined();
        const err = relErr(ours[i].grads[name], dec(t.grads![name]));
        if (err > worst.err) Object.assign(worst, { err, where: `${c.name}: ${name}` });
        expect(relErr(oursStd[i].grads[name], dec(t.grads![name])), `gradient of ${name}, standard ops only`).toBeLessThan(TOL);
        expect(err, `gradient of ${name}`).toBeLessThan(TOL);
      }
    });
  });

  it('computes no gradient for frozen inputs (LoRA block: base weights frozen)', () => {
    const g = new GraphBuilder();
    const prm = nn.blockParams(g, 'blk', { width: 8, heads: 2, loraRank: 2 }, new Rng(1));
    const x = g.input('x', 'float32', ['B', 3, 8]);
    const loss = g.reduceSum(nn.preNormBlock(g, x, prm, { heads: 2 }));
    const before = g.nodes.length;
    const trainable = g.params.filter((p) => p.trainable);
    expect(trainable.map((p) => p.name).sort()).toEqual(['blk.lora_q.A', 'blk.lora_q.B', 'blk.lora_v.A', 'blk.lora_v.B']);
    gradients(g, loss, trainable.map((p) => p.tensor));
    // no backward node produces a tensor shaped like a frozen fc weight (its gradient was never built)
    const gradNodes = g.nodes.slice(before);
    expect(gradNodes.length).toBeGreaterThan(0);
    expect(gradNodes.some((n) => n.outputs[0].shape.join(',') === '8,32' || n.outputs[0].shape.join(',') === '32,8')).toBe(false);
  });
});
