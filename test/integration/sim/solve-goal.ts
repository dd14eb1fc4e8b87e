/** Solvability sweep for the goal suite (by hand): `npx tsx test/integration/sim/solve-goal.ts [states] [task]`. */
import { SimEnv } from '../../../electron/engine/sim/env.js';
import { SUITE_TASKS } from '../../../electron/engine/sim/suites/index.js';
import { solveGoalTask } from './planner.js';

const n = Number(process.argv[2] ?? 50);
const only = process.argv[3];
const env = await SimEnv.create({ renderImages: false });
for (const t of SUITE_TASKS.goal) {
  if (only !== undefined && String(t.index) !== only) continue;
  let ok = 0;
  const fails: number[] = [];
  let unsupported = false;
  for (let i = 0; i < n && !unsupported; i++) {
    await env.reset('goal', t.index, i);
    const r = solveGoalTask(env, t.index);
    if (r === 'unsupported') unsupported = true;
    else if (r?.success) ok++;
    else fails.push(i);
  }
  console.log(`goal/${t.index} ${t.name}: ${unsupported ? 'no scripted solution' : `${ok}/${n}`}${fails.length ? ` (failed: ${fails.slice(0, 10).join(',')})` : ''}`);
}
env.dispose();
