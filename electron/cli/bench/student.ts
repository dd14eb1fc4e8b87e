import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ActionStats } from '../../engine/data/normalize.js';
import * as ort from 'onnxruntime-node';
import { InferSession, TrainSession, emitOnnx, writeSafetensors } from '../../engine/graph/index.js';
import { quantizeInt8 } from '../../engine/model/quantize.js';
import { type StudentConfig, countParams, formatCount, paramSpecs, studentConfig } from '../../engine/model/config.js';
import { buildSplitPolicyGraphs, buildPolicyGraph } from '../../engine/model/policy.js';
import { saveWeights } from '../../engine/model/weights.js';
import { buildStudentTrainStep } from '../../engine/train/loss.js';
import { Rng } from '../../engine/util/rng.js';
import { type BenchReport, type BenchRow, flag, summarize, timeSamples } from './report.js';
import { PeerProcess } from './peer-process.js';

/**
 * `npm run bench -- student`: for `tiny` and `longclip-b16` (random weights: timing only), parameter
 * counts, the dual-path train step (λ = 0.5, LoRA + head trainable, AdamW, clipping; batch 32 tiny /
 * 8 b16), inference at batch 1 (with the text features cached per episode, the control-loop path, and
 * with the text tower included), and peak RSS. Peer: PyTorch 1.13 eager (test/python/student_ref.py)
 * on the same weights, shapes and thread count. Flags: --threads N, --quick (tiny only), --no-b16-train.
 */
const PYTHON = '/usr/bin/python3';
const REF = fileURLToPath(new URL('../../../test/python/student_ref.py', import.meta.url));


/** Cheap random weights for timing (a 32-bit LCG; the seeded Rng is too slow for 158M values). */
export function timingWeights(c: StudentConfig): Map<string, Float32Array> {
  let s = 12345;
  const out = new Map<string, Float32Array>();
  for (const p of paramSpecs(c)) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    const a = new Float32Array(n);
    if (/norm\d?\.weight$|layrnorm\.weight$|layernorm\.weight$/.test(p.name)) a.fill(1);
    else for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      a[i] = (s / 4294967296 - 0.5) * 0.04;
    }
    out.set(p.name, a);
  }
  return out;
}

const STATS: ActionStats = { q01: [-1, -1, -1, -1, -1, -1, -1], q99: [1, 1, 1, 1, 1, 1, 1], mean: new Array(7).fill(0), std: new Array(7).fill(1), min: new Array(7).fill(-1), max: new Array(7).fill(1), count: 1 };

function tokenRows(c: StudentConfig, B: number, T: number, rng: Rng): BigInt64Array {
  const t = new BigInt64Array(B * T);
  for (let b = 0; b < B; b++) {
    const len = Math.max(3, T - 4);
    t[b * T] = BigInt(c.text.sotToken);
    for (let i = 1; i < len - 1; i++) t[b * T + i] = BigInt(rng.int(c.text.eotToken - 1));
    t[b * T + len - 1] = BigInt(c.text.eotToken);
  }
  return t;
}

/** Median of the samples; the minimum is kept in `fastest` (on 2 shared cores the median moves with the other tenants' load). */
const fastest = new Map<string, number>();
async function timeIt(f: () => Promise<unknown>, warmup: number, iters: number, label?: string): Promise<number> {
  const s = await timeSamples(f, warmup, iters);
  if (label) fastest.set(label, Math.min(...s));
  return summarize(s).median;
}

interface CaseResult { rows: BenchRow[]; extra: Record<string, unknown> }

async function benchConfig(c: StudentConfig, o: { batch: number; trainText: number; maskedRows: number; maskedText: number; inferText: number; threads: number; train: boolean; trainIters: number; inferIters: number }): Promise<CaseResult> {
  const rows: BenchRow[] = [];
  const n = countParams(c);
  const extra: Record<string, unknown> = { params: n };
  const rng = new Rng(1);
  const w = timingWeights(c);
  const S = c.image.size;
  const B = o.batch;
  const pixelsB = Float32Array.from({ length: B * 3 * S * S }, () => rng.int(256));
  const tokensB = tokenRows(c, B, o.trainText, rng);
  const ro = { ep: 'cpu' as const, threads: o.threads };

  let trainMs = Number.NaN;
  if (o.train) {
    const graph = buildStudentTrainStep(c, w, { batch: B, textLength: o.trainText, maskedRows: o.maskedRows, maskedLength: o.maskedText, lambda: 0.5, weightDecay: 0.01, clipNorm: 1 });
    const sess = await TrainSession.create(graph, ro);
    const K = c.head.chunk;
    const feeds = {
      pixels: { data: pixelsB, dims: [B, 3, S, S] },
      tokens: { data: tokensB, dims: [B, o.trainText] },
      masked_tokens: { data: tokenRows(c, o.maskedRows, o.maskedText, rng), dims: [o.maskedRows, o.maskedText] },
      masked_index: { data: BigInt64Array.from({ length: B }, (_, i) => BigInt(i % o.maskedRows)), dims: [B] },
      targets: { data: BigInt64Array.from({ length: B * K * 7 }, () => BigInt(rng.int(256))), dims: [B, K, 7] },
      weights: { data: new Float32Array(B * K * 7).fill(1 / B), dims: [B, K, 7] },
    };
    trainMs = await timeIt(() => sess.step(feeds, 1e-4), 1, o.trainIters);
    await sess.dispose();
  }

  // inference at batch 1: cached text features (control loop) and the whole policy graph
  const split = buildSplitPolicyGraphs(c, w, STATS, o.inferText);
  const img = await InferSession.create(split.image.g, split.image.outputs, ro);
  const txt = await InferSession.create(split.text.g, split.text.outputs, ro);
  const full = buildPolicyGraph(c, w, STATS, o.inferText);
  const fullSess = await InferSession.create(full.g, full.outputs, ro);
  const p1 = { data: pixelsB.subarray(0, 3 * S * S), dims: [1, 3, S, S] };
  const t1 = { data: tokenRows(c, 1, o.inferText, rng), dims: [1, o.inferText] };
  const te = (await txt.run({ tokens: t1 })).text_embeds.data as Float32Array;
  const cachedRun = () => img.run({ pixels: p1, text_embeds: { data: te, dims: [1, c.embedDim] } });
  const fullRun = () => fullSess.run({ pixels: p1, tokens: t1 });

  // The PyTorch peer on the same weights and inputs, kept running so its inference runs alternate with ours.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'student-bench-'));
  let peer: { infer_ms?: number; infer_cached_text_ms?: number; train_step_ms?: number } = {};
  let server: PeerProcess | null = null;
  await saveWeights(path.join(dir, 'w.safetensors'), w, c);
  w.clear();
  writeFileSync(path.join(dir, 'cfg.json'), JSON.stringify(c));
  // forward inputs: batch 1 at the inference text length (the peer's train bench reuses them at batch B)
  await writeSafetensors(path.join(dir, 'in.safetensors'), { pixels: { data: pixelsB, shape: [B, 3, S, S] }, tokens: { data: tokensB, shape: [B, o.trainText] } });
  await writeSafetensors(path.join(dir, 'in1.safetensors'), { pixels: { data: Float32Array.from(p1.data), shape: [1, 3, S, S] }, tokens: { data: t1.data, shape: [1, o.inferText] } });
  const refArgs = (inputs: string) => [REF, path.join(dir, 'cfg.json'), path.join(dir, 'w.safetensors'), path.join(dir, inputs), path.join(dir, 'out.safetensors'), '--threads', String(o.threads)];
  try {
    server = await PeerProcess.start(PYTHON, [...refArgs('in1.safetensors'), '--serve']);
  } catch (e) {
    extra.peerError = (e as Error).message;
  }
  // Interleaved in rounds of 2 runs a side: ours cached, peer cached, ours full, peer full.
  const samples = { cached: [] as number[], full: [] as number[], peerCached: [] as number[], peerFull: [] as number[] };
  await timeSamples(cachedRun, 2, 0);
  await timeSamples(fullRun, 2, 0);
  for (let r = 0; r < Math.ceil(o.inferIters / 2); r++) {
    samples.cached.push(...(await timeSamples(cachedRun, 0, 2)));
    if (server) samples.peerCached.push(...((await server.ask('cached 2')).cached as number[]));
    samples.full.push(...(await timeSamples(fullRun, 0, 2)));
    if (server) samples.peerFull.push(...((await server.ask('full 2')).full as number[]));
  }
  server?.close();
  fastest.set(`${c.name}:cached`, Math.min(...samples.cached));
  const cachedMs = summarize(samples.cached).median;
  const fullMs = summarize(samples.full).median;
  if (samples.peerFull.length) peer = { infer_cached_text_ms: summarize(samples.peerCached).median, infer_ms: summarize(samples.peerFull).median };
  extra.interleaved = { rounds: Math.ceil(o.inferIters / 2), perRoundAndSide: 2 };
  const textMs = await timeIt(() => txt.run({ tokens: t1 }), 1, Math.max(3, o.inferIters >> 1));
  // int8 image path (DynamicQuantizeMatMul), and how often its next-action tokens match fp32 on random frames
  const q = quantizeInt8(emitOnnx(split.image.g, { outputs: split.image.outputs, contrib: true }).bytes);
  const qs = await ort.InferenceSession.create(q.bytes, { executionProviders: ['cpu'], graphOptimizationLevel: 'all', executionMode: 'sequential', interOpNumThreads: 1, intraOpNumThreads: o.threads });
  const teT = new ort.Tensor('float32', te, [1, c.embedDim]);
  const int8Ms = await timeIt(() => qs.run({ pixels: new ort.Tensor('float32', p1.data, p1.dims), text_embeds: teT }), 2, o.inferIters, `${c.name}:int8`);
  let agree = 0;
  const frames = 8;
  for (let f = 0; f < frames; f++) {
    const px = Float32Array.from({ length: 3 * S * S }, () => rng.int(256));
    const a = (await img.run({ pixels: { data: px, dims: [1, 3, S, S] }, text_embeds: { data: te, dims: [1, c.embedDim] } })).bins.data as Float32Array;
    const b = (await qs.run({ pixels: new ort.Tensor('float32', px, [1, 3, S, S]), text_embeds: teT })).bins.data as Float32Array;
    for (let d = 0; d < 7; d++) agree += a[d] === b[d] ? 1 : 0;
  }
  extra.int8 = { quantizedMatMuls: q.quantized.length, bytes: q.bytes.length, nextActionTokenAgreementRandomWeights: agree / (7 * frames) };
  await qs.release();
  await Promise.all([img.dispose(), txt.dispose(), fullSess.dispose()]);

  // The train step's peer: one process, after ours (a train step is seconds, long against the load's swings).
  try {
    if (o.train) {
      const r = spawnSync(PYTHON, [...refArgs('in.safetensors'), '--train-bench', String(o.trainIters), '--masked', String(o.maskedRows), String(o.maskedText)], { encoding: 'utf8', maxBuffer: 16 << 20 });
      if (r.status !== 0) throw new Error(`student_ref.py failed: ${r.stderr.slice(-2000)}`);
      const out = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { train_step_ms?: number });
      peer = { ...peer, train_step_ms: out.find((x) => x.train_step_ms !== undefined)?.train_step_ms };
    }
  } catch (e) {
    extra.peerError = (e as Error).message;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const name = c.name;
  rows.push({ name: `${name} params total`, unit: 'params', ours: n.total, note: formatCount(n.total) });
  rows.push({ name: `${name} params trainable (LoRA ${formatCount(n.lora)} + head ${formatCount(n.head)})`, unit: 'params', ours: n.trainable, note: name === 'longclip-b16' ? 'paper: 8.6M' : undefined });
  if (o.train) rows.push({ name: `${name} train step b${B} (dual path; full text ${o.trainText} tokens, ${o.maskedRows} instructions × ${o.maskedText})`, unit: 'ms/step', ours: trainMs, peer: peer.train_step_ms, peerName: 'PyTorch 1.13', ratio: peer.train_step_ms ? trainMs / peer.train_step_ms : undefined });
  rows.push({ name: `${name} inference b1, text features cached`, unit: 'ms/step', ours: cachedMs, peer: peer.infer_cached_text_ms, peerName: 'PyTorch 1.13', ratio: peer.infer_cached_text_ms ? cachedMs / peer.infer_cached_text_ms : undefined, target: name === 'longclip-b16' ? '≤ 80 ms on 2 cores' : undefined, note: `fastest ${fastest.get(`${name}:cached`)?.toFixed(1)} ms` });
  rows.push({ name: `${name} inference b1, text features cached, int8 matmuls`, unit: 'ms/step', ours: int8Ms, target: name === 'longclip-b16' ? '≤ 80 ms on 2 cores' : undefined, note: `fastest ${fastest.get(`${name}:int8`)?.toFixed(1)} ms; next-action token agreement with fp32 on random frames/weights ${(agree / (7 * frames)).toFixed(3)}` });
  rows.push({ name: `${name} inference b1, text tower included (${o.inferText} tokens)`, unit: 'ms/step', ours: fullMs, peer: peer.infer_ms, peerName: 'PyTorch 1.13', ratio: peer.infer_ms ? fullMs / peer.infer_ms : undefined });
  rows.push({ name: `${name} text features alone (${o.inferText} tokens)`, unit: 'ms', ours: textMs });
  rows.push({ name: `${name} peak RSS so far`, unit: 'MiB', ours: process.resourceUsage().maxRSS / 1024 });
  return { rows, extra };
}

export default async function studentBench(args: string[]): Promise<BenchReport> {
  const threads = Number(flag(args, '--threads') ?? os.cpus().length);
  const quick = args.includes('--quick');
  const rows: BenchRow[] = [];
  // 2 shared cores: the load at start and end says how much to trust the timings
  const extra: Record<string, unknown> = { threads, loadAverageAtStart: os.loadavg() };
  const tiny = await benchConfig(studentConfig('tiny'), { batch: 32, trainText: 248, maskedRows: 10, maskedText: 64, inferText: 128, threads, train: true, trainIters: quick ? 2 : 5, inferIters: quick ? 10 : 30 });
  rows.push(...tiny.rows);
  extra.tiny = tiny.extra;
  const step = tiny.rows.find((r) => r.name.startsWith('tiny train step'))?.ours;
  if (step) {
    // the issue's budget: 30 epochs in 15 minutes → frames per epoch that fit (validation not counted)
    rows.push({ name: 'tiny frames per epoch for 30 epochs in 15 min (b32)', unit: 'frames', ours: Math.floor((15 * 60 * 1000) / 30 / step) * 32, note: 'from the measured train step' });
  }
  if (!quick) {
    const b16 = await benchConfig(studentConfig('longclip-b16'), { batch: 8, trainText: 96, maskedRows: 8, maskedText: 32, inferText: 248, threads, train: !args.includes('--no-b16-train'), trainIters: 2, inferIters: 10 });
    rows.push(...b16.rows);
    extra.b16 = b16.extra;
  }
  extra.loadAverageAtEnd = os.loadavg();
  return { suite: 'student', command: `npm run bench -- student ${args.join(' ')}`.trim(), rows, extra };
}
