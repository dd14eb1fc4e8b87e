/**
 * Real local servers speaking the teacher protocols, for the tests: OpenVLA's deploy.py REST protocol
 * (json-numpy over HTTP) and openpi's websocket protocol (msgpack-numpy). The policy behind them is a
 * small deterministic function of the image and the instruction; `mode` makes them misbehave.
 * The REST side decodes json-numpy by hand (base64 + dtype + shape), not with the client's codec.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { Observation } from '../../../../electron/engine/policies/types.js';
import { NdArray, packb, unpackb } from '../../../../electron/engine/policies/msgpack-numpy.js';

export type RestMode = 'ok' | 'slow' | 'malformed' | 'nan' | 'width6' | 'error' | 'double' | 'http500';

/** The deterministic policy: x = mean brightness, y = instruction length, gripper in OpenVLA's [0,1]. */
export function referenceAction(image: Uint8Array, instruction: string): number[] {
  let sum = 0;
  for (const v of image) sum += v;
  const mean = sum / image.length;
  return [mean / 255 - 0.5, instruction.length / 100, 0.01, 0, 0, -0.02, mean < 128 ? 1 : 0];
}

const f8 = (values: number[]) => ({ __numpy__: Buffer.from(Float64Array.from(values).buffer).toString('base64'), dtype: '<f8', shape: [values.length] });

export async function startOpenVlaServer(mode: RestMode): Promise<{ url: string; requests: Array<Record<string, unknown>>; close: () => Promise<void> }> {
  const requests: Array<Record<string, unknown>> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/act') {
        res.writeHead(404).end();
        return;
      }
      let payload = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const double = 'encoded' in payload;
      if (double) payload = JSON.parse(payload.encoded);
      requests.push(payload);
      const img = payload.image;
      const bytes = Buffer.from(img.__numpy__, 'base64');
      const ok = img.dtype === '|u1' && JSON.stringify(img.shape) === '[224,224,3]' && bytes.length === 224 * 224 * 3;
      if (!ok) {
        res.writeHead(200, { 'content-type': 'application/json' }).end('"error"'); // what deploy.py does on any exception
        return;
      }
      const action = referenceAction(new Uint8Array(bytes), payload.instruction);
      const send = (body: string) => res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      switch (mode) {
        case 'ok': return send(JSON.stringify(f8(action)));
        case 'double': return send(JSON.stringify(JSON.stringify(f8(action))));
        case 'slow': return void setTimeout(() => send(JSON.stringify(f8(action))), 1500);
        case 'malformed': return send('{"__numpy__": "AAAA", "dtype": ');
        case 'nan': return send(JSON.stringify(f8([...action.slice(0, 3), Number.NaN, ...action.slice(4)])));
        case 'width6': return send(JSON.stringify(f8(action.slice(0, 6))));
        case 'error': return send('"error"');
        case 'http500': return void res.writeHead(500).end('Internal Server Error');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** traceback-once: the first connection's first request gets a traceback and a close (1011), as openpi's server does on an exception; later connections answer. */
export type WsMode = 'ok' | 'slow' | 'traceback' | 'traceback-once' | 'nan' | 'width6' | 'noactions';

export async function startOpenpiServer(mode: WsMode, chunk = 10): Promise<{ url: string; observations: unknown[]; connections: () => number; close: () => Promise<void> }> {
  const observations: unknown[] = [];
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  let connections = 0;
  wss.on('connection', (ws) => {
    const connection = ++connections;
    ws.send(packb({ policy: 'reference', action_horizon: chunk }));
    ws.on('message', (data) => {
      const obs = unpackb(new Uint8Array(data as Buffer)) as Record<string, unknown>;
      observations.push(obs);
      const img = obs['observation/image'] as NdArray;
      const base = referenceAction(img.data as Uint8Array, String(obs.prompt));
      const actions = new Float32Array(chunk * 7);
      for (let k = 0; k < chunk; k++) for (let d = 0; d < 7; d++) actions[k * 7 + d] = d === 6 ? (base[6] > 0.5 ? -1 : 1) : base[d] + k * 0.001;
      const reply = () => ws.send(packb({ actions: new NdArray(actions, [chunk, 7]), server_timing: { infer_ms: 1.5 } }));
      switch (mode) {
        case 'ok': return reply();
        case 'slow': return void setTimeout(reply, 1500);
        case 'traceback': ws.send('Traceback (most recent call last):\n  ValueError: bad observation'); return ws.close(1011, 'Internal server error');
        case 'traceback-once':
          if (connection > 1) return reply();
          ws.send('Traceback (most recent call last):\n  ValueError: bad observation');
          return ws.close(1011, 'Internal server error');
        case 'nan': actions[5 * 7 + 2] = Number.NaN; return reply();
        case 'width6': return ws.send(packb({ actions: new NdArray(actions.slice(0, chunk * 6), [chunk, 6]) }));
        case 'noactions': return ws.send(packb({ action: new NdArray(actions, [chunk, 7]) }));
      }
    });
  });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    observations,
    connections: () => connections,
    close: () => new Promise<void>((r) => { for (const c of wss.clients) c.terminate(); wss.close(() => r()); }),
  };
}

/** A 128×128 observation with a given brightness. */
export function fakeObservation(brightness: number): Observation {
  const H = 128;
  return {
    imageSize: { height: H, width: H },
    agentview_rgb: new Uint8Array(H * H * 3).fill(brightness),
    eye_in_hand_rgb: new Uint8Array(H * H * 3).fill(255 - brightness),
    ee_pos: Float64Array.of(0.1, 0.2, 0.3),
    ee_ori: Float64Array.of(0, 0, 3.1),
    gripper_states: Float64Array.of(0.04, -0.04),
    joint_states: new Float64Array(7),
    robot_states: new Float64Array(9),
    state: new Float64Array(10),
  };
}
