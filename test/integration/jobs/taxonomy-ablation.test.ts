import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResultTableSchema, type ResultTable } from '../../../electron/api/schemas.js';
import { taxonomy } from '../../../electron/engine/phases/index.js';
import { MINI_DISTILL } from '../../helpers/mini-distill.js';
import { testLab } from '../../helpers/lab.js';

/**
 * The distill recipe's taxonomy ablation on a micro experiment: one task, 3 episodes (one of them the
 * validation episode), two epochs. Real annotation with each taxonomy, real training; the table's cells must
 * be the students' own metrics.json values at their lowest-validation-loss epoch.
 */
let env: ReturnType<typeof testLab>;
beforeAll(() => {
  env = testLab();
});
afterAll(() => env.cleanup());

const config = {
  ...MINI_DISTILL,
  baseline: false,
  lr: 1e-2,
  trials: 1,
  taxonomy: 9,
  taxonomyAblation: [9, 5],
};

interface Metrics {
  history: { epoch: number; val: { full: { loss: number; tokenAccuracy: Record<'translation' | 'rotation' | 'gripper', number> } } | null }[];
}

const sidecarNotes = (file: string) => Object.values(JSON.parse(readFileSync(`${file}.lab.json`, 'utf8')).demos as Record<string, { notes: { taxonomy?: number }; frames: { phase?: string[] } }>);

function latestTable(expId: string, id: string): ResultTable {
  const all = env.lab.store.listResults(expId, 'table').map((r) => ResultTableSchema.parse(r.value)).filter((t) => t.id === id);
  expect(all.length, `table ${id}`).toBeGreaterThan(0);
  return all.at(-1)!;
}

/** Every row's cells against its student's metrics.json, read independently here. */
function checkAgainstMetrics(t: ResultTable, expDir: string): void {
  expect(t.columns).toEqual(['# phases', 'Translation', 'Rotation', 'Gripper', 'Mean', 'Val loss', 'Epoch', 'Student']);
  for (const row of t.rows) {
    const m = JSON.parse(readFileSync(path.join(expDir, 'students', row[7].text, 'metrics.json'), 'utf8')) as Metrics;
    const withVal = m.history.filter((e) => e.val !== null);
    expect(withVal.length).toBeGreaterThan(0);
    const best = withVal.reduce((a, e) => (e.val!.full.loss < a.val!.full.loss ? e : a));
    const acc = best.val!.full.tokenAccuracy;
    expect(row.slice(1, 4).map((c) => c.value)).toEqual([acc.translation, acc.rotation, acc.gripper]);
    for (const c of row.slice(1, 5)) {
      expect(c.value).toBeGreaterThanOrEqual(0);
      expect(c.value).toBeLessThanOrEqual(1);
    }
    expect(row[4].value).toBeCloseTo((acc.translation + acc.rotation + acc.gripper) / 3, 12);
    expect(row[5].value).toBe(best.val!.full.loss);
    expect(row[6].value).toBe(best.epoch);
  }
}

describe('distill: taxonomy ablation', () => {
  it('annotates and trains one student per extra taxonomy, reuses the experiment’s own, and tabulates their validation token accuracy', async () => {
    const exp = env.lab.store.createExperiment({ name: 'ablation', recipe: 'distill', config });
    const expDir = env.lab.store.experimentDir(exp.id);
    const job = await env.lab.supervisor.waitFor(env.lab.supervisor.start('distill', exp.id, exp.config).id);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    expect((job.result as { ran: string[] }).ran).toEqual(['collect', 'annotate', 'train', 'evaluate', 'taxonomy-ablation', 'report']);

    const t = latestTable(exp.id, 'taxonomy-ablation');
    expect(t.rows.map((r) => r[0].value)).toEqual([9, 5]);
    // The 9-phase row is the experiment's own λ student; only the 5-phase one was trained for the ablation.
    expect(t.rows.map((r) => r[7].text)).toEqual(['lambda-0.5', 'taxonomy-5']);
    expect(existsSync(path.join(expDir, 'students', 'taxonomy-9'))).toBe(false);
    expect(existsSync(path.join(expDir, 'students', 'taxonomy-5', 'policy.onnx'))).toBe(false); // metrics only, no export
    checkAgainstMetrics(t, expDir);
    for (const ext of ['md', 'csv', 'tex']) expect(existsSync(path.join(expDir, 'eval', 'tables', `taxonomy-ablation.${ext}`))).toBe(true);
    console.log(`taxonomy ablation (micro, 2 epochs):\n${t.rows.map((r) => r.map((c) => c.text).join(' | ')).join('\n')}`);

    // The experiment's own data keeps its 9-phase annotation; the ablation's mirror carries the 5-phase one.
    const own = sidecarNotes(path.join(expDir, 'data', 'object', 'task_0.hdf5'));
    const five = sidecarNotes(path.join(expDir, 'ablation', 'taxonomy-5', 'data', 'object', 'task_0.hdf5'));
    expect(own.map((d) => d.notes.taxonomy)).toEqual([9, 9, 9]);
    expect(five.map((d) => d.notes.taxonomy)).toEqual([5, 5, 5]);
    const names5 = new Set(taxonomy(5).phases.map((p) => p.name));
    expect(five.flatMap((d) => d.frames.phase!).every((p) => names5.has(p))).toBe(true);
    expect(env.lab.store.listResults(exp.id, 'granularity')).toHaveLength(1); // the ablation's annotation passes add none

    // A re-run skips everything.
    const again = await env.lab.supervisor.waitFor(env.lab.supervisor.start('distill', exp.id, exp.config).id);
    expect((again.result as { ran: string[] }).ran).toEqual([]);

    // One more taxonomy: only the ablation and the report run; the 5-phase student is kept, not retrained.
    const trained5 = statSync(path.join(expDir, 'students', 'taxonomy-5', 'metrics.json')).mtimeMs;
    const more = { ...config, taxonomyAblation: [9, 5, 3] };
    env.lab.store.configureExperiment(exp.id, more);
    const third = await env.lab.supervisor.waitFor(env.lab.supervisor.start('distill', exp.id, more).id);
    expect(third.status, JSON.stringify(third.error)).toBe('succeeded');
    expect((third.result as { ran: string[]; skipped: string[] }).ran).toEqual(['taxonomy-ablation', 'report']);
    expect(statSync(path.join(expDir, 'students', 'taxonomy-5', 'metrics.json')).mtimeMs).toBe(trained5);
    const t3 = latestTable(exp.id, 'taxonomy-ablation');
    expect(t3.rows.map((r) => r[0].value)).toEqual([9, 5, 3]);
    checkAgainstMetrics(t3, expDir);
    // ... and the closed-loop trials were not redone.
    expect(readFileSync(path.join(expDir, 'eval', 'teacher', 'trials.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('refuses a taxonomy that does not exist, or one listed twice, naming the field', async () => {
    // Checked when the job is started, before a job row or a worker exists (issue 19.6).
    const exp = env.lab.store.createExperiment({ name: 'bad', recipe: 'distill', config: {} }).id;
    expect(() => env.lab.supervisor.start('distill', exp, { taxonomyAblation: [4] })).toThrow(
      expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringMatching(/taxonomyAblation\.0: one of 3, 5, 7, 9, 11, 13/) }),
    );
    expect(() => env.lab.supervisor.start('distill', exp, { taxonomyAblation: [5, 5] })).toThrow(/taxonomyAblation: each taxonomy once/);
    expect(env.lab.store.listJobs(exp)).toEqual([]);
  });
});
