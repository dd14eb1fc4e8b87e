/** Solvability sweep for the spatial suite (by hand): `npx tsx test/integration/sim/solve-spatial.ts [states]`. */
import { SimEnv } from '../../../electron/engine/sim/env.js';
import { SUITE_TASKS } from '../../../electron/engine/sim/suites/index.js';
import { solveSpatialTask } from './planner.js';

const n = Number(process.argv[2] ?? 50);
const only = process.argv[3];
const env = await SimEnv.create({ renderImages: false });
let total = 0;
for (const t of SUITE_TASKS.spatial) {
  if (only !== undefined && String(t.index) !== only) continue;
  let ok = 0;
  const fails: number[] = [];
  for (let i = 0; i < n; i++) {
    await env.reset('spatial', t.index, i);
    const r = solveSpatialTask(env);
    if (r?.success) ok++;
    else fails.push(i);
  }
  total += ok;
  console.log(`spatial/${t.index}: ${ok}/${n}${fails.length ? ` (failed: ${fails.slice(0, 10).join(',')})` : ''}`);
}
console.log(`total ${total}`);
env.dispose();
