import type { TrialRecord } from '../../../../electron/engine/evaluate/trial.js';

/** A stored trial with the fields the tables read; the rest filled consistently. */
export function record(policyId: string, suite: string, taskIndex: number, trialIndex: number, success: boolean, failure?: 'timeout' | 'error'): TrialRecord {
  const steps = success ? 5 : 8;
  return {
    policyId,
    suite,
    taskIndex,
    trialIndex,
    initIndex: trialIndex,
    seed: 1000 * taskIndex + trialIndex,
    success,
    steps,
    failure: success ? null : (failure ?? 'timeout'),
    execution: { mode: 'whole' },
    gripper: Array(steps).fill(-1),
    phases: null,
    policyMs: [1],
    simMs: 1,
    frames: null,
  };
}

/** `n` trials of one task where trials 0 … successes−1 succeed (so cells with equal counts pair up exactly). */
export function cell(policyId: string, suite: string, taskIndex: number, successes: number, n = 20): TrialRecord[] {
  return Array.from({ length: n }, (_, i) => record(policyId, suite, taskIndex, i, i < successes));
}

/** A suite of 10 tasks × 20 trials with `total` successes spread as evenly as possible over the tasks. */
export function suite(policyId: string, suiteName: string, total: number): TrialRecord[] {
  return Array.from({ length: 10 }, (_, t) => cell(policyId, suiteName, t, Math.floor(total / 10) + (t < total % 10 ? 1 : 0))).flat();
}
