import { describe, expect, it } from 'vitest';
import { flipAudit } from '../../../../electron/engine/audit/flips.js';
import { fisherExact, mcnemarExact } from '../../../../electron/engine/evaluate/stats.js';
import {
  compareTask,
  efficiencyTable,
  flipTable,
  formatParams,
  gridTable,
  latexEscape,
  perTaskTable,
  rateOf,
  ResultTableSchema,
  suiteTable,
  toCsv,
  toJson,
  toLatex,
  toMarkdown,
} from '../../../../electron/engine/evaluate/tables.js';
import { cell, record, suite } from './fixtures.js';

describe('Table 1/2: suite × method', () => {
  // The paper's Table 1 counts (OpenVLA-7B teacher, 200 trials per suite) rebuilt as trial records.
  const records = [
    ...suite('openvla', 'object', 124),
    ...suite('openvla', 'spatial', 158),
    ...suite('openvla', 'goal', 162),
    ...suite('noqwen', 'object', 124),
    ...suite('noqwen', 'spatial', 154),
    ...suite('noqwen', 'goal', 122),
    ...suite('qwen-l0.1', 'object', 125),
    ...suite('qwen-l0.5', 'spatial', 159),
    ...suite('qwen-l0.1', 'goal', 159),
  ];
  const table = suiteTable(records, {
    suites: ['object', 'spatial', 'goal'],
    teacher: { label: 'OpenVLA-7B', policy: 'openvla' },
    methods: [
      { label: 'VLA-AD (no-Qwen)', policy: 'noqwen' },
      { label: 'VLA-AD (with-Qwen)', policy: { object: 'qwen-l0.1', spatial: 'qwen-l0.5', goal: 'qwen-l0.1' } },
    ],
  });

  it('reproduces the paper’s cells, with the mean gap computed from unrounded means', () => {
    expect(toMarkdown(table)).toBe(
      [
        '**Closed-loop success rate (%) per suite**',
        '',
        '| Method | object | spatial | goal | Mean |',
        '|---|---|---|---|---|',
        '| OpenVLA-7B | 62.0 | 79.0 | 81.0 | 74.0 |',
        '| VLA-AD (no-Qwen) | 62.0 | 77.0 | 61.0 | 66.7 |',
        '| VLA-AD (with-Qwen) | 62.5 | 79.5 | 79.5 | 73.8 |',
        // The paper prints -0.27% from the rounded 73.8; the unrounded mean 73.83 gives -0.23%.
        '| VLA-AD (with-Qwen) vs. OpenVLA-7B | +0.81% | +0.63% | -1.85% | -0.23% |',
        '',
      ].join('\n'),
    );
    const objectCell = table.rows[0][1];
    expect(objectCell.n).toBe(200);
    expect(objectCell.ci![0]).toBeCloseTo(0.5512, 3); // Wilson 124/200
    expect(objectCell.ci![1]).toBeCloseTo(0.6843, 3);
  });

  it('marks a gap the paired bootstrap finds significant, records the seed, excludes errored trials', () => {
    const errored = record('student', 'goal', 0, 20, false, 'error');
    const recs = [...suite('teacher', 'goal', 100), ...suite('student', 'goal', 180), errored, ...suite('teacher', 'object', 100), ...suite('student', 'object', 104)];
    const t = suiteTable(recs, { suites: ['goal', 'object'], teacher: { label: 'T', policy: 'teacher' }, methods: [{ label: 'S', policy: 'student' }], bootstrap: { seed: 9, resamples: 999 } });
    const gap = t.rows.at(-1)!;
    expect(gap.map((c) => c.text + (c.mark ?? ''))).toEqual(['S vs. T', '+80.00%*', '+4.00%', '+42.00%']);
    expect(gap[1].p).toBe(1 / 1000);
    expect(gap[2].p!).toBeGreaterThan(0.05);
    expect(t.rows[1][1]).toMatchObject({ text: '90.0', n: 200 });
    expect(t.notes).toEqual([
      'S: 1 errored trial excluded from the rates.',
      '* paired bootstrap of the suite rate difference vs T (stratified by task, 999 resamples, seed 9), p < 0.05.',
    ]);
    expect(rateOf([errored]).n).toBe(0);
    expect(() => suiteTable(recs, { suites: ['goal'], teacher: { label: 'T', policy: 'teacher' }, methods: [], gapOf: 'X' })).toThrow(/gapOf/);
  });
});

describe('Table 3: efficiency', () => {
  const t = efficiencyTable(
    [
      { label: 'OpenVLA-7B', params: 7e9, secPerStep: 0.262, hz: 1 / 0.262 },
      { label: 'VLA-AD (OpenVLA)', params: 158e6, secPerStep: 0.08, hz: 12.5 },
      { label: 'π0.5-4B', params: 4e9, secPerStep: 0.172, hz: 1 / 0.172 },
    ],
    { reference: 'OpenVLA-7B', provider: 'CUDA (RTX 4090)' },
  );
  it('renders params, sec/step, Hz and speedup as the paper does', () => {
    expect(toCsv(t)).toBe(
      ['Model,Params,sec/step,Hz,Speedup', 'OpenVLA-7B,7B,0.262,3.8,1.00', 'VLA-AD (OpenVLA),158M,0.080,12.5,3.27', 'π0.5-4B,4B,0.172,5.8,1.52', ''].join('\r\n'),
    );
    expect(t.notes[0]).toBe('Median over timed steps, warm-up excluded, on CUDA (RTX 4090); speedup vs OpenVLA-7B.');
    expect([formatParams(158_000_000), formatParams(500e6), formatParams(149.6e6), formatParams(1_500), formatParams(12)]).toEqual(['158M', '500M', '150M', '1.5K', '12']);
    expect(() => efficiencyTable([], { reference: 'x' })).toThrow(/reference/);
  });

  it('takes an optional p95 column, no params ("—"), and gives a column of sub-millisecond steps the decimals to show two digits', () => {
    const p = efficiencyTable(
      [
        { label: 'scripted', params: null, secPerStep: 1.2e-5, p95SecPerStep: 2.5e-5, hz: 1 / 1.2e-5 },
        { label: 'tiny', params: 1_234_567, secPerStep: 0.004, p95SecPerStep: 0.0061, hz: 250 },
        { label: 'other', params: 0, secPerStep: 0.02, hz: 50 },
      ],
      { reference: 'scripted', provider: 'cpu', notes: ['Workers share the CPU.'] },
    );
    expect(p.columns).toEqual(['Model', 'Params', 'sec/step', 'sec/step (p95)', 'Hz', 'Speedup']);
    expect(toCsv(p)).toBe(['Model,Params,sec/step,sec/step (p95),Hz,Speedup', 'scripted,—,0.000012,0.000025,83333.3,1.00000', 'tiny,1.23M,0.004000,0.006100,250.0,0.00300', 'other,0,0.020000,–,50.0,0.00060', ''].join('\r\n'));
    expect(p.rows[0][1].value).toBeNull();
    expect(p.rows[0][5].value).toBe(1);
    expect(p.rows[1][5].value).toBeCloseTo(1.2e-5 / 0.004, 15);
    expect(p.rows[2][3].value).toBeNull();
    expect(p.notes).toEqual(['Median (and p95) over timed steps, warm-up excluded, on cpu; speedup vs scripted.', 'Workers share the CPU.']);
    expect(() => toJson(p)).not.toThrow();
  });
});

describe('Tables 5 and 6: per task', () => {
  const records = [
    ...cell('noqwen', 'goal', 0, 4),
    ...cell('l0.1', 'goal', 0, 16), // 12 discordant pairs, all for λ=0.1 → McNemar p = 2/2^12
    ...cell('l0.5', 'goal', 0, 5),
    ...cell('noqwen', 'goal', 1, 10),
    ...cell('l0.1', 'goal', 1, 10),
    ...cell('l0.5', 'goal', 1, 7, 10), // only trials 0–9 ran: not fully paired → Fisher
  ];
  const t5 = perTaskTable(records, {
    id: 'table5',
    suites: ['goal'],
    baseline: { label: 'no-Qwen', policy: 'noqwen' },
    variants: [
      { label: 'λ=0.1', policy: 'l0.1' },
      { label: 'λ=0.5', policy: 'l0.5' },
    ],
  });

  it('bolds cells above the no-VLM baseline and marks significant ones, choosing the test by pairing', () => {
    // Columns: suite, task, no-Qwen, λ=0.1, λ=0.5.
    expect(t5.rows[0][3].p).toBeCloseTo(2 / 4096, 14);
    expect(t5.rows[0][4].p).toBeCloseTo(mcnemarExact(1, 0).p, 14);
    expect(t5.rows[1][4].p).toBeCloseTo(fisherExact(7, 3, 10, 10).p, 14);
    expect(t5.rows[0][2].p).toBeUndefined();
    expect(toMarkdown(t5)).toBe(
      [
        '**Per-task success rate (%)**',
        '',
        '| Suite | Task | no-Qwen | λ=0.1 | λ=0.5 |',
        '|---|---|---|---|---|',
        '| goal | T0 | 20.0 | **80.0**\\* | **25.0** |',
        '|  | T1 | 50.0 | 50.0 | **70.0** |',
        '',
        "Bold: strictly above no-Qwen in the same row. *: McNemar's exact test (paired trials) / Fisher's exact test vs no-Qwen, p < 0.05, uncorrected.",
        '',
      ].join('\n'),
    );
    expect(toLatex(t5)).toBe(
      [
        '\\begin{table}[t]',
        '\\centering',
        '\\caption{Per-task success rate (\\%)}',
        '\\label{tab:table5}',
        '\\begin{tabular}{llrrr}',
        '\\toprule',
        'Suite & Task & no-Qwen & $\\lambda$=0.1 & $\\lambda$=0.5 \\\\',
        '\\midrule',
        'goal & T0 & 20.0 & \\textbf{80.0}$^{*}$ & \\textbf{25.0} \\\\',
        ' & T1 & 50.0 & 50.0 & \\textbf{70.0} \\\\',
        '\\bottomrule',
        '\\end{tabular}',
        "% Bold: strictly above no-Qwen in the same row. *: McNemar's exact test (paired trials) / Fisher's exact test vs no-Qwen, p < 0.05, uncorrected.",
        '\\end{table}',
        '',
      ].join('\n'),
    );
    expect(toCsv(t5).split('\r\n').slice(0, 3)).toEqual(['Suite,Task,no-Qwen,λ=0.1,λ=0.5', 'goal,T0,20.0,80.0*,25.0', ',T1,50.0,50.0,70.0']);
  });

  it('Table 6: two columns, suite label carries λ, Fisher when asked', () => {
    const recs = [...cell('nq', 'object', 0, 19), ...cell('wq', 'object', 0, 20), ...cell('nq', 'spatial', 3, 15), ...cell('wq', 'spatial', 3, 14)];
    const t6 = perTaskTable(recs, {
      id: 'table6',
      suites: ['object', 'spatial'],
      baseline: { label: 'no-Qwen', policy: 'nq' },
      variants: [{ label: 'with-Qwen', policy: 'wq' }],
      test: 'fisher',
      suiteLabel: (s) => `${s} (λ=${s === 'spatial' ? 0.5 : 0.1})`,
    });
    expect(t6.rows.map((r) => r.map((c) => (c.bold ? `[${c.text}]` : c.text)))).toEqual([
      ['object (λ=0.1)', 'T0', '95.0', '[100.0]'],
      ['spatial (λ=0.5)', 'T3', '75.0', '70.0'],
    ]);
    expect(t6.rows[0][3].p).toBeCloseTo(fisherExact(20, 0, 19, 1).p, 14);
    expect(t6.notes[0]).toContain("Fisher's exact test");
  });

  it('compareTask: null when a side has no counted trial', () => {
    expect(compareTask([], cell('a', 'goal', 0, 3))).toBeNull();
    expect(compareTask(cell('a', 'goal', 0, 3), cell('b', 'goal', 0, 3), 'mcnemar')).toEqual({ p: 1, test: 'mcnemar' });
  });
});

describe('renderers and JSON form', () => {
  it('escapes what each format needs and validates the JSON form', () => {
    const t = { id: 'x', title: 'A | B & C_1', columns: ['a,b', 'q"'], rows: [[{ text: '50%', value: 0.5 }, { text: 'x|y', value: null }]], notes: [] };
    expect(toCsv(t)).toBe('"a,b","q"""\r\n50%,x|y\r\n');
    expect(toMarkdown(t)).toContain('| 50% | x\\|y |');
    expect(latexEscape('A & B_1 50% {x} λ×2 –')).toBe('A \\& B\\_1 50\\% \\{x\\} $\\lambda$$\\times$2 --');
    expect(toJson(t)).toEqual(t);
    expect(() => toJson({ ...t, rows: [[{ text: 1 }]] } as never)).toThrow();
    expect(ResultTableSchema.parse(JSON.parse(JSON.stringify(t)))).toEqual(t);
  });

  it('taxonomy ablation grid: mean over the suites present', () => {
    const t = gridTable(
      [
        { label: '3', values: { object: 0.542, spatial: 0.52, goal: 0.535 } },
        { label: '9', values: { object: 0.648, spatial: 0.625, goal: 0.635 } },
        { label: '13', values: { object: 0.56, goal: 0.55 } },
      ],
      { suites: ['object', 'spatial', 'goal'], rowHeader: '# phases' },
    );
    // The paper's Table 4 rows for 3 and 9 phases (means 53.2 and 63.6).
    expect(toCsv(t).split('\r\n').slice(0, 4)).toEqual(['# phases,object,spatial,goal,Mean', '3,54.2,52.0,53.5,53.2', '9,64.8,62.5,63.5,63.6', '13,56.0,–,55.0,55.5']);
  });

  it('flip audit table', () => {
    const audit = flipAudit([
      { source: 'teacher', suite: 'goal', taskIndex: 0, index: 0, gripper: [-1, 1, 1, 1, 1, 1, 1, -1, 1, 1] },
      { source: 'student', suite: 'goal', taskIndex: 0, index: 0, gripper: [-1, -1, 1, 1, 1, 1, 1, 1, 1, 1] },
    ]);
    const t = flipTable(audit);
    expect(toCsv(t).split('\r\n')).toEqual([
      'Source,Suite,Task,Episodes,Frames,Spurious flips,"per 1,000 frames"',
      'teacher,goal,T0,1,10,1,100.0',
      'student,goal,T0,1,10,0,0.0',
      'teacher,all,,1,10,1,100.0',
      'student,all,,1,10,0,0.0',
      '',
    ]);
  });
});
