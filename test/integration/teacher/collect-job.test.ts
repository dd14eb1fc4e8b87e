import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { collectJob } from '../../../electron/engine/jobs/kinds/collect.js';
import { loadJobHandler } from '../../../electron/engine/jobs/registry.js';
import type { JobContext } from '../../../electron/engine/jobs/context.js';
import { readLiberoHdf5 } from '../../../electron/engine/data/libero-hdf5.js';
import { LabError } from '../../../electron/engine/errors.js';
import { readSidecar } from '../../../electron/engine/data/sidecar.js';

const made: string[] = [];
const tmpDir = (): string => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'collect-job-'));
  made.push(d);
  return d;
};
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** The `collect` job kind end to end in the built-in simulator, with a cancel and a resume. */
function jobCtx(dir: string, params: Record<string, unknown>, abortAfter?: number) {
  const ctrl = new AbortController();
  const seen = { progress: [] as number[], artifacts: [] as Array<[string, string, Record<string, unknown> | undefined]>, records: [] as unknown[], logs: [] as string[] };
  const ctx: JobContext = {
    jobId: 'job_collect_test',
    attempt: 1,
    params,
    dataDir: dir,
    jobDir: path.join(dir, 'job'),
    experimentDir: path.join(dir, 'exp'),
    signal: ctrl.signal,
    progress: (f) => {
      seen.progress.push(f);
      if (abortAfter !== undefined && f > 0 && seen.progress.filter((x) => x > 0).length >= abortAfter) ctrl.abort();
    },
    log: (l) => seen.logs.push(l),
    artifact: (kind, rel, meta) => seen.artifacts.push([kind, rel, meta]),
    record: (_kind, v) => seen.records.push(v),
    loadCheckpoint: () => null,
    saveCheckpoint: async () => undefined,
    throwIfCancelled: () => {
      if (ctrl.signal.aborted) throw new LabError('CANCELLED', 'cancelled', {});
    },
  };
  return { ctx, seen };
}

const params = { suite: 'object', tasks: [7], episodesPerTask: 3, seed: 2, imageSize: 16, teacher: { kind: 'scripted' }, flushEvery: 1 };

describe('collect job', () => {
  it('is registered and writes <experiment>/data/<suite>/task_<i>.hdf5; a killed job resumes without duplicates', async () => {
    expect(await loadJobHandler('collect')).toBe(collectJob);
    const dir = tmpDir();
    const first = jobCtx(dir, params, 1);
    const err = await collectJob(first.ctx).catch((e: unknown) => e);
    expect((err as LabError).code).toBe('CANCELLED');
    const file = path.join(dir, 'exp', 'data', 'object', 'task_7.hdf5');
    expect((await readLiberoHdf5(file)).episodes.map((e) => e.initIndex)).toEqual([0]);

    const second = jobCtx(dir, params);
    const r = await collectJob(second.ctx);
    expect([r.successes, r.skipped, r.failures]).toEqual([2, 1, 0]);
    const { episodes } = await readLiberoHdf5(file);
    expect(episodes.map((e) => e.initIndex)).toEqual([0, 1, 2]);
    expect(episodes.every((e) => e.success && e.instruction === 'pick up the milk and place it in the basket')).toBe(true);
    expect(second.seen.artifacts).toEqual([['dataset-hdf5', path.join('data', 'object', 'task_7.hdf5'), expect.objectContaining({ suite: 'object', task: 7, successes: 2 })]]);
    expect(second.seen.records).toHaveLength(1);
    expect(second.seen.progress.at(-1)).toBe(1);
    expect(existsSync(path.join(dir, 'exp', 'data', 'object', 'task_7_failures.hdf5'))).toBe(false);
  });

  it('collects in 2 worker processes exactly what it collects in one', async () => {
    const p = { suite: 'object', tasks: [4, 9], episodesPerTask: 2, seed: 5, imageSize: 16, teacher: { kind: 'scripted-noisy' } };
    const serialDir = tmpDir();
    const parallelDir = tmpDir();
    const a = await collectJob(jobCtx(serialDir, p).ctx);
    const parallel = jobCtx(parallelDir, { ...p, workers: 2 });
    const b = await collectJob(parallel.ctx);
    expect(b.perTask).toEqual(a.perTask);
    expect(parallel.seen.progress.at(-1)).toBe(1);
    for (const task of [4, 9]) {
      const file = (dir: string) => path.join(dir, 'exp', 'data', 'object', `task_${task}.hdf5`);
      const x = await readLiberoHdf5(file(serialDir));
      const y = await readLiberoHdf5(file(parallelDir));
      expect(y.episodes.map((e) => e.initIndex)).toEqual(x.episodes.map((e) => e.initIndex));
      y.episodes.forEach((e, i) => expect(Array.from(e.actions)).toEqual(Array.from(x.episodes[i].actions)));
    }
  });

  it('records tailSteps frames past each success, also from worker processes', async () => {
    const dir = tmpDir();
    const r = await collectJob(jobCtx(dir, { suite: 'object', tasks: [4, 9], episodesPerTask: 1, seed: 5, imageSize: 16, teacher: { kind: 'scripted' }, tailSteps: 6, workers: 2 }).ctx);
    expect(r.successes).toBe(2);
    for (const task of [4, 9]) {
      const file = path.join(dir, 'exp', 'data', 'object', `task_${task}.hdf5`);
      const { episodes, demoKeys } = await readLiberoHdf5(file);
      const notes = readSidecar(file).demos[demoKeys[0]].notes;
      expect(notes.tail_steps).toBe(6);
      expect(episodes[0].length).toBe((notes.success_frame as number) + 6);
    }
  });

  it('names bad parameters', async () => {
    const dir = tmpDir();
    // parseOr's form: `collect: parameter: <field>: <message>`.
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ suite: 'libero_90' }, /parameter: suite/],
      [{ suite: 'goal', episodesPerTask: 51 }, /parameter: episodesPerTask/],
      [{ suite: 'goal', teacher: { kind: 'openvla-rest' } }, /parameter: teacher\.url/],
      [{ suite: 'goal', teacher: { kind: 'websocket', url: 'http://x' } }, /parameter: teacher\.url/],
      [{ suite: 'goal', teacher: { kind: 'scripted-noisy', noise: { flipRate: 0.5 } } }, /parameter: teacher\.noise\.flipRate/],
      [{ suite: 'goal', teacher: { kind: 'scripted', expert: { retries: -1 } } }, /parameter: teacher\.expert\.retries/],
      [{ suite: 'goal', tailSteps: -1 }, /parameter: tailSteps/],
    ];
    for (const [p, text] of cases) {
      const err = await collectJob(jobCtx(dir, p).ctx).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LabError);
      expect((err as LabError).code).toBe('INVALID_INPUT');
      expect((err as LabError).message).toMatch(text);
    }
  });
});
