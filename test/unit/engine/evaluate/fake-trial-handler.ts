import { Rng } from '../../../../electron/engine/util/rng.js';
import type { TrialSpec } from '../../../../electron/engine/evaluate/protocol.js';

/**
 * A trial handler for the process-pool test: the outcome is a pure function of the spec (as a real
 * closed-loop trial is of its seed and initial state), plus the pid to show which process ran it.
 * Trial index 99 kills its process, to test crash handling; 98 throws.
 */
let prefix = '';
export function init(config: { prefix: string }): void {
  prefix = config.prefix;
}

export async function runTrial(spec: TrialSpec, ctx: { worker: number }) {
  if (spec.trialIndex === 99) process.exit(3);
  if (spec.trialIndex === 98) throw new Error('handler failed on purpose');
  const rng = new Rng(spec.seed);
  await new Promise((r) => setTimeout(r, rng.int(5)));
  return { key: `${prefix}${spec.suite}/${spec.taskIndex}/${spec.trialIndex}`, success: rng.next() < 0.5, actions: Float32Array.of(rng.next(), rng.next()), pid: process.pid, worker: ctx.worker };
}
