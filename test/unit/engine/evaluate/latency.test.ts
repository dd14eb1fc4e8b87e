import { describe, expect, it } from 'vitest';
import { measureLatency, querySamples, speedup, summarizeLatency, timedTrials } from '../../../../electron/engine/evaluate/latency.js';
import { LabError } from '../../../../electron/engine/errors.js';
import { record } from './fixtures.js';

describe('latency harness', () => {
  it('excludes warm-up calls and reports median, p95, Hz from a (fake) clock', async () => {
    let clock = 0;
    const calls: number[] = [];
    // Warm-up calls are slow (session start), timed calls take 80 ms except one 200 ms outlier.
    const act = async (i: number) => {
      calls.push(i);
      clock += i < 3 ? 5000 : i === 10 ? 200 : 80;
    };
    const r = await measureLatency(act, { warmup: 3, iterations: 20, now: () => clock, provider: 'cpu' });
    expect(calls).toEqual(Array.from({ length: 23 }, (_, i) => i));
    expect(r.samplesMs).toHaveLength(20);
    expect(r.samplesMs.every((s) => s === 80 || s === 200)).toBe(true);
    expect(r.medianMs).toBe(80);
    // numpy.percentile([80]*19 + [200], 95) = 80 + 0.05·120 = 86
    expect(r.p95Ms).toBeCloseTo(86, 10);
    expect(r.meanMs).toBeCloseTo(86, 10);
    expect(r.secPerStep).toBe(0.08);
    expect(r.hz).toBe(12.5);
    expect(r.provider).toBe('cpu');
  });

  it('speedup is reference sec/step over this sec/step (paper Table 3: 0.262 / 0.080 = 3.28)', () => {
    expect(speedup({ secPerStep: 0.08 }, { secPerStep: 0.262 })).toBeCloseTo(3.275, 12);
    expect(speedup({ secPerStep: 0.172 }, { secPerStep: 0.262 }).toFixed(2)).toBe('1.52');
    expect(speedup({ secPerStep: 0.262 }, { secPerStep: 0.262 })).toBe(1);
  });

  it('summarizes recorded per-step samples (a trial’s policyMs) and validates its options', async () => {
    const s = summarizeLatency([4, 1, 3, 2]);
    expect(s.medianMs).toBe(2.5);
    expect(s.p95Ms).toBeCloseTo(3.85, 12);
    expect(s.hz).toBe(400);
    expect(() => summarizeLatency([])).toThrow(LabError);
    await expect(measureLatency(async () => {}, { iterations: 0 })).rejects.toThrow(/iterations/);
    await expect(measureLatency(async () => {}, { warmup: -1 })).rejects.toThrow(/warmup/);
  });
});

describe('closed-loop query samples (the latency tables and Table 3)', () => {
  const timed = (policy: string, trial: number, policyMs: number[], failure?: 'error') => ({ ...record(policy, 'goal', 0, trial, false, failure ?? 'timeout'), policyMs });
  const records = [
    timed('a', 0, [100, 2, 4]),
    timed('b', 0, [9, 9]),
    timed('a', 1, [50, 6, 8]),
    timed('a', 0, [7, 7, 7]), // the same trial written again across a crash: counted once (the first)
    timed('a', 2, []), // a trial that never queried the policy (the warm-up ended it)
  ];

  it('takes one policy’s trials that queried, each once, in order', () => {
    expect(timedTrials(records, 'a').map((r) => r.policyMs)).toEqual([
      [100, 2, 4],
      [50, 6, 8],
    ]);
    expect(timedTrials(records, 'b')).toHaveLength(1);
    expect(timedTrials(records, 'c')).toEqual([]);
  });

  it('drops each trial’s first queries as warm-up, keeps all with 0', () => {
    const a = timedTrials(records, 'a');
    expect(querySamples(a)).toEqual([100, 2, 4, 50, 6, 8]);
    expect(querySamples(a, 1)).toEqual([2, 4, 6, 8]);
    expect(querySamples(a, 3)).toEqual([]);
    expect(() => querySamples(a, -1)).toThrow(/warmupQueries/);
    expect(() => querySamples(a, 0.5)).toThrow(LabError);
  });
});
