import { ACTION_DIM } from './episode.js';
import { computeActionStats, type ActionStats } from './normalize.js';
import { GRIPPER } from './normalize.js';

/**
 * Dataset statistics and the gripper flip counter (shared with the audit room).
 *
 * Spurious gripper flip (docs/data.md): with s[t] = +1 if gripper[t] > 0 (close) else -1 (open), a sign
 * change at frame t (s[t] ≠ s[t-1]) is a spurious flip when the command changes back within `window`
 * frames, i.e. some t < u ≤ t + window has s[u] = s[t-1]. A real grasp or release (the sign changes and
 * stays) is not counted; an oscillation counts each reversal that is itself revoked. The flip rate is
 * flips / frames: the fraction of supervisory targets that are self-revoking (the paper's 242 / 8,223).
 */
export const DEFAULT_FLIP_WINDOW = 5;

export interface FlipCount {
  flips: number;
  /** Frames at which a spurious flip starts. */
  at: number[];
}

export function countGripperFlips(gripper: ArrayLike<number>, window = DEFAULT_FLIP_WINDOW): FlipCount {
  const s = (t: number) => (gripper[t] > 0 ? 1 : -1);
  const at: number[] = [];
  for (let t = 1; t < gripper.length; t++) {
    const before = s(t - 1);
    if (s(t) === before) continue;
    for (let u = t + 1; u <= Math.min(gripper.length - 1, t + window); u++) {
      if (s(u) === before) {
        at.push(t);
        break;
      }
    }
  }
  return { flips: at.length, at };
}

/** The gripper column of T×7 actions. */
export function gripperColumn(actions: ArrayLike<number>): Float32Array {
  const T = Math.floor(actions.length / ACTION_DIM);
  return Float32Array.from({ length: T }, (_, t) => actions[t * ACTION_DIM + GRIPPER]);
}

export interface Histogram {
  /** Bin i covers [edges[i], edges[i+1]); the last bin includes its right edge. */
  edges: number[];
  counts: number[];
}

export function histogram(values: number[], bins = 10): Histogram {
  if (values.length === 0) return { edges: [], counts: [] };
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const width = Math.max(1, Math.ceil((hi - lo + 1) / bins));
  const n = Math.max(1, Math.ceil((hi - lo + 1) / width));
  const edges = Array.from({ length: n + 1 }, (_, i) => lo + i * width);
  const counts = new Array<number>(n).fill(0);
  for (const v of values) counts[Math.min(n - 1, Math.floor((v - lo) / width))]++;
  return { edges, counts };
}

export interface DatasetStats {
  episodes: number;
  frames: number;
  actions: ActionStats;
  gripperFlips: number;
  gripperFlipRate: number;
  flipWindow: number;
  lengths: { min: number; max: number; mean: number };
  lengthHistogram: Histogram;
}

export function datasetStats(episodes: Iterable<{ actions: Float32Array | Float64Array; length: number }>, opts: { flipWindow?: number; histogramBins?: number } = {}): DatasetStats {
  const eps = [...episodes];
  const window = opts.flipWindow ?? DEFAULT_FLIP_WINDOW;
  const lengths = eps.map((e) => e.length);
  const frames = lengths.reduce((a, b) => a + b, 0);
  const flips = eps.reduce((n, e) => n + countGripperFlips(gripperColumn(e.actions), window).flips, 0);
  return {
    episodes: eps.length,
    frames,
    actions: computeActionStats(eps.map((e) => e.actions)),
    gripperFlips: flips,
    gripperFlipRate: frames > 0 ? flips / frames : 0,
    flipWindow: window,
    lengths: { min: Math.min(...lengths), max: Math.max(...lengths), mean: frames / Math.max(1, eps.length) },
    lengthHistogram: histogram(lengths, opts.histogramBins ?? 10),
  };
}
