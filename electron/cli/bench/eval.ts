import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ActionStats } from '../../engine/data/normalize.js';
import { evaluatePolicy, type PolicyEvaluation } from '../../engine/evaluate/evaluation.js';
import { parseProtocol, type Protocol } from '../../engine/evaluate/protocol.js';
import { summarizeLatency } from '../../engine/evaluate/latency.js';
import { countParams, studentConfig } from '../../engine/model/config.js';
import { exportPolicy } from '../../engine/model/policy.js';
import { flag, type BenchReport, type BenchRow } from './report.js';
import { timingWeights } from './student.js';

/**
 * `npm run bench -- eval [--workers 2] [--trials 2] [--tasks 0,1] [--suites object,spatial,goal] [--no-student]`:
 * closed-loop trials per minute over `workers` processes (default 2, this machine's cores) for
 *  - the scripted teacher (episodes end at success: the short case), and
 *  - the `tiny` student's exported policy.onnx with random weights (timing only; it never succeeds, so
 *    every trial runs to the step limit: the long case, as for failing trials of any policy),
 * the split of trial time between the policy (act()) and the simulator (reset, warm-up, steps with
 * 128×128 rendering), and the projected wall time of the paper's full protocol: 3 suites × 10 tasks ×
 * 20 trials × 5 configs = 3,000 trials, bounded by the two measured rates.
 */

const STATS: ActionStats = { q01: Array(7).fill(-1), q99: Array(7).fill(1), mean: Array(7).fill(0), std: Array(7).fill(1), min: Array(7).fill(-1), max: Array(7).fill(1), count: 1 };

interface Measured {
  label: string;
  evaluation: PolicyEvaluation;
  wallS: number;
}

function rows(m: Measured, workers: number): BenchRow[] {
  const recs = m.evaluation.records;
  const n = recs.length;
  const policyMs = recs.reduce((s, r) => s + r.policyMs.reduce((a, b) => a + b, 0), 0);
  const simMs = recs.reduce((s, r) => s + r.simMs, 0);
  const steps = recs.reduce((s, r) => s + r.steps, 0);
  const lat = summarizeLatency(recs.flatMap((r) => r.policyMs));
  const ok = recs.filter((r) => r.success).length;
  return [
    { name: `${m.label}: closed-loop trials on ${workers} worker processes`, unit: 'trials/min', ours: (60 * n) / m.wallS, note: `${n} trials, ${ok} successes, mean ${(steps / n).toFixed(0)} steps/trial, wall ${m.wallS.toFixed(1)} s (process start-up included)` },
    { name: `${m.label}: policy share of trial time`, unit: '%', ours: (100 * policyMs) / (policyMs + simMs), note: `policy ${(policyMs / 1000).toFixed(1)} s, simulator ${(simMs / 1000).toFixed(1)} s summed over workers` },
    { name: `${m.label}: policy time per query (median, in the loop)`, unit: 'ms', ours: lat.medianMs, note: `p95 ${lat.p95Ms.toFixed(2)} ms over ${lat.samplesMs.length} queries` },
    { name: `${m.label}: simulator time per step (incl. 128×128 render)`, unit: 'ms', ours: simMs / (steps + n * 10) },
  ];
}

export default async function evalBench(args: string[]): Promise<BenchReport> {
  const workers = Number(flag(args, '--workers') ?? 2);
  const trials = Number(flag(args, '--trials') ?? 2);
  const tasks = (flag(args, '--tasks') ?? '0,1').split(',').map(Number);
  const suites = (flag(args, '--suites') ?? 'object,spatial,goal').split(',');
  const withStudent = !args.includes('--no-student');
  const protocol: Protocol = parseProtocol({ suites, tasks, trialsPerTask: trials, seed: 0 });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-eval-'));
  const measured: Measured[] = [];
  const out: BenchRow[] = [];
  const extra: Record<string, unknown> = { workers, trials, tasks, suites, cores: os.cpus().length };
  try {
    const run = async (label: string, id: string, spec: string) => {
      const t0 = performance.now();
      const evaluation = await evaluatePolicy({ entry: { id, spec, textMode: 'masked' }, protocol, evalDir: path.join(dir, id), baseDir: dir, workers });
      const m = { label, evaluation, wallS: (performance.now() - t0) / 1000 };
      measured.push(m);
      out.push(...rows(m, workers));
    };
    await run('scripted teacher', 'teacher', 'teacher:scripted');
    if (withStudent) {
      const config = studentConfig('tiny');
      const file = path.join(dir, 'tiny', 'policy.onnx');
      await exportPolicy({ config, weights: timingWeights(config), stats: STATS, textLength: 64, rotate180: true, runId: 'bench-random-tiny' }, file);
      extra.studentParams = countParams(config);
      await run('tiny student (policy.onnx, random weights, masked text)', 'tiny', `student:${file}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // Projection: 3 suites × 10 tasks × 20 trials × 5 configs, at each measured rate.
  const full = 3 * 10 * 20 * 5;
  for (const m of measured) {
    const perMin = (60 * m.evaluation.records.length) / m.wallS;
    out.push({ name: `paper's full protocol (${full} trials) at the ${m.label} rate, ${workers} workers`, unit: 'h', ours: full / perMin / 60, note: 'projected from the measured trials/min' });
  }
  extra.perTrial = measured.map((m) => ({ label: m.label, records: m.evaluation.records.map((r) => ({ suite: r.suite, task: r.taskIndex, trial: r.trialIndex, success: r.success, steps: r.steps, simMs: r.simMs, policyMs: r.policyMs.reduce((a, b) => a + b, 0), queries: r.policyMs.length })) }));
  return { suite: 'eval', command: `npm run bench -- eval ${args.join(' ')}`.trim(), rows: out, extra };
}
