import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { annotateDataset, planAnnotation, studentText, validateDescription, type AnnotateOptions, type AnnotateProgress } from '../../../electron/engine/annotate/index.js';
import { LabError } from '../../../electron/engine/errors.js';
import { PHASES } from '../../../electron/engine/phases/index.js';
import { Rng } from '../../../electron/engine/util/rng.js';
import { syntheticDataset, syntheticEpisode } from '../../../electron/cli/bench/fixtures/synthetic-phases.js';
import { goodContent, goodHandler, startFakeVlm, type FakeVlm, type Handler } from '../../../electron/cli/bench/fixtures/fake-vlm.js';

const data = syntheticDataset(4, 21); // pick-place, drawer-pull, knob-turn, drawer-then-place
const episodes = data.map((d) => d.episode);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'vla-annotate-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let server: FakeVlm | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});
let dirs = 0;
const freshDir = () => path.join(tmp, `cache-${dirs++}`);

async function options(handler: Handler = goodHandler, extra: Partial<AnnotateOptions> = {}, serverOpts: Parameters<typeof startFakeVlm>[1] = {}): Promise<AnnotateOptions> {
  server = await startFakeVlm(handler, serverOpts);
  return { endpoint: { baseUrl: server.url, model: 'qwen2.5-vl-7b-instruct', backoffBaseMs: 2, backoffMaxMs: 20, timeoutMs: 2000 }, cacheDir: freshDir(), ...extra };
}

const fileCount = (dir: string) => readdirSync(dir, { recursive: true }).filter((f) => String(f).endsWith('.json')).length;

describe('annotateDataset against a local VLM server', () => {
  it('annotates every frame in segment mode, broadcasts operating tuples and reports the calls saved', async () => {
    const progress: AnnotateProgress[] = [];
    const opts = await options();
    const r = await annotateDataset(episodes, opts, { onProgress: (p) => progress.push(p) });
    const s = r.summary;
    expect(s.frames).toBe(episodes.reduce((a, e) => a + e.length, 0));
    expect(s.status).toEqual({ ok: s.frames, failed: 0, fallback: 0 });
    expect(s.paidCalls).toBe(s.tasks);
    expect(server!.requests).toHaveLength(s.tasks);
    expect(s.plan.callsSegmentMode).toBe(s.tasks);
    expect(s.plan.callsFrameMode).toBeGreaterThan(5 * s.plan.callsSegmentMode);
    expect(s.callsSavedBySegmentMode).toBe(s.plan.callsFrameMode - s.plan.callsSegmentMode);
    expect(s.ledger).toMatchObject({ paidCalls: s.tasks, cachedCalls: 0 });
    expect(s.ledger!.usd).toBeGreaterThan(0);
    expect(s.promptVersions.join(' ')).toMatch(/^multi-frame@[0-9a-f]{12} single-frame@[0-9a-f]{12}$/);

    // Multi-frame prompts carry 5 keyframes; single-frame prompts one image.
    expect(server!.requests.filter((q) => q.kind === 'multi').every((q) => q.images.length === 5)).toBe(true);
    expect(server!.requests.filter((q) => q.kind === 'single').every((q) => q.images.length === 1)).toBe(true);

    for (const ep of r.episodes) {
      expect(ep.frames).toHaveLength(episodes[ep.episode].length);
      for (const f of ep.frames) {
        expect(f.annotator).toBe('vlm:qwen2.5-vl-7b-instruct');
        if (f.phase9 === 'operating') {
          expect(f.tuple).toEqual({ object: 'drawer-handle', direction: 'outward' });
          expect(f.description).toBeNull();
          expect(studentText(f)).toBe('operating: (drawer-handle, outward)');
        } else {
          expect(f.description).toContain(f.phase);
          expect(studentText(f)).toBe(`${f.phase}: ${f.description}`);
        }
      }
    }
    expect(r.episodes[1].frames.some((f) => f.phase9 === 'operating')).toBe(true);
    // Frames not sent themselves took the answer of a keyframe of their own segment.
    expect(r.episodes[0].frames.filter((f) => f.annotatedFrame !== f.frame).length).toBeGreaterThan(100);

    const fractions = progress.map((p) => p.fraction);
    expect(fractions).toEqual([...fractions].sort((a, b) => a - b));
    expect(progress.at(-1)).toMatchObject({ stage: 'done', fraction: 1 });

    // A re-run pays nothing: every answer comes from the cache.
    const before = server!.requests.length;
    const again = await annotateDataset(episodes, opts);
    expect(server!.requests.length).toBe(before);
    expect(again.summary).toMatchObject({ paidCalls: 0, cachedCalls: s.tasks });
    expect(again.episodes[2].frames.every((f) => f.source === 'cache')).toBe(true);
    expect(again.episodes.map((e) => e.frames.map(studentText))).toEqual(r.episodes.map((e) => e.frames.map(studentText)));
  });

  it('uses one call per frame in frame mode, matching the dry-run plan', async () => {
    const opts = await options(goodHandler, { mode: 'frame' });
    const plan = planAnnotation(episodes.slice(0, 2), opts);
    const r = await annotateDataset(episodes.slice(0, 2), opts);
    expect(r.summary.tasks).toBe(plan.callsFrameMode);
    // Identical requests (same image and prompt, e.g. still idle frames) are asked once.
    expect(server!.requests).toHaveLength(r.summary.paidCalls);
    expect(r.summary.paidCalls + r.summary.cachedCalls + r.summary.sharedCalls).toBe(plan.callsFrameMode);
    expect(r.summary.paidCalls).toBeGreaterThan(plan.callsFrameMode / 2);
    const operatingFrames = r.episodes.flatMap((e) => e.frames).filter((f) => f.phase9 === 'operating').length;
    expect(plan.singleCalls).toBe(r.summary.frames - operatingFrames);
    expect(plan.estimate.promptTokens).toBeGreaterThan(0);
    expect(plan.estimate.usd).toBeGreaterThan(0);
  });

  it('anchors prompts to the chosen taxonomy and spreads more keyframes per segment when asked', async () => {
    const opts = await options(goodHandler, { taxonomySize: 13, keyframesPerSegment: 3 });
    const r = await annotateDataset(episodes.slice(0, 1), opts);
    const phases = new Set(r.episodes[0].frames.map((f) => f.phase));
    expect(phases.has('lowering') && phases.has('releasing')).toBe(true);
    expect(server!.requests.some((q) => q.phase === 'releasing' && q.prompt.includes('opens its fingers to let go'))).toBe(true);
    expect(r.summary.status.ok).toBe(r.summary.frames);
    const one = planAnnotation(episodes.slice(0, 1), { ...opts, keyframesPerSegment: 1 });
    expect(r.summary.tasks).toBeGreaterThan(one.callsSegmentMode);
    expect(r.summary.tasks).toBeLessThan(one.callsFrameMode);
    // Each frame took the answer of the nearest keyframe of its own segment.
    for (const f of r.episodes[0].frames) expect(r.episodes[0].frames[f.annotatedFrame].phase).toBe(f.phase);
  });

  it('retries a wrong phase word or malformed JSON with the strict prompt, then marks answers that never validate', async () => {
    const handler: Handler = (q) => {
      if (q.kind === 'multi') return q.strict ? { content: goodContent(q) } : { content: '{"object": "drawer", "direction": "sideways"}' };
      if (q.phase === 'idle') return { content: JSON.stringify({ phase: 'completed', description: 'The robot is completed. It rests.' }) }; // never valid
      if (q.phase === 'approaching' && !q.strict) return { content: '{"phase": "approaching", "description": "The gripper is approaching' }; // malformed
      if (q.phase === 'grasping' && !q.strict) return { content: JSON.stringify({ phase: 'grasping', description: 'The gripper is now in the transporting stage. It moves.' }) };
      return { content: goodContent(q) };
    };
    const opts = await options(handler, { fallback: 'offline' });
    const r = await annotateDataset(episodes.slice(0, 2), opts);
    const frames = r.episodes.flatMap((e) => e.frames);
    const idle = frames.filter((f) => f.phase9 === 'idle');
    expect(idle.length).toBeGreaterThan(0);
    for (const f of idle) {
      expect(f).toMatchObject({ status: 'fallback', annotator: 'offline-template-v1', error: { kind: 'invalid_answer' } });
      expect(validateDescription(f.description!, 'idle', PHASES).ok).toBe(true);
    }
    expect(frames.filter((f) => f.phase9 !== 'idle').every((f) => f.status === 'ok')).toBe(true);
    expect(r.summary.failures.every((x) => x.kind === 'invalid_answer' && x.message.includes('completed'))).toBe(true);
    expect(server!.requests.filter((q) => q.strict).length).toBeGreaterThanOrEqual(r.summary.failures.length + 3);
    expect(frames.find((f) => f.phase9 === 'operating')!.tuple).toEqual({ object: 'drawer-handle', direction: 'outward' });

    expect(r.summary.counts.fallback).toBe(r.summary.failures.length);
    expect(r.summary.annotator).toMatch(/^vlm:qwen2\.5-vl-7b-instruct \(offline fallback for \d+ of \d+ tasks, \d+ of \d+ frames\)$/);

    // Without the opt-in fallback the answers that never validate fail the annotation, counted.
    const err = await annotateDataset(episodes.slice(0, 1), { ...opts, fallback: 'none', cacheDir: freshDir() }).then(
      () => null,
      (e: unknown) => e as LabError,
    );
    expect(err?.details).toMatchObject({ kind: 'incomplete', byKind: { invalid_answer: expect.any(Number) } });
    expect(err?.message).toMatch(/VLM annotation failed for \d+ of \d+ tasks .*invalid_answer/);
  });

  it('survives 429s, 5xx and slow responses', async () => {
    const rng = new Rng(5);
    const handler: Handler = (q) => {
      const u = rng.next();
      if (q.n % 7 === 0) return { status: 429, headers: { 'retry-after': '0' } };
      if (u < 0.1) return { status: 502 };
      if (u < 0.2) return { delayMs: 400, content: goodContent(q) }; // over the timeout: retried
      return { content: goodContent(q) };
    };
    const opts = await options(handler);
    opts.endpoint!.timeoutMs = 150;
    opts.endpoint!.maxRetries = 8;
    const r = await annotateDataset(episodes.slice(1, 3), opts);
    expect(r.summary.status.ok).toBe(r.summary.frames);
    expect(server!.statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(server!.statuses.filter((s) => s === 502).length).toBeGreaterThan(0);
  });

  it('fails at once on 401 / unknown model, even with the offline fallback, without hammering the server', async () => {
    let opts = await options(goodHandler, { fallback: 'offline' }, { apiKey: 'right' });
    opts.endpoint!.apiKey = 'wrong-key-123456';
    let err = (await annotateDataset(episodes.slice(0, 1), opts).then(
      () => null,
      (e: unknown) => e,
    )) as LabError;
    expect(err).toBeInstanceOf(LabError);
    expect(err.details).toMatchObject({ kind: 'auth', status: 401, endpoint: { baseUrl: server!.url, model: 'qwen2.5-vl-7b-instruct' } });
    expect(server!.statuses.length).toBeLessThanOrEqual(16); // only what was in flight before the first 401
    expect(JSON.stringify({ m: err.message, d: err.details })).not.toContain('wrong-key-123456');
    await server!.close();

    opts = await options(goodHandler, { fallback: 'offline' });
    opts.endpoint!.model = 'qwen-missing';
    err = (await annotateDataset(episodes.slice(0, 1), opts).then(
      () => null,
      (e: unknown) => e,
    )) as LabError;
    expect(err.details).toMatchObject({ kind: 'config', reason: 'model_not_found', status: 404 });
    expect(err.message).toContain('qwen-missing');
  });

  it('halves images the server rejects as too large, and marks what still does not fit', async () => {
    const ep = syntheticEpisode({ task: 'drawer-pull', seed: 3, imageSize: 64 }).episode;
    const noise = new Rng(9);
    for (let i = 0; i < ep.obs.agentview_rgb.length; i++) ep.obs.agentview_rgb[i] = noise.int(256); // incompressible
    const opts = await options(goodHandler, { mode: 'segment' }, { maxBodyBytes: 14_000 });
    const r = await annotateDataset([ep], opts);
    expect(server!.statuses).toContain(413);
    expect(r.summary.status.ok).toBe(r.summary.frames); // singles fit at 32×32, the 5-image prompt at 16×16
    await server!.close();

    const tiny = await options(goodHandler, { fallback: 'offline' }, { maxBodyBytes: 1500 });
    const r2 = await annotateDataset([ep], tiny);
    expect(r2.summary.failures.every((f) => f.kind === 'too_large')).toBe(true);
    expect(r2.summary.status.fallback).toBe(r2.summary.frames);
  });

  it('resumes an interrupted run without paying again for cached answers', async () => {
    let ac = new AbortController();
    const handler: Handler = (q) => {
      if (q.n === 12) ac.abort();
      return { content: goodContent(q), delayMs: 5 };
    };
    const opts = await options(handler);
    opts.endpoint!.concurrency = 4;
    const err = await annotateDataset(episodes, opts, { signal: ac.signal }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LabError);
    expect((err as LabError).code).toBe('CANCELLED');
    const cached = fileCount(opts.cacheDir!);
    expect(cached).toBeGreaterThan(5);
    ac = new AbortController();
    const r = await annotateDataset(episodes, opts, { signal: ac.signal });
    expect(r.summary.cachedCalls).toBe(cached);
    expect(r.summary.paidCalls + r.summary.sharedCalls).toBe(r.summary.tasks - cached);
    expect(r.summary.status.ok).toBe(r.summary.frames);
  });

  it('reports an unreachable endpoint per frame (offline fallback), or fails naming the count', async () => {
    const s = await startFakeVlm();
    const url = s.url;
    await s.close();
    const r = await annotateDataset(episodes.slice(0, 1), { endpoint: { baseUrl: url, model: 'm', maxRetries: 1, backoffBaseMs: 1 }, fallback: 'offline' });
    expect(r.summary.status.fallback).toBe(r.summary.frames);
    expect(r.summary.failures.every((f) => f.kind === 'unreachable')).toBe(true);
    const err = (await annotateDataset(episodes.slice(0, 1), { endpoint: { baseUrl: url, model: 'm', maxRetries: 1, backoffBaseMs: 1 } }).then(
      () => null,
      (e: unknown) => e,
    )) as LabError;
    expect(err.details).toMatchObject({ kind: 'incomplete', byKind: { unreachable: r.summary.tasks } });
  });
});
