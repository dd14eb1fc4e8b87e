import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { annotateDataset, type AnnotateOptions } from '../../engine/annotate/index.js';
import { classifyEpisode } from '../../engine/phases/index.js';
// Synthetic rollouts with known phases and a local OpenAI-compatible server (no remote VLM in a
// benchmark): fixtures the benchmarks share with the tests.
import { syntheticDataset } from './fixtures/synthetic-phases.js';
import { goodHandler, startFakeVlm } from './fixtures/fake-vlm.js';
import type { BenchReport, BenchRow } from './report.js';

/**
 * `npm run bench -- annotate`: the annotation pipeline (phase classification, PNG encoding, prompts,
 * HTTP, validation, cache, records) against a local OpenAI-compatible server that answers after a fixed
 * latency, at 16-way concurrency, on synthetic 128×128 rollouts. Reports frames/s in per-frame mode (the
 * paper's one call per frame) and segment mode, VLM calls per 1,000 frames in both modes, and the cache
 * hit rate and speed of a re-run. Flags: --episodes N (default 12), --latency MS (default 25),
 * --concurrency N (default 16).
 */
function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

export default async function bench(args: string[]): Promise<BenchReport> {
  const nEpisodes = flag(args, '--episodes', 12);
  const latency = flag(args, '--latency', 25);
  const concurrency = flag(args, '--concurrency', 16);
  const episodes = syntheticDataset(nEpisodes, 77, { imageSize: 128 }).map((d) => d.episode);
  const frames = episodes.reduce((s, e) => s + e.length, 0);
  const labelings = episodes.map((e) => classifyEpisode(e));
  const server = await startFakeVlm((req) => ({ ...(goodHandler(req) as object), delayMs: latency }));
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'vla-bench-annotate-'));
  try {
    const base = (mode: 'frame' | 'segment', cacheDir: string): AnnotateOptions => ({
      endpoint: { baseUrl: server.url, model: 'qwen2.5-vl-7b-instruct', concurrency },
      mode,
      labelings,
      cacheDir,
    });
    const timed = async (opts: AnnotateOptions) => {
      const before = server.requests.length;
      const t0 = performance.now();
      const r = await annotateDataset(episodes, opts);
      const s = (performance.now() - t0) / 1000;
      return { r, s, requests: server.requests.length - before };
    };
    const frameDir = path.join(tmp, 'frame');
    const perFrame = await timed(base('frame', frameDir));
    const rerun = await timed(base('frame', frameDir));
    const segment = await timed(base('segment', path.join(tmp, 'segment')));
    const hitRate = rerun.r.summary.cachedCalls / Math.max(1, rerun.r.summary.cachedCalls + rerun.r.summary.paidCalls);
    const per1000 = (calls: number) => (1000 * calls) / frames;
    const note = `${nEpisodes} synthetic episodes, ${frames} frames 128×128, server latency ${latency} ms, ${concurrency}-way`;
    const rows: BenchRow[] = [
      { name: 'pipeline throughput, per-frame mode', unit: 'frames/s', ours: frames / perFrame.s, note },
      { name: 'pipeline throughput, segment mode', unit: 'frames/s', ours: frames / segment.s, note },
      { name: 'VLM calls per 1,000 frames, per-frame mode (HTTP requests sent)', unit: 'calls', ours: per1000(perFrame.requests), note: `${perFrame.r.summary.plan.callsFrameMode} planned, identical requests shared` },
      { name: 'VLM calls per 1,000 frames, segment mode (1 keyframe per segment)', unit: 'calls', ours: per1000(segment.requests), target: 'fewer calls than per-frame mode on the same dataset' },
      { name: 'cache hit rate on a re-run (per-frame mode)', unit: '%', ours: 100 * hitRate, target: '100 % (a re-run pays nothing)' },
      { name: 're-run throughput from the cache', unit: 'frames/s', ours: frames / rerun.s },
    ];
    return {
      suite: 'annotate',
      command: `npm run bench -- annotate ${args.join(' ')}`.trim(),
      rows,
      extra: {
        frames,
        episodes: nEpisodes,
        latencyMs: latency,
        concurrency,
        maxServerInFlight: server.maxInFlight,
        perFrame: { seconds: perFrame.s, requests: perFrame.requests, summary: { ...perFrame.r.summary, failures: perFrame.r.summary.failures.length } },
        segment: { seconds: segment.s, requests: segment.requests, callsSaved: segment.r.summary.callsSavedBySegmentMode },
        rerun: { seconds: rerun.s, requests: rerun.requests, cachedCalls: rerun.r.summary.cachedCalls },
        usdPerFrameFrameMode: (perFrame.r.summary.ledger?.usd ?? 0) / frames,
      },
    };
  } finally {
    await server.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}
