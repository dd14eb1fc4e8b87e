import { invalidInput } from '../errors.js';
import type { FlipAudit } from '../audit/flips.js';
import { fisherExact, mcnemarExact, pairedBootstrap, wilson } from './stats.js';
import { uniqueTrials } from './protocol.js';
import type { TrialRecord } from './trial.js';

/**
 * The paper's result tables, regenerated from stored trial records (docs/evaluate.md "Tables"). Each
 * builder returns a `ResultTable` (plain data: the JSON form the UI reads), and the three renderers turn
 * any table into Markdown, CSV or LaTeX. Rates are percentages with one decimal, as in the paper.
 *
 * Counting rule: a rate is successes / (trials − errored). Errored trials (a teacher server died, a file
 * broke) say nothing about the policy, so they are left out of the denominator and counted in the notes.
 */

// The table's data form is part of the lab API (the UI renders it), so its schema lives in the contract.
export { CellSchema, ResultTableSchema, type Cell, type ResultTable } from '../../api/schemas.js';
import { ResultTableSchema, type Cell, type ResultTable } from '../../api/schemas.js';

/** A method row: one policy for every suite, or the suite-specific best (e.g. λ per suite in Table 1). */
export interface MethodSpec {
  label: string;
  policy: string | Readonly<Record<string, string>>;
}

const policyFor = (m: MethodSpec, suite: string): string | undefined => (typeof m.policy === 'string' ? m.policy : m.policy[suite]);

export interface Rate {
  successes: number;
  /** Trials counted: all minus errored. */
  n: number;
  errored: number;
  rate: number;
  lo: number;
  hi: number;
}

export function rateOf(records: readonly TrialRecord[]): Rate {
  const counted = records.filter((r) => r.failure !== 'error');
  const successes = counted.filter((r) => r.success).length;
  const w = wilson(successes, counted.length);
  return { successes, n: counted.length, errored: records.length - counted.length, rate: w.rate, lo: w.lo, hi: w.hi };
}

/** Percent with one decimal; '–' where nothing was counted. */
export const pct = (rate: number) => (Number.isFinite(rate) ? (100 * rate).toFixed(1) : '–');
const signedPct = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${x.toFixed(2)}%` : 'n/a');
const label = (text: string): Cell => ({ text, value: null });
const rateCell = (r: Rate): Cell => ({ text: pct(r.rate), value: Number.isFinite(r.rate) ? r.rate : null, ci: [r.lo, r.hi], n: r.n });

/** Records indexed by policy → suite → task, each trial once. */
class TrialIndex {
  private by = new Map<string, TrialRecord[]>();
  constructor(records: Iterable<TrialRecord>) {
    for (const r of uniqueTrials(records)) {
      const k = TrialIndex.key(r.policyId, r.suite, r.taskIndex);
      const list = this.by.get(k);
      if (list) list.push(r);
      else this.by.set(k, [r]);
    }
    for (const list of this.by.values()) list.sort((a, b) => a.trialIndex - b.trialIndex);
  }
  static key = (policy: string, suite: string, task: number) => `${policy}\u0000${suite}\u0000${task}`;
  task(policy: string | undefined, suite: string, task: number): TrialRecord[] {
    return policy === undefined ? [] : (this.by.get(TrialIndex.key(policy, suite, task)) ?? []);
  }
  suite(policy: string | undefined, suite: string, tasks: readonly number[]): TrialRecord[] {
    return tasks.flatMap((t) => this.task(policy, suite, t));
  }
  tasksOf(suite: string, policies: (string | undefined)[]): number[] {
    const tasks = new Set<number>();
    for (const k of this.by.keys()) {
      const [p, s, t] = k.split('\u0000');
      if (s === suite && policies.includes(p)) tasks.add(Number(t));
    }
    return [...tasks].sort((a, b) => a - b);
  }
}

/** Trials of two policies paired by (task, trial index), the pairs only both ran (errored excluded). */
function pairs(a: readonly TrialRecord[], b: readonly TrialRecord[]) {
  const key = (r: TrialRecord) => `${r.taskIndex}/${r.trialIndex}`;
  const bByKey = new Map(b.filter((r) => r.failure !== 'error').map((r) => [key(r), r]));
  const out: { a: boolean; b: boolean; task: number }[] = [];
  for (const ra of a) {
    const rb = bByKey.get(key(ra));
    if (ra.failure !== 'error' && rb) out.push({ a: ra.success, b: rb.success, task: ra.taskIndex });
  }
  return out;
}

function erroredNote(index: TrialIndex, methods: readonly MethodSpec[], suites: readonly string[], tasksOf: (suite: string) => number[]): string[] {
  const notes: string[] = [];
  for (const m of methods) {
    const errored = suites.reduce((s, suite) => s + rateOf(index.suite(policyFor(m, suite), suite, tasksOf(suite))).errored, 0);
    if (errored > 0) notes.push(`${m.label}: ${errored} errored trial${errored === 1 ? '' : 's'} excluded from the rates.`);
  }
  return notes;
}

export interface SuiteTableOptions {
  id?: string;
  title?: string;
  suites: readonly string[];
  teacher: MethodSpec;
  methods: readonly MethodSpec[];
  /** The method whose relative gap vs the teacher forms the last row; default the last method. */
  gapOf?: string;
  /** Paired bootstrap of (gapOf − teacher) per suite, stratified by task: marks significant gaps. */
  bootstrap?: { seed: number; resamples?: number; alpha?: number };
}

/**
 * Tables 1 and 2: suite × method success rates (all tasks of the suite pooled), the mean over suites, and
 * a last row with the relative gap of one method vs the teacher, (method − teacher) / teacher.
 */
export function suiteTable(records: Iterable<TrialRecord>, opts: SuiteTableOptions): ResultTable {
  const index = new TrialIndex(records);
  const methods = [opts.teacher, ...opts.methods];
  const tasksOf = (suite: string) => index.tasksOf(suite, methods.map((m) => policyFor(m, suite)));
  const suiteRate = (m: MethodSpec, suite: string) => rateOf(index.suite(policyFor(m, suite), suite, tasksOf(suite)));
  const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;
  const rows: Cell[][] = methods.map((m) => {
    const rates = opts.suites.map((s) => suiteRate(m, s));
    const meanRate = mean(rates.map((r) => r.rate));
    return [label(m.label), ...rates.map(rateCell), { text: pct(meanRate), value: Number.isFinite(meanRate) ? meanRate : null }];
  });
  const gapLabel = opts.gapOf ?? opts.methods.at(-1)?.label;
  const gapMethod = methods.find((m) => m.label === gapLabel);
  if (!gapMethod) throw invalidInput(`gapOf '${gapLabel}' is not one of the methods`, { field: 'gapOf' });
  const notes = erroredNote(index, methods, opts.suites, tasksOf);
  const gapCell = (m: number, t: number): Cell => {
    const g = (100 * (m - t)) / t;
    return { text: signedPct(g), value: Number.isFinite(g) ? g : null };
  };
  const gapRow: Cell[] = [label(`${gapMethod.label} vs. ${opts.teacher.label}`)];
  for (const suite of opts.suites) {
    const cell = gapCell(suiteRate(gapMethod, suite).rate, suiteRate(opts.teacher, suite).rate);
    if (opts.bootstrap) {
      const tasks = tasksOf(suite);
      const p = pairs(index.suite(policyFor(gapMethod, suite), suite, tasks), index.suite(policyFor(opts.teacher, suite), suite, tasks));
      if (p.length > 0) {
        const b = pairedBootstrap(
          p.map((x) => x.a),
          p.map((x) => x.b),
          { seed: opts.bootstrap.seed, resamples: opts.bootstrap.resamples, strata: p.map((x) => x.task) },
        );
        cell.p = b.p;
        if (b.p < (opts.bootstrap.alpha ?? 0.05)) cell.mark = '*';
      }
    }
    gapRow.push(cell);
  }
  const methodMean = rows[methods.indexOf(gapMethod)].at(-1)!.value ?? NaN;
  gapRow.push(gapCell(methodMean, rows[0].at(-1)!.value ?? NaN));
  rows.push(gapRow);
  if (opts.bootstrap) {
    notes.push(
      `* paired bootstrap of the suite rate difference vs ${opts.teacher.label} (stratified by task, ${opts.bootstrap.resamples ?? 10_000} resamples, seed ${opts.bootstrap.seed}), p < ${opts.bootstrap.alpha ?? 0.05}.`,
    );
  }
  return {
    id: opts.id ?? 'table1',
    title: opts.title ?? 'Closed-loop success rate (%) per suite',
    columns: ['Method', ...opts.suites, 'Mean'],
    rows,
    notes,
  };
}

export interface EfficiencyRow {
  label: string;
  /** Learned parameters; null for a policy that has none (a scripted teacher), shown as '—'. */
  params: number | null;
  /** Median seconds per step. */
  secPerStep: number;
  /** 95th percentile seconds per step; when any row has it, the table gains a p95 column. */
  p95SecPerStep?: number;
  hz: number;
}

/** Parameter counts as the paper writes them: 7B, 158M, 0.5B. */
export function formatParams(n: number): string {
  const units: [number, string][] = [
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'K'],
  ];
  for (const [scale, unit] of units) {
    if (n >= scale) return `${Number((n / scale).toPrecision(3))}${unit}`;
  }
  return String(n);
}

/**
 * Decimals for a column: the paper's `digits`, or more when the column's smallest nonzero value needs them
 * for two significant digits (a 12 µs step is not "0.000"). One count per column keeps it aligned.
 */
function columnDecimals(xs: readonly (number | undefined)[], digits: number): number {
  const small = xs.filter((x): x is number => x !== undefined && Number.isFinite(x) && x !== 0).map(Math.abs);
  if (small.length === 0) return digits;
  return Math.min(12, Math.max(digits, Math.ceil(-Math.log10(Math.min(...small))) + 1));
}
const numCell = (x: number | undefined, decimals: number): Cell =>
  x === undefined ? { text: '–', value: null } : { text: Number.isFinite(x) ? x.toFixed(decimals) : String(x), value: Number.isFinite(x) ? x : null };

/**
 * Table 3: params, sec/step (median; p95 too when the rows carry it), Hz, speedup vs the reference row
 * (reference sec/step ÷ row sec/step; the reference row is 1 by definition).
 */
export function efficiencyTable(rows: readonly EfficiencyRow[], opts: { reference: string; provider?: string; id?: string; title?: string; notes?: readonly string[] }): ResultTable {
  const ref = rows.find((r) => r.label === opts.reference);
  if (!ref) throw invalidInput(`reference '${opts.reference}' is not one of the rows`, { field: 'reference' });
  const withP95 = rows.some((r) => r.p95SecPerStep !== undefined);
  const speedups = rows.map((r) => (r === ref ? 1 : ref.secPerStep / r.secPerStep));
  const dSec = columnDecimals(rows.map((r) => r.secPerStep), 3);
  const dP95 = columnDecimals(rows.map((r) => r.p95SecPerStep), 3);
  const dSpeed = columnDecimals(speedups, 2);
  return {
    id: opts.id ?? 'table3',
    title: opts.title ?? 'Inference efficiency',
    columns: ['Model', 'Params', 'sec/step', ...(withP95 ? ['sec/step (p95)'] : []), 'Hz', 'Speedup'],
    rows: rows.map((r, i) => {
      const params: Cell = r.params === null ? { text: '—', value: null } : { text: formatParams(r.params), value: r.params };
      return [label(r.label), params, numCell(r.secPerStep, dSec), ...(withP95 ? [numCell(r.p95SecPerStep, dP95)] : []), numCell(r.hz, 1), numCell(speedups[i], dSpeed)];
    }),
    notes: [`Median${withP95 ? ' (and p95)' : ''} over timed steps, warm-up excluded${opts.provider ? `, on ${opts.provider}` : ''}; speedup vs ${opts.reference}.`, ...(opts.notes ?? [])],
  };
}

export type PairedTest = 'mcnemar' | 'fisher' | 'auto';

export interface PerTaskOptions {
  id?: string;
  title?: string;
  suites: readonly string[];
  /** Tasks per suite; default every task either policy ran. */
  tasks?: readonly number[];
  baseline: MethodSpec;
  variants: readonly MethodSpec[];
  /** Per-task test vs the baseline. auto: McNemar when the two cells ran the same trials, else Fisher. */
  test?: PairedTest;
  alpha?: number;
  /** Row label of a suite (e.g. 'object (λ=0.1)' in Table 6). */
  suiteLabel?: (suite: string) => string;
}

/** One task, two policies: the p-value of the chosen test and the test used. */
export function compareTask(a: readonly TrialRecord[], b: readonly TrialRecord[], test: PairedTest = 'auto'): { p: number; test: 'mcnemar' | 'fisher' } | null {
  const ra = rateOf(a);
  const rb = rateOf(b);
  if (ra.n === 0 || rb.n === 0) return null;
  const p = pairs(a, b);
  const fullyPaired = p.length === ra.n && p.length === rb.n;
  if (test === 'mcnemar' || (test === 'auto' && fullyPaired)) {
    if (p.length === 0) return null;
    const bCount = p.filter((x) => x.a && !x.b).length;
    const cCount = p.filter((x) => !x.a && x.b).length;
    return { p: mcnemarExact(bCount, cCount).p, test: 'mcnemar' };
  }
  return { p: fisherExact(ra.successes, ra.n - ra.successes, rb.successes, rb.n - rb.successes).p, test: 'fisher' };
}

/**
 * Tables 5 and 6: per (suite, task) success rates of a baseline (no-VLM) and variants (λ values or
 * with-VLM). A variant cell strictly above its row's baseline is bold; a variant cell whose difference
 * from the baseline is significant at `alpha` (McNemar on paired trials, else Fisher) carries '*'.
 * No multiple-comparison correction is applied: the marker flags single cells, as the paper's bold does.
 */
/** A rate cell that came from trials names them, so the trial browser can open them. */
function linked(cell: Cell, trials: readonly TrialRecord[], policyId: string | undefined, suite: string, taskIndex: number): Cell {
  return policyId !== undefined && trials.length > 0 ? { ...cell, trials: { policyId, suite, taskIndex } } : cell;
}

export function perTaskTable(records: Iterable<TrialRecord>, opts: PerTaskOptions): ResultTable {
  const index = new TrialIndex(records);
  const alpha = opts.alpha ?? 0.05;
  const test = opts.test ?? 'auto';
  const methods = [opts.baseline, ...opts.variants];
  const rows: Cell[][] = [];
  const used = new Set<string>();
  for (const suite of opts.suites) {
    const tasks = opts.tasks ?? index.tasksOf(suite, methods.map((m) => policyFor(m, suite)));
    tasks.forEach((task, i) => {
      const base = index.task(policyFor(opts.baseline, suite), suite, task);
      const baseRate = rateOf(base);
      const row: Cell[] = [label(i === 0 ? (opts.suiteLabel?.(suite) ?? suite) : ''), label(`T${task}`), linked(rateCell(baseRate), base, policyFor(opts.baseline, suite), suite, task)];
      for (const v of opts.variants) {
        const trials = index.task(policyFor(v, suite), suite, task);
        const cell = linked(rateCell(rateOf(trials)), trials, policyFor(v, suite), suite, task);
        if (cell.value !== null && baseRate.n > 0 && cell.value > baseRate.rate) cell.bold = true;
        const cmp = compareTask(trials, base, test);
        if (cmp) {
          cell.p = cmp.p;
          used.add(cmp.test);
          if (cmp.p < alpha) cell.mark = '*';
        }
        row.push(cell);
      }
      rows.push(row);
    });
  }
  const testName = [...used].map((t) => (t === 'mcnemar' ? "McNemar's exact test (paired trials)" : "Fisher's exact test")).join(' / ');
  const notes = [
    `Bold: strictly above ${opts.baseline.label} in the same row.${used.size > 0 ? ` *: ${testName} vs ${opts.baseline.label}, p < ${alpha}, uncorrected.` : ''}`,
    ...erroredNote(index, methods, opts.suites, (s) => opts.tasks?.slice() ?? index.tasksOf(s, methods.map((m) => policyFor(m, s)))),
  ];
  return {
    id: opts.id ?? 'table5',
    title: opts.title ?? 'Per-task success rate (%)',
    columns: ['Suite', 'Task', opts.baseline.label, ...opts.variants.map((v) => v.label)],
    rows,
    notes,
  };
}

/**
 * A row label × suite grid of percentages with a mean column: the taxonomy ablation (token accuracy per
 * number of phases × suite, paper §4.3). Values are fractions in [0, 1]; a missing value is '–' and is
 * left out of its row's mean.
 */
export function gridTable(
  rows: readonly { label: string; values: Readonly<Record<string, number>> }[],
  opts: { suites: readonly string[]; rowHeader: string; id?: string; title?: string; notes?: string[] },
): ResultTable {
  return {
    id: opts.id ?? 'taxonomy',
    title: opts.title ?? 'Taxonomy ablation (%)',
    columns: [opts.rowHeader, ...opts.suites, 'Mean'],
    rows: rows.map((r) => {
      const vals = opts.suites.map((s) => r.values[s]);
      const present = vals.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      const mean = present.length > 0 ? present.reduce((a, b) => a + b, 0) / present.length : NaN;
      const num = (v: number | undefined): Cell => (typeof v === 'number' && Number.isFinite(v) ? { text: pct(v), value: v } : { text: '–', value: null });
      return [label(r.label), ...vals.map(num), num(mean)];
    }),
    notes: opts.notes ?? [],
  };
}

/** The flip audit as a table: one row per source and task, then one total per source. */
export function flipTable(audit: FlipAudit, opts: { id?: string; title?: string } = {}): ResultTable {
  const num = (v: number, digits = 0): Cell => ({ text: v.toFixed(digits), value: v });
  const rows: Cell[][] = audit.tasks.map((t) => [label(t.source), label(t.suite), label(`T${t.taskIndex}`), num(t.episodes), num(t.frames), num(t.flips), num(t.per1000, 1)]);
  for (const s of audit.sources) rows.push([label(s.source), label('all'), label(''), num(s.episodes), num(s.frames), num(s.flips), num(s.per1000, 1)]);
  return {
    id: opts.id ?? 'flips',
    title: opts.title ?? 'Gripper flip audit',
    columns: ['Source', 'Suite', 'Task', 'Episodes', 'Frames', 'Spurious flips', 'per 1,000 frames'],
    rows,
    notes: [`A spurious flip is a gripper sign change revoked within ${audit.window} frames.`],
  };
}

// ---------------------------------------------------------------- renderers

export function toMarkdown(t: ResultTable): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const cell = (c: Cell) => {
    const text = esc(c.text);
    return `${c.bold ? `**${text}**` : text}${c.mark ? c.mark.replace(/\*/g, '\\*') : ''}`;
  };
  const lines = [`**${esc(t.title)}**`, '', `| ${t.columns.map(esc).join(' | ')} |`, `|${t.columns.map(() => '---').join('|')}|`, ...t.rows.map((r) => `| ${r.map(cell).join(' | ')} |`)];
  if (t.notes.length > 0) lines.push('', ...t.notes);
  return lines.join('\n') + '\n';
}

/** RFC 4180 CSV: the header, then the rows. Bold is dropped (it is derivable); the significance mark stays. */
export function toCsv(t: ResultTable): string {
  const q = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return [t.columns.map(q).join(','), ...t.rows.map((r) => r.map((c) => q(c.text + (c.mark ?? ''))).join(','))].join('\r\n') + '\r\n';
}

const LATEX_SPECIAL: Record<string, string> = {
  '\\': '\\textbackslash{}',
  '&': '\\&',
  '%': '\\%',
  $: '\\$',
  '#': '\\#',
  _: '\\_',
  '{': '\\{',
  '}': '\\}',
  '~': '\\textasciitilde{}',
  '^': '\\textasciicircum{}',
  λ: '$\\lambda$',
  '×': '$\\times$',
  '–': '--',
};
export const latexEscape = (s: string) => s.replace(/[\\&%$#_{}~^λ×–]/g, (ch) => LATEX_SPECIAL[ch]);

/** A booktabs table (needs \usepackage{booktabs}); first column left-aligned, the rest right-aligned. */
export function toLatex(t: ResultTable): string {
  const cell = (c: Cell) => {
    const text = latexEscape(c.text);
    return `${c.bold ? `\\textbf{${text}}` : text}${c.mark ? `$^{${c.mark}}$` : ''}`;
  };
  const align = t.columns.map((_, i) => (i === 0 || (t.columns[0] === 'Suite' && i === 1) ? 'l' : 'r')).join('');
  const lines = [
    '\\begin{table}[t]',
    '\\centering',
    `\\caption{${latexEscape(t.title)}}`,
    `\\label{tab:${t.id}}`,
    `\\begin{tabular}{${align}}`,
    '\\toprule',
    `${t.columns.map(latexEscape).join(' & ')} \\\\`,
    '\\midrule',
    ...t.rows.map((r) => `${r.map(cell).join(' & ')} \\\\`),
    '\\bottomrule',
    '\\end{tabular}',
    ...t.notes.map((n) => `% ${n}`),
    '\\end{table}',
  ];
  return lines.join('\n') + '\n';
}

/** The JSON form for the UI, validated so a renderer never sees a malformed table. */
export function toJson(t: ResultTable): ResultTable {
  return ResultTableSchema.parse(t);
}
