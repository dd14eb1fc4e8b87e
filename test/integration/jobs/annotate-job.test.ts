import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeLiberoHdf5 } from '../../../electron/engine/data/libero-hdf5.js';
import { readSidecar } from '../../../electron/engine/data/sidecar.js';
import { writeVlmSettings } from '../../../electron/engine/store/settings.js';
import { PHASES } from '../../../electron/engine/phases/index.js';
import { syntheticDataset } from '../../../electron/cli/bench/fixtures/synthetic-phases.js';
import { startFakeVlm, type FakeVlm } from '../../../electron/cli/bench/fixtures/fake-vlm.js';
import { testLab } from '../../helpers/lab.js';

/**
 * The annotate job end to end through a forked worker: a LIBERO-layout HDF5 in an experiment, phases and
 * descriptions into its sidecar, offline and then through a real OpenAI-compatible HTTP server (the VLM
 * endpoint and key reach the worker from the lab's settings), and a re-run that pays for nothing.
 */
let env: ReturnType<typeof testLab>;
let vlm: FakeVlm;
let expDir: string;
let expId: string;
const savedKey = process.env.VLA_AD_VLM_API_KEY;

beforeAll(async () => {
  env = testLab();
  const exp = env.lab.store.createExperiment({ name: 'annotate', recipe: 'distill', config: {} });
  expId = exp.id;
  expDir = env.lab.store.experimentDir(exp.id);
  const episodes = syntheticDataset(3, 7, { imageSize: 32 }).map((s) => s.episode);
  await writeLiberoHdf5(path.join(expDir, 'data', 'synthetic', 'task_0.hdf5'), episodes);
  vlm = await startFakeVlm(undefined, { apiKey: 'sk-test-key' });
});
afterAll(async () => {
  await vlm.close();
  env.cleanup();
  if (savedKey === undefined) delete process.env.VLA_AD_VLM_API_KEY;
  else process.env.VLA_AD_VLM_API_KEY = savedKey;
});

describe('annotate job', () => {
  it('labels every frame offline and writes the sidecar and granularity', async () => {
    const job = env.lab.supervisor.start('annotate', expId, { annotator: 'offline', taxonomy: 9 });
    const final = await env.lab.supervisor.waitFor(job.id);
    expect(final.status, JSON.stringify(final.error)).toBe('succeeded');
    const r = final.result as { episodes: number; annotator: string; frames: number; paidCalls: number };
    expect(r.episodes).toBe(3);
    expect(r.annotator).toContain('offline');
    expect(r.paidCalls).toBe(0);
    const file = path.join(expDir, 'data', 'synthetic', 'task_0.hdf5');
    const side = readSidecar(file);
    expect(Object.keys(side.demos)).toEqual(['demo_0', 'demo_1', 'demo_2']);
    const d0 = side.demos.demo_0.frames;
    expect(d0.phase9.length).toBe(d0.text.length);
    expect(new Set(d0.phase9).size).toBeGreaterThan(3);
    for (const ph of d0.phase9) expect(PHASES).toContain(ph);
    expect(String(d0.text[0])).toMatch(/^[a-z]+/);
    const gran = JSON.parse(readFileSync(path.join(expDir, 'annotations', 'granularity.json'), 'utf8'));
    expect(gran.taxonomies.map((t: { size: number }) => t.size)).toEqual([3, 5, 7, 9, 11, 13]);
    expect(env.lab.store.listArtifacts(expId).map((a) => a.kind).sort()).toEqual(['annotations', 'granularity']);
  });

  it('annotates through the configured VLM endpoint, then re-runs from the cache without paying', async () => {
    writeVlmSettings(env.lab.store, env.lab.secrets, { baseUrl: vlm.url, model: 'qwen2.5-vl-7b-instruct' });
    process.env.VLA_AD_VLM_API_KEY = 'sk-test-key';
    const first = await env.lab.supervisor.waitFor(env.lab.supervisor.start('annotate', expId, { annotator: 'auto', taxonomy: 13 }).id);
    expect(first.status, JSON.stringify(first.error)).toBe('succeeded');
    const r1 = first.result as { annotator: string; paidCalls: number; status: { ok: number; failed: number } };
    expect(r1.annotator).toContain('qwen2.5-vl-7b-instruct');
    expect(r1.paidCalls).toBeGreaterThan(0);
    expect(r1.status.failed).toBe(0);
    expect(vlm.requests.every((q) => q.authorization === 'Bearer sk-test-key')).toBe(true);
    const sent = vlm.requests.length;
    const second = await env.lab.supervisor.waitFor(env.lab.supervisor.start('annotate', expId, { annotator: 'auto', taxonomy: 13 }).id);
    const r2 = second.result as { paidCalls: number; cachedCalls: number };
    expect(r2.paidCalls).toBe(0);
    expect(r2.cachedCalls).toBeGreaterThan(0);
    expect(vlm.requests.length).toBe(sent);
    // The key is in no log line and no stored job row.
    const rows = JSON.stringify(env.lab.store.listJobs()) + JSON.stringify(env.lab.store.jobLogs(first.id));
    expect(rows).not.toContain('sk-test-key');
  });

  it('names the bad parameter and a missing dataset', async () => {
    // A bad parameter is refused when the job is started (no row, no worker); a missing dataset when it runs.
    expect(() => env.lab.supervisor.start('annotate', expId, { taxonomy: 4 })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringContaining('taxonomy') }));
    const missing = await env.lab.supervisor.waitFor(env.lab.supervisor.start('annotate', expId, { dataset: 'nope' }).id);
    expect(missing.error?.code).toBe('NOT_FOUND');
    expect(existsSync(path.join(expDir, 'nope'))).toBe(false);
  });
});
