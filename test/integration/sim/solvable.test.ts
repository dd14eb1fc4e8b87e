import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimEnv } from '../../../electron/engine/sim/env.js';
import { SUITE_TASKS } from '../../../electron/engine/sim/suites/index.js';
import { solveGoalTask, solveObjectTask, solveSpatialTask } from './planner.js';

/**
 * Solvability through the public 7-D action interface, by the test-only scripted planner. CI runs the
 * first and last stored state of each task; the full 50-state sweeps run by hand with
 * solve-{object,spatial,goal}.ts (figures in docs/sim.md).
 */
const STATES = [0, 49];

let env: SimEnv;
beforeAll(async () => {
  env = await SimEnv.create({ renderImages: false });
});
afterAll(() => env.dispose());

async function successes(suite: 'object' | 'spatial' | 'goal', index: number, solve: () => unknown): Promise<number> {
  let ok = 0;
  for (const i of STATES) {
    await env.reset(suite, index, i);
    const r = solve() as { success?: boolean; info?: { reason: string | null } } | null;
    if (r && r.success && r.info?.reason === 'success') ok++;
  }
  return ok;
}

describe('object suite: scripted pick-and-place succeeds', () => {
  for (const t of SUITE_TASKS.object) {
    it(`${t.index}: ${t.instruction}`, async () => {
      const target = t.goal[0].op === 'In' ? t.goal[0].a : '';
      expect(await successes('object', t.index, () => solveObjectTask(env, target))).toBe(STATES.length);
    });
  }
});

describe('spatial suite: scripted bowl-to-plate succeeds', () => {
  for (const t of SUITE_TASKS.spatial) {
    it(`${t.index}: ${t.instruction}`, async () => {
      expect(await successes('spatial', t.index, () => solveSpatialTask(env))).toBe(STATES.length);
    });
  }
});

// Goal 5 (plate push) is solved only in a minority of states by the simple pusher (docs/sim.md).
const GOAL_SOLVED = [0, 1, 2, 3, 4, 6, 7, 8, 9];
describe('goal suite: scripted solutions succeed', () => {
  for (const t of SUITE_TASKS.goal.filter((g) => GOAL_SOLVED.includes(g.index))) {
    it(`${t.index}: ${t.instruction}`, async () => {
      expect(await successes('goal', t.index, () => solveGoalTask(env, t.index))).toBe(STATES.length);
    });
  }
});
