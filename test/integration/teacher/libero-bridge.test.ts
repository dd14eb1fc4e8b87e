import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LiberoBridgeEnv } from '../../../electron/engine/envs/libero-bridge.js';
import { LabError } from '../../../electron/engine/errors.js';
import { collectRollouts, demoFile } from '../../../electron/engine/teacher/collect.js';
import type { Policy } from '../../../electron/engine/policies/types.js';
import { readLiberoHdf5 } from '../../../electron/engine/data/libero-hdf5.js';

/**
 * The engine side of the LIBERO bridge, against the real resources/libero_bridge.py run with its
 * `kinematic` backend (a deterministic stand-in: LIBERO cannot be installed here), and against small
 * misbehaving fake bridges written below.
 */
const PY = '/usr/bin/python3';
let envs: LiberoBridgeEnv[] = [];
afterEach(async () => {
  for (const e of envs) await e.close();
  envs = [];
});
const open = (opts: ConstructorParameters<typeof LiberoBridgeEnv>[0]) => {
  const env = new LiberoBridgeEnv(opts);
  envs.push(env);
  return env;
};

async function remoteError(p: Promise<unknown>): Promise<LabError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(LabError);
  expect((err as LabError).code).toBe('REMOTE_ERROR');
  return err as LabError;
}

describe('LIBERO bridge client', () => {
  it('lists, resets and steps the bridge; reaches success by driving to the target', async () => {
    const env = open({ python: PY, args: ['--backend', 'kinematic', '--image-size', '32'] });
    expect(await env.listSuites()).toEqual(['kinematic']);
    expect(env.backend).toBe('KinematicBackend');
    const tasks = await env.listTasks('kinematic');
    expect(tasks[2]).toEqual({ index: 2, name: 'task_2', instruction: 'reach and grasp the green cube', numInitStates: 50 });
    let obs = await env.reset({ suite: 'kinematic', taskIndex: 1, initIndex: 4, seed: 0 });
    expect(obs.imageSize).toEqual({ height: 32, width: 32 });
    expect(obs.agentview_rgb.length).toBe(32 * 32 * 3);
    const target = Array.from(obs.state.subarray(3, 6));
    let success = false;
    for (let t = 0; t < 40 && !success; t++) {
      const d = target.map((v, i) => Math.max(-1, Math.min(1, (v - obs.ee_pos[i]) / 0.05)));
      const r = await env.step(Float32Array.of(d[0], d[1], d[2], 0, 0, 0, 1));
      obs = r.obs;
      success = r.success;
    }
    expect(success).toBe(true);
    // same (task, init) → same initial state
    const again = await env.reset({ suite: 'kinematic', taskIndex: 1, initIndex: 4, seed: 0 });
    expect(Array.from(again.state.subarray(3, 6))).toEqual(target);
  });

  it('turns bridge errors into REMOTE_ERROR naming the command, and keeps serving', async () => {
    const env = open({ python: PY, args: ['--backend', 'kinematic', '--image-size', '8'] });
    expect((await remoteError(env.reset({ suite: 'kinematic', taskIndex: 9, initIndex: 0, seed: 0 }))).message).toMatch(/reset: BridgeError: task 9 out of range/);
    expect((await remoteError(env.listTasks('nope'))).message).toMatch(/unknown suite 'nope'/);
    expect((await remoteError(env.step(new Float32Array(7)))).message).toMatch(/step before reset/);
    await env.reset({ suite: 'kinematic', taskIndex: 0, initIndex: 0, seed: 0 });
    expect((await env.step(new Float32Array(7))).done).toBe(false);
  });

  it('reports a malformed answer, a bad field, a timeout and a dead bridge', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bridge-'));
    const fake = (name: string, body: string) => {
      const file = path.join(dir, `${name}.py`);
      writeFileSync(file, `import json, sys, time\nprint(json.dumps({"event": "ready", "protocol": "vla-ad-libero-bridge", "version": 1, "backend": "fake"}), flush=True)\nfor line in sys.stdin:\n    req = json.loads(line)\n${body}\n`);
      return file;
    };
    const garbage = open({ python: PY, script: fake('garbage', '    print("hello from LIBERO", flush=True)') });
    expect((await remoteError(garbage.listSuites())).message).toMatch(/list_suites: answer is not JSON: "hello from LIBERO"/);
    const badField = open({ python: PY, script: fake('badfield', '    print(json.dumps({"id": req["id"], "result": [{"index": 0, "name": "t", "instruction": 5, "num_init_states": 1}]}), flush=True)') });
    const e = await remoteError(badField.listTasks('x'));
    expect(e.message).toMatch(/field 0\.instruction/);
    const slow = open({ python: PY, script: fake('slow', '    time.sleep(5)'), timeoutMs: 300 });
    expect((await remoteError(slow.listSuites())).details.reason).toBe('timeout');
    const dies = open({ python: PY, script: fake('dies', '    sys.stderr.write("Segmentation fault in MuJoCo\\n"); sys.stderr.flush(); sys.exit(3)') });
    const dead = await remoteError(dies.listSuites());
    expect(dead.message).toMatch(/exited[\s\S]*Segmentation fault in MuJoCo/);
  });

  it('drives collectRollouts end to end: bridge env → LIBERO-layout HDF5', async () => {
    const env = open({ python: PY, args: ['--backend', 'kinematic', '--image-size', '16'] });
    // reach the target read from the kinematic state (pos 0..2, target 3..5), close when near
    const reach: Policy = {
      name: 'state-reach',
      reset: async () => {},
      act: async (obs) => {
        const d = [0, 1, 2].map((i) => obs.state[3 + i] - obs.ee_pos[i]);
        const near = Math.hypot(...d) < 0.03;
        return Float32Array.of(...d.map((v) => Math.max(-1, Math.min(1, v / 0.05))), 0, 0, 0, near ? 1 : -1);
      },
    };
    const outDir = mkdtempSync(path.join(os.tmpdir(), 'bridge-collect-'));
    const r = await collectRollouts(env, reach, { suite: 'kinematic', tasks: [0, 2], episodesPerTask: 3, seed: 0, outDir, maxSteps: 40 });
    expect(r.successes + r.failures).toBe(6);
    expect(r.successes).toBe(6);
    const { episodes } = await readLiberoHdf5(demoFile(outDir, 'kinematic', 2));
    expect(episodes.map((e) => e.initIndex)).toEqual([0, 1, 2]);
    expect(episodes[0].instruction).toBe('reach and grasp the green cube');
    expect(episodes[0].imageSize).toEqual({ height: 16, width: 16 });
    expect(episodes[0].actions[episodes[0].length * 7 - 1]).toBe(1); // last action closes the gripper
  });
});
