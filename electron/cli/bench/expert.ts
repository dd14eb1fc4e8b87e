import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SUITES } from '../../engine/sim/index.js';
import { measureSolvability, type TaskSolvability } from '../../engine/teacher/solvability.js';
import { collectRollouts } from '../../engine/teacher/collect.js';
import { ScriptedExpert } from '../../engine/policies/scripted-expert.js';
import { BuiltinSimEnv } from '../../engine/envs/builtin-sim.js';
import { forkWorkerPool } from '../../engine/rollout/pool.js';
import { runTrials } from '../../engine/rollout/scheduler.js';
import type { CollectTaskSpec } from '../../engine/teacher/collect-worker.js';
import { workerModule } from '../../engine/util/runtime-paths.js';
import type { CollectResult } from '../../engine/teacher/collect.js';
import type { BenchReport, BenchRow } from './report.js';

/**
 * `npm run bench -- expert [inits=50] [suites=object,spatial,goal]`: the noise-free scripted expert's
 * success per task over the first `inits` fixed initial states (issue 5/6 check: ≥ 45/50 on every task),
 * and the frames per second of a real collection with the scripted teacher, both 128×128 cameras and
 * the HDF5 writes: through the collect job's worker processes (2 = the 2-core figure of issue 6) and in
 * one process.
 */
export default async function expertBench(args: string[]): Promise<BenchReport> {
  const n = Number(args[0] ?? 50);
  const suites = (args[1] ?? SUITES.join(',')).split(',');
  const inits = Array.from({ length: n }, (_, i) => i);
  const rows: BenchRow[] = [];
  const table: TaskSolvability[] = [];
  for (const suite of suites) {
    const t0 = performance.now();
    const res = await measureSolvability(suite, 'all', inits);
    const secs = (performance.now() - t0) / 1000;
    for (const r of res) {
      table.push(r);
      rows.push({
        name: `${suite} task ${r.task} (${r.name}): expert success`,
        unit: '%',
        ours: (100 * r.successes) / r.episodes,
        target: '≥ 90% (45/50) with noise off',
        note: `${r.successes}/${r.episodes}, mean ${r.meanSteps.toFixed(0)} steps; failed inits ${r.failedInits.join(' ') || 'none'}`,
      });
    }
    const steps = res.reduce((s, r) => s + r.meanSteps * r.episodes, 0);
    rows.push({ name: `${suite}: expert rollouts without cameras`, unit: 'steps/s', ours: steps / secs });
  }
  // Collection with cameras: the collect job's parallel path (one worker process per core) against one process.
  for (const workers of [2, 1]) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-expert-'));
    const specs: CollectTaskSpec[] = [0, 1, 2, 3].map((task) => ({ suite: 'object', task, episodesPerTask: 3, seed: 0, outDir: dir, imageSize: 128, keepFailures: false, flushEvery: 5, teacher: { kind: 'scripted' } }));
    const pool = forkWorkerPool<CollectTaskSpec, CollectResult>(workers, { handler: workerModule('collect-worker') });
    try {
      await pool.runOne({ ...specs[0], task: 9, outDir: path.join(dir, 'warm') }, { worker: 0, index: 0 }); // start-up and JIT outside the timing
      if (workers > 1) await pool.runOne({ ...specs[0], task: 8, outDir: path.join(dir, 'warm') }, { worker: 1, index: 0 });
      const t0 = performance.now();
      const res = await runTrials(specs, (spec, ctx) => pool.runOne(spec, ctx), { workers });
      const secs = (performance.now() - t0) / 1000;
      const frames = res.reduce((n, r) => n + r.frames, 0);
      rows.push({ name: `collect job path, ${workers} worker process${workers > 1 ? 'es' : ''}, object tasks 0–3 × 3, 128×128 cameras, HDF5`, unit: 'frames/s', ours: frames / secs, note: `${frames} frames kept` });
    } finally {
      await pool.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  // Collection with cameras, in this process.
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'bench-expert-'));
  const env = await BuiltinSimEnv.create({ imageSize: 128 });
  try {
    const t0 = performance.now();
    const r = await collectRollouts(env, new ScriptedExpert(), { suite: 'object', tasks: [0, 1], episodesPerTask: 3, seed: 0, outDir });
    const secs = (performance.now() - t0) / 1000;
    rows.push({ name: 'collect, scripted teacher, object tasks 0–1 × 3, 128×128 cameras, HDF5 (1 process)', unit: 'frames/s', ours: r.frames / secs, note: `${r.frames} frames kept, ${r.successes}/${r.successes + r.failures} episodes` });
  } finally {
    await env.close();
    rmSync(outDir, { recursive: true, force: true });
  }
  const total = table.reduce((s, r) => s + r.successes, 0), eps = table.reduce((s, r) => s + r.episodes, 0);
  return { suite: 'expert', command: `npm run bench -- expert ${args.join(' ')}`.trim(), rows, extra: { inits: n, overall: { successes: total, episodes: eps }, perTask: table } };
}
