/**
 * Solvability sweep (run by hand, not in CI): `npx tsx test/integration/sim/solve-object.ts [states]`.
 * Runs the test-only planner on every task of the object suite and prints successes per task.
 */
import { SimEnv } from '../../../electron/engine/sim/env.js';
import { SUITE_TASKS } from '../../../electron/engine/sim/suites/index.js';
import { solveObjectTask } from './planner.js';

const n = Number(process.argv[2] ?? 50);
const env = await SimEnv.create({ renderImages: false });
let total = 0;
for (const t of SUITE_TASKS.object) {
  const target = t.goal[0].op === 'In' ? t.goal[0].a : '';
  let ok = 0;
  const fails: number[] = [];
  for (let i = 0; i < n; i++) {
    await env.reset('object', t.index, i);
    const r = solveObjectTask(env, target);
    if (r?.success) ok++;
    else fails.push(i);
  }
  total += ok;
  console.log(`object/${t.index} ${target}: ${ok}/${n}${fails.length ? ` (failed: ${fails.slice(0, 10).join(',')})` : ''}`);
}
console.log(`total ${total}/${10 * n}`);
env.dispose();
