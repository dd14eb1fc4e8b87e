import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { LabError } from '../../../../electron/engine/errors.js';
import {
  GraphBuilder, InferSession, TrainSession, buildTrainStep, decodeModel, decodeSafetensors, emitOnnx, encodeSafetensors, nn,
  selectExecutionProvider, stateName, toFloat32,
} from '../../../../electron/engine/graph/index.js';
import { Rng } from '../../../../electron/engine/util/rng.js';
import { buildMlp, buildTransformer } from './models.js';
import { PYTHON } from './oracle.js';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'graph-test-'));

function catchErr(f: () => unknown): LabError {
  try {
    f();
  } catch (e) {
    if (e instanceof LabError) return e;
    throw e;
  }
  throw new Error('expected a LabError');
}

function mlpBatch(seed: number, B = 8) {
  const rng = new Rng(seed);
  return {
    x: { data: Float32Array.from({ length: B * 8 }, () => rng.normal()), dims: [B, 8] },
    y: { data: BigInt64Array.from({ length: B }, () => BigInt(rng.int(4))), dims: [B] },
    w: { data: Float32Array.from({ length: B }, () => 1), dims: [B] },
  };
}

describe('IR and shape inference', () => {
  it('names the op, the shapes and the caller line on a shape mismatch', () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', ['B', 197, 768]);
    const w = g.param('w', [512, 768], new Float32Array(512 * 768));
    const e = catchErr(() => g.matmul(x, w));
    expect(e.code).toBe('SHAPE_MISMATCH');
    expect(e.message).toContain('MatMul');
    expect(e.message).toContain('[B, 197, 768]');
    expect(e.message).toContain('[512, 768]');
    expect(String(e.details.where)).toContain('graph.test.ts');
  });

  it('rejects non-broadcastable elementwise ops, bad reshapes, bad params and unknown ops', () => {
    const g = new GraphBuilder();
    const a = g.input('a', 'float32', [2, 3]);
    const b = g.input('b', 'float32', [4, 3]);
    expect(catchErr(() => g.add(a, b)).code).toBe('SHAPE_MISMATCH');
    expect(catchErr(() => g.reshape(a, [4, 2])).message).toMatch(/Reshape/);
    expect(catchErr(() => g.param('p', [2, 2], new Float32Array(3))).code).toBe('SHAPE_MISMATCH');
    const u = catchErr(() => g.op('FancyConv', [a]));
    expect(u.code).toBe('UNSUPPORTED');
    expect(u.message).toContain('FancyConv');
    expect(catchErr(() => g.input('a', 'float32', [1])).code).toBe('INVALID_INPUT');
  });

  it('infers symbolic shapes through reshape and matmul', () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', ['B', 64, 256]);
    const y = g.reshape(x, [-1, 256]);
    expect(y.shape).toEqual(['B*64', 256]);
    expect(g.matmul(x, g.param('w', [256, 10], () => 0)).shape).toEqual(['B', 64, 10]);
    expect(nn.splitHeads(g, x, 4).shape).toEqual(['B', 4, 64, 64]);
  });
});

describe('ONNX emission', () => {
  it('feeds trainable params and moments as pure inputs and keeps frozen weights as initializers', () => {
    const g = new GraphBuilder();
    const prm = nn.blockParams(g, 'blk', { width: 8, heads: 2, loraRank: 2 }, new Rng(1));
    const x = g.input('x', 'float32', ['B', 3, 8]);
    const loss = g.reduceMean(nn.preNormBlock(g, x, prm, { heads: 2 }));
    const tg = buildTrainStep(g, loss);
    const m = emitOnnx(g, { outputs: tg.outputs, paramInputs: new Set(tg.trainable.map((p) => p.name)) });
    const model = decodeModel(m.bytes) as { opsetImport: { domain?: string; version: number }[]; graph: { input: { name: string }[]; initializer: { name: string }[]; output: { name: string }[] } };
    const inputs = new Set(model.graph.input.map((i) => i.name));
    const inits = new Set(model.graph.initializer.map((i) => i.name));
    for (const p of tg.trainable) for (const n of [p.name, stateName.m(p.name), stateName.v(p.name)]) {
      expect(inputs.has(n), n).toBe(true);
      expect(inits.has(n), n).toBe(false);
    }
    expect(inits.has('blk.fc1.weight')).toBe(true);
    expect([...inputs].filter((n) => inits.has(n))).toEqual([]);
    expect(model.graph.output.map((o) => o.name)).toContain(`next:${tg.trainable[0].name}`);
    expect(model.opsetImport.find((o) => !o.domain)?.version).toBeLessThanOrEqual(26);
  });

  it('emits models that onnx.checker accepts (python3-onnx, full check)', () => {
    const dir = tmp();
    const files: string[] = [];
    for (const contrib of [false, true]) {
      const { g, loss, logits } = buildTransformer(3, { vocab: 11, seq: 4, width: 8, heads: 2, layers: 1, classes: 3 });
      const tg = buildTrainStep(g, loss, { clipNorm: 1 });
      for (const [name, outs, pin] of [['train', tg.outputs, new Set(tg.trainable.map((p) => p.name))], ['infer', { logits }, new Set<string>()]] as const) {
        const f = path.join(dir, `${name}-${contrib ? 'contrib' : 'std'}.onnx`);
        writeFileSync(f, emitOnnx(g, { outputs: outs, paramInputs: pin, contrib }).bytes);
        files.push(f);
      }
    }
    const checker = fileURLToPath(new URL('../../../python/onnx_check.py', import.meta.url));
    const r = spawnSync(PYTHON, [checker, ...files], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`onnx.checker needs Debian python3-onnx: ${r.stderr || r.error?.message}`);
    const res = JSON.parse(r.stdout) as { results: { file: string; ok: boolean; error?: string }[] };
    for (const x of res.results) expect(x.error ?? 'ok', x.file).toBe('ok');
  });

  it('moves frozen weights to an external data file above the threshold, with the same results', async () => {
    const { g, logits } = buildMlp(4, { training: false });
    const dir = tmp();
    const x = mlpBatch(1).x;
    const inline = await InferSession.create(g, { logits }, { ep: 'cpu' });
    const ext = await InferSession.create(g, { logits }, { ep: 'cpu', externalDataThreshold: 0, modelDir: dir });
    expect(inline.model.externalData).toBeUndefined();
    expect(ext.model.externalData?.data.byteLength).toBe((8 * 32 + 32 + 32 * 4 + 4) * 4);
    expect(existsSync(path.join(dir, 'weights.bin'))).toBe(true);
    const a = (await inline.run({ x })).logits.data as Float32Array;
    const b = (await ext.run({ x })).logits.data as Float32Array;
    expect(Array.from(b)).toEqual(Array.from(a));
  });
});

describe('runtime', () => {
  it('selects an execution provider and says why', async () => {
    const auto = await selectExecutionProvider('auto');
    expect(['cpu', 'cuda']).toContain(auto.ep);
    expect(auto.reason.length).toBeGreaterThan(5);
    expect((await selectExecutionProvider('cpu')).ep).toBe('cpu');
  });

  it('trains, and an InferSession with the trained values reproduces the training logits', async () => {
    const { g, loss, logits } = buildMlp(2);
    const s = await TrainSession.create(buildTrainStep(g, loss, {}, { logits }), { ep: 'cpu', threads: 1 });
    const batch = mlpBatch(3);
    const first = await s.step(batch, 1e-2);
    let last = first;
    for (let i = 0; i < 30; i++) last = await s.step(batch, 1e-2);
    expect(last.loss).toBeLessThan(first.loss * 0.8);
    const inf = await InferSession.create(g, { logits }, { ep: 'cpu', threads: 1, paramValues: s.paramValues() });
    const after = await s.step(batch, 0); // lr 0: params unchanged, logits of the current params
    const r = (await inf.run({ x: batch.x })).logits.data as Float32Array;
    const t = after.outputs.logits.data as Float32Array;
    for (let i = 0; i < r.length; i++) expect(r[i]).toBeCloseTo(t[i], 5);
  });

  it('rejects a non-finite step, keeps the state, and goes on', async () => {
    const { g, loss } = buildMlp(2);
    const s = await TrainSession.create(buildTrainStep(g, loss), { ep: 'cpu', threads: 1 });
    await s.step(mlpBatch(1), 1e-3);
    const before = new Map([...s.paramValues()].map(([k, v]) => [k, Float32Array.from(v)]));
    const bad = mlpBatch(2);
    bad.x.data[3] = Number.NaN;
    await expect(s.step(bad, 1e-3)).rejects.toMatchObject({ code: 'NON_FINITE' });
    expect(s.stepCount).toBe(1);
    for (const [k, v] of s.paramValues()) expect(Array.from(v)).toEqual(Array.from(before.get(k)!));
    const ok = await s.step(mlpBatch(2), 1e-3);
    expect(Number.isFinite(ok.loss)).toBe(true);
    expect(s.stepCount).toBe(2);
  });

  it('is deterministic for a fixed seed on CPU (dropout included) and differs for another seed', async () => {
    const o = { vocab: 13, seq: 5, width: 8, heads: 2, layers: 2, classes: 3, dropout: 0.3 };
    const rng = new Rng(9);
    const batch = {
      tokens: { data: BigInt64Array.from({ length: 4 * 5 }, () => BigInt(rng.int(13))), dims: [4, 5] },
      y: { data: BigInt64Array.from([0n, 1n, 2n, 1n]), dims: [4] },
      w: { data: Float32Array.from([1, 1, 1, 1]), dims: [4] },
    };
    const run = async (seed: number) => {
      const { g, loss } = buildTransformer(1, o);
      expect(g.dropouts.length).toBe(4);
      const s = await TrainSession.create(buildTrainStep(g, loss), { ep: 'cpu', threads: 2, seed });
      const losses = [];
      for (let i = 0; i < 3; i++) losses.push((await s.step(batch, 1e-2)).loss);
      return { losses, params: [...s.paramValues().values()].map((v) => Array.from(v)) };
    };
    const a = await run(42);
    const b = await run(42);
    const c = await run(43);
    expect(b).toEqual(a);
    expect(c.losses).not.toEqual(a.losses);
  });

  it('draws dropout masks of rate p scaled by 1/(1−p), also on a reshaped (B·4) dim', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', ['B', 4, 50]);
    const w = g.param('w', [50], () => 1);
    const y = g.dropout(g.reshape(g.mul(x, w), [-1, 50]), 0.25, 'd');
    expect(y.shape).toEqual(['B*4', 50]);
    const s = await TrainSession.create(buildTrainStep(g, g.reduceSum(y), {}, { y }), { ep: 'cpu', threads: 1, seed: 3 });
    const r = await s.step({ x: { data: new Float32Array(10 * 200).fill(1), dims: [10, 4, 50] } }, 0);
    const v = r.outputs.y.data as Float32Array;
    expect(r.outputs.y.dims).toEqual([40, 50]);
    const zeros = v.filter((e) => e === 0).length / v.length;
    expect(zeros).toBeGreaterThan(0.2);
    expect(zeros).toBeLessThan(0.3);
    expect(v.every((e) => e === 0 || Math.abs(e - 1 / 0.75) < 1e-6)).toBe(true);
  });

  it('saves and resumes a checkpoint exactly, and refuses one of another graph without touching state', async () => {
    const dir = tmp();
    const mk = async () => {
      const { g, loss } = buildMlp(5);
      return TrainSession.create(buildTrainStep(g, loss, { clipNorm: 1 }), { ep: 'cpu', threads: 1, seed: 7 });
    };
    const a = await mk();
    for (let i = 0; i < 3; i++) await a.step(mlpBatch(i), 1e-2);
    await a.save(path.join(dir, 'ckpt'), { note: 'test' });
    for (let i = 3; i < 5; i++) await a.step(mlpBatch(i), 1e-2);

    const b = await mk();
    const meta = await b.load(path.join(dir, 'ckpt'));
    expect(meta.step).toBe(3);
    expect(meta.seed).toBe(7);
    expect(b.stepCount).toBe(3);
    for (let i = 3; i < 5; i++) await b.step(mlpBatch(i), 1e-2);
    for (const [k, v] of a.paramValues()) expect(Array.from(b.paramValues().get(k)!)).toEqual(Array.from(v));

    // another graph: a wider hidden layer
    const { g, loss } = buildMlp(5, { hidden: 16 });
    const other = await TrainSession.create(buildTrainStep(g, loss), { ep: 'cpu', threads: 1 });
    const keep = Array.from(other.paramValues().get('fc1.weight')!);
    const err = await other.load(path.join(dir, 'ckpt')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabError);
    expect((err as LabError).code).toBe('SHAPE_MISMATCH');
    expect((err as LabError).message).toContain('fc1.weight');
    expect(Array.from(other.paramValues().get('fc1.weight')!)).toEqual(keep);
    expect(other.stepCount).toBe(0);
  });
});

describe('safetensors', () => {
  it('round-trips tensors and metadata, with an 8-byte aligned header', () => {
    const f = Float32Array.from([1.5, -2, 3.25]);
    const i = BigInt64Array.from([1n, -2n]);
    const buf = encodeSafetensors({ a: { data: f, shape: [3] }, b: { data: i, shape: [1, 2] } }, { step: '3' });
    expect((8 + Number(buf.readBigUInt64LE(0))) % 8).toBe(0);
    const { tensors, metadata } = decodeSafetensors(buf);
    expect(metadata).toEqual({ step: '3' });
    expect(tensors.get('a')).toMatchObject({ dtype: 'F32', shape: [3] });
    expect(Array.from(tensors.get('a')!.data as Float32Array)).toEqual([1.5, -2, 3.25]);
    expect(Array.from(tensors.get('b')!.data as BigInt64Array)).toEqual([1n, -2n]);
  });

  it('reads files written by the Python safetensors layout rules (header + offsets) and rejects corrupt ones', () => {
    const good = encodeSafetensors({ w: { data: Float32Array.from([1, 2, 3, 4]), shape: [2, 2] } });
    expect(() => decodeSafetensors(good.subarray(0, 5))).toThrow(/8-byte/);
    const bad = Buffer.from(good);
    bad.writeBigUInt64LE(10n ** 9n, 0);
    expect(catchErr(() => decodeSafetensors(bad, 'x.safetensors')).code).toBe('CORRUPT_FILE');
    const truncated = good.subarray(0, good.length - 4);
    expect(catchErr(() => decodeSafetensors(truncated)).message).toMatch(/offsets/);
    const dir = tmp();
    writeFileSync(path.join(dir, 'w.safetensors'), good);
    expect(readFileSync(path.join(dir, 'w.safetensors')).length).toBe(good.length);
  });
});

describe('safetensors float conversion', () => {
  it('converts F16 and BF16 weights to float32', () => {
    // 1.0, -2.0, 0.5, 65504 (max half), a subnormal (2^-24)
    const f16 = Uint16Array.from([0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001]);
    expect(Array.from(toFloat32({ dtype: 'F16', shape: [5], data: f16 }))).toEqual([1, -2, 0.5, 65504, 2 ** -24]);
    const bf16 = Uint16Array.from([0x3f80, 0xc040]); // 1.0, -3.0
    expect(Array.from(toFloat32({ dtype: 'BF16', shape: [2], data: bf16 }))).toEqual([1, -3]);
  });
});

describe('bad feeds', () => {
  it('names the input whose fed shape differs from the graph', async () => {
    const { g, logits } = buildMlp(1, { training: false });
    const inf = await InferSession.create(g, { logits }, { ep: 'cpu' });
    await expect(inf.run({ x: { data: new Float32Array(8 * 7), dims: [8, 7] } })).rejects.toMatchObject({ code: 'SHAPE_MISMATCH', details: { name: 'x' } });
    await expect(inf.run({})).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });
});

describe('ORT tensors as state', () => {
  it('passes step outputs on as the next inputs without copying them in JS', async () => {
    const { g, loss } = buildMlp(8);
    const s = await TrainSession.create(buildTrainStep(g, loss), { ep: 'cpu', threads: 1 });
    await s.step(mlpBatch(1), 1e-3);
    const t = s.stateTensor('fc1.weight')!;
    expect(t).toBeInstanceOf(ort.Tensor);
    expect(s.paramValues().get('fc1.weight')).toBe(t.data);
  });
});
