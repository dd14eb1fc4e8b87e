import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluatePolicy } from '../../../electron/engine/evaluate/evaluation.js';
import { readFramePack, trialVideo } from '../../../electron/engine/evaluate/frames.js';
import { PolicySpec } from '../../../electron/engine/policies/spec.js';
import { makePolicy } from '../../../electron/engine/policies/make-policy.js';
import { parseProtocol, planTrials } from '../../../electron/engine/evaluate/protocol.js';
import { runTrial } from '../../../electron/engine/evaluate/runner.js';
import type { TrialRecord } from '../../../electron/engine/evaluate/trial.js';
import { BuiltinSimEnv } from '../../../electron/engine/envs/builtin-sim.js';
import type { Policy } from '../../../electron/engine/policies/types.js';
import { tempDir } from '../../helpers/tmp.js';
import { startOpenpiServer } from '../../unit/engine/teacher/protocol-servers.js';

/** Everything a trial decides, without wall-clock fields. */
const outcome = ({ policyMs: _p, simMs: _s, startedAt: _t, ...rest }: TrialRecord) => ({ ...rest, queries: _p.length });

const tmp = tempDir('eval-closed-loop-');
afterAll(() => tmp.cleanup());

describe('closed-loop evaluation on the built-in simulator', () => {
  it('serial (in process) and parallel (2 worker processes) give identical per-trial results, frames included', async () => {
    // Two easy tasks, 2 trials each, the noisy scripted teacher (its noise stream is seeded per trial).
    const protocol = parseProtocol({ suites: ['object', 'spatial'], tasks: [0], trialsPerTask: 2, seed: 5 });
    const entry = { id: 'noisy', spec: 'teacher:scripted-noisy', textMode: 'masked' as const };
    const serial = await evaluatePolicy({ entry, protocol, evalDir: path.join(tmp.dir, 'serial', 'noisy'), baseDir: tmp.dir, workers: 1 });
    const parallel = await evaluatePolicy({ entry, protocol, evalDir: path.join(tmp.dir, 'parallel', 'noisy'), baseDir: tmp.dir, workers: 2 });
    expect(serial.workers).toBe(1);
    expect(parallel.workers).toBe(2);
    expect(serial.records).toHaveLength(4);
    expect(parallel.records.map(outcome)).toEqual(serial.records.map(outcome));
    // the scripted teacher solves these easy tasks (report: 4/4 with noise on, seed 5)
    expect(serial.records.filter((r) => r.success).length).toBeGreaterThanOrEqual(3);
    for (const r of serial.records) {
      expect(r.phases!.series).toHaveLength(r.steps);
      expect(r.frames!.count).toBe(r.steps + 1);
      const a = readFramePack(path.join(tmp.dir, 'serial', 'noisy', r.frames!.path), r.frames!);
      const b = readFramePack(path.join(tmp.dir, 'parallel', 'noisy', r.frames!.path), r.frames!);
      expect(Buffer.from(a.at(-1)!).equals(Buffer.from(b.at(-1)!))).toBe(true);
      expect(a[0]).toHaveLength(128 * 128 * 3);
      // what the trial browser replays: the wrist camera, the executed actions, the query steps, the
      // end-effector path and the goal predicates per step
      expect(r.wristFrames!.count).toBe(r.frames!.count);
      const wrist = readFramePack(path.join(tmp.dir, 'serial', 'noisy', r.wristFrames!.path), r.wristFrames!);
      expect(Buffer.from(wrist[0]).equals(Buffer.from(a[0]))).toBe(false);
      expect(r.actions).toHaveLength(r.steps * 7);
      expect(r.actions!.filter((_, i) => i % 7 === 6)).toEqual(r.gripper.map((g) => Math.fround(g)));
      expect(r.eePos).toHaveLength(r.steps * 3);
      expect(r.querySteps![0]).toBe(0);
      expect(r.querySteps!.length).toBe(r.policyMs.length);
      const all = (1 << r.predicates!.names.length) - 1;
      expect(r.predicates!.names.length).toBeGreaterThan(0);
      expect(r.predicates!.series).toHaveLength(r.steps);
      expect(r.predicates!.series.at(-1) === all).toBe(r.success);
      expect(r.predicates!.series.slice(0, -1).every((b) => b !== all)).toBe(true);
    }
    // replay: an upright MP4 from the stored frames
    const mp4 = path.join(tmp.dir, 'replay.mp4');
    expect(await trialVideo(serial.records[0], path.join(tmp.dir, 'serial', 'noisy'), mp4)).toEqual({ frames: serial.records[0].frames!.count });
    expect(statSync(mp4).size).toBeGreaterThan(1000);
    // running again resumes: nothing is re-run, nothing is appended twice
    const again = await evaluatePolicy({ entry, protocol, evalDir: path.join(tmp.dir, 'serial', 'noisy'), baseDir: tmp.dir, workers: 1 });
    expect(again).toMatchObject({ ran: 0, skipped: 4 });
    expect(readFileSync(path.join(tmp.dir, 'serial', 'noisy', 'trials.jsonl'), 'utf8').trim().split('\n')).toHaveLength(4);
  }, 120_000);

  it('a REST teacher server dying mid-episode marks the trial errored, not failed', async () => {
    // A stand-in OpenVLA deploy.py server: answers "no motion, gripper open" 6 times, then dies.
    let answered = 0;
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (answered >= 6) {
          server.closeAllConnections();
          server.close();
          req.socket.destroy();
          return;
        }
        answered++;
        const values = Float64Array.of(0, 0, 0, 0, 0, 0, 1); // OpenVLA gripper 1 = open (LIBERO −1)
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ __numpy__: Buffer.from(values.buffer).toString('base64'), dtype: '<f8', shape: [7] }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const env = await BuiltinSimEnv.create({ imageSize: 64 });
    try {
      const policy = await makePolicy(PolicySpec.parse(`rest:${url}`), { seed: 0, timeoutMs: 5000 });
      const spec = planTrials(parseProtocol({ suites: ['object'], tasks: [0], trialsPerTask: 1 }), 'openvla')[0];
      const r = await runTrial(env, policy, spec);
      expect(r.failure).toBe('error');
      expect(r.success).toBe(false);
      expect(r.steps).toBe(6);
      expect(r.errorMessage).toMatch(/REMOTE_ERROR: OpenVLA server .* request failed/);
      expect(r.gripper).toEqual(Array(6).fill(-1));
    } finally {
      await env.close();
      server.close();
    }
  }, 60_000);

  it('an openpi websocket server dying mid-episode marks the trial errored too', async () => {
    const srv = await startOpenpiServer('ok', 10);
    const env = await BuiltinSimEnv.create({ imageSize: 64 });
    try {
      const inner = await makePolicy(PolicySpec.parse(`ws:${srv.url}`), { seed: 0, timeoutMs: 5000 });
      let calls = 0;
      // The server goes away right before the third query reaches it.
      const policy: Policy = {
        name: inner.name,
        reset: (c) => inner.reset(c),
        act: async (o) => {
          if (++calls === 3) await srv.close();
          return inner.act(o);
        },
        close: () => inner.close?.() ?? Promise.resolve(),
      };
      const spec = planTrials(parseProtocol({ suites: ['object'], tasks: [0], trialsPerTask: 1 }), 'openpi')[0];
      const r = await runTrial(env, policy, spec);
      expect(r).toMatchObject({ success: false, failure: 'error' });
      expect(r.policyMs).toHaveLength(2); // two chunks answered, the third query failed
      expect(r.steps).toBeGreaterThan(0);
      expect(r.gripper).toHaveLength(r.steps);
      expect(r.errorMessage).toMatch(/REMOTE_ERROR: websocket policy server/);
      await policy.close?.();
    } finally {
      await env.close();
      await srv.close();
    }
  }, 60_000);
});
