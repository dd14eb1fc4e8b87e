import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { collectRollouts, demoFile, failureFile, type CollectProgress } from '../../../../electron/engine/teacher/collect.js';
import type { Env, StepResult, TaskInfo } from '../../../../electron/engine/envs/env.js';
import type { Observation, Policy, PolicyContext } from '../../../../electron/engine/policies/types.js';
import { readLiberoHdf5 } from '../../../../electron/engine/data/libero-hdf5.js';
import { LabError } from '../../../../electron/engine/errors.js';

/**
 * A fake Env (not the simulator, which is built elsewhere): a point gripper that must reach a target
 * and close. Init states whose index ≡ 3 (mod 4) put the target out of reach, so those rollouts fail.
 */
class PointEnv implements Env {
  readonly name = 'point-env';
  pos = [0, 0, 0];
  target = [0, 0, 0];
  closed = false;
  steps = 0;
  resets = 0;
  async listSuites() {
    return ['spatial'];
  }
  async listTasks(): Promise<TaskInfo[]> {
    return [0, 1, 2].map((i) => ({ index: i, name: `t${i}`, instruction: `reach target ${i}`, numInitStates: 50 }));
  }
  private obs(): Observation {
    const img = new Uint8Array(8 * 8 * 3).fill(this.steps & 255);
    return {
      imageSize: { height: 8, width: 8 },
      agentview_rgb: img,
      eye_in_hand_rgb: img,
      ee_pos: Float64Array.from(this.pos),
      ee_ori: new Float64Array(3),
      gripper_states: Float64Array.of(this.closed ? 0 : 0.04, this.closed ? 0 : -0.04),
      joint_states: new Float64Array(7),
      robot_states: new Float64Array(9),
      state: Float64Array.from([...this.pos, ...this.target]),
      privileged: { target: [...this.target] },
    };
  }
  async reset(o: { taskIndex: number; initIndex: number }) {
    this.resets++;
    const far = o.initIndex % 4 === 3 ? 50 : 1;
    this.pos = [0, 0, 0];
    this.target = [0.1 * far * (1 + o.taskIndex), -0.05 * (o.initIndex % 5), 0.02 * far];
    this.closed = false;
    this.steps = 0;
    return this.obs();
  }
  async step(a: Float32Array): Promise<StepResult> {
    this.steps++;
    for (let i = 0; i < 3; i++) this.pos[i] += 0.05 * Math.max(-1, Math.min(1, a[i]));
    this.closed = a[6] > 0;
    const dist = Math.hypot(...this.pos.map((p, i) => p - this.target[i]));
    const success = this.closed && dist < 0.02;
    return { obs: this.obs(), reward: success ? 1 : 0, done: success, success };
  }
  async close() {}
}

/** Proportional controller on the privileged target; closes when near. Returns chunks of `chunk` actions. */
class ReachPolicy implements Policy {
  readonly name = 'reach-expert';
  calls = 0;
  constructor(private chunk = 1, private failAfter = Infinity) {}
  async reset(_ctx: PolicyContext) {}
  async act(obs: Observation) {
    if (++this.calls > this.failAfter) throw new LabError('REMOTE_ERROR', 'teacher server went away', { field: 'action' });
    const target = (obs.privileged!.target as number[]);
    const out = new Float32Array(7 * this.chunk);
    const d = target.map((t, i) => t - obs.ee_pos[i]);
    const near = Math.hypot(...d) < 0.02;
    for (let k = 0; k < this.chunk; k++) {
      for (let i = 0; i < 3; i++) out[k * 7 + i] = k === 0 ? Math.max(-1, Math.min(1, d[i] / 0.05)) : 0;
      out[k * 7 + 6] = near ? 1 : -1;
    }
    return out;
  }
}

/** The point env that, like the built-in simulator, can go on stepping after a success (collect's tailSteps). */
class PastEndPointEnv extends PointEnv {
  pastEnd = 0;
  async stepPastEnd(a: Float32Array): Promise<StepResult> {
    this.pastEnd++;
    const r = await this.step(a);
    return { ...r, done: false };
  }
}

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'collect-'));
const base = { suite: 'spatial', tasks: [0, 1], episodesPerTask: 8, seed: 5, maxSteps: 30, warmupSteps: 2, flushEvery: 3 };

describe('collectRollouts', () => {
  it('keeps successes in LIBERO files, counts failures, records warm-up-free frames', async () => {
    const outDir = tmp();
    const progress: CollectProgress[] = [];
    const r = await collectRollouts(new PointEnv(), new ReachPolicy(), { ...base, outDir, keepFailures: true }, { onProgress: (p) => progress.push(p) });
    expect(r.successes).toBe(12); // inits 3 and 7 fail in each task
    expect(r.failures).toBe(4);
    expect(r.perTask[1]).toEqual({ successes: 6, failures: 2 });
    const { episodes } = await readLiberoHdf5(demoFile(outDir, 'spatial', 0));
    expect(episodes.map((e) => e.initIndex)).toEqual([0, 1, 2, 4, 5, 6]);
    expect(episodes.every((e) => e.success && e.dones[e.length - 1] === 1 && e.rewards[e.length - 1] === 1)).toBe(true);
    expect(episodes[0].teacher).toBe('reach-expert');
    expect(episodes[0].obs.agentview_rgb[0]).toBe(2); // first recorded frame comes after 2 warm-up steps
    expect(episodes[0].actions[6]).toBe(-1);
    const failed = await readLiberoHdf5(failureFile(outDir, 'spatial', 1));
    expect(failed.episodes.map((e) => [e.initIndex, e.success, e.length])).toEqual([[3, false, 30], [7, false, 30]]);
    expect(progress.at(-1)).toMatchObject({ attempted: 16, total: 16, successes: 12, failures: 4, etaSeconds: 0 });
  });

  it('resumes after a cancel without losing or duplicating episodes, identical to an uninterrupted run', async () => {
    const full = tmp();
    await collectRollouts(new PointEnv(), new ReachPolicy(), { ...base, outDir: full });
    const outDir = tmp();
    const ctrl = new AbortController();
    const first = await collectRollouts(new PointEnv(), new ReachPolicy(), { ...base, outDir }, { signal: ctrl.signal, onProgress: (p) => p.attempted === 5 && ctrl.abort() }).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(LabError);
    expect((first as LabError).code).toBe('CANCELLED');
    const env = new PointEnv();
    const second = await collectRollouts(env, new ReachPolicy(), { ...base, outDir });
    expect(second.skipped).toBe(5);
    expect(env.resets).toBe(11);
    for (const task of [0, 1]) {
      const a = await readLiberoHdf5(demoFile(full, 'spatial', task));
      const b = await readLiberoHdf5(demoFile(outDir, 'spatial', task));
      expect(b.episodes.map((e) => e.initIndex)).toEqual(a.episodes.map((e) => e.initIndex));
      b.episodes.forEach((e, i) => expect(Array.from(e.actions)).toEqual(Array.from(a.episodes[i].actions)));
    }
    // a third run has nothing left to do
    const third = await collectRollouts(new PointEnv(), new ReachPolicy(), { ...base, outDir });
    expect([third.skipped, third.successes, third.failures]).toEqual([16, 0, 0]);
  });

  it('records tailSteps frames past success (the teacher goes on acting), only where the env can step past the end', async () => {
    const plain = tmp();
    await collectRollouts(new PointEnv(), new ReachPolicy(), { ...base, tasks: [0], episodesPerTask: 3, outDir: plain });
    const outDir = tmp();
    const env = new PastEndPointEnv();
    const r = await collectRollouts(env, new ReachPolicy(), { ...base, tasks: [0], episodesPerTask: 3, outDir, tailSteps: 4 });
    expect(r.successes).toBe(3);
    expect(env.pastEnd).toBe(12);
    const a = (await readLiberoHdf5(demoFile(plain, 'spatial', 0))).episodes;
    const b = (await readLiberoHdf5(demoFile(outDir, 'spatial', 0))).episodes;
    b.forEach((e, i) => {
      expect(e.length).toBe(a[i].length + 4);
      // the frames up to success are the same; the tail holds the closed gripper at the target
      expect(Array.from(e.actions.subarray(0, a[i].actions.length))).toEqual(Array.from(a[i].actions));
      expect(e.actions[(e.length - 1) * 7 + 6]).toBe(1);
      expect([e.success, e.dones[e.length - 1], e.rewards[e.length - 1]]).toEqual([true, 1, 1]);
    });
    // off by default, refused where the env cannot step past the end, and validated
    const noTail = await collectRollouts(new PointEnv(), new ReachPolicy(), { ...base, tasks: [0], episodesPerTask: 3, outDir: tmp(), tailSteps: 4 }).catch((e: unknown) => e);
    expect((noTail as LabError).code).toBe('INVALID_INPUT');
    const bad = await collectRollouts(env, new ReachPolicy(), { ...base, tasks: [0], episodesPerTask: 3, outDir: tmp(), tailSteps: -1 }).catch((e: unknown) => e);
    expect((bad as LabError).code).toBe('INVALID_INPUT');
  });

  it('executes action chunks open-loop and keeps saved episodes when the teacher fails mid-run', async () => {
    const outDir = tmp();
    const policy = new ReachPolicy(2);
    const r = await collectRollouts(new PointEnv(), policy, { ...base, tasks: [0], episodesPerTask: 3, outDir });
    expect(r.successes).toBe(3);
    expect(policy.calls).toBeLessThan(r.frames); // one call per 2-action chunk
    const out2 = tmp();
    const err = await collectRollouts(new PointEnv(), new ReachPolicy(1, 6), { ...base, tasks: [0], episodesPerTask: 3, outDir: out2 }).catch((e: unknown) => e);
    expect((err as LabError).code).toBe('REMOTE_ERROR');
    expect(existsSync(demoFile(out2, 'spatial', 0))).toBe(true);
    const saved = await readLiberoHdf5(demoFile(out2, 'spatial', 0));
    expect(saved.episodes.length).toBeGreaterThanOrEqual(1);
    expect(saved.episodes[0].initIndex).toBe(0);
  });
});
