import { invalidInput } from '../errors.js';
import { Rng } from '../util/rng.js';

/**
 * Statistics for closed-loop success rates (docs/evaluate.md): Wilson score intervals for one rate,
 * Fisher's exact and McNemar's exact tests for one task compared between two policies, and a paired
 * (task-stratified) bootstrap for a suite's rate difference. All exact tests sum hypergeometric or
 * binomial probabilities in log space, so 200-trial cells neither overflow nor lose precision.
 */

/** z for a two-sided 95% interval, Φ⁻¹(0.975). */
export const Z95 = 1.959963984540054;

export interface RateInterval {
  successes: number;
  n: number;
  rate: number;
  lo: number;
  hi: number;
}

function checkCount(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) throw invalidInput(`${name} must be a non-negative integer`, { field: name, value: v });
}

/**
 * Wilson score interval (no continuity correction): the same bounds as R's
 * `prop.test(x, n, correct = FALSE)$conf.int` and statsmodels' `proportion_confint(method='wilson')`.
 * Unlike the Wald interval it stays inside [0, 1] and is not degenerate at 0/n or n/n.
 */
export function wilson(successes: number, n: number, z = Z95): RateInterval {
  checkCount('successes', successes);
  checkCount('n', n);
  if (successes > n) throw invalidInput('successes exceed trials', { successes, n });
  if (n === 0) return { successes, n, rate: NaN, lo: 0, hi: 1 };
  const p = successes / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = p + z2 / (2 * n);
  const half = z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // Clamp the rounding dust at the ends (0/n gives lo = -1e-17 otherwise).
  return { successes, n, rate: p, lo: Math.max(0, (centre - half) / denom), hi: Math.min(1, (centre + half) / denom) };
}

// ln(k!) by table: exact sums of logs, grown on demand (trial counts are small, thousands at most).
const logFactTable: number[] = [0];
export function logFactorial(k: number): number {
  checkCount('k', k);
  for (let i = logFactTable.length; i <= k; i++) logFactTable[i] = logFactTable[i - 1] + Math.log(i);
  return logFactTable[k];
}

const logChoose = (n: number, k: number) => logFactorial(n) - logFactorial(k) - logFactorial(n - k);

export type Alternative = 'two-sided' | 'less' | 'greater';

export interface FisherResult {
  p: number;
  alternative: Alternative;
  /** Sample odds ratio ad/bc (Infinity or NaN where a margin is zero); R reports the conditional MLE instead. */
  oddsRatio: number;
}

/**
 * Fisher's exact test on the 2×2 table [[a, b], [c, d]] (rows: policy A / B, columns: success / failure).
 * With margins fixed, a ~ Hypergeometric. 'less' = P(X ≤ a), 'greater' = P(X ≥ a); two-sided sums every
 * table no more probable than the observed one, with R's relative tolerance 1 + 1e-7 so ties in exact
 * arithmetic are not lost to rounding (R: fisher.test, `relErr`).
 */
export function fisherExact(a: number, b: number, c: number, d: number, alternative: Alternative = 'two-sided'): FisherResult {
  for (const [k, v] of Object.entries({ a, b, c, d })) checkCount(k, v);
  const row1 = a + b;
  const col1 = a + c;
  const n = a + b + c + d;
  const lo = Math.max(0, col1 - (n - row1));
  const hi = Math.min(row1, col1);
  const logDenom = logChoose(n, col1);
  const logP = (k: number) => logChoose(row1, k) + logChoose(n - row1, col1 - k) - logDenom;
  const observed = logP(a);
  let p = 0;
  for (let k = lo; k <= hi; k++) {
    const lp = logP(k);
    const take = alternative === 'less' ? k <= a : alternative === 'greater' ? k >= a : lp <= observed + Math.log1p(1e-7);
    if (take) p += Math.exp(lp);
  }
  return { p: Math.min(1, p), alternative, oddsRatio: (a * d) / (b * c) };
}

/** P(X ≤ k) for X ~ Binomial(n, 1/2), summed in log space. */
function binomHalfCdf(k: number, n: number): number {
  let p = 0;
  for (let i = 0; i <= k; i++) p += Math.exp(logChoose(n, i) - n * Math.LN2);
  return p;
}

export interface McNemarResult {
  p: number;
  /** Discordant pairs: A succeeded and B failed (b), A failed and B succeeded (c). */
  b: number;
  c: number;
}

/**
 * McNemar's exact test for paired binary outcomes: under H0 the discordant pairs split Binomial(b + c, 1/2);
 * two-sided p = min(1, 2·P(X ≤ min(b, c))), as R's `binom.test(b, b + c)` and statsmodels'
 * `mcnemar(table, exact=True)`. Concordant pairs carry no information about the difference.
 */
export function mcnemarExact(b: number, c: number): McNemarResult {
  checkCount('b', b);
  checkCount('c', c);
  const n = b + c;
  if (n === 0) return { p: 1, b, c };
  return { p: Math.min(1, 2 * binomHalfCdf(Math.min(b, c), n)), b, c };
}

/** McNemar on two aligned outcome vectors (trial i of A paired with trial i of B). */
export function mcnemarPaired(a: readonly boolean[], bOutcomes: readonly boolean[]): McNemarResult {
  if (a.length !== bOutcomes.length) throw invalidInput('paired outcomes differ in length', { a: a.length, b: bOutcomes.length });
  let b = 0;
  let c = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] && !bOutcomes[i]) b++;
    else if (!a[i] && bOutcomes[i]) c++;
  }
  return mcnemarExact(b, c);
}

export interface BootstrapOptions {
  /** Stratum of each pair (the task), so every resample keeps each task's trial count, as the protocol does. */
  strata?: readonly (string | number)[];
  resamples?: number;
  seed: number;
  /** Confidence level of the percentile interval. */
  level?: number;
}

export interface BootstrapResult {
  /** Observed rate(A) − rate(B) over all pairs. */
  diff: number;
  lo: number;
  hi: number;
  level: number;
  /** Two-sided p of H0 "no difference": share of resampled differences, shifted to the null, as extreme as the observed one. */
  p: number;
  resamples: number;
  seed: number;
}

/**
 * Paired bootstrap of the difference of success rates between two policies run on the same trials.
 * Each resample draws pairs with replacement (within each stratum when `strata` is given); the interval is
 * the percentile interval of the resampled differences; the p-value is (1 + #{|d* − d| ≥ |d|}) / (B + 1)
 * (the null distribution approximated by the bootstrap distribution shifted to zero; Efron & Tibshirani
 * 1993, §16.4), which never reports an impossible p of exactly 0.
 */
export function pairedBootstrap(a: readonly boolean[], b: readonly boolean[], opts: BootstrapOptions): BootstrapResult {
  const resamples = opts.resamples ?? 10_000;
  const level = opts.level ?? 0.95;
  if (a.length !== b.length) throw invalidInput('paired outcomes differ in length', { a: a.length, b: b.length });
  if (a.length === 0) throw invalidInput('no paired outcomes to bootstrap');
  if (!Number.isInteger(resamples) || resamples < 1) throw invalidInput('resamples must be a positive integer', { resamples });
  if (!(level > 0 && level < 1)) throw invalidInput('level must be in (0, 1)', { level });
  if (opts.strata && opts.strata.length !== a.length) throw invalidInput('strata length differs from the pairs', { strata: opts.strata.length, pairs: a.length });
  // Per-pair difference in {-1, 0, 1}; a resample's rate difference is the mean of resampled pair differences.
  const d = a.map((x, i) => Number(x) - Number(b[i]));
  const groups = new Map<string | number, number[]>();
  (opts.strata ?? a.map(() => 0)).forEach((s, i) => {
    const g = groups.get(s);
    if (g) g.push(d[i]);
    else groups.set(s, [d[i]]);
  });
  const strata = [...groups.values()];
  const n = d.length;
  const observed = d.reduce((s, v) => s + v, 0) / n;
  const rng = new Rng(opts.seed);
  const diffs = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (const g of strata) for (let i = 0; i < g.length; i++) sum += g[rng.int(g.length)];
    diffs[r] = sum / n;
  }
  let extreme = 0;
  // Tolerance: differences are multiples of 1/n, so equality must survive float division.
  for (const v of diffs) if (Math.abs(v - observed) >= Math.abs(observed) - 1e-12) extreme++;
  diffs.sort();
  const alpha = 1 - level;
  return {
    diff: observed,
    lo: quantileSorted(diffs, alpha / 2),
    hi: quantileSorted(diffs, 1 - alpha / 2),
    level,
    p: (1 + extreme) / (resamples + 1),
    resamples,
    seed: opts.seed,
  };
}

/** Linear-interpolated quantile of sorted values (numpy's default `percentile` method). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = q * (sorted.length - 1);
  const i = Math.floor(pos);
  const frac = pos - i;
  return i + 1 < sorted.length ? sorted[i] + frac * (sorted[i + 1] - sorted[i]) : sorted[i];
}
