import { afterEach, describe, expect, it } from 'vitest';
import { WebsocketPolicy } from '../../../../electron/engine/policies/websocket-policy.js';
import { NdArray, packb, unpackb } from '../../../../electron/engine/policies/msgpack-numpy.js';
import { LabError } from '../../../../electron/engine/errors.js';
import { fakeObservation, startOpenpiServer, type WsMode } from './protocol-servers.js';

const ctx = { suite: 'goal', taskIndex: 7, instruction: 'turn on the stove', initIndex: 3, seed: 0 };
let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup) await c();
  cleanup = [];
});

async function policyFor(mode: WsMode, timeoutMs = 5000) {
  const server = await startOpenpiServer(mode);
  const policy = new WebsocketPolicy({ url: server.url, timeoutMs, replanSteps: 5 });
  cleanup.push(() => policy.close(), server.close);
  await policy.reset(ctx);
  return { policy, server };
}

describe('openpi msgpack-numpy', () => {
  it('packs an ndarray exactly as Python msgpack packs openpi pack_array output (bin keys)', () => {
    const bytes = packb(new NdArray(Uint8Array.of(1, 2), [2]));
    const hex = Buffer.from(bytes).toString('hex');
    const bin = (s: string) => 'c4' + s.length.toString(16).padStart(2, '0') + Buffer.from(s).toString('hex');
    // fixmap(4): b"__ndarray__": True, b"data": b"\x01\x02", b"dtype": "|u1", b"shape": (2,)
    expect(hex).toBe('84' + bin('__ndarray__') + 'c3' + bin('data') + 'c4020102' + bin('dtype') + 'a3' + Buffer.from('|u1').toString('hex') + bin('shape') + '9102');
    const back = unpackb(bytes) as NdArray;
    expect(back).toBeInstanceOf(NdArray);
    expect(Array.from(back.data as Uint8Array)).toEqual([1, 2]);
    const f = unpackb(packb({ a: new NdArray(Float32Array.of(1.5, -2), [1, 2]), s: 'x', n: [1, -5, 3.25, 300, null, true] })) as Record<string, unknown>;
    expect(Array.from((f.a as NdArray).data as Float32Array)).toEqual([1.5, -2]);
    expect(f.n).toEqual([1, -5, 3.25, 300, null, true]);
  });
});

describe('openpi-style websocket teacher', () => {
  it('a server that is down is a REMOTE_ERROR for the caller and nothing else: no unhandled rejection takes the process down', async () => {
    const server = await startOpenpiServer('ok');
    const url = server.url;
    await server.close(); // the port is now closed
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const policy = new WebsocketPolicy({ url, timeoutMs: 2000 });
      const err = await policy.reset(ctx).then(() => null, (e: unknown) => e);
      expect(err).toMatchObject({ code: 'REMOTE_ERROR', details: { reason: 'network' } });
      await new Promise((r) => setTimeout(r, 100)); // let any stray rejection surface
      expect(unhandled).toEqual([]);
      await policy.close();
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('after a server error (a traceback, then the server closes), the next request opens a new connection', async () => {
    const { policy, server } = await policyFor('traceback-once');
    const first = await policy.act(fakeObservation(1)).then(() => null, (e: unknown) => e);
    expect((first as LabError).message).toMatch(/ValueError: bad observation/);
    const chunk = await policy.act(fakeObservation(40));
    expect(chunk.length).toBe(5 * 7);
    expect(server.connections()).toBe(2);
  });

  it('reads the metadata, sends openpi LIBERO observations and executes the first replan steps', async () => {
    const { policy, server } = await policyFor('ok');
    expect(policy.metadata).toEqual({ policy: 'reference', action_horizon: 10 });
    const chunk = await policy.act(fakeObservation(40));
    expect(chunk.length).toBe(5 * 7);
    const obs = server.observations[0] as Record<string, unknown>;
    expect(obs.prompt).toBe(ctx.instruction);
    expect((obs['observation/image'] as NdArray).shape).toEqual([224, 224, 3]);
    expect((obs['observation/wrist_image'] as NdArray).shape).toEqual([224, 224, 3]);
    // float64, as openpi's LIBERO example sends the state (np.concatenate of float64 arrays)
    expect((obs['observation/state'] as NdArray).data).toBeInstanceOf(Float64Array);
    expect(Array.from((obs['observation/state'] as NdArray).data as Float64Array).map((v) => +v.toFixed(3))).toEqual([0.1, 0.2, 0.3, 0, 0, 3.1, 0.04, -0.04]);
    expect(chunk[6]).toBe(-1);
    expect(chunk[1 * 7 + 0]).toBeCloseTo(40 / 255 - 0.5 + 0.001, 5);
    expect((await policy.act(fakeObservation(200)))[6]).toBe(1); // same connection, second request
  });

  it('times out, relays a server traceback, and names NaN / width / missing actions', async () => {
    const slow = await policyFor('slow', 300);
    expect(((await slow.policy.act(fakeObservation(1)).catch((e: LabError) => e)) as LabError).details.reason).toBe('timeout');
    const cases: Array<[WsMode, RegExp]> = [
      ['traceback', /error from the server[\s\S]*ValueError: bad observation/],
      ['nan', /actions\[5\]\[2\] is NaN/],
      ['width6', /actions has shape \[10, 6\], expected \[7\] or \[K, 7\]/],
      ['noactions', /answer has no "actions" field/],
    ];
    for (const [mode, text] of cases) {
      const { policy } = await policyFor(mode);
      const err = await policy.act(fakeObservation(1)).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(LabError);
      expect((err as LabError).code).toBe('REMOTE_ERROR');
      expect((err as LabError).message).toMatch(text);
    }
  });
});
