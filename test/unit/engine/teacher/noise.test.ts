import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NoisyPolicy } from '../../../../electron/engine/policies/noise.js';
import { collectRollouts, demoFile } from '../../../../electron/engine/teacher/collect.js';
import type { Env, StepResult } from '../../../../electron/engine/envs/env.js';
import type { Observation, Policy } from '../../../../electron/engine/policies/types.js';
import { datasetStatsFromFiles } from '../../../../electron/engine/data/dataset-stats-file.js';
import { countGripperFlips, gripperColumn } from '../../../../electron/engine/data/stats.js';

/** Fake env (not the simulator): succeeds after `length` steps whatever the actions; state[0] = step. */
class ClockEnv implements Env {
  readonly name = 'clock';
  t = 0;
  constructor(private length: number) {}
  async listSuites() { return ['goal']; }
  async listTasks() { return [0, 1].map((i) => ({ index: i, name: `t${i}`, instruction: `task ${i}`, numInitStates: 100 })); }
  private obs(): Observation {
    const img = new Uint8Array(4 * 4 * 3);
    return { imageSize: { height: 4, width: 4 }, agentview_rgb: img, eye_in_hand_rgb: img, ee_pos: new Float64Array(3), ee_ori: new Float64Array(3), gripper_states: new Float64Array(2), joint_states: new Float64Array(7), robot_states: new Float64Array(9), state: Float64Array.of(this.t) };
  }
  async reset() { this.t = 0; return this.obs(); }
  async step(): Promise<StepResult> {
    this.t++;
    const success = this.t >= this.length + 2; // 2 warm-up steps
    return { obs: this.obs(), reward: 0, done: success, success };
  }
  async close() {}
}

/** A clean teacher: open for the first half, then one real grasp. */
const halfGrasp = (length: number): Policy => ({
  name: 'half-grasp',
  reset: async () => {},
  act: async (obs) => Float32Array.of(0.2, -0.1, 0, 0, 0, 0, obs.state[0] - 2 < length / 2 ? -1 : 1),
});

describe('teacher noise model', () => {
  it('collected data shows the configured flip rate within ±0.5 pp over ≥ 5,000 frames', async () => {
    const length = 120;
    const outDir = mkdtempSync(path.join(os.tmpdir(), 'noise-'));
    const policy = new NoisyPolicy(halfGrasp(length), { seed: 7, flipRate: 0.03, jitterStd: 0.05 });
    const r = await collectRollouts(new ClockEnv(length), policy, { suite: 'goal', tasks: [0, 1], episodesPerTask: 45, seed: 1, outDir, maxSteps: 200, warmupSteps: 2, flushEvery: 45 });
    expect(r.frames).toBe(2 * 45 * length);
    const stats = await datasetStatsFromFiles([0, 1].map((t) => demoFile(outDir, 'goal', t)));
    expect(stats.frames).toBeGreaterThanOrEqual(5000);
    expect(Math.abs(stats.gripperFlipRate - 0.03)).toBeLessThanOrEqual(0.005);
    expect(stats.actions.std[0]).toBeGreaterThan(0.03); // jitter present
  });

  it('is silent with noise off and reproducible from the seed', async () => {
    const clean = new NoisyPolicy(halfGrasp(100), { seed: 1, flipRate: 0, jitterStd: 0 });
    const run = async (p: Policy) => {
      const env = new ClockEnv(100);
      await p.reset({ suite: 'goal', taskIndex: 0, instruction: 'x', initIndex: 3, seed: 9 });
      let obs = await env.reset();
      const out: number[] = [];
      for (let t = 0; t < 100; t++) {
        const a = await p.act(obs);
        out.push(...a);
        obs = (await env.step()).obs;
      }
      return Float32Array.from(out);
    };
    expect(countGripperFlips(gripperColumn(await run(clean))).flips).toBe(0);
    const a = await run(new NoisyPolicy(halfGrasp(100), { seed: 4, flipRate: 0.1 }));
    const b = await run(new NoisyPolicy(halfGrasp(100), { seed: 4, flipRate: 0.1 }));
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(countGripperFlips(gripperColumn(a)).flips).toBeGreaterThan(0);
  });

  it('grasp misses hold the first close back', async () => {
    const p = new NoisyPolicy(halfGrasp(20), { seed: 2, flipRate: 0, jitterStd: 0, graspMissProb: 1, graspMissFrames: 4 });
    await p.reset({ suite: 'goal', taskIndex: 0, instruction: 'x', initIndex: 0, seed: 0 });
    const g: number[] = [];
    for (let t = 0; t < 20; t++) g.push((await p.act({ state: Float64Array.of(t + 2) } as Observation))[6]);
    expect(g.indexOf(1)).toBe(14); // clean close at 10, held open 4 frames
  });
});
