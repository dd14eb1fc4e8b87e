import { describe, expect, it } from 'vitest';
import { efficiencyFromTrials, latencyTable } from '../../../../electron/engine/evaluate/report.js';
import { toCsv, toJson } from '../../../../electron/engine/evaluate/tables.js';
import { record } from './fixtures.js';

/** A stored trial of `policy` with the given per-query policy times (ms). */
const timed = (policy: string, trial: number, policyMs: number[], simMs = 10) => ({ ...record(policy, 'object', 0, trial, false), policyMs, simMs });

describe('Table 3 from stored trials (efficiencyFromTrials)', () => {
  const records = [
    // teacher: warm-up queries 100 and 50 dropped → [2, 4, 6, 8]: median 5 ms, p95 = 6 + 0.85·2 = 7.7 ms
    timed('teacher', 0, [100, 2, 4]),
    timed('teacher', 1, [50, 6, 8]),
    timed('teacher', 0, [1, 1, 1]), // a duplicate of trial 0 (written twice across a crash): ignored
    // student: [20, 30, 10] after the warm-up (trial 1 queried once: nothing left) → median 20 ms, p95 29 ms
    timed('student', 0, [300, 20, 30, 10]),
    timed('student', 1, [40]),
    // only single-query trials: no timed query after the warm-up
    timed('oneshot', 0, [5]),
  ];
  const table = efficiencyFromTrials(
    records,
    [
      { id: 'teacher', params: null },
      { id: 'student', label: 'tiny student', params: 1_234_567 },
      { id: 'oneshot', params: 10 },
    ],
    { reference: 'teacher', provider: 'cpu', id: 'table3-efficiency', notes: ['Workers share the CPU.'] },
  );

  it('sec/step is the median of the queries after each trial’s first, speedup vs the reference', () => {
    expect(table.id).toBe('table3-efficiency');
    expect(table.rows.map((r) => r[0].text)).toEqual(['teacher', 'tiny student']);
    const [teacher, student] = table.rows;
    expect(teacher[1]).toEqual({ text: '—', value: null });
    expect(student[1]).toEqual({ text: '1.23M', value: 1_234_567 });
    expect(teacher[2].value).toBeCloseTo(0.005, 15);
    expect(teacher[3].value).toBeCloseTo(0.0077, 15);
    expect(teacher[4].value).toBeCloseTo(200, 10);
    expect(teacher[5].value).toBe(1);
    expect(student[2].value).toBeCloseTo(0.02, 15);
    expect(student[3].value).toBeCloseTo(0.029, 15);
    expect(student[4].value).toBeCloseTo(50, 10);
    expect(student[5].value).toBeCloseTo(0.25, 15);
    expect(toCsv(table)).toBe(['Model,Params,sec/step,sec/step (p95),Hz,Speedup', 'teacher,—,0.0050,0.0077,200.0,1.00', 'tiny student,1.23M,0.0200,0.0290,50.0,0.25', ''].join('\r\n'));
    expect(() => toJson(table)).not.toThrow();
  });

  it('says how it measured: warm-up rule, sample counts, provider, untimed policies, extra notes', () => {
    expect(table.notes[0]).toBe('Median (and p95) over timed steps, warm-up excluded, on cpu; speedup vs teacher.');
    expect(table.notes[1]).toBe(
      "sec/step is the wall time of one policy query (act()) in the closed-loop trials, each trial's first query excluded as warm-up; Hz = 1 / median. Timed queries: teacher 4 over 2 trials; tiny student 3 over 2 trials.",
    );
    expect(table.notes[2]).toBe('No timed query left after the warm-up: oneshot.');
    expect(table.notes[3]).toBe('Workers share the CPU.');
  });

  it('refuses a reference it cannot time', () => {
    expect(() => efficiencyFromTrials(records, [{ id: 'oneshot', params: 1 }], { reference: 'oneshot', provider: 'cpu' })).toThrow(/no timed policy query/);
    expect(() => efficiencyFromTrials(records, [{ id: 'teacher', params: null }], { reference: 'nobody', provider: 'cpu' })).toThrow(/not one of the policies/);
  });

  it('warmupQueries 0 keeps every query', () => {
    const all = efficiencyFromTrials(records, [{ id: 'teacher', params: null }], { reference: 'teacher', provider: 'cpu', warmupQueries: 0 });
    // sorted [2, 4, 6, 8, 50, 100] → median (6 + 8) / 2 = 7 ms, p95 = 50 + 0.75·50 = 87.5 ms
    expect(all.rows[0][2].value).toBeCloseTo(0.007, 15);
    expect(all.rows[0][3].value).toBeCloseTo(0.0875, 15);
    expect(all.notes[1]).toContain('every query counted (none excluded as warm-up)');
  });
});

describe('closed-loop latency table (evaluate job)', () => {
  it('keeps every query (first ones included) and counts a duplicated trial once', () => {
    const records = [timed('teacher', 0, [100, 2, 4], 30), timed('teacher', 1, [50, 6, 8], 30), timed('teacher', 0, [1, 1, 1], 999)];
    const t = latencyTable(records, ['teacher', 'absent'], 10);
    expect(t.rows).toHaveLength(1);
    const [, queries, , median, , hz, simPerStep] = t.rows[0];
    expect(queries.value).toBe(6);
    expect(median.value).toBe(7); // sorted [2, 4, 6, 8, 50, 100]
    expect(hz.value).toBeCloseTo(1000 / 7, 10);
    // 2 trials × (8 steps + 10 warm-up steps), 60 ms of simulator time
    expect(simPerStep.value).toBeCloseTo(60 / 36, 12);
  });
});
