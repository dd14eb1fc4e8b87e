import { afterAll, describe, expect, it } from 'vitest';
import { LabError } from '../../../../electron/engine/errors.js';
import { readFramePack } from '../../../../electron/engine/evaluate/frames.js';
import { NoopPolicy, RandomPolicy } from '../../../../electron/engine/policies/baselines.js';
import { policySpecFromString } from '../../../../electron/engine/policies/spec.js';
import { parseProtocol, planTrials, type TrialSpec } from '../../../../electron/engine/evaluate/protocol.js';
import { runTrial, trialFramesFile } from '../../../../electron/engine/evaluate/runner.js';
import type { Env, StepResult, TaskInfo } from '../../../../electron/engine/envs/env.js';
import type { Observation, PhaseAwarePolicy, Policy, PolicyContext } from '../../../../electron/engine/policies/types.js';
import { tempDir } from '../../../helpers/tmp.js';

/**
 * A deterministic 1-D world: the end effector moves along x by action[0] × 0.01 per step; success when
 * x ≥ goal; instability when |x| > 10 (a "diverged" simulation). The 4×4 image encodes the step count,
 * so stored frames can be checked one by one. Records every action it is stepped with.
 */
class LineEnv implements Env {
  readonly name = 'line';
  x = 0;
  t = 0;
  actions: number[][] = [];
  resets: { suite: string; taskIndex: number; initIndex: number; seed: number }[] = [];
  constructor(
    readonly goal = 0.2,
    readonly limit = 1000,
  ) {}
  async listSuites() {
    return ['line'];
  }
  async listTasks(): Promise<TaskInfo[]> {
    return [{ index: 0, name: 'reach', instruction: 'reach the line', numInitStates: 50 }];
  }
  private obs(): Observation {
    const img = new Uint8Array(4 * 4 * 3).fill(this.t % 256);
    return {
      imageSize: { height: 4, width: 4 },
      agentview_rgb: img,
      eye_in_hand_rgb: img,
      ee_pos: Float64Array.of(Math.abs(this.x) > 10 ? Number.NaN : this.x, 0, 0.1), // a diverged sim may report NaN
      ee_ori: Float64Array.of(Math.PI, 0, 0),
      gripper_states: Float64Array.of(0.04, -0.04),
      joint_states: new Float64Array(7),
      robot_states: new Float64Array(9),
      state: Float64Array.of(this.x),
    };
  }
  async reset(opts: { suite: string; taskIndex: number; initIndex: number; seed: number }) {
    this.resets.push(opts);
    this.x = opts.initIndex * 0.001;
    this.t = 0;
    this.actions = [];
    return this.obs();
  }
  async step(a: Float32Array): Promise<StepResult> {
    this.actions.push([...a]);
    this.t++;
    this.x += a[0] * 0.01 + (a[1] > 5 ? 100 : 0);
    const unstable = Math.abs(this.x) > 10;
    const success = !unstable && this.x >= this.goal;
    const timeout = this.t >= this.limit;
    return { obs: this.obs(), reward: success ? 1 : 0, done: success || unstable || timeout, success, info: { reason: unstable ? 'unstable' : success ? 'success' : timeout ? 'max_steps' : null } };
  }
  async close() {}
}

/** Moves +x at full speed, K-action chunks; the gripper closes from query 3 on. Optionally throws. */
class PushPolicy implements Policy {
  readonly name = 'push';
  queries = 0;
  contexts: PolicyContext[] = [];
  constructor(
    readonly k = 1,
    readonly fail?: { at: number; error: unknown },
    readonly speed = 1,
  ) {}
  async reset(ctx: PolicyContext) {
    this.contexts.push(ctx);
    this.queries = 0;
  }
  async act(): Promise<Float32Array> {
    if (this.fail && this.queries === this.fail.at) throw this.fail.error;
    this.queries++;
    const out = new Float32Array(7 * this.k);
    for (let i = 0; i < this.k; i++) out.set([this.speed, 0, 0, 0, 0, 0, this.queries >= 3 ? 1 : -1], 7 * i);
    return out;
  }
}

const spec = (over: Partial<TrialSpec> = {}): TrialSpec => ({
  ...planTrials(parseProtocol({ suites: ['line'], tasks: [0], trialsPerTask: 3, maxSteps: { line: 50 }, seed: 4 }), 'push')[1],
  ...over,
});

const tmp = tempDir('runner-');
afterAll(() => tmp.cleanup());

describe('runTrial (closed loop over a deterministic env)', () => {
  it('warm-up, then the policy through the chunk executor until success; timings, gripper, phases, frames recorded', async () => {
    const env = new LineEnv(0.2);
    const policy = new PushPolicy(4);
    let clock = 0;
    // Each clock read advances 1 ms: policy and simulator time are both counted, separately.
    const r = await runTrial(env, policy, spec(), { now: () => clock++, frames: { dir: tmp.dir, file: trialFramesFile(spec()) } });
    // reset with init state = trial index 1 and the trial's seed; 10 warm-up no-ops with the gripper open
    expect(env.resets).toEqual([{ suite: 'line', taskIndex: 0, initIndex: 1, seed: spec().seed }]);
    expect(env.actions.slice(0, 10).every((a) => a.join() === '0,0,0,0,0,0,-1')).toBe(true);
    expect(policy.contexts[0]).toMatchObject({ instruction: 'reach the line', initIndex: 1, seed: spec().seed });
    // x starts at 0.001 and gains 0.01 per step: 20 steps reach 0.201 ≥ 0.2
    expect(r).toMatchObject({ success: true, failure: null, steps: 20, trialIndex: 1, initIndex: 1, seed: spec().seed, policyId: 'push' });
    // whole-chunk execution: 4 actions per query → 5 queries for 20 steps
    expect(r.policyMs).toHaveLength(5);
    expect(r.policyMs.every((ms) => ms === 1)).toBe(true);
    // simulator: reset + 10 warm-up + 20 steps, one clock tick each
    expect(r.simMs).toBe(31);
    // gripper closes from the 3rd query = step 8 on
    expect(r.gripper).toEqual([...Array(8).fill(-1), ...Array(12).fill(1)]);
    expect(r.phases!.series).toHaveLength(20);
    expect(r.phases!.names).toContain('approaching');
    // 21 frames: after the warm-up (step count 10), then after every step
    const frames = readFramePack(`${tmp.dir}/${r.frames!.path}`, r.frames!);
    expect(r.frames).toMatchObject({ format: 'frames-u8.gz', count: 21, height: 4, width: 4, stride: 1 });
    expect(frames.map((f) => f[0])).toEqual(Array.from({ length: 21 }, (_, i) => 10 + i));
  });

  it('replan-n and ensemble change how often the policy is asked; a stride keeps every n-th frame', async () => {
    const replan = await runTrial(new LineEnv(0.2), new PushPolicy(4), spec({ execution: { mode: 'replan', n: 2 } }), { frames: { dir: tmp.dir, file: 'a.gz', stride: 5 } });
    expect(replan.policyMs).toHaveLength(10);
    expect(replan.frames!.count).toBe(5); // frames 0, 5, 10, 15, 20
    const ens = await runTrial(new LineEnv(0.2), new PushPolicy(4), spec({ execution: { mode: 'ensemble', k: 0.01 } }));
    expect(ens.policyMs).toHaveLength(20);
    expect(ens.execution).toEqual({ mode: 'ensemble', k: 0.01 });
    expect(ens.frames).toBeNull();
  });

  it('timeout at max steps, unstable when the simulation diverges, the env ending at its own limit is a timeout', async () => {
    const slow = await runTrial(new LineEnv(100), new PushPolicy(1), spec());
    expect(slow).toMatchObject({ success: false, failure: 'timeout', steps: 50 });
    expect(slow.gripper).toHaveLength(50);
    const envLimit = await runTrial(new LineEnv(100, 30), new PushPolicy(1), spec());
    expect(envLimit).toMatchObject({ success: false, failure: 'timeout', steps: 20 }); // 30 − 10 warm-up
    const diverge: Policy = { name: 'diverge', reset: async () => {}, act: async () => Float32Array.of(0, 9, 0, 0, 0, 0, -1) };
    const boom = await runTrial(new LineEnv(100), diverge, spec());
    expect(boom).toMatchObject({ success: false, failure: 'unstable', steps: 1 });
    // the phase series covers the states before each action: the NaN state after the divergence is not in it
    expect(boom.phases!.series).toHaveLength(1);
  });

  it('a policy server dying mid-episode marks the trial errored with what happened; setup errors are thrown', async () => {
    const dead = new LabError('REMOTE_ERROR', 'OpenVLA server http://x: request failed (ECONNREFUSED)', {});
    const r = await runTrial(new LineEnv(0.2), new PushPolicy(1, { at: 7, error: dead }), spec());
    expect(r).toMatchObject({ success: false, failure: 'error', steps: 7 });
    expect(r.errorMessage).toContain('REMOTE_ERROR');
    expect(r.errorMessage).toContain('ECONNREFUSED');
    expect(r.gripper).toHaveLength(7);
    // a network error that is not a LabError is an episode error too
    const net = await runTrial(new LineEnv(0.2), new PushPolicy(1, { at: 0, error: new TypeError('fetch failed') }), spec());
    expect(net).toMatchObject({ failure: 'error', steps: 0, errorMessage: 'fetch failed' });
    // a policy of the wrong action width is a misconfiguration, not an errored trial
    const wide: Policy = { name: 'w6', reset: async () => {}, act: async () => new Float32Array(6) };
    await expect(runTrial(new LineEnv(0.2), wide, spec())).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
  });

  it('a phase-aware policy gets the online, causal phase label before every query', async () => {
    const seen: string[] = [];
    const inner = new PushPolicy(1);
    const policy: PhaseAwarePolicy = {
      name: 'phase',
      wantsPhase: true,
      setPhase: (p) => void seen.push(p),
      reset: (c) => inner.reset(c),
      act: () => inner.act(),
    };
    const r = await runTrial(new LineEnv(0.2), policy, spec());
    expect(seen).toHaveLength(r.policyMs.length);
    expect(seen.length).toBe(20);
    expect(new Set(seen).size).toBeGreaterThanOrEqual(1);
  });

  it('baselines: noop stands still, random is a function of the trial seed; specs are parsed strictly', async () => {
    const env = new LineEnv(0.2);
    const noop = await runTrial(env, new NoopPolicy(), spec({ maxSteps: 5 }));
    expect(env.actions.every((a) => a.join() === '0,0,0,0,0,0,-1')).toBe(true);
    expect(noop.failure).toBe('timeout');
    const a = await runTrial(new LineEnv(100), new RandomPolicy(), spec());
    const b = await runTrial(new LineEnv(100), new RandomPolicy(), spec());
    const c = await runTrial(new LineEnv(100), new RandomPolicy(), spec({ seed: 99 }));
    expect(a.gripper).toEqual(b.gripper);
    expect(a.gripper).not.toEqual(c.gripper);
    expect(policySpecFromString('ws://127.0.0.1:8000')).toEqual({ kind: 'websocket', url: 'ws://127.0.0.1:8000' });
    expect(policySpecFromString('ws:wss://h/p')).toEqual({ kind: 'websocket', url: 'wss://h/p' });
    expect(policySpecFromString('rest:http://127.0.0.1:8000')).toEqual({ kind: 'openvla-rest', url: 'http://127.0.0.1:8000' });
    expect(policySpecFromString('student:runs/a/policy.onnx')).toEqual({ kind: 'student', file: 'runs/a/policy.onnx' });
    expect(() => policySpecFromString('rest:ftp://x')).toThrow(/http/);
    expect(() => policySpecFromString('teleport')).toThrow(/unknown policy spec/);
  });
});
