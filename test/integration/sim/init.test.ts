import { describe, expect, it } from 'vitest';
import { SUITES } from '../../../electron/engine/sim/task.js';
import { SUITE_TASKS } from '../../../electron/engine/sim/suites/index.js';
import { generateInitStates, loadInitStates, settleCheck, taskSeed, INIT_STATES_PER_TASK } from '../../../electron/engine/sim/init.js';
import { TabletopSim } from '../../../electron/engine/sim/physics.js';
import { castEntry } from '../../../electron/engine/sim/objects.js';

describe('stored initial states', () => {
  it('has 50 states per task for all 30 tasks, with the recorded seed and every free object posed', () => {
    for (const s of SUITES) {
      for (const t of SUITE_TASKS[s]) {
        const f = loadInitStates(t);
        expect(f.states).toHaveLength(INIT_STATES_PER_TASK);
        expect(f.seed).toBe(taskSeed(s, t.index));
        expect(f.instruction).toBe(t.instruction);
        const free = t.objects.filter((o) => castEntry(o.kind).free).map((o) => o.name).sort();
        for (const st of f.states) expect(Object.keys(st.objects).sort()).toEqual(free);
      }
    }
  });

  it('regenerates bit-identically from the recorded seed', async () => {
    const t = SUITE_TASKS.spatial[0];
    const { file } = await generateInitStates(t, 4);
    expect(file.states).toEqual(loadInitStates(t).states.slice(0, 4));
  });

  it('places objects validly: nothing moves when simulated, the robot is clear (first and last state of every task)', async () => {
    const sims = new Map<string, TabletopSim>();
    try {
      for (const s of SUITES) {
        for (const t of SUITE_TASKS[s]) {
          const key = JSON.stringify(t.objects);
          if (!sims.has(key)) sims.set(key, await TabletopSim.create({ objects: t.objects }));
          const states = loadInitStates(t).states;
          for (const i of [0, states.length - 1]) expect(settleCheck(sims.get(key)!, states[i]), `${s}/${t.index} state ${i}`).toBeNull();
        }
      }
    } finally {
      for (const sim of sims.values()) sim.dispose();
    }
  });
});
