import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluatePolicy } from '../../../electron/engine/evaluate/evaluation.js';
import { parseProtocol } from '../../../electron/engine/evaluate/protocol.js';
import { startWebServer, type WebServer } from '../../../electron/server/web-server.js';
import { fakeRenderer, testLab } from '../../helpers/lab.js';

/**
 * The trial browser's API on a real micro evaluation (the noisy scripted teacher, 2 trials of one goal
 * task, frames kept): trials.list and trials.get through the web server, and the frame packs served by
 * key with Range support, never by a path the caller makes up.
 */
let env: ReturnType<typeof testLab>;
let server: WebServer;
let expId: string;

async function api(method: string, body: unknown) {
  const res = await fetch(`${server.origin}/api/${method}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as { ok: boolean; value?: any; error?: { code: string; message: string } } };
}
const file = (spec: string, headers: Record<string, string> = {}) => fetch(`${server.origin}/files/${spec}?token=${server.token}`, { headers });

beforeAll(async () => {
  env = testLab('trial-browser');
  server = await startWebServer({ lab: env.lab, rendererDir: fakeRenderer(env.dir), port: 0 });
  expId = env.lab.store.createExperiment({ name: 'trials', recipe: 'distill', config: {} }).id;
  const dir = env.lab.store.experimentDir(expId);
  const protocol = parseProtocol({ suites: ['goal'], tasks: [0], trialsPerTask: 2, seed: 3 });
  await evaluatePolicy({ entry: { id: 'teacher', spec: 'teacher:scripted-noisy', textMode: 'masked' }, protocol, evalDir: path.join(dir, 'eval', 'teacher'), baseDir: dir, workers: 1, imageSize: 32 });
  // a folder set aside after retraining is not a current evaluation
  mkdirSync(path.join(dir, 'eval', 'teacher.previous-abc'), { recursive: true });
  writeFileSync(path.join(dir, 'eval', 'teacher.previous-abc', 'trials.jsonl'), '');
}, 120_000);
afterAll(async () => {
  await server?.close();
  env?.cleanup();
});

describe('trials API', () => {
  it('lists the trials of a (policy, suite, task) with outcome, steps, flips and frame specs, filtered by outcome', async () => {
    const all = await api('trials.list', { experimentId: expId, policyId: 'teacher', suite: 'goal', taskIndex: 0 });
    expect(all.status).toBe(200);
    const rows = all.body.value as any[];
    expect(rows.map((r) => r.trialIndex)).toEqual([0, 1]);
    for (const r of rows) {
      expect(r.initIndex).toBe(r.trialIndex);
      expect(r.steps).toBeGreaterThan(0);
      expect(r.flips).toBe(r.flipSteps.length);
      expect(r.frames.agentview).toBe(`${expId}/trial-frames/teacher/goal/0/${r.trialIndex}/agentview`);
      expect(r.frames.wrist).toBe(`${expId}/trial-frames/teacher/goal/0/${r.trialIndex}/wrist`);
    }
    const successes = rows.filter((r) => r.success).length;
    expect(((await api('trials.list', { experimentId: expId, outcome: 'success' })).body.value as any[]).length).toBe(successes);
    expect(((await api('trials.list', { experimentId: expId, outcome: 'failure' })).body.value as any[]).length).toBe(rows.length - successes);
    expect(((await api('trials.list', { experimentId: expId })).body.value as any[]).every((r) => r.policyId === 'teacher')).toBe(true);
  });

  it('gets one trial whole; unknown keys are NOT_FOUND and malformed ones are refused', async () => {
    const got = await api('trials.get', { experimentId: expId, policyId: 'teacher', suite: 'goal', taskIndex: 0, trialIndex: 1 });
    expect(got.status).toBe(200);
    const rec = got.body.value.record;
    expect(rec.actions).toHaveLength(rec.steps * 7);
    expect(rec.querySteps[0]).toBe(0);
    expect(got.body.value.summary.trialIndex).toBe(1);
    const missing = await api('trials.get', { experimentId: expId, policyId: 'teacher', suite: 'goal', taskIndex: 0, trialIndex: 7 });
    expect(missing.body.error!.code).toBe('NOT_FOUND');
    expect(missing.status).toBe(404);
    const nopolicy = await api('trials.list', { experimentId: expId, policyId: 'student' });
    expect(nopolicy.body.value).toEqual([]);
    const escape = await api('trials.get', { experimentId: expId, policyId: '../teacher', suite: 'goal', taskIndex: 0, trialIndex: 0 });
    expect(escape.status).toBe(400);
    expect(escape.body.error!.message).toMatch(/policyId/);
  });

  it('serves a trial\'s frame packs by key, with Range; specs that try to leave the eval folder are refused', async () => {
    const { value } = (await api('trials.get', { experimentId: expId, policyId: 'teacher', suite: 'goal', taskIndex: 0, trialIndex: 0 })).body;
    const res = await file(value.summary.frames.agentview);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/gzip');
    const raw = gunzipSync(Buffer.from(await res.arrayBuffer()));
    const f = value.record.frames;
    expect(raw.length).toBe(f.count * f.height * f.width * 3);
    const part = await file(value.summary.frames.wrist, { range: 'bytes=0-9' });
    expect(part.status).toBe(206);
    expect((await part.arrayBuffer()).byteLength).toBe(10);
    for (const bad of [`${expId}/trial-frames/..%2F..%2Fsecret/goal/0/0/agentview`, `${expId}/trial-frames/teacher/goal/0/0/depth`, `${expId}/trial-frames/teacher/goal/0/0`]) {
      expect((await file(bad)).status, bad).toBe(400);
    }
    expect((await file(`${expId}/trial-frames/teacher/goal/0/9/agentview`)).status).toBe(404);
  });
});
