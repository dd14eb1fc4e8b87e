import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultTableSchema } from '../../../electron/api/schemas.js';
import { parseTrialRecord, trialKey } from '../../../electron/engine/evaluate/trial.js';
import { testLab } from '../../helpers/lab.js';
import { waitUntil } from '../../helpers/wait.js';

let env: ReturnType<typeof testLab>;
beforeAll(() => {
  env = testLab();
});
afterAll(() => env.cleanup());

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '') : []);

describe('evaluate job over the job supervisor', () => {
  it('killed midway, resumes at the next unfinished trial without double counting; records and exports the tables', async () => {
    const { lab } = env;
    const exp = lab.store.createExperiment({ name: 'eval', recipe: 'distill', config: {} });
    const params = {
      policies: [
        { id: 'teacher', spec: 'teacher:scripted' },
        { id: 'random', spec: 'random' },
      ],
      suites: ['object'],
      tasks: [0, 1],
      trials: 3,
      maxSteps: { object: 60 },
      workers: 1,
      seed: 2,
      frameStride: 2,
    };
    const job = lab.supervisor.start('evaluate', exp.id, params);
    const teacherLog = path.join(lab.store.experimentDir(exp.id), 'eval', 'teacher', 'trials.jsonl');
    await waitUntil(() => lines(teacherLog).length >= 2);
    const pid = (lab.store.db.prepare('SELECT pid FROM jobs WHERE id = ?').get(job.id) as { pid: number }).pid;
    process.kill(pid, 'SIGKILL');
    const dead = await lab.supervisor.waitFor(job.id);
    expect(dead.status).toBe('interrupted');
    const before = lines(teacherLog).length;
    expect(before).toBeGreaterThanOrEqual(2);
    expect(before).toBeLessThan(6);

    const resumed = await lab.supervisor.waitFor(lab.supervisor.resume(job.id).id);
    expect(resumed.status).toBe('succeeded');
    const result = resumed.result as { reference: string; policies: { id: string; trials: number; ran: number; resumedFrom: number; successes: number; errored: number }[] };
    expect(result.reference).toBe('teacher');
    const [teacher, random] = result.policies;
    // The teacher's stored trials were kept; only the rest ran.
    expect(teacher.resumedFrom).toBeGreaterThanOrEqual(before - 1); // a truncated last line (killed append) is re-run
    expect(teacher.resumedFrom + teacher.ran).toBe(6);
    expect(teacher.trials).toBe(6);
    expect(random.trials).toBe(6);
    expect(teacher.errored + random.errored).toBe(0);
    // each trial exactly once in the log
    for (const id of ['teacher', 'random']) {
      const recs = lines(path.join(lab.store.experimentDir(exp.id), 'eval', id, 'trials.jsonl')).map((l) => parseTrialRecord(JSON.parse(l)));
      expect(recs).toHaveLength(6);
      expect(new Set(recs.map(trialKey)).size).toBe(6);
      expect(recs.every((r) => r.seed !== undefined && r.frames?.stride === 2)).toBe(true);
    }
    // the scripted teacher beats the random baseline on these easy tasks
    expect(teacher.successes).toBeGreaterThan(random.successes);

    const tables = lab.store.listResults(exp.id, 'table').map((r) => ResultTableSchema.parse(r.value));
    expect(tables.map((t) => t.id)).toEqual(['matrix', 'suites', 'flips', 'latency']);
    const matrix = tables[0];
    expect(matrix.columns).toEqual(['Suite', 'Task', 'teacher', 'random']);
    expect(matrix.rows).toHaveLength(2);
    const teacherCells = matrix.rows.map((r) => r[2]);
    expect(teacherCells.reduce((s, c) => s + (c.value ?? 0) * (c.n ?? 0), 0)).toBeCloseTo(teacher.successes);
    expect(tables[3].rows.map((r) => r[0].text)).toEqual(['teacher', 'random']);
    const artifacts = lab.store.listArtifacts(exp.id).map((a) => a.path);
    for (const f of ['eval/tables/matrix.md', 'eval/tables/suites.csv', 'eval/tables/flips.tex', 'eval/tables/latency.md', 'eval/teacher/trials.jsonl']) expect(artifacts).toContain(f);
    expect(readFileSync(path.join(lab.store.experimentDir(exp.id), 'eval/tables/matrix.md'), 'utf8')).toContain('| teacher |');
  }, 180_000);

  it('refuses bad parameters with a typed error naming them', async () => {
    const { lab } = env;
    const exp = lab.store.createExperiment({ name: 'eval-bad', recipe: 'distill', config: {} });
    // Checked before the job exists: no row, no worker started (issue 19.6).
    const rows = lab.store.listJobs().length;
    expect(() => lab.supervisor.start('evaluate', exp.id, { policies: [{ id: 'x', spec: 'teleport' }], suites: ['object'] })).toThrow(
      expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringContaining('teleport') }),
    );
    expect(() => lab.supervisor.start('evaluate', exp.id, { policies: [{ id: 'x', spec: { kind: 'scripted' } }], trials: 0 })).toThrow(/evaluate: parameter: trials/);
    expect(lab.store.listJobs()).toHaveLength(rows);
  }, 60_000);

  it('a teacher server dying mid-episode: the trial is errored, not failed, and the tables report it apart from the rates', async () => {
    const { lab } = env;
    // A stand-in OpenVLA deploy.py server: "no motion, gripper open" for 26 queries (trial 0: all 20 steps,
    // a timeout; trial 1: 6 steps), then it dies for good.
    let answered = 0;
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (answered >= 26) {
          server.closeAllConnections();
          server.close();
          req.socket.destroy();
          return;
        }
        answered++;
        const values = Float64Array.of(0, 0, 0, 0, 0, 0, 1); // OpenVLA gripper 1 = open
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ __numpy__: Buffer.from(values.buffer).toString('base64'), dtype: '<f8', shape: [7] }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const exp = lab.store.createExperiment({ name: 'eval-dying-teacher', recipe: 'distill', config: {} });
      const params = { policies: [{ id: 'openvla', spec: `rest:${url}` }, { id: 'noop', spec: 'noop' }], suites: ['object'], tasks: [0], trials: 2, maxSteps: { object: 20 }, workers: 1, keepFrames: false };
      const job = await lab.supervisor.waitFor(lab.supervisor.start('evaluate', exp.id, params).id);
      expect(job.status, JSON.stringify(job.error)).toBe('succeeded'); // a dead server does not fail the evaluation
      const result = job.result as { reference: string; policies: { id: string; trials: number; successes: number; errored: number; successRate: number | null }[] };
      expect(result.reference).toBe('openvla');
      expect(result.policies[0]).toMatchObject({ id: 'openvla', trials: 2, errored: 1, successes: 0, successRate: 0 }); // 0 of the 1 counted
      const recs = lines(path.join(lab.store.experimentDir(exp.id), 'eval', 'openvla', 'trials.jsonl')).map((l) => parseTrialRecord(JSON.parse(l)));
      expect(recs.map((r) => [r.trialIndex, r.failure, r.steps])).toEqual([
        [0, 'timeout', 20],
        [1, 'error', 6],
      ]);
      expect(recs[1].errorMessage).toMatch(/REMOTE_ERROR: OpenVLA server/);
      expect(lab.store.jobLogs(job.id).some((l) => l.level === 'warn' && l.line.startsWith('openvla object/0/1: errored (REMOTE_ERROR'))).toBe(true);

      const tables = lab.store.listResults(exp.id, 'table').map((r) => ResultTableSchema.parse(r.value));
      const matrix = tables.find((t) => t.id === 'matrix')!;
      expect(matrix.rows[0][2]).toMatchObject({ text: '0.0', n: 1 }); // the errored trial is not in the denominator
      expect(matrix.rows[0][3]).toMatchObject({ n: 2 });
      const suites = tables.find((t) => t.id === 'suites')!;
      for (const t of [matrix, suites]) expect(t.notes).toContain('openvla: 1 errored trial excluded from the rates.');
      expect(readFileSync(path.join(lab.store.experimentDir(exp.id), 'eval', 'tables', 'suites.md'), 'utf8')).toContain('openvla: 1 errored trial excluded from the rates.');

      // Resuming does not re-run the errored trial unless asked (retryErrored), and counts nothing twice.
      const again = await lab.supervisor.waitFor(lab.supervisor.start('evaluate', exp.id, params).id);
      expect((again.result as { policies: { ran: number; errored: number; trials: number }[] }).policies[0]).toMatchObject({ ran: 0, errored: 1, trials: 2 });
    } finally {
      server.close();
    }
  }, 120_000);
});
