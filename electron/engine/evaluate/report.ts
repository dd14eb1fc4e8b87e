import { flipAudit, seriesFromTrials } from '../audit/flips.js';
import { summarizeLatency } from './latency.js';
import { flipTable, perTaskTable, suiteTable, type MethodSpec, type ResultTable } from './tables.js';
import type { TrialRecord } from './trial.js';

/**
 * The tables an evaluation run records (docs/evaluate.md "Evaluate job"), built from stored trials:
 * - `matrix`: per (suite, task) success rate of every policy, the reference first; other policies'
 *   cells bold when above it and '*' when McNemar (paired trials) / Fisher says the difference is
 *   significant (the UI heat-shades tables whose id starts with "matrix");
 * - `suites`: per-suite rates (tasks pooled), the mean, and the last policy's relative gap vs the
 *   reference with a paired, task-stratified bootstrap;
 * - `flips`: the gripper flip audit of the trials (spurious sign reverts within 5 frames);
 * - `latency`: per policy, the policy's time per query (median, p95, Hz) apart from the simulator's
 *   time per step, and the policy's share of the trial time.
 */
export interface EvaluationTablesOptions {
  /** Policy ids in the order they were given; `reference` (the teacher) goes first. */
  policies: readonly string[];
  reference: string;
  suites: readonly string[];
  tasks: readonly number[];
  seed: number;
  /** Paired bootstrap resamples for the suite gap (default 2,000: the job's tables, not the paper's). */
  resamples?: number;
}

const method = (id: string): MethodSpec => ({ label: id, policy: id });

export function latencyTable(records: readonly TrialRecord[], policies: readonly string[], warmupSteps: number): ResultTable {
  const rows = policies.flatMap((id) => {
    const own = records.filter((r) => r.policyId === id && r.policyMs.length > 0);
    if (own.length === 0) return [];
    const lat = summarizeLatency(own.flatMap((r) => r.policyMs));
    const steps = own.reduce((s, r) => s + r.steps, 0);
    const simMs = own.reduce((s, r) => s + r.simMs, 0);
    const policyMs = own.reduce((s, r) => s + r.policyMs.reduce((a, b) => a + b, 0), 0);
    const simPerStep = simMs / Math.max(1, steps + own.length * warmupSteps);
    const share = policyMs / (policyMs + simMs);
    const queries = lat.samplesMs.length;
    return [
      [
        { text: id, value: null },
        { text: String(queries), value: queries },
        { text: (queries / Math.max(1, steps)).toFixed(2), value: queries / Math.max(1, steps) },
        { text: lat.medianMs.toFixed(2), value: lat.medianMs },
        { text: lat.p95Ms.toFixed(2), value: lat.p95Ms },
        { text: lat.hz.toFixed(1), value: lat.hz },
        { text: simPerStep.toFixed(2), value: simPerStep },
        { text: `${(100 * share).toFixed(1)}%`, value: share },
      ],
    ];
  });
  return {
    id: 'latency',
    title: 'Policy latency vs simulator time in closed loop',
    columns: ['Policy', 'Queries', 'Queries/step', 'ms/query (median)', 'ms/query (p95)', 'Hz', 'Sim ms/step', 'Policy share'],
    rows,
    notes: [
      'Policy time is act() alone (wall clock in the trial worker, first queries included); simulator time is reset + warm-up + steps with 128×128 rendering. Workers share the CPU, so absolute figures depend on the worker count; the latency benchmark (paper Table 3) is `npm run bench -- eval`.',
    ],
  };
}

export function evaluationTables(records: readonly TrialRecord[], opts: EvaluationTablesOptions & { warmupSteps: number }): ResultTable[] {
  const others = opts.policies.filter((p) => p !== opts.reference);
  const tables: ResultTable[] = [];
  tables.push(
    perTaskTable(records, {
      id: 'matrix',
      title: `Success rate (%) per task, vs ${opts.reference}`,
      suites: opts.suites,
      tasks: opts.tasks,
      baseline: method(opts.reference),
      variants: others.map(method),
    }),
  );
  tables.push(
    suiteTable(records, {
      id: 'suites',
      title: 'Closed-loop success rate (%) per suite',
      suites: opts.suites,
      teacher: method(opts.reference),
      methods: others.map(method),
      gapOf: others.length > 0 ? undefined : opts.reference,
      bootstrap: others.length > 0 ? { seed: opts.seed, resamples: opts.resamples ?? 2000 } : undefined,
    }),
  );
  tables.push(flipTable(flipAudit(seriesFromTrials(records)), { id: 'flips', title: 'Gripper flip audit of the evaluation trials' }));
  tables.push(latencyTable(records, opts.policies, opts.warmupSteps));
  return tables;
}
