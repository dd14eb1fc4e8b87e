import os from 'node:os';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { parseOr } from '../../errors.js';
import { SUITE_TASKS, SUITES } from '../../sim/index.js';
import { workerModule } from '../../util/runtime-paths.js';
import { collectRollouts, demoFile, failureFile, type CollectResult } from '../../teacher/collect.js';
import { BuiltinSimEnv } from '../../envs/builtin-sim.js';
import { TeacherSpec } from '../../policies/spec.js';
import { makePolicy } from '../../policies/make-policy.js';
import type { CollectTaskSpec } from '../../teacher/collect-worker.js';
import { forkWorkerPool } from '../../rollout/pool.js';
import { runTrials } from '../../rollout/scheduler.js';
import type { JobContext } from '../context.js';
import { CollectParams, type CollectParamsInput } from './collect-params.js';

/**
 * The `collect` job: roll a teacher out in the built-in simulator from fixed initial states 0..n-1 of
 * each task and keep the successful episodes as LIBERO HDF5, `<experiment>/data/<suite>/task_<i>.hdf5`
 * (failures counted, and kept in `task_<i>_failures.hdf5` with keepFailures). Per-frame privileged facts
 * (teacher stage, object in hand, contact, progress) go to each file's sidecar.
 *
 * Resumable after a kill: collectRollouts skips (task, init) pairs already in the files or in its
 * journal (`<suite>/collect-state.json`), so a restarted job neither duplicates nor loses episodes.
 * Teachers: the scripted expert, the same with the noise model, or a remote policy (OpenVLA REST,
 * openpi websocket) that sees only the images, proprioception and the instruction.
 */

const workerHandler = () => workerModule('collect-worker');

function merge(suite: string, parts: CollectResult[], seconds: number): CollectResult {
  const out: CollectResult = { suite, files: [], successes: 0, failures: 0, skipped: 0, frames: 0, perTask: {}, seconds };
  for (const r of parts) {
    out.files.push(...r.files);
    out.successes += r.successes;
    out.failures += r.failures;
    out.skipped += r.skipped;
    out.frames += r.frames;
    Object.assign(out.perTask, r.perTask);
  }
  return out;
}

/** The `collect` job's handler: its params checked, then the typed run. */
export const collectJob = async (ctx: JobContext) => runCollect(parseOr(CollectParams, ctx.params, 'collect: parameter'), ctx);

/** Roll the teacher out on one suite and keep its successes (the typed run: the distill recipe calls it per suite). */
export async function runCollect(p: CollectParams, ctx: JobContext): Promise<CollectResult & { dataDir: string }> {
  const tasks = p.tasks ?? SUITE_TASKS[p.suite].map((t) => t.index);
  const root = ctx.experimentDir ?? ctx.jobDir;
  const outDir = path.join(root, 'data');
  const started = Date.now();
  const workers = Math.min(p.workers ?? os.availableParallelism(), tasks.length);
  // The teacher as a policy: built once here (its name goes into every record), in each worker otherwise.
  const policy = await makePolicy(p.teacher, { seed: p.seed });
  const teacherName = policy.name;
  ctx.log(`collect ${p.suite} tasks ${tasks.join(',')} × ${p.episodesPerTask} episodes, teacher ${teacherName}, seed ${p.seed}, images ${p.imageSize}px, ${workers} process(es) → ${outDir}`);
  ctx.progress(0, 'starting the simulator');
  const spec = (task: number): CollectTaskSpec => ({
    suite: p.suite, task, episodesPerTask: p.episodesPerTask, seed: p.seed, outDir, imageSize: p.imageSize,
    keepFailures: p.keepFailures, maxSteps: p.maxSteps, flushEvery: p.flushEvery, tailSteps: p.tailSteps, teacher: p.teacher,
  });
  const parts: CollectResult[] = [];
  if (workers <= 1) {
    // In this process, task after task (one journal per task, as the workers keep them).
    const env = await BuiltinSimEnv.create({ imageSize: p.imageSize });
    try {
      for (const [k, task] of tasks.entries()) {
        const { suite, episodesPerTask, seed, maxSteps, keepFailures, flushEvery, tailSteps } = spec(task);
        parts.push(
          await collectRollouts(env, policy, { suite, tasks: [task], episodesPerTask, seed, outDir, maxSteps, keepFailures, flushEvery, tailSteps, naming: 'task', journalPerTask: true }, {
            signal: ctx.signal,
            onProgress: (q) => {
              const fraction = (k + q.attempted / q.total) / tasks.length;
              ctx.progress(fraction, `task ${q.task} init ${q.initIndex}: ${q.successes} kept, ${q.failures} failed${q.skipped ? `, ${q.skipped} done before` : ''}`);
            },
          }),
        );
      }
    } finally {
      await policy.close?.();
      await env.close();
    }
  } else {
    // One task per worker process at a time; a cancel kills the workers (the files stay valid and the
    // journals say what is done, so a restart resumes).
    const pool = forkWorkerPool<CollectTaskSpec, CollectResult>(workers, { handler: workerHandler() });
    const onAbort = () => void pool.close();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const results = await runTrials(tasks.map(spec), (s, t) => pool.runOne(s, t), {
        workers,
        signal: ctx.signal,
        onProgress: (q) => ctx.progress(q.done / q.total, `task ${q.result.suite}/${tasks[q.index]} done: ${q.result.successes} kept, ${q.result.failures} failed (${q.done}/${q.total} tasks)`),
      });
      parts.push(...results);
    } catch (err) {
      ctx.throwIfCancelled();
      throw err;
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      await pool.close();
      await policy.close?.();
    }
  }
  ctx.throwIfCancelled();
  const result = merge(p.suite, parts, (Date.now() - started) / 1000);
  for (const task of tasks) {
    const per = result.perTask[task];
    for (const [kind, file] of [['dataset-hdf5', demoFile(outDir, p.suite, task, 'task')], ['dataset-failures-hdf5', failureFile(outDir, p.suite, task, 'task')]] as const) {
      if (!existsSync(file) || !ctx.experimentDir) continue;
      ctx.artifact(kind, path.relative(ctx.experimentDir, file), { suite: p.suite, task, teacher: teacherName, seed: p.seed, ...(per ?? {}) });
    }
    if (per) ctx.log(`task ${task}: ${per.successes} kept, ${per.failures} failed`);
  }
  ctx.record('collect', { suite: p.suite, teacher: teacherName, seed: p.seed, perTask: result.perTask, successes: result.successes, failures: result.failures, frames: result.frames, workers });
  ctx.log(`collected ${result.successes} episodes (${result.frames} frames), ${result.failures} failed, ${result.skipped} already done, in ${result.seconds.toFixed(1)} s`);
  ctx.progress(1, 'done');
  return { ...result, dataDir: outDir };
}
