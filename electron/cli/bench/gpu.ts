import { spawnSync } from 'node:child_process';
import os from 'node:os';
import type { ActionStats } from '../../engine/data/normalize.js';
import { LabError } from '../../engine/errors.js';
import { type CudaReadiness, type EpName, InferSession, TrainSession, cudaMissingMessage, cudaReadiness, selectExecutionProvider } from '../../engine/graph/index.js';
import { type StudentConfig, studentConfig } from '../../engine/model/config.js';
import { buildStudent } from '../../engine/model/network.js';
import { buildPolicyGraph, buildSplitPolicyGraphs } from '../../engine/model/policy.js';
import { buildStudentTrainStep } from '../../engine/train/loss.js';
import { Rng } from '../../engine/util/rng.js';
import { type BenchReport, type BenchRow, flag, summarize, timeSamples } from './report.js';
import { timingWeights } from './student.js';

/**
 * `npm run bench -- gpu [--frames N] [--threads N] [--no-train] [--quick]`: the CUDA execution provider against the
 * CPU one, on a machine with CUDA (a lent GPU):
 * - parity of the `tiny` and `longclip-b16` students (seeded-random weights, no downloads; the whole
 *   network, text tower included, batch 1): max |Δ logit| and agreement of the action tokens (argmax bins,
 *   all K×7 and the next action's 7) over N random frames (default 4);
 * - longclip-b16 inference at batch 1 (text features cached, the control loop's path; and text tower
 *   included), CUDA vs CPU in the same run;
 * - a longclip-b16 dual-path train step at batch 32 (full text 248 tokens), on CUDA.
 * `--quick`: the tiny student alone, for parity and the timings (a first check, a minute).
 * Writes docs/bench/gpu.json and a line in docs/BENCHMARKS.md (as every suite). Without CUDA it measures
 * nothing and writes nothing: it fails with the typed UNSUPPORTED error naming each missing piece
 * (cudaReadiness: provider library and where it was looked for, driver, libcudart 12, cuBLAS, cuDNN 9) and
 * how to install them, so `npm run bench -- gpu` exits with code 1. The provider is found where
 * `npm run install:cuda` puts it (beside onnxruntime-node's libonnxruntime); files in $VLA_AD_ORT_CUDA_DIR
 * are reported and linked there by `VLA_AD_ORT_CUDA_DIR=<folder> npm run install:cuda`.
 */

const STATS: ActionStats = { q01: [-1, -1, -1, -1, -1, -1, -1], q99: [1, 1, 1, 1, 1, 1, 1], mean: new Array(7).fill(0), std: new Array(7).fill(1), min: new Array(7).fill(-1), max: new Array(7).fill(1), count: 1 };

function tokenRows(c: StudentConfig, B: number, T: number, rng: Rng): BigInt64Array {
  const t = new BigInt64Array(B * T);
  for (let b = 0; b < B; b++) {
    const len = Math.max(3, T - 4 - rng.int(Math.max(1, T >> 2)));
    t[b * T] = BigInt(c.text.sotToken);
    for (let i = 1; i < len - 1; i++) t[b * T + i] = BigInt(rng.int(c.text.eotToken - 1));
    t[b * T + len - 1] = BigInt(c.text.eotToken);
  }
  return t;
}

export interface LogitParity {
  frames: number;
  maxAbsLogitDiff: number;
  /** Share of all K×7 action tokens (argmax bin) equal between CPU and CUDA. */
  tokenAgreement: number;
  /** Share of the next action's 7 tokens equal. */
  nextActionTokenAgreement: number;
}

/** Compares two runs' logits [frames][K·7·bins]: max |Δ| and argmax agreement per (k, d). */
export function compareLogits(a: readonly Float32Array[], b: readonly Float32Array[], bins: number): LogitParity {
  let maxAbs = 0;
  let same = 0;
  let total = 0;
  let nextSame = 0;
  let nextTotal = 0;
  a.forEach((la, f) => {
    const lb = b[f];
    for (let i = 0; i < la.length; i++) maxAbs = Math.max(maxAbs, Math.abs(la[i] - lb[i]));
    for (let t = 0; t < la.length / bins; t++) {
      let ia = 0;
      let ib = 0;
      for (let k = 1; k < bins; k++) {
        if (la[t * bins + k] > la[t * bins + ia]) ia = k;
        if (lb[t * bins + k] > lb[t * bins + ib]) ib = k;
      }
      total++;
      same += ia === ib ? 1 : 0;
      if (t < 7) {
        nextTotal++;
        nextSame += ia === ib ? 1 : 0;
      }
    }
  });
  return { frames: a.length, maxAbsLogitDiff: maxAbs, tokenAgreement: same / Math.max(1, total), nextActionTokenAgreement: nextSame / Math.max(1, nextTotal) };
}

async function parity(c: StudentConfig, weights: ReadonlyMap<string, Float32Array>, frames: number, threads: number, gpu: EpName): Promise<LogitParity> {
  const T = c.text.contextLength;
  const S = c.image.size;
  const rng = new Rng(7);
  const inputs = Array.from({ length: frames }, () => ({
    pixels: { data: Float32Array.from({ length: 3 * S * S }, () => rng.int(256)), dims: [1, 3, S, S] },
    tokens: { data: tokenRows(c, 1, T, rng), dims: [1, T] },
  }));
  const run = async (ep: EpName) => {
    const st = buildStudent(c, weights, { batch: 1, textLength: T, frozen: true });
    const s = await InferSession.create(st.g, { logits: st.logits }, { ep, threads });
    try {
      const out: Float32Array[] = [];
      for (const f of inputs) out.push(Float32Array.from((await s.run(f)).logits.data as Float32Array));
      return out;
    } finally {
      await s.dispose();
    }
  };
  return compareLogits(await run('cpu'), await run(gpu), c.head.bins);
}

function gpuName(): string | null {
  const r = spawnSync('nvidia-smi', ['--query-gpu=name,driver_version,memory.total', '--format=csv,noheader'], { encoding: 'utf8', timeout: 20_000 });
  return r.status === 0 ? r.stdout.trim().split('\n')[0] : null;
}

export interface GpuBenchDeps {
  readiness?: () => CudaReadiness;
  select?: typeof selectExecutionProvider;
  /** The EP compared against the CPU (tests: 'cpu', to run every step of the suite on a machine without CUDA). */
  gpuEp?: EpName;
}

export async function gpuBench(args: string[], deps: GpuBenchDeps = {}): Promise<BenchReport> {
  const readiness = (deps.readiness ?? cudaReadiness)();
  const nothing = 'nothing was measured and nothing written (no docs/bench/gpu.json, no BENCHMARKS.md line)';
  if (!readiness.ready) {
    throw new LabError('UNSUPPORTED', `npm run bench -- gpu: no usable CUDA on this machine; ${nothing}. ${cudaMissingMessage(readiness, 'the GPU check', '')}`, {
      suite: 'gpu',
      missing: readiness.missing.map((m) => m.id),
      pieces: readiness.pieces.map(({ id, ok, detail }) => ({ id, ok, detail })),
    });
  }
  const epLog: string[] = [];
  try {
    await (deps.select ?? selectExecutionProvider)('cuda', (m) => epLog.push(m));
  } catch (e) {
    if (e instanceof LabError) throw new LabError(e.code, `npm run bench -- gpu: ${nothing}. ${e.message}`, { ...e.details, suite: 'gpu' });
    throw e;
  }

  const gpu: EpName = deps.gpuEp ?? 'cuda';
  const threads = Number(flag(args, '--threads') ?? os.cpus().length);
  const frames = Number(flag(args, '--frames') ?? 4);
  const quick = args.includes('--quick');
  // the timings are of longclip-b16 (the paper's student); --quick: tiny only, parity and timings
  const timed = quick ? 'tiny' : 'longclip-b16';
  const rows: BenchRow[] = [];
  const extra: Record<string, unknown> = { gpu: gpuName(), threads, frames, quick, readiness: readiness.pieces.map(({ id, detail }) => ({ id, detail })), epLog };
  const E = gpu.toUpperCase();

  for (const name of quick ? ['tiny'] : ['tiny', 'longclip-b16']) {
    const c = studentConfig(name);
    const w = timingWeights(c);
    const p = await parity(c, w, frames, threads, gpu);
    extra[`${name}Parity`] = p;
    rows.push({ name: `${name} CPU vs ${E}: max |Δ logit| (${p.frames} random frames, random weights, text ${c.text.contextLength} tokens)`, unit: 'abs', ours: p.maxAbsLogitDiff, note: `${gpu} vs cpu EP; ORT's CUDA MatMul may use TF32` });
    rows.push({ name: `${name} CPU vs ${E}: action token agreement (all K×7 argmax bins)`, unit: '%', ours: 100 * p.tokenAgreement, target: '≥ 99 %', note: `next action's 7 tokens: ${(100 * p.nextActionTokenAgreement).toFixed(2)} %` });

    if (name !== timed) continue;
    // inference at batch 1: text features cached (the control loop) and the whole policy, CUDA vs CPU
    const rng = new Rng(3);
    const S = c.image.size;
    const T = c.text.contextLength;
    const p1 = { data: Float32Array.from({ length: 3 * S * S }, () => rng.int(256)), dims: [1, 3, S, S] };
    const t1 = { data: tokenRows(c, 1, T, rng), dims: [1, T] };
    const split = buildSplitPolicyGraphs(c, w, STATS, T);
    const cached = { gpu: Number.NaN, cpu: Number.NaN };
    const full = { gpu: Number.NaN, cpu: Number.NaN };
    for (const side of ['gpu', 'cpu'] as const) {
      const ep = side === 'gpu' ? gpu : 'cpu';
      const txt = await InferSession.create(split.text.g, split.text.outputs, { ep, threads });
      const img = await InferSession.create(split.image.g, split.image.outputs, { ep, threads });
      const te = (await txt.run({ tokens: t1 })).text_embeds.data as Float32Array;
      const feeds = { pixels: p1, text_embeds: { data: te, dims: [1, c.embedDim] } };
      cached[side] = summarize(await timeSamples(() => img.run(feeds), 3, side === 'gpu' && !quick ? 50 : 10)).median;
      await Promise.all([txt.dispose(), img.dispose()]);
      const whole = buildPolicyGraph(c, w, STATS, T);
      const ws = await InferSession.create(whole.g, whole.outputs, { ep, threads });
      full[side] = summarize(await timeSamples(() => ws.run({ pixels: p1, tokens: t1 }), 2, side === 'gpu' && !quick ? 30 : 5)).median;
      await ws.dispose();
    }
    rows.push({ name: `${name} inference b1, text features cached, ${E} EP`, unit: 'ms/step', ours: cached.gpu, peer: cached.cpu, peerName: `ORT CPU EP ${threads} threads`, ratio: cached.gpu / cached.cpu });
    rows.push({ name: `${name} inference b1, text tower included (${T} tokens), ${E} EP`, unit: 'ms/step', ours: full.gpu, peer: full.cpu, peerName: `ORT CPU EP ${threads} threads`, ratio: full.gpu / full.cpu });

    if (!args.includes('--no-train')) {
      const B = 32;
      const masked = { rows: 8, length: 32 };
      const graph = buildStudentTrainStep(c, w, { batch: B, textLength: T, maskedRows: masked.rows, maskedLength: masked.length, lambda: 0.5, weightDecay: 0.01, clipNorm: 1 });
      const sess = await TrainSession.create(graph, { ep: gpu, threads });
      const K = c.head.chunk;
      const feeds = {
        pixels: { data: Float32Array.from({ length: B * 3 * S * S }, () => rng.int(256)), dims: [B, 3, S, S] },
        tokens: { data: tokenRows(c, B, T, rng), dims: [B, T] },
        masked_tokens: { data: tokenRows(c, masked.rows, masked.length, rng), dims: [masked.rows, masked.length] },
        masked_index: { data: BigInt64Array.from({ length: B }, (_, i) => BigInt(i % masked.rows)), dims: [B] },
        targets: { data: BigInt64Array.from({ length: B * K * 7 }, () => BigInt(rng.int(c.head.bins))), dims: [B, K, 7] },
        weights: { data: new Float32Array(B * K * 7).fill(1 / B), dims: [B, K, 7] },
      };
      const ms = summarize(await timeSamples(() => sess.step(feeds, 1e-4), quick ? 1 : 2, quick ? 2 : 5)).median;
      await sess.dispose();
      rows.push({ name: `${name} train step b${B} (dual path; full text ${T} tokens, ${masked.rows} instructions × ${masked.length}), ${E} EP`, unit: 'ms/step', ours: ms, note: 'trainable state (LoRA + head + AdamW moments) crosses host ↔ device each step' });
    }
    w.clear();
  }
  return { suite: 'gpu', command: `npm run bench -- gpu ${args.join(' ')}`.trim(), rows, extra };
}

export default function gpuSuite(args: string[]): Promise<BenchReport> {
  return gpuBench(args);
}
