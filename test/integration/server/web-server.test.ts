import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import WebSocket from 'ws';
import { startWebServer, type WebServer } from '../../../electron/server/web-server.js';
import { LabError } from '../../../electron/engine/errors.js';
import { fakeRenderer, testLab } from '../../helpers/lab.js';

let env: ReturnType<typeof testLab>;
let server: WebServer;

beforeAll(async () => {
  env = testLab();
  server = await startWebServer({ lab: env.lab, rendererDir: fakeRenderer(env.dir), port: 0 });
});
afterAll(async () => {
  await server.close();
  env.cleanup();
});

async function api(method: string, body: unknown, token: string | null = server.token, raw?: string) {
  const res = await fetch(`${server.origin}/api/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: raw ?? JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { ok: boolean; value?: any; error?: { code: string; message: string; details?: any } } };
}

describe('web-mode server', () => {
  it('serves the renderer with a CSP and without a token', async () => {
    const res = await fetch(server.origin + '/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await res.text()).toContain('<title>lab</title>');
  });

  it('rejects API calls without the token or with a wrong one', async () => {
    expect((await api('experiments.list', {}, null)).status).toBe(401);
    expect((await api('experiments.list', {}, 'x'.repeat(48))).status).toBe(401);
    expect((await api('experiments.list', {})).status).toBe(200);
  });

  it('rejects a Host header that is not the loopback address it is bound to', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        `${server.origin}/api/experiments.list`,
        { method: 'POST', headers: { host: 'evil.example:80', authorization: `Bearer ${server.token}` } },
        (res) => resolve(res.statusCode ?? 0),
      );
      req.on('error', reject);
      req.end('{}');
    });
    expect(status).toBe(421);
  });

  it('refuses a non-loopback bind unless asked', async () => {
    await expect(startWebServer({ lab: env.lab, rendererDir: fakeRenderer(env.dir), host: '0.0.0.0', port: 0 })).rejects.toSatisfy(
      (e: unknown) => e instanceof LabError && e.code === 'INVALID_INPUT' && /0\.0\.0\.0/.test(e.message),
    );
  });

  it('does experiments CRUD and names the bad field of a malformed payload', async () => {
    const created = await api('experiments.create', { name: 'web exp' });
    expect(created.status).toBe(200);
    const id = created.body.value.id as string;
    expect((await api('experiments.rename', { id, name: 'renamed' })).body.value.name).toBe('renamed');
    expect((await api('experiments.list', {})).body.value.map((e: { name: string }) => e.name)).toContain('renamed');

    const badName = await api('experiments.rename', { id, name: '' });
    expect(badName.status).toBe(400);
    expect(badName.body.error?.details?.field).toBe('name');

    const extra = await api('experiments.create', { name: 'x', bogus: 1 });
    expect(extra.status).toBe(400);

    const missing = await api('experiments.get', { id: 'exp_aaaaaaaaaaaa' });
    expect(missing.status).toBe(404);
    expect(missing.body.error?.code).toBe('NOT_FOUND');

    // Recipe settings are validated and stored with their defaults; a bad one is named.
    const configured = await api('experiments.configure', { id, config: { lambdas: [0, 0.25], trials: 5 } });
    expect(configured.status).toBe(200);
    expect(configured.body.value.config).toMatchObject({ lambdas: [0, 0.25], trials: 5, suites: ['object'], baseline: true });
    const badConfig = await api('experiments.configure', { id, config: { trials: -1 } });
    expect(badConfig.status).toBe(400);
    expect(badConfig.body.error?.details?.field).toBe('trials');
    const typo = await api('experiments.configure', { id, config: { lambda: [0.5] } });
    expect(typo.status).toBe(400);
    expect((await api('experiments.get', { id })).body.value.config.trials).toBe(5);

    expect((await api('experiments.delete', { id })).body.value).toEqual({ deleted: true });
    expect((await api('experiments.get', { id })).status).toBe(404);
  });

  it('answers malformed JSON and unknown methods with typed errors', async () => {
    const bad = await api('experiments.list', null, server.token, '{"not json');
    expect(bad.status).toBe(400);
    expect(bad.body.error?.code).toBe('INVALID_INPUT');
    const unknown = await api('experiments.explode', {});
    expect(unknown.status).toBe(404);
    expect(unknown.body.error?.message).toContain('experiments.explode');
  });

  it('keeps VLM settings, refuses to store a key without a keychain, never returns a key', async () => {
    const set = await api('settings.setVlm', { baseUrl: 'http://127.0.0.1:9/v1', model: 'qwen2.5-vl' });
    expect(set.status).toBe(200);
    expect(set.body.value.vlm).toMatchObject({ baseUrl: 'http://127.0.0.1:9/v1', model: 'qwen2.5-vl', apiKeySet: false });
    const withKey = await api('settings.setVlm', { baseUrl: 'http://127.0.0.1:9/v1', model: 'x', apiKey: 'sk-abc' });
    expect(withKey.status).toBe(422);
    expect(withKey.body.error?.code).toBe('UNSUPPORTED');
    const got = await api('settings.get', {});
    expect(got.body.value.vlm.model).toBe('qwen2.5-vl');
    expect(JSON.stringify(got.body)).not.toContain('sk-abc');
    const badUrl = await api('settings.setVlm', { baseUrl: 'ftp://x', model: 'm' });
    expect(badUrl.status).toBe(400);
    expect(badUrl.body.error?.details?.field).toBe('baseUrl');
  });

  it('serves registered artifact files with the token, with ranges, and nothing else', async () => {
    const exp = (await api('experiments.create', { name: 'files' })).body.value as { id: string };
    const dir = env.lab.store.experimentDir(exp.id);
    const { mkdirSync, writeFileSync, symlinkSync } = await import('node:fs');
    mkdirSync(`${dir}/videos`, { recursive: true });
    writeFileSync(`${dir}/videos/clip.mp4`, Buffer.from('0123456789'));
    writeFileSync(`${dir}/unregistered.png`, 'x');
    symlinkSync('/etc/hostname', `${dir}/videos/link.mp4`);
    env.lab.store.addArtifact({ experimentId: exp.id, jobId: null, kind: 'video', relPath: 'videos/clip.mp4' });
    env.lab.store.addArtifact({ experimentId: exp.id, jobId: null, kind: 'video', relPath: 'videos/link.mp4' });
    const url = (p: string, token = server.token) => `${server.origin}/files/${exp.id}/${p}?token=${token}`;
    const ok = await fetch(url('videos/clip.mp4'));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('video/mp4');
    expect(await ok.text()).toBe('0123456789');
    const part = await fetch(url('videos/clip.mp4'), { headers: { range: 'bytes=2-5' } });
    expect(part.status).toBe(206);
    expect(await part.text()).toBe('2345');
    expect((await fetch(url('videos/clip.mp4', 'nope'))).status).toBe(401);
    expect((await fetch(url('unregistered.png'))).status).toBe(404);
    expect((await fetch(url('videos/link.mp4'))).status).toBe(400);
    expect((await fetch(`${server.origin}/files/${exp.id}/..%2F..%2Flab.sqlite?token=${server.token}`)).status).toBe(404);
  });

  it('refuses a WebSocket without the token', async () => {
    const ws = new WebSocket(`${server.origin.replace('http', 'ws')}/api/events`);
    const outcome = await new Promise<string>((resolve) => {
      ws.on('open', () => resolve('open'));
      ws.on('error', () => resolve('refused'));
    });
    expect(outcome).toBe('refused');
  });
});
