import { SUITE_TASKS, isSuite } from '../sim/index.js';
import { LabError } from '../errors.js';
import { WARMUP_STEPS } from '../data/libero-protocol.js';
import { BuiltinSimEnv } from '../envs/builtin-sim.js';
import type { ExpertOptions } from '../policies/scripted-expert.js';
import { makePolicy } from '../policies/make-policy.js';
import type { Policy } from '../policies/types.js';
import { runRollout } from '../rollout/loop.js';

/**
 * Solvability of the built-in tasks (issue 5's check, issue 6's teacher report): run a policy (by
 * default the noise-free scripted expert) from fixed initial states, after the usual warm-up no-ops,
 * until success or the simulator's step limit, and count successes per task. No images are rendered.
 */
export interface EpisodeOutcome {
  suite: string;
  task: number;
  init: number;
  success: boolean;
  steps: number;
  /** The simulator's end reason ('success', 'max_steps', 'unstable'). */
  reason: string;
  /** Stage the expert was in when the episode ended. */
  lastStage?: string;
}

export async function runEpisode(env: BuiltinSimEnv, policy: Policy, suite: string, task: number, init: number, seed = 0): Promise<EpisodeOutcome> {
  // No step limit of our own: the simulator ends the episode at its horizon (suite limit + warm-up).
  const r = await runRollout(env, policy, { suite, taskIndex: task, initIndex: init, seed, instruction: SUITE_TASKS[suite as keyof typeof SUITE_TASKS][task].instruction, warmupSteps: WARMUP_STEPS, maxSteps: Infinity, execution: { mode: 'whole' } });
  return { suite, task, init, success: r.success, steps: r.steps, reason: String(r.endInfo?.reason ?? (r.success ? 'success' : 'done')), lastStage: policy.teacherStage };
}

export interface TaskSolvability {
  suite: string;
  task: number;
  name: string;
  successes: number;
  episodes: number;
  failedInits: number[];
  meanSteps: number;
}

/** Success per task over init states `inits` of every listed task. */
export async function measureSolvability(
  suite: string,
  tasks: number[] | 'all',
  inits: number[],
  opts: { expert?: ExpertOptions; policy?: () => Policy; onEpisode?: (o: EpisodeOutcome) => void } = {},
): Promise<TaskSolvability[]> {
  if (!isSuite(suite)) throw new LabError('NOT_FOUND', `unknown suite '${suite}'`, { field: 'suite', value: suite });
  const list = tasks === 'all' ? SUITE_TASKS[suite].map((t) => t.index) : tasks;
  const env = await BuiltinSimEnv.create({ renderImages: false });
  const out: TaskSolvability[] = [];
  try {
    for (const task of list) {
      const row: TaskSolvability = { suite, task, name: SUITE_TASKS[suite][task].name, successes: 0, episodes: 0, failedInits: [], meanSteps: 0 };
      let steps = 0;
      for (const init of inits) {
        const policy = opts.policy?.() ?? (await makePolicy({ kind: 'scripted', expert: opts.expert }, { seed: 0 }));
        const o = await runEpisode(env, policy, suite, task, init);
        opts.onEpisode?.(o);
        row.episodes++;
        steps += o.steps;
        if (o.success) row.successes++;
        else row.failedInits.push(init);
      }
      row.meanSteps = row.episodes ? steps / row.episodes : 0;
      out.push(row);
    }
  } finally {
    await env.close();
  }
  return out;
}
