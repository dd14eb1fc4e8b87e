import { afterEach, describe, expect, it } from 'vitest';
import { OpenVlaRestPolicy } from '../../../../electron/engine/policies/openvla-rest.js';
import { LabError } from '../../../../electron/engine/errors.js';
import { fakeObservation, referenceAction, startOpenVlaServer, type RestMode } from './protocol-servers.js';

const ctx = { suite: 'spatial', taskIndex: 0, instruction: 'pick up the black bowl and place it on the plate', initIndex: 0, seed: 0 };
let close: (() => Promise<void>) | null = null;
afterEach(async () => {
  await close?.();
  close = null;
});

async function policyFor(mode: RestMode, extra: { doubleEncode?: boolean; timeoutMs?: number } = {}) {
  const server = await startOpenVlaServer(mode);
  close = server.close;
  const policy = new OpenVlaRestPolicy({ url: server.url, timeoutMs: extra.timeoutMs ?? 5000, doubleEncode: extra.doubleEncode, unnormKey: 'libero_spatial' });
  await policy.reset(ctx);
  return { policy, server };
}

async function remoteError(p: Promise<unknown>): Promise<LabError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(LabError);
  expect((err as LabError).code).toBe('REMOTE_ERROR');
  return err as LabError;
}

describe('OpenVLA REST teacher (deploy.py protocol)', () => {
  it('sends a 224×224 uint8 json-numpy image with the instruction and maps the gripper to LIBERO', async () => {
    const { policy, server } = await policyFor('ok');
    const dark = await policy.act(fakeObservation(40));
    const bright = await policy.act(fakeObservation(200));
    expect(server.requests[0].instruction).toBe(ctx.instruction);
    expect(server.requests[0].unnorm_key).toBe('libero_spatial');
    const expected = referenceAction(new Uint8Array(224 * 224 * 3).fill(40), ctx.instruction);
    expect(dark.length).toBe(7);
    for (let d = 0; d < 6; d++) expect(dark[d]).toBeCloseTo(expected[d], 6);
    expect(dark[6]).toBe(-1); // OpenVLA 1 (open) → LIBERO -1 (open)
    expect(bright[6]).toBe(1); // OpenVLA 0 (close) → LIBERO +1 (close)
  });

  it('speaks the double-encoded variant', async () => {
    const { policy } = await policyFor('double', { doubleEncode: true });
    expect((await policy.act(fakeObservation(40)))[1]).toBeCloseTo(ctx.instruction.length / 100, 6);
  });

  it('times out with REMOTE_ERROR', async () => {
    const { policy } = await policyFor('slow', { timeoutMs: 300 });
    expect((await remoteError(policy.act(fakeObservation(40)))).details.reason).toBe('timeout');
  });

  it('names malformed JSON, NaN, wrong width, "error" and HTTP failures', async () => {
    const cases: Array<[RestMode, RegExp]> = [
      ['malformed', /response is not JSON/],
      ['nan', /action\[0\]\[3\] is NaN/],
      ['width6', /action has shape \[6\], expected \[7\]/],
      ['error', /server reported an error/],
      ['http500', /HTTP 500/],
    ];
    for (const [mode, text] of cases) {
      const { policy } = await policyFor(mode);
      expect((await remoteError(policy.act(fakeObservation(40)))).message).toMatch(text);
      await close?.();
      close = null;
    }
  });

  it('reports an unreachable server as REMOTE_ERROR', async () => {
    const server = await startOpenVlaServer('ok');
    await server.close();
    const policy = new OpenVlaRestPolicy({ url: server.url, timeoutMs: 2000 });
    await policy.reset(ctx);
    expect((await remoteError(policy.act(fakeObservation(40)))).details.reason).toBe('network');
  });
});
