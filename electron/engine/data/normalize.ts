import { LabError } from '../errors.js';
import { ACTION_DIM } from './episode.js';

/**
 * Action normalization, OpenVLA convention (prismatic/vla/datasets/rlds: NormalizationType.BOUNDS_Q99):
 * per dimension, map [q01, q99] of the training set to [-1, 1] and clip,
 *   n = clip(2 (a - q01) / (q99 - q01 + 1e-8) - 1, -1, 1),
 * and back with a = 0.5 (n + 1)(q99 - q01) + q01. The gripper dimension is not scaled (OpenVLA's
 * normalization mask leaves it out); it is binarized instead: > 0 → +1 (close), otherwise -1 (open),
 * LIBERO's sign convention (DESIGN.md).
 */
export const GRIPPER = ACTION_DIM - 1;
const EPS = 1e-8;

export interface ActionStats {
  q01: number[];
  q99: number[];
  mean: number[];
  std: number[];
  min: number[];
  max: number[];
  count: number;
}

/** numpy.quantile's default ('linear') on a sorted array. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const pos = q * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

/** Per-dimension statistics over every frame of every episode's T×7 actions. */
export function computeActionStats(actionSets: Iterable<Float32Array | Float64Array>): ActionStats {
  const sets = [...actionSets];
  const count = sets.reduce((n, a) => n + a.length / ACTION_DIM, 0);
  if (count === 0) throw new LabError('INVALID_INPUT', 'action statistics need at least one frame', { field: 'actions' });
  const stats: ActionStats = { q01: [], q99: [], mean: [], std: [], min: [], max: [], count };
  const column = new Float64Array(count);
  for (let d = 0; d < ACTION_DIM; d++) {
    let k = 0;
    for (const a of sets) for (let t = d; t < a.length; t += ACTION_DIM) column[k++] = a[t];
    column.sort();
    let sum = 0;
    for (let i = 0; i < count; i++) sum += column[i];
    const mean = sum / count;
    let sq = 0;
    for (let i = 0; i < count; i++) sq += (column[i] - mean) ** 2;
    stats.q01.push(quantileSorted(column, 0.01));
    stats.q99.push(quantileSorted(column, 0.99));
    stats.mean.push(mean);
    stats.std.push(Math.sqrt(sq / count));
    stats.min.push(column[0]);
    stats.max.push(column[count - 1]);
  }
  return stats;
}

export const binarizeGripper = (g: number) => (g > 0 ? 1 : -1);

/** Normalize T×7 actions (any T) into a new Float32Array. */
export function normalizeActions(actions: ArrayLike<number>, stats: ActionStats): Float32Array {
  const out = new Float32Array(actions.length);
  for (let i = 0; i < actions.length; i++) {
    const d = i % ACTION_DIM;
    if (d === GRIPPER) out[i] = binarizeGripper(actions[i]);
    else {
      const n = (2 * (actions[i] - stats.q01[d])) / (stats.q99[d] - stats.q01[d] + EPS) - 1;
      out[i] = Math.max(-1, Math.min(1, n));
    }
  }
  return out;
}

/** Inverse of normalizeActions inside [q01, q99]; the gripper stays ±1. */
export function unnormalizeActions(normalized: ArrayLike<number>, stats: ActionStats): Float32Array {
  const out = new Float32Array(normalized.length);
  for (let i = 0; i < normalized.length; i++) {
    const d = i % ACTION_DIM;
    out[i] = d === GRIPPER ? binarizeGripper(normalized[i]) : 0.5 * (normalized[i] + 1) * (stats.q99[d] - stats.q01[d]) + stats.q01[d];
  }
  return out;
}
