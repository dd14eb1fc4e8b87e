import type { Episode } from '../data/episode.js';
import { invalidInput } from '../errors.js';
import type { OperatingMotion, PhaseLabeling } from './classifier.js';
import { computeSignals } from './signals.js';
import type { OperatingKind, Phase } from './taxonomy.js';

/** A maximal run of one phase: frames [start, end). */
export interface PhaseSegment {
  phase: Phase;
  start: number;
  end: number;
}

export function phaseSegments(phases: readonly Phase[]): PhaseSegment[] {
  const out: PhaseSegment[] = [];
  for (let t = 0; t < phases.length; t++) {
    const last = out[out.length - 1];
    if (last && last.phase === phases[t]) last.end = t + 1;
    else out.push({ phase: phases[t], start: t, end: t + 1 });
  }
  return out;
}

/**
 * `n` frame indices spread uniformly over [start, end), always including the first and the last frame
 * (beginning, middle and end of the segment, paper §3.4). A segment shorter than `n` frames gives each
 * of its frames once.
 */
export function uniformKeyframes(start: number, end: number, n: number): number[] {
  if (!(end > start)) throw invalidInput(`keyframes: empty segment [${start}, ${end})`, { start, end });
  if (!Number.isInteger(n) || n < 1) throw invalidInput(`keyframes: count must be a positive integer, got ${n}`, { field: 'keyframes', value: n });
  const len = end - start;
  if (len <= n) return Array.from({ length: len }, (_, i) => start + i);
  if (n === 1) return [start + Math.floor((len - 1) / 2)];
  return Array.from({ length: n }, (_, i) => start + Math.round((i * (len - 1)) / (n - 1)));
}

export interface OperatingSegment extends PhaseSegment {
  phase: 'operating';
  /** Keyframes for the multi-frame direction prompt (5 by default). */
  keyframes: number[];
  kind: OperatingKind;
  /** Net motion over the segment, from proprioception (for the offline direction). */
  motion: OperatingMotion;
}

/** Contiguous runs of `operating`, each with uniformly sampled keyframes and its net motion. */
export function operatingSegments(labeling: PhaseLabeling, episode: Episode, keyframes = 5): OperatingSegment[] {
  const signals = computeSignals(episode, labeling.config);
  const cfg = labeling.config;
  return phaseSegments(labeling.phases)
    .filter((s) => s.phase === 'operating')
    .map((seg) => {
      const last = seg.end - 1;
      const translation = [0, 1, 2].map((d) => signals.pos[3 * last + d] - signals.pos[3 * seg.start + d]) as [number, number, number];
      let rotationZ = 0;
      for (let t = seg.start; t < seg.end; t++) rotationZ += signals.angVelZ[t] / cfg.controlHz;
      const kind = labeling.details[seg.start].operatingKind ?? 'push';
      return {
        phase: 'operating' as const,
        start: seg.start,
        end: seg.end,
        keyframes: uniformKeyframes(seg.start, seg.end, keyframes),
        kind,
        motion: { kind, translation, rotationZ },
      };
    });
}
