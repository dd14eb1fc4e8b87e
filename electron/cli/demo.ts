import type { Job } from '../api/schemas.js';
import type { Lab } from '../engine/lab-runtime.js';
import { followJob } from './progress.js';

export const DEMO_EXPERIMENT_NAME = 'demo (built-in suites)';

/**
 * `vla-ad demo`: the main job on the built-in default. It reuses (or creates) the demo experiment and
 * runs the pipeline's jobs in it. Today the pipeline is the engine self-test; the distill recipe's stages
 * (collect → phases → annotate → train → evaluate → report) join here as they land.
 */
export async function runDemo(lab: Lab): Promise<Job> {
  const existing = lab.store.listExperiments().find((e) => e.name === DEMO_EXPERIMENT_NAME);
  const exp = existing ?? lab.store.createExperiment({ name: DEMO_EXPERIMENT_NAME, recipe: 'distill', config: { suites: ['object', 'spatial', 'goal'] } });
  console.error(`experiment ${exp.id} (${exp.name}) in ${lab.dataDir}`);
  const job = lab.supervisor.start('selftest', exp.id, {});
  return followJob(lab, job);
}
