import { invalidInput } from '../errors.js';
import { Rng } from '../util/rng.js';
import { taxonomy, TAXONOMY_SIZES, type Phase, type PhaseDetail } from './taxonomy.js';

/**
 * Granularity statistics (paper §4.3, Fig. 3). For a taxonomy with K phases and frame fractions
 * p_1..p_K (empty phases count as 0):
 *
 *   CV        = σ(p) / μ(p), with μ = 1/K and σ the population standard deviation.
 *   target q  = a peaked ("Gaussian-like") profile over frequency ranks: q_r ∝ exp(-r² / (2 (sK)²)),
 *               r = 0..K-1, normalized to sum 1 (s = `targetSigmaFraction`, default 0.25).
 *   modified CV (CV*) = sqrt( (1/K) Σ_r (p_(r) − q_r)² ) / μ, where p_(r) is the r-th largest fraction:
 *               the RMS distance between the observed and the target rank profile, in units of the mean
 *               fraction. CV is the same formula with a uniform target; lower CV* is better balance.
 *   ΔCV       = CV − CV(q), how much more (or less) spread the phases are than the target.
 *
 * Error bars: the rollout set is resampled by episode with replacement (`bootstrap` times, seeded) and
 * the statistics recomputed; the result reports the point value, the bootstrap mean, std and the
 * 2.5 / 97.5 percentiles. docs/phases.md holds the same definition.
 */

export interface LabeledEpisode {
  phases: readonly Phase[];
  details?: readonly PhaseDetail[];
}

export interface Interval {
  value: number;
  mean: number;
  std: number;
  lo: number;
  hi: number;
}

export interface TaxonomyGranularity {
  size: number;
  phases: string[];
  /** Fraction of frames per phase (same order as `phases`), with bootstrap intervals. */
  frequencies: Interval[];
  cv: Interval;
  modifiedCv: Interval;
  deltaCv: Interval;
  /** CV of the target profile itself, and the target fractions by rank. */
  targetCv: number;
  target: number[];
}

export interface GranularityOptions {
  sizes?: readonly number[];
  bootstrap?: number;
  seed?: number;
  targetSigmaFraction?: number;
}

export interface GranularityReport {
  episodes: number;
  frames: number;
  bootstrap: number;
  seed: number;
  targetSigmaFraction: number;
  taxonomies: TaxonomyGranularity[];
}

export function coefficientOfVariation(p: readonly number[]): number {
  const K = p.length;
  const mean = p.reduce((a, b) => a + b, 0) / K;
  if (mean === 0) return 0;
  const variance = p.reduce((a, b) => a + (b - mean) ** 2, 0) / K;
  return Math.sqrt(variance) / mean;
}

export function targetProfile(K: number, sigmaFraction = 0.25): number[] {
  const sigma = Math.max(1e-9, sigmaFraction * K);
  const raw = Array.from({ length: K }, (_, r) => Math.exp(-(r * r) / (2 * sigma * sigma)));
  const sum = raw.reduce((a, b) => a + b, 0);
  return raw.map((v) => v / sum);
}

export function modifiedCv(p: readonly number[], target: readonly number[]): number {
  const K = p.length;
  if (target.length !== K) throw invalidInput(`modifiedCv: ${K} fractions vs ${target.length} target values`);
  const sorted = [...p].sort((a, b) => b - a);
  const mean = 1 / K;
  const ms = sorted.reduce((s, v, r) => s + (v - target[r]) ** 2, 0) / K;
  return Math.sqrt(ms) / mean;
}

function interval(value: number, samples: number[]): Interval {
  if (samples.length === 0) return { value, mean: value, std: 0, lo: value, hi: value };
  const s = [...samples].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  const std = Math.sqrt(s.reduce((a, b) => a + (b - mean) ** 2, 0) / s.length);
  const q = (f: number) => s[Math.min(s.length - 1, Math.max(0, Math.round(f * (s.length - 1))))];
  return { value, mean, std, lo: q(0.025), hi: q(0.975) };
}

export function granularity(episodes: readonly LabeledEpisode[], options: GranularityOptions = {}): GranularityReport {
  const sizes = options.sizes ?? TAXONOMY_SIZES;
  const B = options.bootstrap ?? 1000;
  const seed = options.seed ?? 0;
  const sigmaFraction = options.targetSigmaFraction ?? 0.25;
  if (episodes.length === 0) throw invalidInput('granularity: no episodes');
  const rng = new Rng(seed);
  // One resampling of episode indices, shared by all taxonomies, so their intervals are comparable.
  const resamples = Array.from({ length: B }, () => Array.from({ length: episodes.length }, () => rng.int(episodes.length)));
  const frames = episodes.reduce((s, e) => s + e.phases.length, 0);

  const taxonomies = sizes.map((size) => {
    const tax = taxonomy(size);
    const names = tax.phases.map((p) => p.name);
    const index = new Map(names.map((n, i) => [n, i]));
    const counts = episodes.map((ep) => {
      const c = new Float64Array(names.length);
      ep.phases.forEach((ph, t) => c[index.get(tax.map(ph, ep.details?.[t]))!]++);
      return c;
    });
    const target = targetProfile(names.length, sigmaFraction);
    const targetCv = coefficientOfVariation(target);
    const statsOf = (idx: readonly number[]) => {
      const total = new Float64Array(names.length);
      for (const i of idx) for (let k = 0; k < names.length; k++) total[k] += counts[i][k];
      const n = total.reduce((a, b) => a + b, 0) || 1;
      const p = Array.from(total, (v) => v / n);
      const cv = coefficientOfVariation(p);
      return { p, cv, mcv: modifiedCv(p, target), dcv: cv - targetCv };
    };
    const point = statsOf(episodes.map((_, i) => i));
    const boot = resamples.map(statsOf);
    return {
      size,
      phases: names,
      frequencies: names.map((_, k) => interval(point.p[k], boot.map((b) => b.p[k]))),
      cv: interval(point.cv, boot.map((b) => b.cv)),
      modifiedCv: interval(point.mcv, boot.map((b) => b.mcv)),
      deltaCv: interval(point.dcv, boot.map((b) => b.dcv)),
      targetCv,
      target,
    };
  });
  return { episodes: episodes.length, frames, bootstrap: B, seed, targetSigmaFraction: sigmaFraction, taxonomies };
}

/** Granularity per rollout set (default key: teacher/suite, the paper's six teacher–suite sets). */
export function granularityByGroup<E extends LabeledEpisode>(
  episodes: readonly E[],
  key: (e: E) => string,
  options: GranularityOptions = {},
): Record<string, GranularityReport> {
  const groups = new Map<string, E[]>();
  for (const e of episodes) {
    const k = key(e);
    groups.set(k, [...(groups.get(k) ?? []), e]);
  }
  return Object.fromEntries([...groups].map(([k, eps]) => [k, granularity(eps, options)]));
}
