import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { IPC_CHANNEL_PREFIX, IPC_JOB_EVENT_CHANNEL, LAB_METHOD_NAMES } from '../../../electron/api/lab-api.js';
import { testLab } from '../../helpers/lab.js';

/**
 * The Electron IPC router without an Electron binary: `electron`'s ipcMain is replaced by a recorder
 * (the only stand-in; the lab behind it is real), so the test can send messages as a trusted frame, an
 * iframe, and a foreign page.
 */
const handlers = new Map<string, (event: unknown, payload: unknown) => Promise<unknown>>();
const listeners = new Map<string, (event: unknown) => void>();
vi.mock('electron', () => ({
  ipcMain: {
    handle: (channel: string, fn: (event: unknown, payload: unknown) => Promise<unknown>) => handlers.set(channel, fn),
    on: (channel: string, fn: (event: unknown) => void) => listeners.set(channel, fn),
  },
}));

const { registerIpcRouter } = await import('../../../electron/main/ipc-router.js');
const APP_URL = 'file:///opt/vla-ad/out/renderer/index.html';
const frame = (url: string, parent: unknown = null) => ({ senderFrame: { url, parent } });

let env: ReturnType<typeof testLab>;
beforeAll(() => {
  env = testLab();
  registerIpcRouter(env.lab, (url) => url.split(/[?#]/)[0] === APP_URL);
});
afterAll(() => env.cleanup());

describe('IPC router', () => {
  it('registers one channel per lab method', () => {
    expect([...handlers.keys()].sort()).toEqual(LAB_METHOD_NAMES.map((m) => IPC_CHANNEL_PREFIX + m).sort());
  });

  it('answers the app frame and validates its payloads', async () => {
    const create = handlers.get(IPC_CHANNEL_PREFIX + 'experiments.create')!;
    const ok = (await create(frame(APP_URL + '#/'), { name: 'from ipc' })) as { ok: boolean; value: { name: string } };
    expect(ok.ok).toBe(true);
    expect(ok.value.name).toBe('from ipc');
    const bad = (await create(frame(APP_URL), { name: 42 })) as { ok: boolean; error: { code: string; details: { field: string } } };
    expect(bad.ok).toBe(false);
    expect(bad.error.code).toBe('INVALID_INPUT');
    expect(bad.error.details.field).toBe('name');
  });

  it('refuses messages from foreign pages and from sub-frames', async () => {
    const list = handlers.get(IPC_CHANNEL_PREFIX + 'experiments.list')!;
    const foreign = (await list(frame('https://evil.example/'), {})) as { ok: boolean; error: { message: string } };
    expect(foreign.ok).toBe(false);
    expect(foreign.error.message).toContain('untrusted frame');
    const iframe = (await list(frame(APP_URL, { url: APP_URL }), {})) as { ok: boolean };
    expect(iframe.ok).toBe(false);
  });

  it('pushes job events only to trusted subscribers', async () => {
    const sent: unknown[] = [];
    const sender = (url: string) => ({
      ...frame(url),
      sender: { send: (_ch: string, e: unknown) => sent.push([url, e]), isDestroyed: () => false, once: () => undefined },
    });
    listeners.get(IPC_JOB_EVENT_CHANNEL)!(sender(APP_URL));
    listeners.get(IPC_JOB_EVENT_CHANNEL)!(sender('https://evil.example/'));
    const job = env.lab.supervisor.start('selftest', null, { steps: 5 });
    await env.lab.supervisor.waitFor(job.id);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.every((s) => (s as [string])[0] === APP_URL)).toBe(true);
  });
});
