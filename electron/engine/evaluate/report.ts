import { flipAudit, seriesFromTrials } from '../audit/flips.js';
import { invalidInput } from '../errors.js';
import { querySamples, summarizeLatency, timedTrials } from './latency.js';
import { efficiencyTable, flipTable, perTaskTable, suiteTable, type EfficiencyRow, type MethodSpec, type ResultTable } from './tables.js';
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
 * `efficiencyFromTrials` builds the paper's Table 3 from the same per-query samples (latency.ts
 * `timedTrials`/`querySamples`), each trial's first query excluded; the distill report publishes it.
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
  /** Extra notes for the success matrix (e.g. a student evaluated on tasks it was not trained on). */
  notes?: readonly string[];
}

const method = (id: string): MethodSpec => ({ label: id, policy: id });

export function latencyTable(records: readonly TrialRecord[], policies: readonly string[], warmupSteps: number): ResultTable {
  const rows = policies.flatMap((id) => {
    const own = timedTrials(records, id);
    if (own.length === 0) return [];
    const lat = summarizeLatency(querySamples(own));
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
  const eps = policies.flatMap((id) => {
    const own = timedTrials(records, id);
    const prov = own.some((r) => r.ep) ? trialsProvider(own, 'unrecorded') : undefined;
    return prov ? [`${id} on ${prov}`] : [];
  });
  // The camera size the simulator rendered at, as the kept frames say (the trials do not record it otherwise).
  const sizes = [...new Set(records.flatMap((r) => (r.frames ? [`${r.frames.width}×${r.frames.height}`] : [])))];
  const rendering = sizes.length ? `${sizes.join(' / ')} rendering` : 'rendering (its size is not recorded when frames are not kept)';
  return {
    id: 'latency',
    title: 'Policy latency vs simulator time in closed loop',
    columns: ['Policy', 'Queries', 'Queries/step', 'ms/query (median)', 'ms/query (p95)', 'Hz', 'Sim ms/step', 'Policy share'],
    rows,
    notes: [
      `Policy time is act() alone (wall clock in the trial worker, first queries included); simulator time is reset + warm-up + steps with ${rendering}. Workers share the CPU, so absolute figures depend on the worker count. Paper Table 3 (first query of each trial excluded as warm-up) is in the distill report (efficiencyFromTrials); the standalone benchmark is \`npm run bench -- eval\`.`,
      ...(eps.length ? [`Execution provider: ${eps.join('; ')}.`] : []),
    ],
  };
}

/** A policy of Table 3: its trials' id, its row label, and its learned parameter count (null: none, e.g. scripted). */
export interface EfficiencyPolicy {
  id: string;
  label?: string;
  params: number | null;
  /** What runs it, when its trial records name no execution provider (e.g. "plain JavaScript" for the scripted teacher). */
  provider?: string;
}

export interface EfficiencyFromTrialsOptions {
  /** The id of the reference policy (the protocol's teacher): its speedup is 1. */
  reference: string;
  /**
   * What ran the trials of a policy whose records name no execution provider and that names none itself
   * (e.g. 'cpu'; records from before the EP was recorded). Records that carry `ep` (students) name theirs.
   */
  provider?: string;
  /** Queries dropped at the start of each trial as warm-up (default 1: the first query). */
  warmupQueries?: number;
  id?: string;
  title?: string;
  notes?: readonly string[];
}

/**
 * Table 3 from stored closed-loop trials: per policy, sec/step = the median (and p95) of its per-query
 * policy times over all its trials with each trial's first `warmupQueries` queries excluded, Hz =
 * 1 / median, speedup vs the reference. A policy without a timed query left is listed in the notes, not
 * as a row; the reference must have one.
 */
export function efficiencyFromTrials(records: readonly TrialRecord[], policies: readonly EfficiencyPolicy[], opts: EfficiencyFromTrialsOptions): ResultTable {
  const warmup = opts.warmupQueries ?? 1;
  const labelOf = (p: EfficiencyPolicy) => p.label ?? p.id;
  const rows: EfficiencyRow[] = [];
  const counts: string[] = [];
  const untimed: string[] = [];
  const byProvider = new Map<string, string[]>();
  for (const p of policies) {
    const trials = timedTrials(records, p.id);
    const samples = querySamples(trials, warmup);
    if (samples.length === 0) {
      untimed.push(labelOf(p));
      continue;
    }
    const lat = summarizeLatency(samples);
    rows.push({ label: labelOf(p), params: p.params, secPerStep: lat.secPerStep, p95SecPerStep: lat.p95Ms / 1000, hz: lat.hz });
    const provider = trialsProvider(trials, p.provider ?? opts.provider);
    if (provider !== undefined) byProvider.set(provider, [...(byProvider.get(provider) ?? []), labelOf(p)]);
    counts.push(`${labelOf(p)} ${samples.length} over ${trials.length} trial${trials.length === 1 ? '' : 's'}`);
  }
  const ref = policies.find((p) => p.id === opts.reference);
  if (!ref) throw invalidInput(`reference '${opts.reference}' is not one of the policies`, { field: 'reference' });
  if (untimed.includes(labelOf(ref))) throw invalidInput(`reference '${opts.reference}' has no timed policy query left after excluding ${warmup} per trial`, { field: 'reference' });
  const notes = [
    `sec/step is the wall time of one policy query (act()) in the closed-loop trials, ${warmup === 0 ? 'every query counted (none excluded as warm-up)' : `each trial's first ${warmup === 1 ? 'query' : `${warmup} queries`} excluded as warm-up`}; Hz = 1 / median. Timed queries: ${counts.join('; ')}.`,
    ...(untimed.length > 0 ? [`No timed query left after the warm-up: ${untimed.join(', ')}.`] : []),
    ...(opts.notes ?? []),
  ];
  // One provider for every row: named alone; several: each with its rows.
  const provider = byProvider.size === 0 ? undefined : byProvider.size === 1 && [...byProvider.values()][0].length === rows.length ? [...byProvider.keys()][0] : [...byProvider].map(([prov, labels]) => `${prov} for ${labels.join(', ')}`).join('; ');
  return efficiencyTable(rows, { reference: labelOf(ref), provider, id: opts.id, title: opts.title, notes });
}

/** The EP of `ep` as the tables name it. */
const epText = (key: string) => {
  const [ep, precision] = key.split('|');
  return `the ${ep} execution provider (onnxruntime-node)${precision ? `, ${precision} matmuls` : ''}`;
};

/**
 * What ran a policy's trials, from their records: "the cuda execution provider (onnxruntime-node)", or
 * with counts when the trials ran on several ("… cuda (12 trials) and cpu (8 trials) …"); records that
 * name no EP count as `fallback` (the policy's own provider, or the caller's default).
 */
export function trialsProvider(trials: readonly TrialRecord[], fallback?: string): string | undefined {
  const counts = new Map<string, number>();
  for (const r of trials) {
    // An int8 student says so beside its EP: the same file runs at another speed (policies/student-onnx.ts precision).
    const k = r.ep ? `${r.ep}${r.precision === 'int8' ? '|int8' : ''}` : '';
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const named = [...counts.keys()].filter((k) => k !== '');
  if (named.length === 0) return fallback;
  if (counts.size === 1) return epText(named[0]);
  const n = (c: number) => `${c} trial${c === 1 ? '' : 's'}`;
  const parts = [...counts].map(([k, c]) => (k === '' ? `${fallback ?? 'an unrecorded provider'} (${n(c)})` : `${k.replace('|', ' ')} (${n(c)})`));
  return `the ${parts.join(' and ')} execution providers (onnxruntime-node)`;
}

export function evaluationTables(records: readonly TrialRecord[], opts: EvaluationTablesOptions & { warmupSteps: number }): ResultTable[] {
  const others = opts.policies.filter((p) => p !== opts.reference);
  const tables: ResultTable[] = [];
  const matrix = perTaskTable(records, {
    id: 'matrix',
    title: `Success rate (%) per task, vs ${opts.reference}`,
    suites: opts.suites,
    tasks: opts.tasks,
    baseline: method(opts.reference),
    variants: others.map(method),
  });
  matrix.notes.push(...(opts.notes ?? []));
  tables.push(matrix);
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
