import { collectRollouts, type CollectResult } from './collect.js';
import { BuiltinSimEnv } from '../envs/builtin-sim.js';
import { TeacherSpec } from '../policies/spec.js';
import { makePolicy } from '../policies/make-policy.js';
import { parseOr } from '../errors.js';

/**
 * Worker handler for parallel collection (rollout/pool.ts runs it in child processes): one
 * "trial" is one task's collection into the shared output folder. Tasks write their own HDF5 files and
 * journals (journalPerTask), so processes never touch the same file. The simulator is created once per
 * process and image size.
 */
export interface CollectTaskSpec {
  suite: string;
  task: number;
  episodesPerTask: number;
  seed: number;
  outDir: string;
  imageSize: number;
  keepFailures: boolean;
  maxSteps?: number;
  flushEvery: number;
  /** Recorded frames after a success (collect.ts `tailSteps`); 0 = stop at success. */
  tailSteps?: number;
  teacher: unknown; // a teacher PolicySpec, validated here
}

let env: BuiltinSimEnv | null = null;

export async function runTrial(spec: CollectTaskSpec, ctx?: { signal?: AbortSignal }): Promise<CollectResult> {
  if (!env || env.sim.imageSize !== spec.imageSize) {
    await env?.close();
    env = await BuiltinSimEnv.create({ imageSize: spec.imageSize });
  }
  const policy = await makePolicy(parseOr(TeacherSpec, spec.teacher, 'collect worker: teacher'), { seed: spec.seed });
  try {
    return await collectRollouts(env, policy, {
      suite: spec.suite,
      tasks: [spec.task],
      episodesPerTask: spec.episodesPerTask,
      seed: spec.seed,
      outDir: spec.outDir,
      maxSteps: spec.maxSteps,
      keepFailures: spec.keepFailures,
      flushEvery: spec.flushEvery,
      tailSteps: spec.tailSteps,
      naming: 'task',
      journalPerTask: true,
    }, { signal: ctx?.signal });
  } finally {
    await policy.close?.();
  }
}
