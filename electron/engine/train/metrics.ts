import { STREAMS, type StreamName } from '../model/config.js';
import { BIN_CENTERS } from '../data/discretize.js';

/** Argmax over the last axis of [N, bins] logits. */
export function argmaxBins(logits: Float32Array, bins: number): Int32Array {
  const n = logits.length / bins;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bv = -Infinity;
    for (let j = 0; j < bins; j++) {
      const v = logits[i * bins + j];
      if (v > bv) {
        bv = v;
        best = j;
      }
    }
    out[i] = best;
  }
  return out;
}

/**
 * Counters for the paper's appendix metric, next-action token accuracy (chunk step k = 0) per dimension
 * group, and the gripper sign accuracy (sign of the predicted bin's center vs the target's).
 */
export class AccuracyCounter {
  private readonly hits: Record<StreamName, number> = { translation: 0, rotation: 0, gripper: 0 };
  private readonly counts: Record<StreamName, number> = { translation: 0, rotation: 0, gripper: 0 };
  private signHits = 0;
  private signCount = 0;

  /** logits [B, K, 7, bins], targets [B, K, 7]; only the first `real` rows count. */
  add(logits: Float32Array, targets: ArrayLike<number | bigint>, real: number, K: number, bins: number): void {
    const pred = argmaxBins(logits, bins);
    for (let b = 0; b < real; b++) {
      const base = b * K * 7; // k = 0
      for (const s of STREAMS) {
        for (const d of s.dims) {
          const p = pred[base + d];
          const t = Number(targets[base + d]);
          this.counts[s.name]++;
          if (p === t) this.hits[s.name]++;
        }
      }
      const sign = (bin: number) => (BIN_CENTERS[Math.min(bins - 2, bin)] > 0 ? 1 : -1);
      this.signCount++;
      if (sign(pred[base + 6]) === sign(Number(targets[base + 6]))) this.signHits++;
    }
  }

  result(): { tokenAccuracy: Record<StreamName, number>; gripperSignAccuracy: number } {
    const r = (s: StreamName) => (this.counts[s] ? this.hits[s] / this.counts[s] : Number.NaN);
    return { tokenAccuracy: { translation: r('translation'), rotation: r('rotation'), gripper: r('gripper') }, gripperSignAccuracy: this.signCount ? this.signHits / this.signCount : Number.NaN };
  }
}
