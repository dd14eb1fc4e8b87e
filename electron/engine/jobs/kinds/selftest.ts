import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { z } from 'zod';
import { LabError, parseOr } from '../../errors.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { Rng } from '../../util/rng.js';
import { GraphBuilder, InferSession, TrainSession, buildTrainStep, nn, selectExecutionProvider } from '../../graph/index.js';
import type { JobContext } from '../context.js';
import { SelftestParams } from './selftest-params.js';

/**
 * The engine self-test, a real job end to end: it lists ONNX Runtime's execution providers, compiles a
 * small MLP to ONNX and checks its inference against a plain-JS forward pass, then trains it with the
 * in-graph AdamW on a seeded two-spirals problem, checkpointing as it goes (so it resumes after a kill).
 */

function twoSpirals(rng: Rng, n: number): { x: Float32Array; y: BigInt64Array } {
  const x = new Float32Array(n * 2);
  const y = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const cls = i % 2;
    const t = rng.uniform(0.25, 1) * 3 * Math.PI;
    const r = t / (3 * Math.PI);
    const a = t + cls * Math.PI;
    x[2 * i] = r * Math.cos(a) + rng.normal(0, 0.02);
    x[2 * i + 1] = r * Math.sin(a) + rng.normal(0, 0.02);
    y[i] = BigInt(cls);
  }
  return { x, y };
}

/** The MLP's forward in plain JS, the reference the compiled graph must match. */
function referenceLogits(x: Float32Array, n: number, w1: Float32Array, b1: Float32Array, w2: Float32Array, b2: Float32Array, hidden: number): Float32Array {
  const out = new Float32Array(n * 2);
  const h = new Float64Array(hidden);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < hidden; j++) h[j] = Math.tanh(x[2 * i] * w1[j] + x[2 * i + 1] * w1[hidden + j] + b1[j]);
    for (let c = 0; c < 2; c++) {
      let s = b2[c];
      for (let j = 0; j < hidden; j++) s += h[j] * w2[j * 2 + c];
      out[i * 2 + c] = s;
    }
  }
  return out;
}

/** The `selftest` job's handler: its params checked, then the typed run. */
export const selftestJob = async (ctx: JobContext) => runSelftest(parseOr(SelftestParams, ctx.params, 'selftest: parameter'), ctx);

/** The engine self-test (the typed run). */
export async function runSelftest(p: SelftestParams, ctx: JobContext) {
  const rng = new Rng(p.seed);

  ctx.progress(0.01, 'execution providers');
  const backends = ort.listSupportedBackends().map((b) => b.name);
  const { ep, reason } = await selectExecutionProvider(p.ep, (m) => ctx.log(m));
  ctx.log(`onnxruntime-node backends: ${backends.join(', ')}; using ${ep} (${reason})`);

  ctx.progress(0.03, 'build graph');
  const initRng = rng.fork('init');
  const g = new GraphBuilder();
  // Static batch: the train step's mean loss divides by it.
  const x = g.input('x', 'float32', [p.batch, 2]);
  const y = g.input('y', 'int64', [p.batch]);
  const w1 = g.param('w1', [2, p.hidden], () => initRng.normal(0, 1));
  const b1 = g.param('b1', [p.hidden], () => 0);
  const w2 = g.param('w2', [p.hidden, 2], () => initRng.normal(0, 1 / Math.sqrt(p.hidden)));
  const b2 = g.param('b2', [2], () => 0);
  const logits = nn.linear(g, g.tanh(nn.linear(g, x, w1, b1)), w2, b2);
  const loss = nn.crossEntropy(g, logits, y);

  // Inference against the plain-JS reference, before training touches the weights.
  const test = twoSpirals(rng.fork('test'), p.batch);
  const infer = await InferSession.create(g, { logits }, { ep, seed: p.seed });
  const got = (await infer.run({ x: { data: test.x, dims: [p.batch, 2] } })).logits.data as Float32Array;
  const param = (name: string) => g.params.find((q) => q.name === name)!.init;
  const want = referenceLogits(test.x, p.batch, param('w1'), param('b1'), param('w2'), param('b2'), p.hidden);
  let maxAbsDiff = 0;
  for (let i = 0; i < want.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(got[i] - want[i]));
  if (!(maxAbsDiff < 1e-4)) throw new LabError('INTERNAL', `selftest: compiled inference differs from the reference by ${maxAbsDiff}`, { maxAbsDiff });
  ctx.log(`inference on ${infer.ep} matches the JS reference (max |diff| ${maxAbsDiff.toExponential(2)})`);

  const outDir = ctx.experimentDir ? path.join(ctx.experimentDir, 'selftest') : ctx.jobDir;
  mkdirSync(outDir, { recursive: true });
  await writeFileAtomic(path.join(outDir, 'mlp-inference.onnx'), infer.model.bytes);
  if (ctx.experimentDir) ctx.artifact('onnx-model', 'selftest/mlp-inference.onnx', { nodes: infer.model.nodeCount, ep: infer.ep });

  // Training, resumable from the last checkpoint.
  const train = await TrainSession.create(buildTrainStep(g, loss, { weightDecay: 0.0, clipNorm: 5 }, { logits }), { ep, seed: p.seed });
  const ckpt = path.join(ctx.jobDir, 'train-state');
  let resumedFrom = 0;
  if (existsSync(`${ckpt}.json`)) {
    resumedFrom = (await train.load(ckpt)).step;
    ctx.log(`resumed from checkpoint at step ${resumedFrom}`);
  }
  const data = twoSpirals(rng.fork('train'), p.batch * 16);
  let firstLoss: number | null = null;
  let lastLoss = NaN;
  for (let s = train.stepCount; s < p.steps; s++) {
    ctx.throwIfCancelled();
    const off = (s % 16) * p.batch;
    const r = await train.step(
      { x: { data: data.x.subarray(off * 2, (off + p.batch) * 2), dims: [p.batch, 2] }, y: { data: data.y.subarray(off, off + p.batch), dims: [p.batch] } },
      p.lr,
    );
    firstLoss ??= r.loss;
    lastLoss = r.loss;
    if ((s + 1) % p.checkpointEvery === 0 || s + 1 === p.steps) await train.save(ckpt, { job: ctx.jobId, params: p });
    ctx.progress(0.05 + 0.9 * ((s + 1) / p.steps), `train step ${s + 1}/${p.steps}`);
    // Yield to the event loop so a cancel message is read between steps.
    await new Promise((r) => setImmediate(r));
  }

  ctx.progress(0.97, 'evaluate');
  const trained = await InferSession.create(g, { logits }, { ep, paramValues: train.paramValues() });
  const out = (await trained.run({ x: { data: test.x, dims: [p.batch, 2] } })).logits.data as Float32Array;
  let correct = 0;
  for (let i = 0; i < p.batch; i++) if ((out[2 * i + 1] > out[2 * i] ? 1n : 0n) === test.y[i]) correct++;
  const result = {
    backends,
    ep,
    epReason: reason,
    inferenceMaxAbsDiff: maxAbsDiff,
    steps: p.steps,
    resumedFrom,
    firstLoss,
    lastLoss,
    testAccuracy: correct / p.batch,
    seed: p.seed,
  };
  ctx.log(`trained ${p.steps} steps: loss ${firstLoss?.toFixed(4) ?? '(resumed)'} → ${lastLoss.toFixed(4)}, test accuracy ${(result.testAccuracy * 100).toFixed(1)}%`);
  ctx.progress(1, 'done');
  return result;
}
