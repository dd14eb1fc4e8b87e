import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { collectRollouts, demoFile, failureFile, readPrivilegedFrames } from '../../../electron/engine/teacher/collect.js';
import { ScriptedExpert } from '../../../electron/engine/policies/scripted-expert.js';
import { NoisyPolicy } from '../../../electron/engine/policies/noise.js';
import { BuiltinSimEnv } from '../../../electron/engine/envs/builtin-sim.js';
import { readLiberoHdf5 } from '../../../electron/engine/data/libero-hdf5.js';
import { countGripperFlips, gripperColumn } from '../../../electron/engine/data/stats.js';
import { truthFromPrivileged } from '../../../electron/engine/phases/evaluate.js';
import { readSidecar } from '../../../electron/engine/data/sidecar.js';

/** Collection in the built-in simulator with the scripted teacher, clean and noisy. */
const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'collect-sim-'));
let env: BuiltinSimEnv;
beforeAll(async () => {
  env = await BuiltinSimEnv.create({ imageSize: 16 });
});
afterAll(() => env.close());

describe('collect with the scripted expert', () => {
  it('writes successful LIBERO episodes with per-frame teacher stages that map to true phases', async () => {
    const outDir = tmp();
    const r = await collectRollouts(env, new ScriptedExpert(), { suite: 'object', tasks: [4], episodesPerTask: 2, seed: 3, outDir });
    expect([r.successes, r.failures]).toEqual([2, 0]);
    const file = demoFile(outDir, 'object', 4);
    const { episodes, demoKeys } = await readLiberoHdf5(file);
    expect(episodes.map((e) => [e.initIndex, e.success, e.teacher])).toEqual([[0, true, 'scripted-expert'], [1, true, 'scripted-expert']]);
    const ep = episodes[0];
    expect(ep.imageSize).toEqual({ height: 16, width: 16 });
    expect(ep.stateDim).toBe(env.sim.simulation.data.qpos.length + env.sim.simulation.data.qvel.length + 1);
    // the privileged extras live in the sidecar, one entry per frame
    const priv = readPrivilegedFrames(file, demoKeys[0])!;
    expect(priv.length).toBe(ep.length);
    const stages = [...new Set(priv.map((f) => f.teacherStage))];
    expect(stages.slice(0, 3)).toEqual(['approach', 'descend', 'grasp']);
    expect(priv.some((f) => f.objectInHand === 'ketchup')).toBe(true);
    expect(priv.at(-1)!.progress).toBe(0); // the last recorded frame is the observation before the success step
    const phases = truthFromPrivileged({ ...ep, privileged: priv });
    expect(phases[0]).toBe('approaching');
    expect(phases).toContain('grasping');
    expect(phases).toContain('transporting');
    // the recorded gripper channel is the clean one: one grasp, one release at most, no spurious flips
    expect(countGripperFlips(gripperColumn(ep.actions)).flips).toBe(0);
  });

  it('records a tail past success with tailSteps: the expert finishes its release, retreats and rests (truth: completed)', async () => {
    const outDir = tmp();
    const r = await collectRollouts(env, new ScriptedExpert(), { suite: 'object', tasks: [4], episodesPerTask: 2, seed: 3, outDir, tailSteps: 12 });
    expect([r.successes, r.failures]).toEqual([2, 0]);
    const file = demoFile(outDir, 'object', 4);
    const { episodes, demoKeys } = await readLiberoHdf5(file);
    episodes.forEach((ep, i) => {
      const notes = readSidecar(file).demos[demoKeys[i]].notes;
      expect(notes.tail_steps).toBe(12);
      const from = notes.success_frame as number;
      expect(ep.length).toBe(from + 12);
      const priv = readPrivilegedFrames(file, demoKeys[i])!;
      // from the success on the goal holds and the expert lets go, retreats, then rests
      expect(priv.slice(from).every((f) => f.progress === 1 && f.objectInHand === null)).toBe(true);
      const tailStages = new Set(priv.slice(from).map((f) => f.teacherStage));
      expect([...tailStages].every((s) => ['release', 'retreat', 'done'].includes(s!))).toBe(true);
      expect(tailStages.has('retreat')).toBe(true);
      const phases = truthFromPrivileged({ ...ep, privileged: priv });
      expect(phases.slice(from).filter((p) => p === 'completed').length).toBeGreaterThanOrEqual(6);
      expect(phases.at(-1)).toBe('completed');
    });
    // only a finished, successful episode can be stepped past its end
    await env.reset({ suite: 'object', taskIndex: 4, initIndex: 0, seed: 0 });
    await expect(env.stepPastEnd(new Float32Array(7))).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('the noisy teacher flips the gripper at the configured rate (sample: ≥ 2,000 frames, ±1 pp)', async () => {
    // Over n frames the rate's standard error is √(f/n) ≈ 0.4 pp at f = 3 %, n = 2,000: the issue's
    // ±0.5 pp over ≥ 5,000 frames is measured once for the report (docs/teacher.md), not in CI.
    const TASKS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    const outDir = tmp();
    const policy = new NoisyPolicy(new ScriptedExpert(), { seed: 11, flipRate: 0.03, jitterStd: 0.02 });
    await collectRollouts(env, policy, { suite: 'object', tasks: TASKS, episodesPerTask: 5, seed: 11, outDir, keepFailures: true });
    let frames = 0, flips = 0;
    for (const task of TASKS) {
      for (const file of [demoFile(outDir, 'object', task), failureFile(outDir, 'object', task)]) {
        const data = await readLiberoHdf5(file).catch(() => null);
        for (const ep of data?.episodes ?? []) {
          frames += ep.length;
          flips += countGripperFlips(gripperColumn(ep.actions)).flips;
        }
      }
    }
    expect(frames).toBeGreaterThan(2000);
    expect(Math.abs(flips / frames - 0.03)).toBeLessThan(0.01);
  });
});
