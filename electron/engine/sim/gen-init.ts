/**
 * Regenerate the stored initial states: `npx tsx electron/engine/sim/gen-init.ts [suite] [taskIndex]`.
 * Deterministic (seeded per task, see init.ts); the files are committed under resources/scenes/init/.
 */
import { SUITE_TASKS } from './suites/index.js';
import { generateInitStates, writeInitStates } from './init.js';
import type { SuiteName } from './task.js';

const [suiteArg, taskArg] = process.argv.slice(2);
const suites = (suiteArg ? [suiteArg] : Object.keys(SUITE_TASKS)) as SuiteName[];
for (const s of suites) {
  for (const t of SUITE_TASKS[s]) {
    if (taskArg !== undefined && String(t.index) !== taskArg) continue;
    const t0 = Date.now();
    const { file, rejected } = await generateInitStates(t);
    const p = await writeInitStates(t, file);
    console.log(`${s}/${t.index} ${t.name}: ${file.states.length} states (${rejected} rejected) in ${Date.now() - t0} ms -> ${p}`);
  }
}
