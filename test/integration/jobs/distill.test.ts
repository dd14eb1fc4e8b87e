import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultTableSchema } from '../../../electron/api/schemas.js';
import { MICRO } from '../../unit/engine/train/helpers.js';
import { testLab } from '../../helpers/lab.js';

/**
 * The paper's experiment in miniature, end to end through the job system: the built-in simulator, the
 * noisy scripted teacher, the offline annotator, a micro student per λ and the no-VLM baseline, then
 * closed-loop evaluation of teacher and students on the same trials. Real episodes, real training; the
 * success rates are reported (and recorded as tables), not asserted: a micro student trained for two
 * epochs is not expected to solve tasks.
 */
let env: ReturnType<typeof testLab>;
beforeAll(() => {
  env = testLab();
});
afterAll(() => env.cleanup());

const config = {
  suites: ['object'],
  tasks: [0],
  episodesPerTask: 3,
  imageSize: 32,
  annotator: 'offline',
  student: MICRO.config,
  studentOverrides: MICRO.configOverrides,
  lambdas: [0.5],
  baseline: true,
  epochs: 2,
  batchSize: 16,
  trials: 2,
  threads: 1,
};

describe('distill recipe', () => {
  it('runs collect → annotate → train → evaluate, then skips everything on a re-run', async () => {
    const exp = env.lab.store.createExperiment({ name: 'mini distill', recipe: 'distill', config });
    const expDir = env.lab.store.experimentDir(exp.id);
    const job = await env.lab.supervisor.waitFor(env.lab.supervisor.start('distill', exp.id, exp.config).id);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    const r = job.result as { ran: string[]; outputs: Record<string, unknown> };
    expect(r.ran).toEqual(['collect', 'annotate', 'train', 'evaluate', 'report']);

    expect(existsSync(path.join(expDir, 'data', 'object', 'task_0.hdf5'))).toBe(true);
    for (const run of ['lambda-0.5', 'no-vlm']) expect(existsSync(path.join(expDir, 'students', run, 'policy.onnx'))).toBe(true);
    const tables = env.lab.store.listResults(exp.id, 'table').map((t) => ResultTableSchema.parse(t.value));
    const matrix = tables.find((t) => t.id.startsWith('matrix'));
    expect(matrix, `tables: ${tables.map((t) => t.id)}`).toBeDefined();
    expect(matrix!.columns.join(' ')).toContain('teacher');
    const table1 = tables.find((t) => t.id === 'table1-suites')!;
    expect(table1.rows.map((row) => row[0].text)).toEqual(expect.arrayContaining(['teacher', 'student λ=0.5', 'student, no VLM']));
    const table5 = tables.find((t) => t.id === 'table5-per-task-lambda')!;
    expect(table5.columns.join(' ')).toContain('λ=0.5');
    expect(existsSync(path.join(expDir, 'eval', 'tables', 'table5-per-task-lambda.tex'))).toBe(true);
    // Every policy ran every trial: 2 trials × 3 policies in the trial logs.
    for (const id of ['teacher', 'lambda-0.5', 'no-vlm']) {
      const lines = readFileSync(path.join(expDir, 'eval', id, 'trials.jsonl'), 'utf8').trim().split('\n');
      expect(lines).toHaveLength(2);
    }
    console.log(`distill mini: ${matrix!.columns.join(' | ')}\n${matrix!.rows.map((row) => row.map((c) => c.text).join(' | ')).join('\n')}`);

    const again = await env.lab.supervisor.waitFor(env.lab.supervisor.start('distill', exp.id, exp.config).id);
    expect((again.result as { ran: string[]; skipped: string[] }).ran).toEqual([]);
  });
});
