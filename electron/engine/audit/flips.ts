import { countGripperFlips, DEFAULT_FLIP_WINDOW, gripperColumn } from '../data/stats.js';
import type { Episode } from '../data/episode.js';
import { invalidInput } from '../errors.js';

/**
 * Gripper flip audit (paper §4.5; docs/evaluate.md "Flip audit"). A spurious flip is a gripper command
 * sign change that is revoked within w frames (default 5 = 0.25 s at 20 Hz): the counting rule itself
 * lives in data/stats.ts (`countGripperFlips`), shared with the dataset statistics, so the audit and the
 * dataset report can never disagree. This file aggregates it per episode, per task and per source
 * (teacher rollouts vs student trials), as flips per 1,000 frames.
 */

export interface GripperSeries {
  /** Who produced it, e.g. 'teacher:openvla-7b' or a student policy id. */
  source: string;
  suite: string;
  taskIndex: number;
  /** Episode or trial index within the task. */
  index: number;
  gripper: ArrayLike<number>;
}

export interface EpisodeFlips {
  source: string;
  suite: string;
  taskIndex: number;
  index: number;
  frames: number;
  flips: number;
  /** Frames at which each spurious flip starts. */
  at: number[];
  per1000: number;
}

export interface FlipTotals {
  episodes: number;
  frames: number;
  flips: number;
  per1000: number;
  /** Episodes with at least one spurious flip. */
  episodesWithFlips: number;
}

export interface TaskFlips extends FlipTotals {
  source: string;
  suite: string;
  taskIndex: number;
}

export interface FlipAudit {
  window: number;
  episodes: EpisodeFlips[];
  tasks: TaskFlips[];
  /** One total per source. */
  sources: (FlipTotals & { source: string })[];
}

const per1000 = (flips: number, frames: number) => (frames > 0 ? (1000 * flips) / frames : 0);

function totals(eps: readonly EpisodeFlips[]): FlipTotals {
  const frames = eps.reduce((s, e) => s + e.frames, 0);
  const flips = eps.reduce((s, e) => s + e.flips, 0);
  return { episodes: eps.length, frames, flips, per1000: per1000(flips, frames), episodesWithFlips: eps.filter((e) => e.flips > 0).length };
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const g = m.get(k);
    if (g) g.push(it);
    else m.set(k, [it]);
  }
  return m;
}

export function flipAudit(series: Iterable<GripperSeries>, window = DEFAULT_FLIP_WINDOW): FlipAudit {
  if (!Number.isInteger(window) || window < 1) throw invalidInput('flip window must be a positive integer (frames)', { field: 'window', value: window });
  const episodes: EpisodeFlips[] = [];
  for (const s of series) {
    const { flips, at } = countGripperFlips(s.gripper, window);
    episodes.push({ source: s.source, suite: s.suite, taskIndex: s.taskIndex, index: s.index, frames: s.gripper.length, flips, at, per1000: per1000(flips, s.gripper.length) });
  }
  const tasks = [...groupBy(episodes, (e) => `${e.source}\u0000${e.suite}\u0000${e.taskIndex}`).values()].map((g) => ({
    source: g[0].source,
    suite: g[0].suite,
    taskIndex: g[0].taskIndex,
    ...totals(g),
  }));
  const sources = [...groupBy(episodes, (e) => e.source).values()].map((g) => ({ source: g[0].source, ...totals(g) }));
  return { window, episodes, tasks, sources };
}

/** Teacher rollouts: the gripper column of the recorded actions. */
export function seriesFromEpisodes(episodes: Iterable<Episode>, source?: string): GripperSeries[] {
  return [...episodes].map((e, i) => ({
    source: source ?? `teacher:${e.teacher}`,
    suite: e.suite,
    taskIndex: e.taskIndex,
    index: e.initIndex ?? i,
    gripper: gripperColumn(e.actions),
  }));
}

/**
 * What the audit reads of a closed-loop trial: evaluate/'s `TrialRecord` has these fields (it is stated
 * structurally here because audit/ sits below evaluate/, which imports it).
 */
export interface TrialGripper {
  policyId: string;
  suite: string;
  taskIndex: number;
  trialIndex: number;
  /** Gripper command sent at each executed step. */
  gripper: ArrayLike<number>;
}

/** Student (or any policy's) closed-loop trials: the gripper commands actually sent. */
export function seriesFromTrials(trials: Iterable<TrialGripper>): GripperSeries[] {
  return [...trials].map((t) => ({ source: t.policyId, suite: t.suite, taskIndex: t.taskIndex, index: t.trialIndex, gripper: t.gripper }));
}

/**
 * How many times fewer spurious flips per 1,000 frames `b` makes than `a` (the paper's "reduces spurious
 * flips by …×"): Infinity when b has none and a has some, NaN when neither has any.
 */
export function flipReduction(a: FlipTotals, b: FlipTotals): number {
  if (a.flips === 0 && b.flips === 0) return NaN;
  // From the integer counts, so 27 flips vs 1 over equal frames is exactly 27.
  return (a.flips * b.frames) / (b.flips * a.frames);
}
