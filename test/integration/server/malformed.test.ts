import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import net from 'node:net';
import { startServerChild, type ServerChild } from './server-child.js';
import { rawRequest } from './raw-http.js';

/**
 * Issue 19 (2, 6): one malformed request used to stop web mode (URIError from decodeURIComponent, thrown
 * out of the request handler) and with it the jobs it ran; a body over 1 MiB got a connection reset. The
 * server runs in a process of its own here, so "it exited" is seen as such.
 */
let s: ServerChild;
beforeAll(async () => {
  s = await startServerChild();
});
afterAll(async () => {
  await s?.stop();
});

const host = () => new URL(s.origin).host;
const api = async (method: string, body: unknown = {}) => {
  const res = await fetch(`${s.origin}/api/${method}`, { method: 'POST', headers: { authorization: `Bearer ${s.token}` }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as { ok: boolean; value?: any; error?: { code: string; message: string } } };
};
/** The server is up and answers both the app shell and an authenticated API call. */
async function alive(): Promise<void> {
  expect(s.exited(), `server exited; stderr:\n${s.stderr()}`).toBeNull();
  const page = await fetch(`${s.origin}/`);
  expect(page.status).toBe(200);
  expect(await page.text()).toContain('<title>lab</title>');
  expect((await api('experiments.list')).status).toBe(200);
}

describe('web mode under malformed requests', () => {
  it('answers a malformed path without a token with a 400 JSON error and lives on', async () => {
    for (const p of ['/%E0%A4%A', '/%', '/%zz/index.html', '/experiments/%C0', '/a%00b', '/index.html%00.js']) {
      const res = await fetch(`${s.origin}${p}`);
      expect(res.status, p).toBe(400);
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('INVALID_INPUT');
    }
    await alive();
  });

  it('answers a malformed /api and /files path with the token with a 400 JSON error and lives on', async () => {
    const res = await fetch(`${s.origin}/api/%E0%A4%A`, { method: 'POST', headers: { authorization: `Bearer ${s.token}` }, body: '{}' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/percent-encoding/) });
    const files = await fetch(`${s.origin}/files/exp_x/%E0%A4%A.mp4?token=${s.token}`);
    expect(files.status).toBe(400);
    // An unauthenticated one is refused before anything is decoded.
    expect((await fetch(`${s.origin}/api/%E0%A4%A`, { method: 'POST', body: '{}' })).status).toBe(401);
    await alive();
  });

  it('answers request targets URL parsing rejects, and bad headers, with a 400', async () => {
    for (const target of ['http://[', 'http://a b', 'http://\u0000']) {
      const r = await rawRequest(s.origin, `GET ${target} HTTP/1.1\r\nHost: ${host()}\r\nConnection: close\r\n\r\n`);
      expect(r.status, target).toBe(400);
    }
    const badHeader = await rawRequest(s.origin, `GET / HTTP/1.1\r\nHost: ${host()}\r\nX-Bad\u0001: 1\r\n\r\n`);
    expect(badHeader.status).toBe(400);
    expect(JSON.parse(badHeader.body.toString()).error.code).toBe('INVALID_INPUT');
    const badLength = await rawRequest(
      s.origin,
      `POST /api/experiments.list HTTP/1.1\r\nHost: ${host()}\r\nAuthorization: Bearer ${s.token}\r\nContent-Length: 12x\r\n\r\n{}`,
    );
    expect(badLength.status).toBe(400);
    await alive();
  });

  it('answers a body over 1 MiB with the documented 400, not a reset', async () => {
    const big = JSON.stringify({ name: 'x'.repeat((1 << 20) + 100) });
    const res = await fetch(`${s.origin}/api/experiments.create`, { method: 'POST', headers: { authorization: `Bearer ${s.token}` }, body: big });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { ok: boolean; error: { code: string; message: string } };
    expect(body.ok).toBe(false);
    expect(body.error).toMatchObject({ code: 'INVALID_INPUT', message: `Request body over ${1 << 20} bytes` });
    // Chunked, with no length announced: the same answer.
    const chunk = 'y'.repeat(64 * 1024);
    let chunked = `POST /api/experiments.list HTTP/1.1\r\nHost: ${host()}\r\nAuthorization: Bearer ${s.token}\r\nTransfer-Encoding: chunked\r\n\r\n`;
    for (let i = 0; i < 20; i++) chunked += `${chunk.length.toString(16)}\r\n${chunk}\r\n`;
    const r = await rawRequest(s.origin, `${chunked}0\r\n\r\n`);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body.toString()).error.message).toContain('Request body over');
    // Nothing was created from the oversized body.
    expect((await api('experiments.list')).body.value).toEqual([]);
    await alive();
  });

  it('survives malformed WebSocket upgrades and frames', async () => {
    for (const target of ['/api/events?token=%E0%A4%A', `/api/%E0%A4%A?token=${s.token}`, 'http://[']) {
      const r = await rawRequest(
        s.origin,
        `GET ${target} HTTP/1.1\r\nHost: ${host()}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
      expect(r.status, target).toBe(401); // a malformed upgrade URL is refused like a wrong token
    }
    // An authenticated socket that sends a frame with reserved bits set: that socket is closed, the server stays.
    const ws = new WebSocket(`${s.origin.replace('http', 'ws')}/api/events?token=${s.token}`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    ((ws as unknown as { _socket: net.Socket })._socket).write(Buffer.from([0xf1, 0x80, 0, 0, 0, 0])); // RSV1-3 set, masked, empty
    await closed;
    await alive();
  });

  it('keeps a running job alive through all of it', async () => {
    const started = await api('jobs.start', { kind: 'selftest', experimentId: null, params: { steps: 60, hidden: 8, batch: 32, ep: 'cpu', checkpointEvery: 20 } });
    expect(started.status).toBe(200);
    for (let i = 0; i < 20; i++) {
      await fetch(`${s.origin}/%E0%A4%A${i}`);
      await fetch(`${s.origin}/api/%E0%A4%A`, { method: 'POST', headers: { authorization: `Bearer ${s.token}` }, body: '{' });
    }
    let job = started.body.value as { id: string; status: string };
    for (let i = 0; i < 600 && (job.status === 'running' || job.status === 'queued'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      job = ((await api('jobs.list')).body.value as { id: string; status: string }[]).find((j) => j.id === started.body.value.id)!;
    }
    expect(job.status).toBe('succeeded');
    await alive();
  });
});
