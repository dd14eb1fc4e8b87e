import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultTableSchema } from '../../../electron/api/schemas.js';
import { StudentRuntime } from '../../../electron/engine/policies/student-onnx.js';
import { toMarkdown } from '../../../electron/engine/evaluate/tables.js';
import { countParams, parseStudentConfig } from '../../../electron/engine/model/config.js';
import { exportPolicy, readTrainedStudent } from '../../../electron/engine/model/policy.js';
import { MINI_DISTILL } from '../../helpers/mini-distill.js';
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

const config = { ...MINI_DISTILL, baseline: true, trials: 2 };

let expId = '';

describe('distill recipe', () => {
  it('runs collect → annotate → train → evaluate, then skips everything on a re-run', async () => {
    const exp = env.lab.store.createExperiment({ name: 'mini distill', recipe: 'distill', config });
    expId = exp.id;
    const expDir = env.lab.store.experimentDir(exp.id);
    const job = await env.lab.supervisor.waitFor(env.lab.supervisor.start('distill', exp.id, exp.config).id);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    const r = job.result as { ran: string[]; outputs: Record<string, unknown> };
    expect(r.ran).toEqual(['collect', 'annotate', 'train', 'evaluate', 'taxonomy-ablation', 'report']);

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
    // Table 3 from the stored trials: one row per policy; sec/step = the median of the per-query policy
    // times with each trial's first query dropped, recomputed here from trials.jsonl; speedup vs the teacher.
    const table3 = tables.find((t) => t.id === 'table3-efficiency')!;
    expect(table3, `tables: ${tables.map((t) => t.id)}`).toBeDefined();
    expect(table3.columns).toEqual(['Model', 'Params', 'sec/step', 'sec/step (p95)', 'Hz', 'Speedup']);
    expect(table3.rows.map((row) => row[0].text)).toEqual(['teacher', 'student λ=0.5', 'student, no VLM']);
    const medianOf = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    };
    const secPerStep = (id: string) => {
      const trials = readFileSync(path.join(expDir, 'eval', id, 'trials.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { policyMs: number[] });
      return medianOf(trials.flatMap((t) => t.policyMs.slice(1))) / 1000;
    };
    const teacherSec = secPerStep('teacher');
    for (const [i, id] of ['teacher', 'lambda-0.5', 'no-vlm'].entries()) {
      const row = table3.rows[i];
      expect(row[2].value).toBeCloseTo(secPerStep(id), 12);
      if (id === 'teacher') {
        expect(row[1]).toEqual({ text: '—', value: null }); // scripted: no learned parameters
        expect(row[5].value).toBe(1);
      } else {
        const meta = JSON.parse(readFileSync(path.join(expDir, 'students', id, 'policy.json'), 'utf8'));
        expect(row[1].value).toBe(countParams(parseStudentConfig(meta.config)).total);
        expect(row[5].value).toBeCloseTo(teacherSec / secPerStep(id), 9);
      }
    }
    expect(table3.notes.join(' ')).toMatch(/first query excluded as warm-up/);
    expect(table3.notes.join(' ')).toMatch(/cpu execution provider/);
    expect(table3.notes.join(' ')).toMatch(/workers share the CPU/i);
    expect(existsSync(path.join(expDir, 'eval', 'tables', 'table3-efficiency.md'))).toBe(true);
    console.log(`distill mini, Table 3:\n${toMarkdown(table3)}`);
    // Every policy ran every trial: 2 trials × 3 policies in the trial logs.
    for (const id of ['teacher', 'lambda-0.5', 'no-vlm']) {
      const lines = readFileSync(path.join(expDir, 'eval', id, 'trials.jsonl'), 'utf8').trim().split('\n');
      expect(lines).toHaveLength(2);
    }
    // The exported policies record what they were trained on; evaluated on exactly that, no warning.
    const trainedOn = { suites: ['object'], tasks: [{ suite: 'object', taskIndex: 0, episodes: 3 }] };
    for (const id of ['lambda-0.5', 'no-vlm']) {
      expect(StudentRuntime.readMeta(path.join(expDir, 'students', id, 'policy.onnx')).trainedOn).toEqual(trainedOn);
      expect(JSON.parse(readFileSync(path.join(expDir, 'students', id, 'policy.json'), 'utf8')).trainedOn).toEqual(trainedOn);
      expect(JSON.parse(readFileSync(path.join(expDir, 'eval', id, 'evaluation.json'), 'utf8')).coverage).toEqual({ known: true, trainedOn, unseen: [], warning: null });
    }
    expect(JSON.parse(readFileSync(path.join(expDir, 'eval', 'teacher', 'evaluation.json'), 'utf8')).coverage).toBeNull();
    console.log(`distill mini: ${matrix!.columns.join(' | ')}\n${matrix!.rows.map((row) => row.map((c) => c.text).join(' | ')).join('\n')}`);

    const again = await env.lab.supervisor.waitFor(env.lab.supervisor.start('distill', exp.id, exp.config).id);
    expect((again.result as { ran: string[]; skipped: string[] }).ran).toEqual([]);
  });

  it('a student evaluated on a suite it was not trained on (or whose file does not say) runs, with a warning in the log, the result and the table', async () => {
    const expDir = env.lab.store.experimentDir(expId);
    // A policy file from before policies recorded their training data: the same student, exported without it.
    const old = path.join(expDir, 'old', 'policy.onnx');
    await exportPolicy(readTrainedStudent(path.join(expDir, 'students', 'lambda-0.5')), old);
    expect(StudentRuntime.readMeta(old).trainedOn).toBeUndefined();
    const params = {
      policies: [
        { id: 'new-file', spec: 'student:students/lambda-0.5/policy.onnx' },
        { id: 'old-file', spec: 'student:old/policy.onnx' },
      ],
      suites: ['object', 'spatial'],
      tasks: [0],
      trials: 1,
      maxSteps: { object: 8, spatial: 8 },
      workers: 1,
      keepFrames: false,
    };
    const job = await env.lab.supervisor.waitFor(env.lab.supervisor.start('evaluate', expId, params).id);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    type Cov = { known: boolean; unseen: { suite: string; taskIndex: number }[]; warning: string | null };
    const [fresh, stale] = (job.result as { policies: { id: string; trials: number; coverage: Cov }[] }).policies;
    expect(fresh.trials).toBe(2); // both suites ran
    expect(stale.trials).toBe(2);
    expect(fresh.coverage).toMatchObject({ known: true, unseen: [{ suite: 'spatial', taskIndex: 0 }] });
    expect(fresh.coverage.warning).toBe('new-file: not trained on spatial/T0 (suite spatial is not in its training data); trained on object/T0; evaluating anyway');
    expect(stale.coverage).toMatchObject({ known: false, unseen: [] });
    expect(stale.coverage.warning).toContain('old-file: unknown training suites');
    const warnings = env.lab.store.jobLogs(job.id).filter((l) => l.level === 'warn').map((l) => l.line);
    expect(warnings).toEqual(expect.arrayContaining([fresh.coverage.warning, stale.coverage.warning]));
    expect(JSON.parse(readFileSync(path.join(expDir, 'eval', 'new-file', 'evaluation.json'), 'utf8')).coverage.unseen).toEqual([{ suite: 'spatial', taskIndex: 0 }]);
    const matrix = env.lab.store
      .listResults(expId, 'table')
      .map((t) => ResultTableSchema.parse(t.value))
      .filter((t) => t.id === 'matrix')
      .at(-1)!;
    expect(matrix.columns).toEqual(['Suite', 'Task', 'new-file', 'old-file']);
    expect(matrix.notes.join('\n')).toContain('new-file: not trained on spatial/T0');
    expect(matrix.notes.join('\n')).toContain('old-file: unknown training suites');
  });
});
