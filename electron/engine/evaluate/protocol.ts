import { z } from 'zod';
import { LabError, invalidInput, parseOr } from '../errors.js';
import { Rng } from '../util/rng.js';
import { ChunkExecutionSchema, type ChunkExecution } from '../rollout/chunk-executor.js';
import { trialKey, type TrialRecord } from './trial.js';

/**
 * The closed-loop evaluation protocol (DESIGN.md "Reference facts"; OpenVLA's run_libero_eval.py):
 * suites × tasks × N trials, trial i from fixed initial state i, 10 warm-up no-ops with the gripper open,
 * a step limit per suite, success = all goal predicates. Teacher and student run under the same protocol
 * and the same per-trial seeds: a trial's seed depends on (protocol seed, suite, task, trial), never on
 * the policy, so two policies' trial i face the same world.
 */

export { SUITE_MAX_STEPS, WARMUP_STEPS, WARMUP_ACTION } from '../data/libero-protocol.js';
import { SUITE_MAX_STEPS, WARMUP_STEPS } from '../data/libero-protocol.js';

export const ProtocolSchema = z.object({
  suites: z.array(z.string().min(1)).min(1),
  /** Task indices evaluated in every suite (LIBERO suites have 10). */
  tasks: z.array(z.number().int().nonnegative()).min(1).default([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
  trialsPerTask: z.number().int().positive().default(20),
  warmupSteps: z.number().int().nonnegative().default(WARMUP_STEPS),
  /** Overrides of the per-suite step limit (else SUITE_MAX_STEPS). */
  maxSteps: z.record(z.string(), z.number().int().positive()).default({}),
  execution: ChunkExecutionSchema.default({ mode: 'whole' }),
  /** Root of every trial seed; recorded with the results. */
  seed: z.number().int().default(0),
});
export type Protocol = z.infer<typeof ProtocolSchema>;

export function parseProtocol(value: unknown): Protocol {
  const p = parseOr(ProtocolSchema, value, 'evaluation protocol');
  for (const s of p.suites) maxStepsFor(p, s); // unknown suites fail here, not mid-run
  return p;
}

export function maxStepsFor(protocol: Pick<Protocol, 'maxSteps'>, suite: string): number {
  const m = protocol.maxSteps[suite] ?? SUITE_MAX_STEPS[suite];
  if (m === undefined) throw invalidInput(`no step limit known for suite '${suite}': set protocol.maxSteps.${suite}`, { field: 'maxSteps', suite });
  return m;
}

/** The seed of one trial, the same for every policy. */
export function trialSeed(protocolSeed: number, suite: string, taskIndex: number, trialIndex: number): number {
  return new Rng(protocolSeed).fork(`${suite}/${taskIndex}/${trialIndex}`).seed;
}

/** One trial to run. */
export interface TrialSpec {
  policyId: string;
  suite: string;
  taskIndex: number;
  trialIndex: number;
  initIndex: number;
  seed: number;
  maxSteps: number;
  warmupSteps: number;
  execution: ChunkExecution;
}

/** Every trial of the protocol for one policy, in the canonical (serial) order: suite, task, trial. */
export function planTrials(protocol: Protocol, policyId: string): TrialSpec[] {
  const plan: TrialSpec[] = [];
  for (const suite of protocol.suites) {
    const maxSteps = maxStepsFor(protocol, suite);
    for (const taskIndex of protocol.tasks) {
      for (let trialIndex = 0; trialIndex < protocol.trialsPerTask; trialIndex++) {
        plan.push({
          policyId,
          suite,
          taskIndex,
          trialIndex,
          initIndex: trialIndex,
          seed: trialSeed(protocol.seed, suite, taskIndex, trialIndex),
          maxSteps,
          warmupSteps: protocol.warmupSteps,
          execution: protocol.execution,
        });
      }
    }
  }
  return plan;
}

/**
 * The trials of `plan` not yet stored, in plan order: what a resumed evaluation runs. A stored record
 * counts once however often it was written. Errored trials (a server died) are finished unless
 * `retryErrored`, because re-running them changes what the errored count reports. A stored record whose
 * seed differs from the plan's was run under another protocol: that is a conflict, not progress.
 */
export function remainingTrials(plan: readonly TrialSpec[], stored: Iterable<TrialRecord>, opts: { retryErrored?: boolean } = {}): TrialSpec[] {
  const done = new Map<string, TrialRecord>();
  for (const r of stored) if (!done.has(trialKey(r)) || done.get(trialKey(r))!.failure === 'error') done.set(trialKey(r), r);
  return plan.filter((spec) => {
    const r = done.get(trialKey(spec));
    if (!r) return true;
    if (r.seed !== spec.seed || r.initIndex !== spec.initIndex) {
      throw new LabError('CONFLICT', `stored trial ${spec.suite}/${spec.taskIndex}/${spec.trialIndex} of ${spec.policyId} was run with seed ${r.seed}, the protocol says ${spec.seed}`, {
        ...spec,
        storedSeed: r.seed,
      });
    }
    return opts.retryErrored === true && r.failure === 'error';
  });
}

/**
 * Stored records reduced to one per trial identity (the first non-errored one wins; an errored one only
 * when nothing else exists), so a trial written twice across a crash is not double-counted.
 */
export function uniqueTrials(records: Iterable<TrialRecord>): TrialRecord[] {
  const byKey = new Map<string, TrialRecord>();
  for (const r of records) {
    const prev = byKey.get(trialKey(r));
    if (!prev || (prev.failure === 'error' && r.failure !== 'error')) byKey.set(trialKey(r), r);
  }
  return [...byKey.values()];
}
