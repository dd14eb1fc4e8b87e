import { performance } from 'node:perf_hooks';
import { invalidInput } from '../errors.js';
import { uniqueTrials } from './protocol.js';
import { quantileSorted } from './stats.js';
import type { TrialRecord } from './trial.js';

/**
 * Latency of one policy step (paper Table 3): time `act()` over `iterations` calls after `warmup` calls
 * that are not recorded (session creation, JIT, allocator and cache warm-up). Reports the median and p95
 * (numpy-style interpolated quantiles), Hz = 1 / median sec/step, and the speedup against a reference
 * (reference sec/step ÷ this sec/step, so the reference itself is 1).
 */
export interface LatencyOptions {
  warmup?: number;
  iterations?: number;
  /** Clock in milliseconds; injectable so tests are exact and timings live in benchmarks only. */
  now?: () => number;
  /** Execution provider or device the figures were taken on, recorded with them. */
  provider?: string;
}

export interface LatencyResult {
  warmup: number;
  iterations: number;
  samplesMs: number[];
  medianMs: number;
  p95Ms: number;
  meanMs: number;
  /** Median seconds per step. */
  secPerStep: number;
  hz: number;
  provider?: string;
}

export async function measureLatency(act: (i: number) => Promise<unknown>, opts: LatencyOptions = {}): Promise<LatencyResult> {
  const warmup = opts.warmup ?? 5;
  const iterations = opts.iterations ?? 50;
  const now = opts.now ?? (() => performance.now());
  if (!Number.isInteger(warmup) || warmup < 0) throw invalidInput('warmup must be a non-negative integer', { field: 'warmup', value: warmup });
  if (!Number.isInteger(iterations) || iterations < 1) throw invalidInput('iterations must be a positive integer', { field: 'iterations', value: iterations });
  for (let i = 0; i < warmup; i++) await act(i);
  const samplesMs: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = now();
    await act(warmup + i);
    samplesMs.push(now() - t0);
  }
  return { warmup, iterations, ...summarizeLatency(samplesMs), provider: opts.provider };
}

/** Median, p95, mean, sec/step and Hz of per-step samples in milliseconds (e.g. a trial's policyMs). */
export function summarizeLatency(samplesMs: readonly number[]): Pick<LatencyResult, 'samplesMs' | 'medianMs' | 'p95Ms' | 'meanMs' | 'secPerStep' | 'hz'> {
  if (samplesMs.length === 0) throw invalidInput('no latency samples');
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const medianMs = quantileSorted(sorted, 0.5);
  return {
    samplesMs: [...samplesMs],
    medianMs,
    p95Ms: quantileSorted(sorted, 0.95),
    meanMs: sorted.reduce((s, v) => s + v, 0) / sorted.length,
    secPerStep: medianMs / 1000,
    hz: medianMs > 0 ? 1000 / medianMs : Infinity,
  };
}

/** Speedup of `x` over `reference`: how many of x's steps fit in one reference step. */
export const speedup = (x: { secPerStep: number }, reference: { secPerStep: number }) => reference.secPerStep / x.secPerStep;

/**
 * One policy's stored trials that timed at least one query, each trial once (uniqueTrials: a trial
 * written twice across a crash is not counted twice), in the order given. The one place the closed-loop
 * latency tables (report.ts: `latency`, Table 3) take their trials from.
 */
export function timedTrials(records: Iterable<TrialRecord>, policyId: string): TrialRecord[] {
  return uniqueTrials(records).filter((r) => r.policyId === policyId && r.policyMs.length > 0);
}

/**
 * The per-query policy times (ms) of those trials, concatenated in trial order, with each trial's first
 * `warmupQueries` queries dropped: the first act() of an episode pays one-off costs (the ONNX session's
 * first run, the episode's text features, allocator growth) that a steady control loop does not.
 */
export function querySamples(trials: readonly TrialRecord[], warmupQueries = 0): number[] {
  if (!Number.isInteger(warmupQueries) || warmupQueries < 0) throw invalidInput('warmupQueries must be a non-negative integer', { field: 'warmupQueries', value: warmupQueries });
  return trials.flatMap((r) => r.policyMs.slice(warmupQueries));
}
