import { SUITE_TASKS, isSuite } from '../sim/index.js';
import { LabError } from '../errors.js';
import { NOOP_ACTION, WARMUP_STEPS } from './env.js';
import { ScriptedExpert, type ExpertOptions } from './scripted-expert.js';
import { SimTeacherEnv } from './sim-env.js';
import type { Policy } from './policy.js';

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

export async function runEpisode(env: SimTeacherEnv, policy: Policy & { teacherStage?: string }, suite: string, task: number, init: number, seed = 0): Promise<EpisodeOutcome> {
  let obs = await env.reset({ suite, taskIndex: task, initIndex: init, seed });
  await policy.reset({ suite, taskIndex: task, instruction: env.sim.task.instruction, initIndex: init, seed });
  for (let w = 0; w < WARMUP_STEPS; w++) obs = (await env.step(NOOP_ACTION)).obs;
  let steps = 0;
  for (;;) {
    const chunk = await policy.act(obs);
    for (let k = 0; k < chunk.length; k += 7) {
      const r = await env.step(chunk.subarray(k, k + 7));
      steps++;
      obs = r.obs;
      if (r.done) return { suite, task, init, success: r.success, steps, reason: String(r.info?.reason ?? (r.success ? 'success' : 'done')), lastStage: policy.teacherStage };
    }
  }
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
  opts: { expert?: ExpertOptions; policy?: () => Policy & { teacherStage?: string }; onEpisode?: (o: EpisodeOutcome) => void } = {},
): Promise<TaskSolvability[]> {
  if (!isSuite(suite)) throw new LabError('NOT_FOUND', `unknown suite '${suite}'`, { field: 'suite', value: suite });
  const list = tasks === 'all' ? SUITE_TASKS[suite].map((t) => t.index) : tasks;
  const env = await SimTeacherEnv.create({ renderImages: false });
  const out: TaskSolvability[] = [];
  try {
    for (const task of list) {
      const row: TaskSolvability = { suite, task, name: SUITE_TASKS[suite][task].name, successes: 0, episodes: 0, failedInits: [], meanSteps: 0 };
      let steps = 0;
      for (const init of inits) {
        const policy = opts.policy?.() ?? new ScriptedExpert(opts.expert);
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
