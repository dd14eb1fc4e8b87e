import os from 'node:os';
import { LabError, invalidInput } from '../errors.js';

/**
 * Spread trials over N workers and give the results back in plan order, so a parallel run's output is
 * the serial run's output. Each trial is self-contained (its seed and initial state are in its spec), so
 * which worker runs it, and when, cannot change its result; the order is restored by index.
 *
 * A "worker" is whatever `runOne` does with its `worker` number: an in-process call in tests, or the
 * utility/child process the caller keeps per worker index for real episodes.
 */
export interface TrialContext {
  /** Which worker runs this trial (0 … workers−1): the caller maps it to a process or simulator. */
  worker: number;
  /** Position of the trial in the plan. */
  index: number;
  signal?: AbortSignal;
}

export interface TrialProgress<R> {
  done: number;
  total: number;
  index: number;
  result: R;
}

export interface RunTrialsOptions<R> {
  /** Parallel workers; default one per core. */
  workers?: number;
  /** Called (and awaited) after each trial, before that worker starts another: persist the record here. */
  onProgress?: (p: TrialProgress<R>) => void | Promise<void>;
  /** Stop handing out trials; in-flight trials finish (and are reported) first, then CANCELLED is thrown. */
  signal?: AbortSignal;
}

export const defaultWorkers = () => Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);

export async function runTrials<S, R>(plan: readonly S[], runOne: (spec: S, ctx: TrialContext) => Promise<R>, opts: RunTrialsOptions<R> = {}): Promise<R[]> {
  const workers = opts.workers ?? defaultWorkers();
  if (!Number.isInteger(workers) || workers < 1) throw invalidInput('workers must be a positive integer', { field: 'workers', value: workers });
  const results = new Array<R>(plan.length);
  let nextIndex = 0;
  let done = 0;
  let failure: { error: unknown } | null = null;

  const worker = async (w: number) => {
    while (failure === null && !opts.signal?.aborted && nextIndex < plan.length) {
      const index = nextIndex++;
      try {
        const result = await runOne(plan[index], { worker: w, index, signal: opts.signal });
        results[index] = result;
        done++;
        await opts.onProgress?.({ done, total: plan.length, index, result });
      } catch (error) {
        // The first error stops the hand-out; other workers finish what they hold.
        if (failure === null) failure = { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(workers, Math.max(1, plan.length)) }, (_, w) => worker(w)));
  if (failure !== null) throw (failure as { error: unknown }).error;
  if (opts.signal?.aborted && done < plan.length) {
    throw new LabError('CANCELLED', `evaluation cancelled after ${done} of ${plan.length} trials`, { done, total: plan.length });
  }
  return results;
}
