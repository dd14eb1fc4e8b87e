import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { LabStore } from '../../../electron/engine/store/lab-store.js';
import { startServerChild, type ServerChild } from './server-child.js';
import { rawRequest, type RawResponse } from './raw-http.js';

/**
 * Issue 19: a property-based fuzz of web mode's URL, headers and bodies (fast-check), against a server in
 * its own process on 127.0.0.1 with a real lab and a fake renderer. For every case: an answer that is valid
 * HTTP with a status below 500 (garbage is the client's fault, never a server fault or a stack trace), and
 * no byte of a file outside an experiment's registered artifacts or the renderer folder (sentinel files
 * are planted in the data dir, the temp root, a sibling folder and the experiments folder, and a symlinked
 * artifact points at one). After every batch: the process is still running and answers a health request.
 *
 * VLA_AD_FUZZ_RUNS=<n> (default 300) sets the number of cases; VLA_AD_FUZZ_SEED=<n> replays a run.
 */
const RUNS = Math.max(1, Number(process.env.VLA_AD_FUZZ_RUNS ?? 300));
const SEED = process.env.VLA_AD_FUZZ_SEED ? Number(process.env.VLA_AD_FUZZ_SEED) : Date.now() % 2 ** 31;
const BATCH = 50;

const SENTINEL = `FUZZ-SENTINEL-${randomBytes(8).toString('hex')}`;
const INDEX_HTML = '<!doctype html><title>lab</title>';
const APP_JS = 'console.log("renderer asset");';
const CLIP = 'ALLOWED-ARTIFACT-0123456789';

let s: ServerChild;
let expId: string;
let port: string;

beforeAll(async () => {
  s = await startServerChild();
  port = new URL(s.origin).port;
  // An experiment with one registered artifact (allowed) and one registered symlink to a secret (refused).
  const created = await fetch(`${s.origin}/api/experiments.create`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.token}` },
    body: JSON.stringify({ name: 'fuzz' }),
  }).then((r) => r.json() as Promise<{ value: { id: string } }>);
  expId = created.value.id;
  const expDir = path.join(s.dataDir, 'experiments', expId);
  mkdirSync(path.join(expDir, 'videos'), { recursive: true });
  writeFileSync(path.join(expDir, 'videos', 'clip.mp4'), CLIP);
  const secret = `secret ${SENTINEL}\n`;
  for (const dir of [s.dir, s.dataDir, path.join(s.dir, 'sibling'), path.join(s.dataDir, 'experiments'), path.join(s.dataDir, 'experiments', `${expId}-evil`)]) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'secret.txt'), secret);
  }
  symlinkSync(path.join(s.dataDir, 'secret.txt'), path.join(expDir, 'videos', 'link.mp4'));
  writeFileSync(path.join(expDir, 'unregistered.png'), secret);
  mkdirSync(path.join(s.dir, 'renderer', 'assets'), { recursive: true });
  writeFileSync(path.join(s.dir, 'renderer', 'assets', 'app.js'), APP_JS);
  writeFileSync(path.join(s.dir, 'renderer.secret.txt'), secret);
  // Register the artifacts through the store (WAL: the server process keeps its own connection).
  const store = new LabStore(s.dataDir);
  store.addArtifact({ experimentId: expId, jobId: null, kind: 'video', relPath: 'videos/clip.mp4' });
  store.addArtifact({ experimentId: expId, jobId: null, kind: 'video', relPath: 'videos/link.mp4' });
  store.close();
});
afterAll(async () => {
  await s?.stop();
});

// ---------- generators ----------

/** The usual value `usual` times as often as each of the odd ones (so most cases get past the HTTP parser). */
const mostly = (usual: string, weight: number, ...odd: string[]) => fc.oneof({ weight, arbitrary: fc.constant(usual) }, { weight: odd.length, arbitrary: fc.constantFrom(...odd) });

const segment = () =>
  fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom('', '.', '..', '...', '%2e', '%2e%2e', '%2E%2E', '.%2e', '%252e%252e', '%2f', '%2F', '%5c', '\\', '..\\', '..%2f', '%00', 'a%00b', '%', '%E0%A4%A', '%zz', '%C0%AE', '%c0%ae%c0%ae', '%ff', '%u002e') },
    { weight: 5, arbitrary: fc.constantFrom('api', 'files', 'events', 'index.html', 'assets', 'app.js', 'secret.txt', 'sibling', 'data', 'experiments', 'lab.sqlite', 'lab.lock', 'videos', 'clip.mp4', 'link.mp4', 'unregistered.png', 'renderer', 'renderer.secret.txt', '~', 'etc', 'passwd', 'experiments.list', 'jobs.list') },
    { weight: 2, arbitrary: fc.constant('EXP') }, // the experiment's id, or a sibling of its folder
    { weight: 1, arbitrary: fc.constant('EXP-evil') },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }).map(encodeURIComponent) }, // unicode, escaped
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) }, // raw unicode, controls and NULs, sent as UTF-8 (mostly refused by the parser)
    { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9._~-]{1,12}$/) },
  );

const pathArb = fc
  .record({
    prefix: fc.constantFrom('/', '/api/', '/files/', '/files/EXP/', '/files/EXP/videos/', '//', '/api/events', '', '/./', '/../', '/assets/', 'http://127.0.0.1/', '*'),
    segments: fc.array(segment(), { maxLength: 5 }),
    sep: mostly('/', 6, '//', '/./', '%2f', '\\', '%5C'),
    query: fc.constantFrom('', '', '?token=TOKEN', '?token=wrong', '?token=%E0%A4%A', '?token=', '?token=TOKEN&token=x', '?%zz=%', '#frag', '?token=TOKEN#x'),
  })
  .map(({ prefix, segments, sep, query }) => prefix + segments.join(sep) + query);

const methodArb = fc.oneof(
  { weight: 16, arbitrary: fc.constantFrom('GET', 'POST') },
  { weight: 3, arbitrary: fc.constantFrom('HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT', 'PURGE', 'M-SEARCH') },
  { weight: 1, arbitrary: fc.oneof(fc.constantFrom('BREW', 'get', 'POST '), fc.stringMatching(/^[A-Z]{1,10}$/)) }, // the parser refuses these
);

/** API method names: the real read-and-harmless ones (no deletes, no jobs), prototype names and junk. */
const apiMethodArb = fc.oneof(
  fc.constantFrom('experiments.list', 'experiments.get', 'experiments.create', 'experiments.rename', 'experiments.configure', 'jobs.list', 'jobs.logs', 'artifacts.list', 'results.list', 'settings.get', 'settings.setVlm'),
  fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'experiments.', '.', '', 'jobs.start%00', 'experiments.list/..', '%E0%A4%A'),
  fc.string({ maxLength: 16 }).map(encodeURIComponent),
);

type HeaderSet = Array<[string, string]>;
/**
 * Headers: each field has its usual value (a well-formed request with the token) unless the case picks it
 * among the up to three it makes odd, so cases reach every layer: the parser, the Host and token checks, the
 * routes and the API's validation.
 */
const USUAL = {
  host: 'VALID',
  origin: 'NONE',
  auth: 'BEARER',
  tokenHeader: 'NONE',
  range: 'NONE',
  contentType: 'NONE',
  length: 'EXACT',
  encoding: 'NONE',
  expect: 'NONE',
  connection: 'NONE',
  version: 'HTTP/1.1',
};
const ODD = {
  host: fc.constantFrom('localhost:PORT', '[::1]:PORT', 'evil.example', '', '127.0.0.1', '127.0.0.1:PORT.evil.example', 'ünïcode:PORT', 'NONE', 'TWICE'),
  origin: fc.constantFrom('http://evil.example', 'null', 'ORIGIN', 'http://127.0.0.1:1'),
  auth: fc.constantFrom('NONE', 'Bearer TOKENx', 'bearer TOKEN', 'Bearer  TOKEN', 'Bearer ', 'Basic Zm9vOmJhcg==', 'Bearer TOKE', 'TOKEN', 'Bearer %E0%A4%A', 'Bearer TOKEN, Bearer x'),
  tokenHeader: fc.constantFrom('x-lab-token: TOKEN', 'x-token: TOKEN', 'cookie: token=TOKEN'),
  range: fc.constantFrom('bytes=0-3', 'bytes=-2', 'bytes=99999999999999999999-', 'bytes=3-1', 'bytes=0-0,5-6', 'bytes=x-y', 'items=0-1', 'bytes=-99999999999999999999', 'bytes=5-'),
  contentType: fc.constantFrom('application/json', 'text/plain', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16'),
  length: fc.constantFrom('NONE', 'SHORT', 'LONG', 'abc', '-1', 'TWICE', '99999999999999999999'),
  encoding: fc.constantFrom('chunked', 'chunked', 'chunked, gzip', 'gzip', 'CHUNKED-BAD'),
  expect: fc.constantFrom('100-continue', '100-continue', 'nonsense'),
  connection: fc.constantFrom('close', 'keep-alive', 'UPGRADE'),
  version: fc.constantFrom('HTTP/1.0', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1x', '', 'HTTP/9.9', 'http/1.1'),
};
type Field = keyof typeof USUAL;
const headerArb = fc
  .record({
    odd: fc.subarray(Object.keys(USUAL) as Field[], { maxLength: 3 }),
    values: fc.record(ODD),
    extra: fc.array(fc.tuple(fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/), fc.string({ unit: 'grapheme-ascii', maxLength: 30 })), { maxLength: 3 }),
    garbageLine: fc.oneof({ weight: 16, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) }),
  })
  .map(({ odd, values, extra, garbageLine }) => {
    const h = { ...USUAL };
    for (const f of odd) h[f] = values[f];
    return { ...h, extra, garbageLine };
  });

const bodyArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant('') },
  { weight: 3, arbitrary: fc.json({ maxDepth: 3 }) },
  {
    weight: 3,
    arbitrary: fc.oneof(
      fc.constant({}),
      fc.record({ id: fc.constantFrom('EXP', 'exp_aaaaaaaaaaaa', '../', '') }),
      fc.record({ experimentId: fc.constantFrom('EXP', '..', 'EXP/../..') }),
      fc.record({ id: fc.constant('EXP'), name: fc.string({ unit: 'grapheme', maxLength: 12 }) }),
      fc.record({ name: fc.string({ unit: 'grapheme', maxLength: 12 }), recipe: fc.constantFrom('distill', 'x', '__proto__') }),
      fc.record({ id: fc.constant('EXP'), config: fc.jsonValue({ maxDepth: 2 }) }),
    ).map((v) => JSON.stringify(v)),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 64 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 128 }).map((a) => Buffer.from(a).toString('latin1')) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('{"not json', '['.repeat(5000), '{"a":'.repeat(2000), '\u0000', '{"__proto__":{"ok":true}}', 'null', '[]', '"str"', '1e999', '{"constructor":{"prototype":{"x":1}}}', '\uFEFF{}', '{"id":"EXP"}{"id":"EXP"}'),
  },
);

const caseArb = fc.oneof(
  // Pages and files: any method, any path.
  fc.record({ method: methodArb, path: pathArb, headers: headerArb, body: bodyArb }),
  // API calls: mostly POST to a method name, so most reach the lab's handler.
  fc.record({ method: mostly('POST', 10, 'GET', 'PUT', 'HEAD', 'OPTIONS'), path: apiMethodArb.map((m) => `/api/${m}`), headers: headerArb, body: bodyArb }),
);
type FuzzCase = (typeof caseArb) extends fc.Arbitrary<infer T> ? T : never;

// ---------- requests ----------

function render(c: FuzzCase): Buffer {
  const sub = (v: string) => v.replaceAll('EXP', expId).replaceAll('TOKEN', s.token).replaceAll('PORT', port).replaceAll('ORIGIN', s.origin);
  const body = Buffer.from(sub(c.body), 'utf8');
  const h = c.headers;
  const lines: HeaderSet = [];
  if (h.host === 'VALID') lines.push(['Host', `127.0.0.1:${port}`]);
  else if (h.host === 'TWICE') lines.push(['Host', `127.0.0.1:${port}`], ['Host', 'evil.example']);
  else if (h.host !== 'NONE') lines.push(['Host', sub(h.host)]);
  if (h.origin !== 'NONE') lines.push(['Origin', sub(h.origin)]);
  if (h.auth === 'BEARER') lines.push(['Authorization', `Bearer ${s.token}`]);
  else if (h.auth !== 'NONE') lines.push(['Authorization', sub(h.auth)]);
  if (h.tokenHeader !== 'NONE') {
    const [k, v] = sub(h.tokenHeader).split(': ');
    lines.push([k, v]);
  }
  if (h.range !== 'NONE') lines.push(['Range', h.range]);
  if (h.contentType !== 'NONE') lines.push(['Content-Type', h.contentType]);
  if (h.expect !== 'NONE') lines.push(['Expect', h.expect]);
  if (h.connection === 'UPGRADE') lines.push(['Connection', 'Upgrade'], ['Upgrade', 'websocket'], ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='], ['Sec-WebSocket-Version', '13']);
  else if (h.connection !== 'NONE') lines.push(['Connection', h.connection]);
  for (const [k, v] of h.extra) lines.push([k, v]);
  let payload = body;
  if (h.encoding === 'chunked') {
    lines.push(['Transfer-Encoding', 'chunked']);
    payload = Buffer.concat([Buffer.from(body.length > 0 ? `${body.length.toString(16)}\r\n` : ''), body, Buffer.from(body.length > 0 ? '\r\n0\r\n\r\n' : '0\r\n\r\n')]);
  } else if (h.encoding === 'CHUNKED-BAD') {
    lines.push(['Transfer-Encoding', 'chunked']);
    payload = Buffer.concat([Buffer.from('zz\r\n'), body]);
  } else if (h.encoding !== 'NONE') lines.push(['Transfer-Encoding', h.encoding]);
  if (h.encoding === 'NONE') {
    if (h.length === 'EXACT') lines.push(['Content-Length', String(body.length)]);
    else if (h.length === 'SHORT') lines.push(['Content-Length', String(Math.max(0, body.length - 1))]);
    else if (h.length === 'LONG') lines.push(['Content-Length', String(body.length + 5)]);
    else if (h.length === 'TWICE') lines.push(['Content-Length', String(body.length)], ['Content-Length', String(body.length + 1)]);
    else if (h.length !== 'NONE') lines.push(['Content-Length', h.length]);
  }
  const head = `${c.method} ${sub(c.path)}${h.version ? ` ${h.version}` : ''}\r\n${lines.map(([k, v]) => `${k}: ${v}\r\n`).join('')}${h.garbageLine ?? ''}${h.garbageLine ? '\r\n' : ''}\r\n`;
  return Buffer.concat([Buffer.from(head, 'utf8'), payload]);
}

const stats = { cases: 0, crashes: 0, statuses: new Map<number, number>() };

/** What a response may carry: the renderer's files, the registered artifact's bytes, or a JSON envelope. */
function check(req: Buffer, r: RawResponse): void {
  const where = `request ${JSON.stringify(req.toString("utf8").slice(0, 1500))} → ${JSON.stringify(r.raw.toString('utf8').slice(0, 300))}`;
  expect(r.timedOut, `no answer in time: ${where}`).toBe(false);
  expect(r.empty, `connection closed without an answer: ${where}`).toBe(false);
  expect(r.statusLine, `not an HTTP status line: ${where}`).toMatch(/^HTTP\/1\.[01] \d{3}/);
  expect(r.status, `server fault: ${where}`).toBeLessThan(500);
  expect(r.status).toBeGreaterThanOrEqual(100);
  const text = r.raw.toString('latin1');
  expect(text.includes(SENTINEL), `served a secret: ${where}`).toBe(false);
  expect(text.includes('SQLite format 3'), `served the database: ${where}`).toBe(false);
  expect(text.includes('web server (test child)'), `served the lock file: ${where}`).toBe(false);
  expect(/\n\s+at .+:\d+:\d+/.test(r.body.toString('utf8')), `a stack trace: ${where}`).toBe(false);
  if (r.status === 200 || r.status === 206) {
    const b = r.body.toString('utf8');
    const ok = b === '' || INDEX_HTML.includes(b) || APP_JS.includes(b) || CLIP.includes(b) || isJsonEnvelope(b);
    expect(ok, `served something that is neither the renderer, a registered artifact nor the API: ${where}`).toBe(true);
  }
  stats.statuses.set(r.status, (stats.statuses.get(r.status) ?? 0) + 1);
}

function isJsonEnvelope(b: string): boolean {
  try {
    const v = JSON.parse(b) as { ok?: unknown };
    return typeof v === 'object' && v !== null && typeof v.ok === 'boolean';
  } catch {
    return false;
  }
}

async function healthy(): Promise<void> {
  expect(s.exited(), `the server exited: ${JSON.stringify(s.exited())}\n${s.stderr()}`).toBeNull();
  const page = await fetch(`${s.origin}/`);
  expect(page.status).toBe(200);
  expect(await page.text()).toBe(INDEX_HTML);
  const list = await fetch(`${s.origin}/api/experiments.list`, { method: 'POST', headers: { authorization: `Bearer ${s.token}` }, body: '{}' });
  expect(list.status).toBe(200);
  expect(((await list.json()) as { ok: boolean }).ok).toBe(true);
}

describe('web mode fuzz (fast-check)', () => {
  it(
    `never exits, never answers garbage with a 5xx, never serves outside an experiment or the renderer (${RUNS} cases, seed ${SEED})`,
    async () => {
      await healthy();
      try {
        for (let done = 0, batch = 0; done < RUNS; batch++) {
          const n = Math.min(BATCH, RUNS - done);
          await fc.assert(
            fc.asyncProperty(caseArb, async (c) => {
              const req = render(c);
              const r = await rawRequest(s.origin, req, { timeoutMs: 5_000, quietMs: 300 });
              stats.cases++;
              expect(s.exited(), `the server exited after ${JSON.stringify(req.toString('utf8').slice(0, 400))}\n${s.stderr()}`).toBeNull();
              check(req, r);
            }),
            { numRuns: n, seed: SEED + batch, endOnFailure: true },
          );
          done += n;
          await healthy();
        }
      } finally {
        stats.crashes = s.exited() ? 1 : 0; // one server process: it stops at most once
        const histogram = [...stats.statuses.entries()].sort((a, b) => a[0] - b[0]).map(([k, v]) => `${k}×${v}`).join(' ');
        console.log(`web fuzz: ${stats.cases} cases, ${stats.crashes} crashes (seed ${SEED}; statuses ${histogram})`);
      }
      expect(stats.crashes).toBe(0);
      // The allowed files are served, so the refusals above are the server's choice, not a broken route.
      expect(await fetch(`${s.origin}/files/${expId}/videos/clip.mp4?token=${s.token}`).then((r) => r.text())).toBe(CLIP);
      expect(await fetch(`${s.origin}/assets/app.js`).then((r) => r.text())).toBe(APP_JS);
    },
    60_000 + RUNS * 200,
  );

  it('refuses the known ways out of the renderer and experiment folders', async () => {
    const tries = [
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/%2e%2e/data/secret.txt',
      '/..%2fsecret.txt',
      '/..%2f..%2fdata%2flab.sqlite',
      '/%2e%2e/renderer.secret.txt',
      '//..//secret.txt',
      '/assets/..%2f..%2fsibling%2fsecret.txt',
      `/files/EXP/videos/link.mp4?token=TOKEN`,
      `/files/EXP/../secret.txt?token=TOKEN`,
      `/files/EXP/..%2fsecret.txt?token=TOKEN`,
      `/files/EXP/..%2f..%2f..%2fsecret.txt?token=TOKEN`,
      `/files/EXP-evil/secret.txt?token=TOKEN`,
      `/files/EXP/unregistered.png?token=TOKEN`,
      `/files/..%2fsecret.txt?token=TOKEN`,
      `/files/%2e%2e/lab.sqlite?token=TOKEN`,
    ];
    for (const t of tries) {
      const target = t.replaceAll('EXP', expId).replaceAll('TOKEN', s.token);
      const r = await rawRequest(s.origin, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
      const text = r.raw.toString('latin1');
      expect(text.includes(SENTINEL) || text.includes('SQLite format 3'), `${target} served a secret`).toBe(false);
      expect(r.status, target).toBeLessThan(500);
      expect([200, 400, 403, 404], target).toContain(r.status);
      if (r.status === 200) expect(r.body.toString(), target).toBe(INDEX_HTML); // a history-mode route: the app shell
    }
    await healthy();
  });
});
