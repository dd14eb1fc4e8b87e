import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { collectRollouts, demoFile } from '../../../electron/engine/teacher/collect.js';
import { ScriptedExpert } from '../../../electron/engine/policies/scripted-expert.js';
import { BuiltinSimEnv } from '../../../electron/engine/envs/builtin-sim.js';
import { OpenVlaRestPolicy } from '../../../electron/engine/policies/openvla-rest.js';
import { WebsocketPolicy } from '../../../electron/engine/policies/websocket-policy.js';
import { NdArray, packb, unpackb } from '../../../electron/engine/policies/msgpack-numpy.js';
import { WARMUP_STEPS } from '../../../electron/engine/data/libero-protocol.js';
import { readLiberoHdf5 } from '../../../electron/engine/data/libero-hdf5.js';

/**
 * Collection through real local servers speaking OpenVLA's deploy.py REST protocol and openpi's websocket
 * protocol, with the scripted expert behind them. The expert needs privileged state, which a real
 * server never gets: here the server reads it from the simulator the collection drives (same process),
 * and resets its expert when the episode is at its first recorded step. The client sees only what it
 * sends (images, state, instruction) and the actions that come back.
 */
let env: BuiltinSimEnv;
beforeAll(async () => {
  env = await BuiltinSimEnv.create({ imageSize: 16 });
});
afterAll(() => env.close());

/** The expert that follows the simulator's current episode. */
function serverSideExpert() {
  const expert = new ScriptedExpert();
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    async act(): Promise<Float32Array> {
      calls++;
      if (env.sim.stepCount === WARMUP_STEPS) {
        const t = env.sim.task;
        await expert.reset({ suite: t.suite, taskIndex: t.index, instruction: t.instruction, initIndex: 0, seed: 0 });
      }
      return expert.actPrivileged(env.sim.privileged());
    },
  };
}

async function restServer() {
  const expert = serverSideExpert();
  const bad: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const payload = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const img = payload.image;
      if (img.dtype !== '|u1' || JSON.stringify(img.shape) !== '[224,224,3]' || typeof payload.instruction !== 'string') bad.push(JSON.stringify(img.shape));
      const a = await expert.act();
      // deploy.py answers in OpenVLA's gripper convention: 1 open, 0 close
      const out = Float64Array.from([...a.slice(0, 6), a[6] > 0 ? 0 : 1]);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ __numpy__: Buffer.from(out.buffer).toString('base64'), dtype: '<f8', shape: [7] }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, expert, bad, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

async function websocketServer() {
  const expert = serverSideExpert();
  const prompts = new Set<string>();
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (ws) => {
    ws.send(packb({ policy: 'scripted-expert', action_horizon: 1 }));
    ws.on('message', async (data) => {
      const obs = unpackb(new Uint8Array(data as Buffer)) as Record<string, unknown>;
      prompts.add(String(obs.prompt));
      if ((obs['observation/image'] as NdArray).shape.join('x') !== '224x224x3') throw new Error('bad image');
      const a = await expert.act(); // openpi's LIBERO policies answer in the env's convention (-1 open, +1 close)
      ws.send(packb({ actions: new NdArray(a, [1, 7]) }));
    });
  });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, expert, prompts, close: () => new Promise<void>((r) => { for (const c of wss.clients) c.terminate(); wss.close(() => r()); }) };
}

describe('collect through teacher servers backed by the scripted expert', () => {
  it('OpenVLA REST (deploy.py protocol)', async () => {
    const server = await restServer();
    try {
      const outDir = mkdtempSync(path.join(os.tmpdir(), 'collect-rest-'));
      const policy = new OpenVlaRestPolicy({ url: server.url, timeoutMs: 10_000 });
      const r = await collectRollouts(env, policy, { suite: 'object', tasks: [9], episodesPerTask: 2, seed: 0, outDir });
      expect([r.successes, r.failures]).toEqual([2, 0]);
      expect(server.bad).toEqual([]);
      expect(server.expert.calls).toBe(r.frames);
      const { episodes } = await readLiberoHdf5(demoFile(outDir, 'object', 9));
      expect(episodes[0].teacher).toBe(`openvla-rest:${server.url}`);
      // the gripper came back through OpenVLA's convention and was mapped to LIBERO's ±1
      const g = new Set(Array.from({ length: episodes[0].length }, (_, t) => episodes[0].actions[t * 7 + 6]));
      expect([...g].sort()).toEqual([-1, 1]);
    } finally {
      await server.close();
    }
  });

  it('openpi websocket', async () => {
    const server = await websocketServer();
    const policy = new WebsocketPolicy({ url: server.url, timeoutMs: 10_000, replanSteps: 5 });
    try {
      const outDir = mkdtempSync(path.join(os.tmpdir(), 'collect-ws-'));
      const r = await collectRollouts(env, policy, { suite: 'goal', tasks: [7], episodesPerTask: 1, seed: 0, outDir });
      expect([r.successes, r.failures]).toEqual([1, 0]);
      expect(server.expert.calls).toBe(r.frames);
      expect([...server.prompts]).toEqual(['turn on the stove']);
    } finally {
      await policy.close();
      await server.close();
    }
  });
});
