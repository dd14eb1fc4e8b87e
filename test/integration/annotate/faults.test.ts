import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { annotateDataset, OFFLINE_ANNOTATOR, type AnnotateOptions, type AnnotationResult } from '../../../electron/engine/annotate/index.js';
import { LabError } from '../../../electron/engine/errors.js';
import { syntheticDataset } from '../../../electron/cli/bench/fixtures/synthetic-phases.js';
import { faultHandler, goodHandler, startFakeVlm, type FakeVlm, type FaultOptions, type Handler, type VlmFault } from '../../../electron/cli/bench/fixtures/fake-vlm.js';

/**
 * The VLM part of the fault suite (issue 19, item 3): the real pipeline and client against a local
 * OpenAI-compatible server answering 401, 403, 404 (model; base URL), 400 "model not exist", 429 then OK,
 * 500 then OK, always 500, garbage bodies, schema-invalid answers and slow replies. For each: what
 * annotateDataset does. Endpoint errors (auth, config) reject at once naming the endpoint and status,
 * never the key, whatever the fallback; transient faults are retried and succeed; exhausted retries
 * reject naming the count with fallback 'none' (the default), or are filled offline — counted, in the
 * annotator label, warned — with 'offline'.
 */
const KEY = 'sk-fault-suite-0123456789abcdef';
const MODEL = 'qwen2.5-vl-7b-instruct';
const CONCURRENCY = 4;
const episodes = syntheticDataset(2, 21, { imageSize: 16 }).map((d) => d.episode);
const FRAMES = episodes.reduce((s, e) => s + e.length, 0);

const tmp = mkdtempSync(path.join(os.tmpdir(), 'vla-vlm-faults-'));
let dirs = 0;
const freshDir = () => path.join(tmp, `cache-${dirs++}`);
let server: FakeVlm | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

const CASES = [
  '401 wrong key',
  '403 no access',
  '404 unknown model',
  '404 wrong base URL',
  '400 unknown model',
  'auto annotator, rejecting endpoint',
  '429 then OK',
  '500 then OK',
  'slow then OK',
  'always 500, fallback none',
  'always 500, fallback offline',
  'garbage JSON body',
  'schema-invalid answer',
  'slow (timeout), always',
] as const;
type Case = (typeof CASES)[number];
const handled = new Set<Case>();
const done = (c: Case) => handled.add(c);
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
  console.log(`vlm faults: ${CASES.length} cases, ${handled.size} handled`);
});

async function setup(handler: Handler, extra: Partial<AnnotateOptions> = {}, endpoint: Partial<NonNullable<AnnotateOptions['endpoint']>> = {}, serverOpts: Parameters<typeof startFakeVlm>[1] = {}): Promise<AnnotateOptions> {
  server = await startFakeVlm(handler, serverOpts);
  return {
    endpoint: { baseUrl: server.url, model: MODEL, apiKey: KEY, backoffBaseMs: 2, backoffMaxMs: 10, timeoutMs: 300, maxRetries: 2, concurrency: CONCURRENCY, ...endpoint },
    cacheDir: freshDir(),
    ...extra,
  };
}
const fault = (f: VlmFault, o?: FaultOptions) => faultHandler(f, o);

async function rejection(p: Promise<AnnotationResult>): Promise<LabError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LabError);
  return err as LabError;
}

/** The key is in neither the message nor the details (nor the stack). */
function expectNoKey(err: LabError) {
  expect(JSON.stringify({ m: err.message, d: err.details, s: err.stack })).not.toContain(KEY);
}

/** An endpoint error: REMOTE_ERROR naming the base URL, the model and the status; at most the requests in flight before it were sent. */
function expectEndpointError(err: LabError, baseUrl: string, model: string, want: { kind: 'auth' | 'config'; status: number; reason?: string }) {
  expect(err.code).toBe('REMOTE_ERROR');
  expect(err.details).toMatchObject({ kind: want.kind, status: want.status, endpoint: { baseUrl, model }, attempts: 1, ...(want.reason ? { reason: want.reason } : {}) });
  expect(err.message).toContain(baseUrl);
  expect(err.message).toContain(model);
  expect(err.message).toContain(String(want.status));
  expectNoKey(err);
  expect(server!.statuses.length).toBeGreaterThan(0);
  expect(server!.statuses.length).toBeLessThanOrEqual(CONCURRENCY); // first answer stops it: no per-frame tries, no retries
  expect(server!.statuses.every((s) => s === want.status)).toBe(true);
}

describe('VLM faults: endpoint errors fail at once, whatever the fallback', () => {
  it('401: a wrong key', async () => {
    const opts = await setup(goodHandler, { fallback: 'offline' }, {}, { apiKey: 'the-right-key-000' });
    const err = await rejection(annotateDataset(episodes, opts));
    expectEndpointError(err, server!.url, MODEL, { kind: 'auth', status: 401 });
    expect(err.message).toMatch(/authentication failed, check the API key/);
    done('401 wrong key');
  });

  it('403: a key without access', async () => {
    const opts = await setup(fault('403'), { fallback: 'offline' });
    const err = await rejection(annotateDataset(episodes, opts));
    expectEndpointError(err, server!.url, MODEL, { kind: 'auth', status: 403 });
    done('403 no access');
  });

  it('404: an unknown model', async () => {
    const opts = await setup(goodHandler, { fallback: 'offline' }, { model: 'qwen-missing' });
    const err = await rejection(annotateDataset(episodes, opts));
    expectEndpointError(err, server!.url, 'qwen-missing', { kind: 'config', status: 404, reason: 'model_not_found' });
    expect(err.message).toMatch(/model "qwen-missing" is unknown/);
    done('404 unknown model');
  });

  it('404: a wrong base URL (no /v1)', async () => {
    const opts = await setup(goodHandler, { fallback: 'offline' });
    const base = server!.url.replace(/\/v1$/, '');
    opts.endpoint!.baseUrl = base;
    const err = await rejection(annotateDataset(episodes, opts));
    expectEndpointError(err, base, MODEL, { kind: 'config', status: 404, reason: 'not_found' });
    expect(err.message).toMatch(/check the base URL/);
    done('404 wrong base URL');
  });

  it('400 saying the model does not exist (DashScope): config, not a response_format downgrade', async () => {
    const opts = await setup(fault('400-model'), { fallback: 'offline' });
    const err = await rejection(annotateDataset(episodes, opts));
    expectEndpointError(err, server!.url, MODEL, { kind: 'config', status: 400, reason: 'model_not_found' });
    expect(server!.requests.every((q) => q.body.response_format?.type === 'json_schema')).toBe(true);
    done('400 unknown model');
  });

  it("annotator unset ('auto') with a configured endpoint that rejects: fails, never goes offline", async () => {
    const opts = await setup(fault('401'), { annotator: undefined, fallback: 'offline' });
    const warnings: string[] = [];
    const err = await rejection(annotateDataset(episodes, opts, { onWarning: (w) => warnings.push(w) }));
    expectEndpointError(err, server!.url, MODEL, { kind: 'auth', status: 401 });
    expect(warnings).toEqual([]);
    done('auto annotator, rejecting endpoint');
  });
});

describe('VLM faults: transient errors are retried, then succeed', () => {
  const allVlm = (r: AnnotationResult) => {
    expect(r.summary.status).toEqual({ ok: FRAMES, failed: 0, fallback: 0 });
    expect(r.summary.counts).toMatchObject({ tasks: r.summary.tasks, vlm: r.summary.tasks, cached: 0, fallback: 0, failed: 0 });
    expect(r.summary.annotator).toBe(`vlm:${MODEL}`);
    expect(r.episodes.flatMap((e) => e.frames).every((f) => f.annotator === `vlm:${MODEL}`)).toBe(true);
  };

  it('429 then OK', async () => {
    const r = await annotateDataset(episodes, await setup(fault('429-then-ok')));
    allVlm(r);
    expect(server!.statuses.filter((s) => s === 429)).toHaveLength(r.summary.tasks);
    done('429 then OK');
  });

  it('500 then OK (twice each)', async () => {
    const r = await annotateDataset(episodes, await setup(fault('500-then-ok', { failTimes: 2 })));
    allVlm(r);
    expect(server!.statuses.filter((s) => s === 500)).toHaveLength(2 * r.summary.tasks);
    done('500 then OK');
  });

  it('slow (over the timeout) then OK', async () => {
    const r = await annotateDataset(episodes, await setup(fault('slow-then-ok', { slowMs: 900 }), {}, { timeoutMs: 200 }));
    allVlm(r);
    expect(server!.requests).toHaveLength(2 * r.summary.tasks);
    done('slow then OK');
  });
});

describe('VLM faults: exhausted retries fail the annotation (fallback none) or are filled offline, counted (fallback offline)', () => {
  /** fallback 'none': rejects with kind incomplete, naming how many tasks failed and why, and the endpoint. */
  function expectIncomplete(err: LabError, kind: string, tasks: number) {
    expect(err.code).toBe('REMOTE_ERROR');
    expect(err.details).toMatchObject({ kind: 'incomplete', endpoint: { baseUrl: server!.url, model: MODEL }, counts: { tasks, failed: tasks, fallback: 0, failedFrames: FRAMES }, byKind: { [kind]: tasks } });
    expect(err.message).toContain(`VLM annotation failed for ${tasks} of ${tasks} tasks`);
    expect(err.message).toContain(`${kind} ×${tasks}`);
    expect(err.message).toContain(server!.url);
    expectNoKey(err);
  }
  /** fallback 'offline': succeeds, every task filled with the template, counted, labelled and warned. */
  function expectAllFallback(r: AnnotationResult, kind: string, warnings: string[]) {
    const n = r.summary.tasks;
    expect(r.summary.counts).toMatchObject({ tasks: n, vlm: 0, cached: 0, fallback: n, failed: 0, frames: FRAMES, fallbackFrames: FRAMES });
    expect(r.summary.annotator).toBe(`vlm:${MODEL} (offline fallback for ${n} of ${n} tasks, ${FRAMES} of ${FRAMES} frames)`);
    for (const f of r.episodes.flatMap((e) => e.frames)) expect(f).toMatchObject({ status: 'fallback', annotator: OFFLINE_ANNOTATOR, source: 'offline', error: { kind } });
    for (const e of r.episodes) expect(e.annotator).toBe(`vlm:${MODEL} (offline fallback for ${e.counts.tasks} of ${e.counts.tasks} tasks, ${e.frames.length} of ${e.frames.length} frames)`);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`offline fallback: ${n} of ${n} tasks`);
  }

  it('always 500, fallback none (the default): fails naming the count after the retries', async () => {
    const opts = await setup(fault('always-500'));
    const err = await rejection(annotateDataset(episodes, opts));
    const tasks = (err.details.counts as { tasks: number }).tasks;
    expectIncomplete(err, 'server', tasks);
    expect(server!.statuses).toHaveLength(tasks * 3); // maxRetries 2: three tries each
    done('always 500, fallback none');
  });

  it('always 500, fallback offline: succeeds, every task counted as fallback, label honest, warned', async () => {
    const warnings: string[] = [];
    const r = await annotateDataset(episodes, await setup(fault('always-500'), { fallback: 'offline' }), { onWarning: (w) => warnings.push(w) });
    expectAllFallback(r, 'server', warnings);
    done('always 500, fallback offline');
  });

  it('a partial failure names its share: k of n tasks', async () => {
    const warnings: string[] = [];
    const r = await annotateDataset(episodes, await setup(fault('always-500', { only: (q) => q.phase === 'idle' }), { fallback: 'offline' }), { onWarning: (w) => warnings.push(w) });
    const c = r.summary.counts;
    expect(c.fallback).toBeGreaterThan(0);
    expect(c.vlm).toBe(c.tasks - c.fallback);
    const idle = r.episodes.flatMap((e) => e.frames).filter((f) => f.status === 'fallback');
    expect(idle.every((f) => f.phase === 'idle' && f.annotator === OFFLINE_ANNOTATOR)).toBe(true);
    expect(c.fallbackFrames).toBe(idle.length);
    expect(r.summary.annotator).toBe(`vlm:${MODEL} (offline fallback for ${c.fallback} of ${c.tasks} tasks, ${idle.length} of ${FRAMES} frames)`);
    expect(warnings).toHaveLength(1);
  });

  it('garbage JSON bodies: retried once, then the task fails (none), or is filled offline (offline)', async () => {
    const opts = await setup(fault('garbage-json'));
    const err = await rejection(annotateDataset(episodes, opts));
    const tasks = (err.details.counts as { tasks: number }).tasks;
    expectIncomplete(err, 'bad_response', tasks);
    expect(server!.statuses).toHaveLength(2 * tasks); // one retry, not maxRetries (2)
    const warnings: string[] = [];
    expectAllFallback(await annotateDataset(episodes, { ...opts, fallback: 'offline', cacheDir: freshDir() }, { onWarning: (w) => warnings.push(w) }), 'bad_response', warnings);
    done('garbage JSON body');
  });

  it('schema-invalid answers: asked once more with the strict prompt, then the task fails (none), or is filled offline from the cache (offline)', async () => {
    const opts = await setup(fault('schema-invalid'));
    const err = await rejection(annotateDataset(episodes, opts));
    const tasks = (err.details.counts as { tasks: number }).tasks;
    expectIncomplete(err, 'invalid_answer', tasks);
    expect(server!.requests).toHaveLength(2 * tasks);
    expect(server!.requests.filter((q) => q.strict)).toHaveLength(tasks);
    // The invalid answers are cached: the opt-in fallback run pays for nothing and fills every task offline.
    const warnings: string[] = [];
    const r = await annotateDataset(episodes, { ...opts, fallback: 'offline' }, { onWarning: (w) => warnings.push(w) });
    expect(server!.requests).toHaveLength(2 * tasks);
    expectAllFallback(r, 'invalid_answer', warnings);
    expect(r.summary.cachedCalls).toBe(2 * tasks);
    done('schema-invalid answer');
  });

  it('always slow: timeouts retried, then the task fails (none), or is filled offline (offline)', async () => {
    const opts = await setup(fault('always-slow', { slowMs: 800 }), {}, { timeoutMs: 120, maxRetries: 1 });
    const err = await rejection(annotateDataset(episodes, opts));
    const tasks = (err.details.counts as { tasks: number }).tasks;
    expectIncomplete(err, 'timeout', tasks);
    expect(server!.requests).toHaveLength(2 * tasks);
    const warnings: string[] = [];
    expectAllFallback(await annotateDataset(episodes, { ...opts, fallback: 'offline' }, { onWarning: (w) => warnings.push(w) }), 'timeout', warnings);
    done('slow (timeout), always');
  });
});
