import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LabError } from '../../engine/errors.js';
import { loadStudentEpisodes } from '../../engine/jobs/kinds/train.js';
import { parseDistillConfig, studentRuns, studentSettings } from '../../engine/jobs/recipes/distill.js';
import { trainStudent } from '../../engine/train/trainer.js';
import { DEMO_CONFIG } from '../demo.js';
import { type BenchReport, flag } from './report.js';

/**
 * `npm run bench -- train <dataset dir> [--epochs 30] [--threads N]`: issue 4's "a `tiny` student trains
 * 30 epochs on the demo dataset on 2 CPU cores in under 15 minutes", measured: the demo's first student
 * (its config, overrides, λ, batch, LR and seed from DEMO_CONFIG) on a dataset folder — the demo
 * experiment's `data` after `npm run demo` (descriptions from its annotate stage) — for the given number of
 * epochs, wall clock including validation and a checkpoint every epoch. The run goes to a temp folder.
 */
export default async function trainBench(args: string[]): Promise<BenchReport> {
  const dataDir = args.find((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--')));
  if (!dataDir) throw new LabError('INVALID_INPUT', 'usage: npm run bench -- train <dataset dir> [--epochs 30] [--threads N]', { field: 'args' });
  const epochs = Number(flag(args, '--epochs') ?? 30);
  const threads = Number(flag(args, '--threads') ?? os.cpus().length);
  const config = parseDistillConfig({ ...DEMO_CONFIG, epochs });
  const run = studentRuns(config)[0];
  const episodes = await loadStudentEpisodes(dataDir, run.descriptions === 'sidecar');
  const frames = episodes.reduce((s, e) => s + e.episode.length, 0);
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'bench-train-'));
  const { config: preset, configOverrides, ...rest } = studentSettings(config);
  try {
    const t0 = performance.now();
    const r = await trainStudent(episodes, { ...rest, config: preset, configOverrides, lambda: run.lambda, useDescriptions: run.descriptions === 'sidecar', warmupSteps: 20, threads, runId: 'bench', outDir });
    const minutes = (performance.now() - t0) / 60_000;
    const last = r.history.at(-1);
    return {
      suite: 'train',
      command: `npm run bench -- train ${args.join(' ')}`.trim(),
      rows: [
        { name: `demo student (${preset}, ${JSON.stringify(configOverrides)}, λ ${run.lambda}, batch ${config.batchSize}): ${epochs} epochs on ${episodes.length} episodes / ${frames} frames, ${threads} threads`, unit: 'min', ours: minutes, target: epochs === 30 ? '< 15 min on 2 cores' : undefined, note: `final val loss ${last?.val?.full.loss.toFixed(2) ?? 'n/a'}` },
      ],
      extra: { threads, epochs, episodes: episodes.length, frames, history: r.history.map((h) => ({ epoch: h.epoch, seconds: h.seconds })) },
    };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}
