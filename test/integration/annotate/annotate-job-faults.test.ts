import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeLiberoHdf5 } from '../../../electron/engine/data/libero-hdf5.js';
import { readSidecar, sidecarPath } from '../../../electron/engine/data/sidecar.js';
import { writeVlmSettings } from '../../../electron/engine/store/settings.js';
import { annotationFallbacks, OFFLINE_ANNOTATOR } from '../../../electron/engine/annotate/index.js';
import { syntheticDataset } from '../../../electron/cli/bench/fixtures/synthetic-phases.js';
import { faultHandler, startFakeVlm, type FakeVlm } from '../../../electron/cli/bench/fixtures/fake-vlm.js';
import { testLab } from '../../helpers/lab.js';

/**
 * The annotate job (forked worker, endpoint from the lab's settings) against a faulty VLM: a rejected key
 * fails the job at once ('auto' included) naming the endpoint and status, with the key nowhere; answers
 * that never validate fail the job naming the count (fallback 'none', the default) or, with the opt-in
 * fallback 'offline', succeed with the fallback counted in the result, the sidecar's annotator honest,
 * a warning logged, and annotationFallbacks (what the distill report reads) saying so.
 */
const MODEL = 'qwen2.5-vl-7b-instruct';
const KEY = 'sk-job-fault-key-0123456789';
let env: ReturnType<typeof testLab>;
let expId: string;
let expDir: string;
let file: string;
const servers: FakeVlm[] = [];
const savedKey = process.env.VLA_AD_VLM_API_KEY;

beforeAll(async () => {
  env = testLab();
  const exp = env.lab.store.createExperiment({ name: 'annotate-faults', recipe: 'distill', config: {} });
  expId = exp.id;
  expDir = env.lab.store.experimentDir(exp.id);
  file = path.join(expDir, 'data', 'synthetic', 'task_0.hdf5');
  await writeLiberoHdf5(file, syntheticDataset(2, 7, { imageSize: 16 }).map((s) => s.episode));
  process.env.VLA_AD_VLM_API_KEY = KEY;
});
afterAll(async () => {
  for (const s of servers) await s.close();
  env.cleanup();
  if (savedKey === undefined) delete process.env.VLA_AD_VLM_API_KEY;
  else process.env.VLA_AD_VLM_API_KEY = savedKey;
});

async function useServer(...args: Parameters<typeof startFakeVlm>): Promise<FakeVlm> {
  const s = await startFakeVlm(...args);
  servers.push(s);
  writeVlmSettings(env.lab.store, env.lab.secrets, { baseUrl: s.url, model: MODEL });
  return s;
}
const run = async (params: Record<string, unknown>) => env.lab.supervisor.waitFor(env.lab.supervisor.start('annotate', expId, params).id);
const everything = (jobId: string) => JSON.stringify(env.lab.store.listJobs()) + JSON.stringify(env.lab.store.jobLogs(jobId));

describe('annotate job against a faulty VLM endpoint', () => {
  it("'auto' with a configured endpoint that answers 401 fails at once, naming endpoint and status, never the key", async () => {
    const vlm = await useServer(undefined, { apiKey: 'the-right-key' });
    const job = await run({ annotator: 'auto', fallback: 'offline' });
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('REMOTE_ERROR');
    expect(job.error?.details).toMatchObject({ kind: 'auth', status: 401, endpoint: { baseUrl: vlm.url, model: MODEL } });
    expect(job.error?.message).toContain(vlm.url);
    expect(job.error?.message).toContain('401');
    expect(vlm.statuses.length).toBeLessThanOrEqual(8); // the job's concurrency: what was in flight before the first 401
    expect(everything(job.id)).not.toContain(KEY);
    expect(existsSync(sidecarPath(file))).toBe(false); // nothing written
  });

  it("answers that never validate fail the job naming the count (fallback 'none', the default)", async () => {
    const vlm = await useServer(faultHandler('schema-invalid', { only: (q) => q.phase === 'idle' }));
    const job = await run({ annotator: 'vlm' });
    expect(job.status).toBe('failed');
    expect(job.error?.details).toMatchObject({ kind: 'incomplete', endpoint: { baseUrl: vlm.url, model: MODEL }, byKind: { invalid_answer: expect.any(Number) } });
    expect(job.error?.message).toMatch(/VLM annotation failed for \d+ of \d+ tasks .*invalid_answer/);
    expect(everything(job.id)).not.toContain(KEY);
    expect(existsSync(sidecarPath(file))).toBe(false);
  });

  it("with fallback 'offline' it succeeds: fallback counted in the result, sidecar annotator honest, warning logged, report helper notes it", async () => {
    const vlm = await useServer(faultHandler('schema-invalid', { only: (q) => q.phase === 'idle' }));
    const job = await run({ annotator: 'vlm', fallback: 'offline' });
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    const r = job.result as { annotator: string; fallback: string; frames: number; status: { fallback: number }; annotation: { tasks: number; vlm: number; cached: number; fallback: number; failed: number; fallbackFrames: number } };
    expect(r.fallback).toBe('offline');
    expect(r.annotation.fallback).toBeGreaterThan(0);
    expect(r.annotation.fallback).toBeLessThan(r.annotation.tasks);
    expect(r.annotation.vlm + r.annotation.cached + r.annotation.fallback).toBe(r.annotation.tasks);
    expect(r.annotation.failed).toBe(0);
    expect(r.annotation.fallbackFrames).toBe(r.status.fallback);
    expect(r.annotator).toBe(`vlm:${MODEL} (offline fallback for ${r.annotation.fallback} of ${r.annotation.tasks} tasks, ${r.status.fallback} of ${r.frames} frames)`);
    // The failed run before cached every answer (the invalid ones too): this one pays for nothing.
    expect(vlm.requests).toHaveLength(0);
    expect(r.annotation).toMatchObject({ vlm: 0, cached: r.annotation.tasks - r.annotation.fallback });

    const logs = env.lab.store.jobLogs(job.id);
    expect(logs.some((l) => l.level === 'warn' && l.line.includes(`offline fallback: ${r.annotation.fallback} of ${r.annotation.tasks} tasks`))).toBe(true);

    const side = readSidecar(file);
    let fallbackFrames = 0;
    for (const demo of Object.values(side.demos)) {
      const status = demo.frames.annotation_status;
      const who = demo.frames.annotator;
      const n = status.filter((s) => s === 'fallback').length;
      fallbackFrames += n;
      status.forEach((s, t) => expect(who[t]).toBe(s === 'fallback' ? OFFLINE_ANNOTATOR : `vlm:${MODEL}`));
      const counts = demo.notes.annotation as { tasks: number; fallback: number; fallbackFrames: number; fallbackPolicy: string };
      expect(counts).toMatchObject({ fallbackFrames: n, fallbackPolicy: 'offline', model: MODEL });
      expect(demo.notes.annotator).toBe(n > 0 ? `vlm:${MODEL} (offline fallback for ${counts.fallback} of ${counts.tasks} tasks, ${n} of ${status.length} frames)` : `vlm:${MODEL}`);
    }
    expect(fallbackFrames).toBe(r.status.fallback);

    const p = annotationFallbacks(path.join(expDir, 'data'));
    expect(p).toMatchObject({ files: 1, demos: 2, frames: r.frames, fallbackFrames, failedFrames: 0, offlineFrames: 0, fallbackTasks: r.annotation.fallback, tasks: r.annotation.tasks });
    expect(p.vlmFrames).toBe(r.frames - fallbackFrames);
    expect(p.note).toContain(`${fallbackFrames} frames of ${r.frames} (${r.annotation.fallback} of ${r.annotation.tasks} annotation tasks) carry offline template text`);
  });
});
