import path from 'node:path';
import { z } from 'zod';
import { LabError, parseOr } from '../../errors.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { evaluatePolicy, studentCoverage, studentEp, type PolicyEvaluation } from '../../evaluate/evaluation.js';
import type { TrainingCoverage } from '../../evaluate/coverage.js';
import { PolicyEntrySchema } from '../../evaluate/policy-entry.js';
import { TEACHER_KINDS } from '../../policies/spec.js';
import { parseProtocol } from '../../evaluate/protocol.js';
import { evaluationTables } from '../../evaluate/report.js';
import { defaultWorkers } from '../../rollout/scheduler.js';
import { toCsv, toLatex, toMarkdown, type ResultTable } from '../../evaluate/tables.js';
import { ChunkExecutionSchema } from '../../rollout/chunk-executor.js';
import type { JobContext } from '../context.js';
import { EvaluateParams } from './evaluate-params.js';

/**
 * The `evaluate` job: closed-loop evaluation of one or more policies under one protocol (docs/evaluate.md
 * "Evaluate job"). Per policy, trials go to `<experiment>/eval/<policyId>/trials.jsonl` (frames under
 * `frames/`); a killed job resumes at the next unfinished trial (the log is the checkpoint, nothing is
 * counted twice). At the end it records the success matrix, suite, flip-audit and latency tables and
 * writes each as Markdown, CSV and LaTeX under `eval/tables/`. A student evaluated on a suite or task it
 * was not trained on (or whose file does not say) is evaluated anyway, with a warning in the log, in its
 * result entry (`coverage`) and in the matrix table's notes.
 */

/** The `evaluate` job's handler: its params checked, then the typed run. */
export const evaluateJob = async (ctx: JobContext) => runEvaluate(parseOr(EvaluateParams, ctx.params, 'evaluate: parameter'), ctx);

/** Closed-loop evaluation of the policies under one protocol (the typed run: the distill recipe calls it as its stage). */
export async function runEvaluate(p: EvaluateParams, ctx: JobContext) {
  // Every student's execution provider first (the job's `ep`, else its spec's): an `ep: cuda` where CUDA
  // cannot run fails here, a typed UNSUPPORTED naming the missing pieces, before anything is written under eval/.
  for (const e of p.policies) await studentEp(e, p.ep, (m) => ctx.log(m));
  if (!ctx.experimentDir) throw new LabError('INVALID_INPUT', 'evaluate runs inside an experiment', {});
  const ids = p.policies.map((e) => e.id);
  const dup = ids.find((id, i) => ids.indexOf(id) !== i);
  if (dup) throw new LabError('INVALID_INPUT', `evaluate: policy id '${dup}' is used twice`, { field: 'policies', id: dup });
  // Every spec is checked before the first trial: a typo in the last policy must not wait an hour.
  const scope = { suites: p.suites, tasks: p.tasks };
  const coverage = new Map<string, TrainingCoverage | null>();
  for (const e of p.policies) {
    const c = studentCoverage(e, scope, ctx.experimentDir);
    coverage.set(e.id, c);
    if (c?.warning) ctx.log(c.warning, 'warn');
  }
  const reference = p.reference ?? p.policies.find((e) => (TEACHER_KINDS as readonly string[]).includes(e.spec.kind))?.id ?? ids[0];
  if (!ids.includes(reference)) throw new LabError('INVALID_INPUT', `evaluate: reference '${reference}' is not one of the policies`, { field: 'reference' });
  const protocol = parseProtocol({ suites: p.suites, tasks: p.tasks, trialsPerTask: p.trials, warmupSteps: p.warmupSteps, maxSteps: p.maxSteps, execution: p.execution, seed: p.seed });
  const workers = p.workers ?? defaultWorkers();
  const expDir = ctx.experimentDir;
  const perPolicy = p.trials * p.suites.length * p.tasks.length;
  const total = perPolicy * p.policies.length;
  ctx.log(`evaluate ${ids.join(', ')}: ${p.suites.join('/')} × tasks ${p.tasks.join(',')} × ${p.trials} trials, ${p.execution.mode} chunks, seed ${p.seed}, ${workers} worker(s)`);

  const results: PolicyEvaluation[] = [];
  for (const [k, entry] of p.policies.entries()) {
    ctx.throwIfCancelled();
    const evalDir = path.join(expDir, 'eval', entry.id);
    ctx.progress((k * perPolicy) / total, `${entry.id}: starting`);
    const r = await evaluatePolicy({
      entry,
      protocol,
      evalDir,
      baseDir: expDir,
      workers,
      imageSize: p.imageSize,
      frames: { keep: p.keepFrames, stride: p.frameStride },
      retryErrored: p.retryErrored,
      coverage: coverage.get(entry.id) ?? null,
      ...(p.ep ? { ep: p.ep } : {}), // resolved again there, from the same per-process probe
      log: (line, level) => ctx.log(line, level),
      signal: ctx.signal,
      onTrial: (t) => {
        const done = k * perPolicy + t.skipped + t.done;
        const r = t.result;
        ctx.progress(Math.min(0.97, done / total), `${entry.id}: trial ${t.skipped + t.done}/${perPolicy}`);
        if (r.failure === 'error') ctx.log(`${entry.id} ${r.suite}/${r.taskIndex}/${r.trialIndex}: errored (${r.errorMessage ?? 'no message'})`, 'warn');
      },
    });
    if (r.skipped > 0) ctx.log(`${entry.id}: resumed, ${r.skipped} trial(s) already in eval/${entry.id}/trials.jsonl`);
    const ok = r.records.filter((x) => x.success).length;
    const errored = r.records.filter((x) => x.failure === 'error').length;
    ctx.log(`${entry.id}: ${ok}/${r.records.length - errored} successes${errored ? `, ${errored} errored (left out of the rates)` : ''}`);
    const precisions = [...new Set(r.records.flatMap((x) => (x.precision ? [x.precision] : [])))];
    if (entry.spec.kind === 'student' && entry.spec.precision !== 'fp32') ctx.log(`${entry.id}: precision ${entry.spec.precision}: ran at ${precisions.join(' and ') || 'fp32'} matmuls (the latency tables say so)`);
    ctx.artifact('trials', path.relative(expDir, path.join(evalDir, 'trials.jsonl')), { policy: entry.id, spec: entry.spec, trials: r.records.length });
    results.push(r);
  }

  ctx.progress(0.98, 'tables');
  const records = results.flatMap((r) => r.records);
  const coverageNotes = [...coverage.values()].flatMap((c) => (c?.warning ? [c.warning.replace(/; evaluating anyway$/, '.')] : []));
  const tables = evaluationTables(records, { policies: ids, reference, suites: p.suites, tasks: p.tasks, seed: p.seed, warmupSteps: p.warmupSteps, notes: coverageNotes });
  await publishTables(ctx, expDir, tables);
  ctx.progress(1, 'done');
  return {
    reference,
    seed: p.seed,
    execution: p.execution,
    workers,
    policies: results.map((r) => {
      const counted = r.records.filter((x) => x.failure !== 'error');
      return {
        id: r.policyId,
        trials: r.records.length,
        ran: r.ran,
        resumedFrom: r.skipped,
        successes: counted.filter((x) => x.success).length,
        errored: r.records.length - counted.length,
        successRate: counted.length ? counted.filter((x) => x.success).length / counted.length : null,
        coverage: r.coverage ? { known: r.coverage.known, unseen: r.coverage.unseen, warning: r.coverage.warning } : null,
        ep: r.ep,
      };
    }),
    tables: tables.map((t) => t.id),
  };
}

/** Record result tables for the UI and write each as Markdown, CSV and LaTeX under eval/tables/. */
export async function publishTables(ctx: JobContext, expDir: string, tables: readonly ResultTable[]): Promise<void> {
  for (const t of tables) {
    ctx.record('table', t);
    for (const [ext, render] of [
      ['md', toMarkdown],
      ['csv', toCsv],
      ['tex', toLatex],
    ] as const) {
      const rel = path.join('eval', 'tables', `${t.id}.${ext}`);
      await writeFileAtomic(path.join(expDir, rel), render(t));
      ctx.artifact(`table-${ext}`, rel, { table: t.id });
    }
  }
}
