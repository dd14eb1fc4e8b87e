import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GraphBuilder, InferSession, TrainSession, buildTrainStep, nn, selectExecutionProvider } from '../../engine/graph/index.js';
import type { EpName, Feed, Tensor } from '../../engine/graph/index.js';
import { Rng } from '../../engine/util/rng.js';
import { type BenchReport, type BenchRow, flag, summarize, timeSamples } from './report.js';

/**
 * `npm run bench -- graph`: train step (forward + backward + AdamW, clipping on) and inference step of
 * (a) a 2-layer pre-norm transformer classifier, width 256, 4 heads, MLP 1024, batch 32, seq 64, over
 * float inputs [32, 64, 256]; (b) one ViT-B/16 block (197 tokens, width 768, 12 heads, MLP 3072,
 * QuickGELU) at batch 8 with an MSE loss. Ours (onnxruntime-node) vs PyTorch 1.13 eager
 * (test/python/bench_graph.py) on the same shapes and thread count. Flags: --quick, --threads N, --ep cpu|cuda|auto.
 */
interface Case {
  name: string;
  kind: 'transformer' | 'vit_block';
  batch: number; seq: number; width: number; heads: number; mlp: number;
  layers?: number; classes?: number;
  warmup: number; iters: number;
}


function buildCase(c: Case, rng: Rng) {
  const g = new GraphBuilder({ training: true });
  const x = g.input('x', 'float32', ['B', c.seq, c.width]);
  const small = () => rng.uniform(-0.05, 0.05);
  const opts = { width: c.width, heads: c.heads, mlpRatio: c.mlp / c.width };
  let h: Tensor = x;
  let out: Tensor;
  let loss: Tensor;
  const feeds: Record<string, Feed> = { x: { data: Float32Array.from({ length: c.batch * c.seq * c.width }, () => rng.normal()), dims: [c.batch, c.seq, c.width] } };
  if (c.kind === 'transformer') {
    for (let i = 0; i < (c.layers ?? 2); i++) h = nn.preNormBlock(g, h, nn.blockParams(g, `layers.${i}`, opts, rng), { heads: c.heads, act: 'quick_gelu' });
    const lnw = g.param('ln_f.weight', [c.width], () => 1);
    const lnb = g.param('ln_f.bias', [c.width], () => 0);
    const pooled = g.reduceMean(g.layerNorm(h, lnw, lnb), [1]);
    out = nn.linear(g, pooled, g.param('head.weight', [c.width, c.classes!], small), g.param('head.bias', [c.classes!], small));
    const y = g.input('y', 'int64', ['B']);
    loss = nn.crossEntropy(g, out, y);
    feeds.y = { data: BigInt64Array.from({ length: c.batch }, () => BigInt(rng.int(c.classes!))), dims: [c.batch] };
  } else {
    out = nn.preNormBlock(g, x, nn.blockParams(g, 'blk', opts, rng), { heads: c.heads, act: 'quick_gelu' });
    const target = g.input('target', 'float32', ['B', c.seq, c.width]);
    loss = nn.mseLoss(g, out, target);
    feeds.target = { data: Float32Array.from({ length: c.batch * c.seq * c.width }, () => rng.normal()), dims: [c.batch, c.seq, c.width] };
  }
  return { g, out, loss, feeds };
}


async function runOurs(c: Case, threads: number, ep: EpName) {
  const { g, out, loss, feeds } = buildCase(c, new Rng(0));
  const train = await TrainSession.create(buildTrainStep(g, loss, { clipNorm: 1 }), { ep, threads });
  const trainMs = await timeSamples(() => train.step(feeds, 1e-4), c.warmup, c.iters);
  const infer = await InferSession.create(g, { out }, { ep, threads });
  const inferFeeds = { x: feeds.x };
  const inferMs = await timeSamples(() => infer.run(inferFeeds), c.warmup, c.iters);
  return { trainMs, inferMs, trainNodes: train.model.nodeCount, inferNodes: infer.model.nodeCount };
}

export default async function graphBench(args: string[]): Promise<BenchReport> {
  const quick = args.includes('--quick');
  const threads = Number(flag(args, '--threads') ?? os.cpus().length);
  const epPref = (flag(args, '--ep') ?? 'auto') as 'auto' | EpName;
  const cases: Case[] = [
    { name: '2-layer transformer w256 b32 t64', kind: 'transformer', batch: 32, seq: 64, width: 256, heads: 4, mlp: 1024, layers: 2, classes: 10, warmup: 2, iters: quick ? 3 : 10 },
    { name: 'ViT-B/16 block b8 t197 w768', kind: 'vit_block', batch: 8, seq: 197, width: 768, heads: 12, mlp: 3072, warmup: 1, iters: quick ? 2 : 5 },
  ];
  const loadStart = os.loadavg()[0];
  const epLog: string[] = [];
  const { ep, reason } = await selectExecutionProvider(epPref, (m) => epLog.push(m));

  type Ours = Awaited<ReturnType<typeof runOurs>>;
  type PeerCase = { train_ms: number[]; infer_ms: number[] };
  // ours and the peer alternate case by case, so both see about the same load on a shared machine
  const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/python/bench_graph.py');
  const ours: Ours[] = [];
  const peerResults: (PeerCase | null)[] = [];
  let peerTorch = '';
  let peerRss = 0;
  let peerError: string | null = null;
  for (const c of cases) {
    ours.push(await runOurs(c, threads, 'cpu'));
    const py = spawnSync('/usr/bin/python3', [script, JSON.stringify({ threads, cases: [c] })], { encoding: 'utf8', maxBuffer: 1 << 26 });
    if (py.status === 0) {
      const r = JSON.parse(py.stdout) as { torch: string; results: PeerCase[]; peak_rss_mb: number };
      peerResults.push(r.results[0]);
      peerTorch = r.torch;
      peerRss = Math.max(peerRss, r.peak_rss_mb);
    } else {
      peerResults.push(null);
      peerError = (py.stderr || py.error?.message || `status ${py.status}`).slice(-2000);
    }
  }
  const oursRss = process.resourceUsage().maxRSS / 1024;
  let cuda: Ours[] | null = null;
  if (ep === 'cuda') {
    cuda = [];
    for (const c of cases) cuda.push(await runOurs(c, threads, 'cuda'));
  }
  const peer = peerResults.every((r) => r) ? { torch: peerTorch, results: peerResults as PeerCase[], peak_rss_mb: peerRss } : null;

  const rows: BenchRow[] = [];
  cases.forEach((c, i) => {
    for (const [what, o, p, target] of [
      ['train step', ours[i].trainMs, peer?.results[i].train_ms, 'ratio ≤ 1.0 (no slower than PyTorch)'],
      ['inference', ours[i].inferMs, peer?.results[i].infer_ms, 'ratio ≤ 0.67 (≥ 1.5× faster than PyTorch)'],
    ] as const) {
      const om = summarize([...o]).median;
      const pm = p ? summarize([...p]).median : undefined;
      const note = `median of ${o.length}; fastest ours ${Math.min(...o).toFixed(1)}${p ? `, PyTorch ${Math.min(...p).toFixed(1)}` : ', PyTorch peer unavailable'}`;
      rows.push({ name: `${what}, ${c.name}, CPU ${threads} threads`, unit: 'ms/step', ours: om, ...(pm !== undefined ? { peer: pm, peerName: `PyTorch ${peer!.torch} eager`, ratio: om / pm } : {}), target, note });
    }
  });
  if (cuda) {
    const cu = cuda;
    cases.forEach((c, i) => {
      rows.push({ name: `train step, ${c.name}, CUDA EP`, unit: 'ms/step', ours: summarize(cu[i].trainMs).median });
      rows.push({ name: `inference, ${c.name}, CUDA EP`, unit: 'ms/step', ours: summarize(cu[i].inferMs).median });
    });
  }
  rows.push({ name: 'peak RSS (ours: one process, both cases; PyTorch: the larger of its two case processes)', unit: 'MB', ours: oursRss, ...(peer ? { peer: peer.peak_rss_mb, peerName: `PyTorch ${peer.torch}`, ratio: oursRss / peer.peak_rss_mb } : {}) });

  return {
    suite: 'graph',
    command: `npm run bench -- graph${args.length ? ' ' + args.join(' ') : ''}`,
    rows,
    extra: {
      threads,
      // this box is shared: the 1-minute load average before and after says how busy it was
      loadAverage: { start: loadStart, end: os.loadavg()[0] },
      executionProvider: { chosen: ep, reason, log: epLog },
      shapes: cases.map(({ warmup, iters, ...c }) => ({ ...c, warmup, iters })),
      nodes: ours.map((o, i) => ({ case: cases[i].name, trainStepOnnxNodes: o.trainNodes, inferenceOnnxNodes: o.inferNodes })),
      samplesMs: { ours: ours.map((o) => ({ train: o.trainMs, infer: o.inferMs })), peer: peer?.results.map((r) => ({ train: r.train_ms, infer: r.infer_ms })) ?? null },
      peerError,
    },
  };
}
