import { performance } from 'node:perf_hooks';
import { LabError } from '../errors.js';
import { canStepPastEnd, NOOP_ACTION, type Env, type StepResult } from '../envs/env.js';
import type { Observation, Policy } from '../policies/types.js';
import { ChunkExecutor, type ChunkExecution } from './chunk-executor.js';

/**
 * The one rollout loop, shared by collection (teacher/collect.ts), evaluation (evaluate/runner.ts) and
 * the solvability check (teacher/solvability.ts):
 *
 *   env.reset(task, initial state i, seed) → policy.reset → `warmupSteps` no-ops (gripper open, not
 *   recorded) → until success, the step limit or the env's own end: query the policy when the chunk
 *   executor needs a chunk, execute one action, step → optionally `tailSteps` more steps past a success.
 *
 * Callers attach what they record through hooks; the loop itself keeps only the timing (`policyMs` per
 * query, `simMs` for reset, warm-up and steps) and the outcome. Errors (a policy server that died, a
 * cancel) propagate: collection fails on them, evaluation turns runtime ones into an errored trial.
 */
export interface RolloutSpec {
  suite: string;
  taskIndex: number;
  initIndex: number;
  seed: number;
  instruction: string;
  warmupSteps: number;
  /** Policy steps after the warm-up at most (Infinity: until the env ends the episode). */
  maxSteps: number;
  execution: ChunkExecution;
  /** Steps past a success, still querying the policy (needs an env with stepPastEnd); default 0. */
  tailSteps?: number;
}

export interface RolloutStep {
  /** 0-based step index after the warm-up (tail steps continue the count). */
  index: number;
  /** The observation the action answered. */
  obs: Observation;
  action: Float32Array;
  /** The policy's own stage for this action (a scripted teacher's teacherStage). */
  stage?: string;
  result: StepResult;
  /** A step after the success (tailSteps). */
  pastEnd: boolean;
}

export interface RolloutHooks {
  /** The first observation the policy sees (after the warm-up). */
  onStart?(obs: Observation): void;
  /** Before each policy query, with the observation it will get (e.g. to set a phase-aware policy's phase). */
  beforeQuery?(obs: Observation): void;
  /** After each executed step. */
  onStep?(step: RolloutStep): void;
  signal?: AbortSignal;
  /** Filled as the rollout runs (so a caller keeps the timing of a rollout that throws midway). */
  timing?: RolloutTiming;
  /** Clock in ms; injectable for tests. */
  now?: () => number;
}

export interface RolloutTiming {
  /** Milliseconds of each policy query (act()). */
  policyMs: number[];
  /** Milliseconds in the environment: reset, warm-up and steps. */
  simMs: number;
}

/** How the episode ended: every goal predicate held, the step limit ran out (or the env's own), the physics diverged. */
export type RolloutEnd = 'success' | 'timeout' | 'unstable';

export interface RolloutResult {
  success: boolean;
  end: RolloutEnd;
  /** Policy steps after the warm-up, up to and including the successful one (tail steps not counted). */
  steps: number;
  tailSteps: number;
  /** The env's info of the step that ended the episode (its reason, an instability message). */
  endInfo: Record<string, unknown> | undefined;
  lastObs: Observation;
  timing: RolloutTiming;
  queries: number;
}

const endOf = (r: StepResult): RolloutEnd | null => {
  if (r.success) return 'success';
  if (!r.done) return null;
  return r.info?.reason === 'unstable' || r.info?.unstable !== undefined ? 'unstable' : 'timeout';
};

export async function runRollout(env: Env, policy: Policy, spec: RolloutSpec, hooks: RolloutHooks = {}): Promise<RolloutResult> {
  const now = hooks.now ?? (() => performance.now());
  const tailSteps = spec.tailSteps ?? 0;
  if (tailSteps > 0 && !canStepPastEnd(env)) throw new LabError('INVALID_INPUT', `tailSteps: environment ${env.name} cannot step past the end of an episode`, { field: 'tailSteps', env: env.name });
  const timing = hooks.timing ?? { policyMs: [], simMs: 0 };
  const timed = async <T>(f: () => Promise<T>): Promise<T> => {
    const t0 = now();
    try {
      return await f();
    } finally {
      timing.simMs += now() - t0;
    }
  };
  const checkCancel = () => {
    if (hooks.signal?.aborted) throw new LabError('CANCELLED', 'rollout cancelled', { suite: spec.suite, task: spec.taskIndex, init: spec.initIndex });
  };

  checkCancel();
  let obs = await timed(() => env.reset({ suite: spec.suite, taskIndex: spec.taskIndex, initIndex: spec.initIndex, seed: spec.seed }));
  await policy.reset({ suite: spec.suite, taskIndex: spec.taskIndex, instruction: spec.instruction, initIndex: spec.initIndex, seed: spec.seed });
  let end: RolloutEnd | null = null;
  let endInfo: Record<string, unknown> | undefined;
  for (let i = 0; i < spec.warmupSteps && end === null; i++) {
    const r = await timed(() => env.step(NOOP_ACTION));
    obs = r.obs;
    end = endOf(r);
    if (end) endInfo = r.info;
  }
  hooks.onStart?.(obs);

  const exec = new ChunkExecutor(spec.execution);
  const pastEndEnv = canStepPastEnd(env) ? env : null;
  let steps = 0;
  let tail = 0;
  /** One executed action: query if the executor needs a chunk, execute, step (past the end in the tail). */
  const advance = async (pastEnd: boolean): Promise<StepResult> => {
    checkCancel();
    if (exec.needsQuery()) {
      hooks.beforeQuery?.(obs);
      const t0 = now();
      const chunk = await policy.act(obs);
      timing.policyMs.push(now() - t0);
      exec.push(chunk);
    }
    const action = exec.next();
    const stage = policy.teacherStage;
    const before = obs;
    const r = await timed(() => (pastEnd && pastEndEnv ? pastEndEnv.stepPastEnd(action) : env.step(action)));
    hooks.onStep?.({ index: steps + tail, obs: before, action, ...(stage !== undefined ? { stage } : {}), result: r, pastEnd });
    obs = r.obs;
    return r;
  };

  while (end === null && steps < spec.maxSteps) {
    const r = await advance(false);
    steps++;
    end = endOf(r);
    if (end) endInfo = r.info;
  }
  if (end === null) end = 'timeout';
  if (end === 'success') {
    // The policy goes on (a scripted teacher releases, retreats, rests); stop if the physics diverges.
    while (tail < tailSteps) {
      const r = await advance(true);
      tail++;
      if (r.done) break;
    }
  }
  return { success: end === 'success', end, steps, tailSteps: tail, endInfo, lastObs: obs, timing, queries: exec.queries };
}
