import { describe, expect, it } from 'vitest';
import { fisherExact, logFactorial, mcnemarExact, mcnemarPaired, pairedBootstrap, quantileSorted, wilson } from '../../../../electron/engine/evaluate/stats.js';
import { LabError } from '../../../../electron/engine/errors.js';

// Exact reference values: test/python/evaluate_stats_oracle.py (Fractions, no scipy), anchored to the
// published tables cited at each test.

describe('Wilson score interval', () => {
  // Newcombe (1998), "Two-sided confidence intervals for the single proportion: comparison of seven
  // methods", Stat. Med. 17:857–872, Table II, method 3 (score, no continuity correction), 4 decimals.
  // Digits beyond come from the closed form (z = 1.959963984540054) evaluated in Python; R's
  // prop.test(x, n, correct = FALSE)$conf.int gives the same bounds.
  it.each([
    [81, 263, 0.2553, 0.3662, 0.2552885199, 0.366209577],
    [15, 148, 0.0624, 0.1605, 0.0623863995, 0.1604872417],
    [0, 20, 0.0, 0.1611, 0.0, 0.1611251581],
    [1, 29, 0.0061, 0.1718, 0.0061132143, 0.1717552188],
  ])('%i/%i matches Newcombe 1998 Table II', (x, n, lo4, hi4, lo, hi) => {
    const w = wilson(x, n);
    expect(w.lo).toBeCloseTo(lo4, 4);
    expect(w.hi).toBeCloseTo(hi4, 4);
    expect(w.lo).toBeCloseTo(lo, 9);
    expect(w.hi).toBeCloseTo(hi, 9);
    expect(w.rate).toBe(x / n);
  });

  it('is symmetric, stays in [0, 1] at the ends, and matches the 20-trial cells of the protocol', () => {
    expect(wilson(20, 20).lo).toBeCloseTo(0.8388748419, 9);
    expect(wilson(20, 20).hi).toBe(1);
    expect(wilson(19, 20).lo).toBeCloseTo(0.7638688066, 9);
    expect(wilson(19, 20).hi).toBeCloseTo(0.9911185512, 9);
    const half = wilson(10, 20);
    expect(half.lo + half.hi).toBeCloseTo(1, 12);
    expect(half.lo).toBeCloseTo(0.2992980082, 9);
    expect(wilson(0, 0)).toMatchObject({ lo: 0, hi: 1, n: 0 });
  });

  it('rejects impossible counts with a typed error', () => {
    expect(() => wilson(3, 2)).toThrow(LabError);
    expect(() => wilson(-1, 2)).toThrow(/non-negative integer/);
    expect(() => wilson(1.5, 2)).toThrow(LabError);
  });
});

describe("Fisher's exact test", () => {
  it('lady tasting tea (Fisher 1935; R: fisher.test(TeaTasting))', () => {
    // 3 of 4 milk-first cups identified: R reports p = 0.4857 two-sided, 0.2429 for alternative = "greater" (17/70).
    expect(fisherExact(3, 1, 1, 3).p).toBeCloseTo(34 / 70, 12);
    expect(fisherExact(3, 1, 1, 3, 'greater').p).toBeCloseTo(17 / 70, 12);
    // All four identified: the famous 1/70 one-sided, 2/70 two-sided.
    expect(fisherExact(4, 0, 0, 4, 'greater').p).toBeCloseTo(1 / 70, 14);
    expect(fisherExact(4, 0, 0, 4).p).toBeCloseTo(2 / 70, 14);
  });

  it("R's Convictions example (fisher.test help page): p = 0.0005367 two-sided, 0.0004652 less", () => {
    // Convictions <- matrix(c(2, 10, 15, 3), nrow = 2): rows Dizygotic/Monozygotic, cols Convicted/Not.
    // Exact values 3571/6653325 and the 'less' tail from exact rational arithmetic in Python.
    expect(fisherExact(2, 15, 10, 3).p).toBeCloseTo(0.0005367241191434358, 15);
    expect(fisherExact(2, 15, 10, 3, 'less').p).toBeCloseTo(0.00046518094336290503, 15);
    expect(fisherExact(2, 15, 10, 3, 'greater').p).toBeCloseTo(0.9999845190186861, 12);
  });

  it('20-trial cells: 20/20 vs 10/20 and 15/20 vs 5/20, and the degenerate all-fail table', () => {
    expect(fisherExact(20, 0, 10, 10).p).toBeCloseTo(1 / 2294, 15);
    expect(fisherExact(15, 5, 5, 15).p).toBeCloseTo(0.0038475273083775283, 14);
    expect(fisherExact(0, 20, 0, 20).p).toBe(1);
    expect(fisherExact(5, 15, 15, 5).p).toBeCloseTo(fisherExact(15, 5, 5, 15).p, 14);
  });

  it('log-factorials are exact sums of logs', () => {
    expect(logFactorial(0)).toBe(0);
    expect(logFactorial(10)).toBeCloseTo(Math.log(3628800), 12);
    expect(Math.exp(logFactorial(20) - logFactorial(18))).toBeCloseTo(380, 9);
  });
});

describe("McNemar's exact test", () => {
  // Exact binomial tails 2·P(X ≤ min(b, c)), X ~ Bin(b + c, 1/2) (as R's binom.test(b, b + c)).
  it.each([
    [1, 8, 5 / 128],
    [2, 9, 67 / 1024],
    [0, 5, 1 / 16],
    [3, 10, 189 / 2048],
    [10, 0, 1 / 512],
    [5, 5, 1],
    [0, 0, 1],
  ])('b=%i c=%i → p=%f', (b, c, p) => {
    expect(mcnemarExact(b, c).p).toBeCloseTo(p, 14);
  });

  it('counts discordant pairs from aligned outcomes', () => {
    const a = [true, true, false, false, true, true, true];
    const b = [true, false, false, true, false, false, false];
    const r = mcnemarPaired(a, b);
    expect(r).toMatchObject({ b: 4, c: 1 });
    expect(r.p).toBeCloseTo(2 * (1 + 5) / 32, 14);
    expect(() => mcnemarPaired([true], [true, false])).toThrow(LabError);
  });
});

describe('paired bootstrap of a suite rate difference', () => {
  it('is reproducible from its recorded seed and changes with it', () => {
    const a = Array.from({ length: 60 }, (_, i) => i % 3 !== 0);
    const b = Array.from({ length: 60 }, (_, i) => i % 2 === 0);
    const r1 = pairedBootstrap(a, b, { seed: 7, resamples: 500 });
    const r2 = pairedBootstrap(a, b, { seed: 7, resamples: 500 });
    const r3 = pairedBootstrap(a, b, { seed: 8, resamples: 500 });
    expect(r1).toEqual(r2);
    expect(r1.seed).toBe(7);
    expect(r1.resamples).toBe(500);
    expect(r3.lo !== r1.lo || r3.hi !== r1.hi || r3.p !== r1.p).toBe(true);
  });

  it('degenerate cases: identical policies give p = 1; a sweep win gives the smallest p', () => {
    const same = Array.from({ length: 40 }, (_, i) => i % 4 === 0);
    const r = pairedBootstrap(same, same, { seed: 1, resamples: 200 });
    expect(r).toMatchObject({ diff: 0, lo: 0, hi: 0, p: 1 });
    const win = pairedBootstrap(Array(40).fill(true), Array(40).fill(false), { seed: 1, resamples: 200 });
    expect(win).toMatchObject({ diff: 1, lo: 1, hi: 1 });
    expect(win.p).toBe(1 / 201);
  });

  it('the interval agrees with the normal approximation on a large paired sample', () => {
    // 200 pairs (a protocol suite cell): d = +1 on 40, -1 on 10, 0 on 150 → mean 0.15, sd(d)/√n known.
    const n = 200;
    const a: boolean[] = [];
    const b: boolean[] = [];
    for (let i = 0; i < n; i++) {
      if (i < 40) (a.push(true), b.push(false));
      else if (i < 50) (a.push(false), b.push(true));
      else (a.push(i % 2 === 0), b.push(i % 2 === 0));
    }
    const r = pairedBootstrap(a, b, { seed: 42, resamples: 4000 });
    const mean = 0.15;
    const variance = (40 * (1 - mean) ** 2 + 10 * (-1 - mean) ** 2 + 150 * mean ** 2) / n;
    const se = Math.sqrt(variance / n);
    expect(r.diff).toBeCloseTo(mean, 12);
    expect(r.lo).toBeGreaterThan(mean - 1.96 * se - 0.015);
    expect(r.lo).toBeLessThan(mean - 1.96 * se + 0.015);
    expect(r.hi).toBeGreaterThan(mean + 1.96 * se - 0.015);
    expect(r.hi).toBeLessThan(mean + 1.96 * se + 0.015);
    // z = 0.15 / se ≈ 5.2: far in the tail, so only the +1 of the estimator's numerator remains.
    expect(r.p).toBeLessThan(0.002);
  });

  it('stratifies by task: resamples keep each task’s trial count', () => {
    // Task 0: A wins all 10 pairs; task 1: ties on all 10. Stratified resampling cannot change the mean.
    const a = [...Array(10).fill(true), ...Array(10).fill(false)];
    const b = Array(20).fill(false);
    const strata = [...Array(10).fill(0), ...Array(10).fill(1)];
    const r = pairedBootstrap(a, b, { seed: 3, resamples: 300, strata });
    expect(r).toMatchObject({ diff: 0.5, lo: 0.5, hi: 0.5 });
    const free = pairedBootstrap(a, b, { seed: 3, resamples: 300 });
    expect(free.hi - free.lo).toBeGreaterThan(0.2);
  });

  it('validates its input', () => {
    expect(() => pairedBootstrap([true], [true, false], { seed: 1 })).toThrow(LabError);
    expect(() => pairedBootstrap([], [], { seed: 1 })).toThrow(/no paired/);
    expect(() => pairedBootstrap([true], [false], { seed: 1, resamples: 0 })).toThrow(/resamples/);
  });

  it('quantiles interpolate like numpy.percentile', () => {
    // numpy.percentile([1, 2, 3, 4], [25, 50, 95]) = [1.75, 2.5, 3.85]
    expect(quantileSorted([1, 2, 3, 4], 0.25)).toBeCloseTo(1.75, 12);
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBeCloseTo(2.5, 12);
    expect(quantileSorted([1, 2, 3, 4], 0.95)).toBeCloseTo(3.85, 12);
  });
});
