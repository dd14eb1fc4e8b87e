import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job, JobEvent } from '../../../electron/api/schemas.js';
import { openLab } from '../../../electron/engine/lab-runtime.js';
import { forkSpawner } from '../../../electron/engine/jobs/fork-process.js';
import { workerEntry } from '../../../electron/cli/paths.js';
import { LabError } from '../../../electron/engine/errors.js';
import { testLab } from '../../helpers/lab.js';
import { waitUntil } from '../../helpers/wait.js';

let env: ReturnType<typeof testLab>;
beforeAll(() => {
  env = testLab();
});
afterAll(() => env.cleanup());


describe('job supervisor over forked workers', () => {
  it('runs the self-test job: progress events, logs, an artifact, a real result', async () => {
    const { lab } = env;
    const exp = lab.store.createExperiment({ name: 'jobs', recipe: 'distill', config: {} });
    const events: JobEvent[] = [];
    const off = lab.supervisor.subscribe((e) => events.push(e));
    const job = lab.supervisor.start('selftest', exp.id, { steps: 120, seed: 3 });
    const final = await lab.supervisor.waitFor(job.id);
    off();
    expect(final.status).toBe('succeeded');
    const result = final.result as { ep: string; inferenceMaxAbsDiff: number; firstLoss: number; lastLoss: number; testAccuracy: number; seed: number };
    expect(result.ep).toBe('cpu');
    expect(result.inferenceMaxAbsDiff).toBeLessThan(1e-4);
    expect(result.lastLoss).toBeLessThan(result.firstLoss);
    expect(result.seed).toBe(3);
    const fractions = events.filter((e): e is Extract<JobEvent, { type: 'job' }> => e.type === 'job' && e.job.id === job.id).map((e) => e.job.progress.fraction);
    expect(fractions.length).toBeGreaterThan(3);
    expect(fractions.at(-1)).toBe(1);
    expect([...fractions].sort((a, b) => a - b)).toEqual(fractions); // monotone
    expect(lab.store.jobLogs(job.id).some((l) => l.line.includes('matches the JS reference'))).toBe(true);
    expect(lab.store.listArtifacts(exp.id).map((a) => a.path)).toEqual(['selftest/mlp-inference.onnx']);
  });

  it('is deterministic for a fixed seed', async () => {
    const { lab } = env;
    const a = await lab.supervisor.waitFor(lab.supervisor.start('selftest', null, { steps: 40, seed: 11 }).id);
    const b = await lab.supervisor.waitFor(lab.supervisor.start('selftest', null, { steps: 40, seed: 11 }).id);
    expect((a.result as { lastLoss: number }).lastLoss).toBe((b.result as { lastLoss: number }).lastLoss);
  });

  it('cancels a running job', async () => {
    const { lab } = env;
    const job = lab.supervisor.start('selftest', null, { steps: 200_000 });
    await waitUntil(() => lab.store.getJob(job.id).progress.stage.startsWith('train step'));
    lab.supervisor.cancel(job.id);
    const final = await lab.supervisor.waitFor(job.id);
    expect(final.status).toBe('cancelled');
    expect(final.error?.code).toBe('CANCELLED');
    expect(final.progress.fraction).toBeLessThan(1);
  });

  it('marks a job whose process dies as interrupted, then resumes it from its checkpoint', async () => {
    const { lab } = env;
    const job = lab.supervisor.start('selftest', null, { steps: 100_000, checkpointEvery: 20, hidden: 32 });
    await waitUntil(() => {
      const stage = lab.store.getJob(job.id).progress.stage;
      const m = /train step (\d+)/.exec(stage);
      return m !== null && Number(m[1]) > 200;
    });
    const pid = (lab.store.db.prepare('SELECT pid FROM jobs WHERE id = ?').get(job.id) as { pid: number }).pid;
    process.kill(pid, 'SIGKILL');
    const dead = await lab.supervisor.waitFor(job.id);
    expect(dead.status).toBe('interrupted');
    expect(dead.error?.code).toBe('INTERRUPTED');
    expect(existsSync(path.join(lab.store.jobDir(dead), 'train-state.json'))).toBe(true);

    // Resume with the same params: it continues from the saved step and finishes.
    lab.store.db.prepare('UPDATE jobs SET params = ? WHERE id = ?').run(JSON.stringify({ steps: 400, checkpointEvery: 20, hidden: 32 }), job.id);
    const resumed = await lab.supervisor.waitFor(lab.supervisor.resume(job.id).id);
    expect(resumed.status).toBe('succeeded');
    expect(resumed.attempts).toBe(2);
    const r = resumed.result as { resumedFrom: number };
    // The kill came after step 200 was reported; the last checkpoint before it is at 200 or later.
    expect(r.resumedFrom).toBeGreaterThanOrEqual(200);
    expect(r.resumedFrom % 20).toBe(0);
  });

  it('fails with a typed error naming a bad parameter, and refuses unknown kinds', async () => {
    const { lab } = env;
    // Checked before the job exists: no row, no worker started (issue 19.6).
    const rows = lab.store.listJobs().length;
    const err = (() => {
      try {
        lab.supervisor.start('selftest', null, { steps: -3 });
      } catch (e) {
        return e as LabError;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(LabError);
    expect(err?.code).toBe('INVALID_INPUT');
    expect(err?.message).toContain('steps');
    expect(lab.store.listJobs()).toHaveLength(rows);
    expect(() => lab.supervisor.start('teleport', null, {})).toThrow(LabError);
  });

  it('a job left running by a dead owner is interrupted when the data directory is opened again', async () => {
    const { lab, dir } = env;
    const job = lab.store.createJob({ kind: 'selftest', experimentId: null, params: {} });
    lab.store.updateJob(job.id, { status: 'running' });
    lab.close();
    const reopened = openLab({ dataDir: path.join(dir, 'data'), owner: 'test 2', spawn: forkSpawner(workerEntry) });
    try {
      expect(reopened.store.getJob(job.id).status).toBe('interrupted');
    } finally {
      reopened.close();
      env.lab = openLab({ dataDir: path.join(dir, 'data'), owner: 'test 3', spawn: forkSpawner(workerEntry) });
    }
  });
});
