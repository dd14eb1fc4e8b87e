import { describe, expect, it } from 'vitest';
import { computeActionStats, normalizeActions, unnormalizeActions } from '../../../../electron/engine/data/normalize.js';
import { BIN_CENTERS, discretize, undiscretize } from '../../../../electron/engine/data/discretize.js';
import { actionChunk } from '../../../../electron/engine/data/chunking.js';
import { actionBatch, frameBatches, splitEpisodes } from '../../../../electron/engine/data/batching.js';
import { countGripperFlips, datasetStats, histogram } from '../../../../electron/engine/data/stats.js';
import { syntheticEpisode } from '../../../../electron/engine/data/synthetic-episode.js';

describe('normalization and discretization', () => {
  it('maps q01/q99 to ±1, clips outside, binarizes the gripper, and inverts inside the range', () => {
    const a = new Float64Array(101 * 7);
    for (let t = 0; t <= 100; t++) for (let d = 0; d < 7; d++) a[t * 7 + d] = d === 6 ? (t % 3) - 1 : t / 100 - 0.2 * d;
    const s = computeActionStats([a]);
    expect(s.q01[0]).toBeCloseTo(0.01, 12);
    expect(s.q99[0]).toBeCloseTo(0.99, 12);
    const n = normalizeActions(a, s);
    expect(n[1 * 7 + 0]).toBeCloseTo(-1, 5);
    expect(n[99 * 7 + 0]).toBeCloseTo(1, 5);
    expect(n[100 * 7 + 0]).toBe(1); // clipped
    expect(n[0]).toBe(-1);
    expect(new Set(Array.from({ length: 101 }, (_, t) => n[t * 7 + 6]))).toEqual(new Set([-1, 1]));
    expect(n[0 * 7 + 6]).toBe(-1); // command -1 → open; 0 → open; +1 → close
    expect(n[1 * 7 + 6]).toBe(-1);
    expect(n[2 * 7 + 6]).toBe(1);
    const back = unnormalizeActions(n, s);
    expect(back[50 * 7 + 3]).toBeCloseTo(a[50 * 7 + 3], 5);
  });

  it('256 bins: -1 → 0, 1 → 255, centers within half a bin, monotone', () => {
    expect(Array.from(discretize([-1, -0.999, 0, 0.999, 1, 2, -2]))).toEqual([0, 0, 127, 254, 255, 255, 0]);
    expect(BIN_CENTERS.length).toBe(255);
    const xs = Array.from({ length: 1001 }, (_, i) => -1 + (2 * i) / 1000);
    const back = undiscretize(discretize(xs));
    xs.forEach((x, i) => expect(Math.abs(back[i] - x)).toBeLessThanOrEqual(1 / 255 + 1e-6));
    const ids = discretize(xs);
    for (let i = 1; i < ids.length; i++) expect(ids[i]).toBeGreaterThanOrEqual(ids[i - 1]);
  });
});

describe('chunks and batches', () => {
  it('pads past the end with the last action and a zero mask', () => {
    const a = Float32Array.from({ length: 3 * 7 }, (_, i) => i);
    const { chunk, mask } = actionChunk(a, 3, 1, 4);
    expect(Array.from(mask)).toEqual([1, 1, 0, 0]);
    expect(Array.from(chunk.subarray(0, 7))).toEqual([7, 8, 9, 10, 11, 12, 13]);
    expect(Array.from(chunk.subarray(21, 28))).toEqual([14, 15, 16, 17, 18, 19, 20]);
  });

  it('splits by episode, reproducibly from the seed', () => {
    const ids = Array.from({ length: 20 }, (_, i) => `ep${i}`);
    const a = splitEpisodes(ids, { valFraction: 0.2, seed: 3 });
    const b = splitEpisodes(ids, { valFraction: 0.2, seed: 3 });
    expect(a).toEqual(b);
    expect(a.val).toHaveLength(4);
    expect(new Set([...a.train, ...a.val]).size).toBe(20);
    expect(splitEpisodes(ids, { valFraction: 0.2, seed: 4 }).val).not.toEqual(a.val);
  });

  it('yields every frame once per epoch, in a seed- and epoch-dependent order', () => {
    const lengths = [5, 3, 7];
    const all = [...frameBatches(lengths, { batchSize: 4, seed: 1, epoch: 0 })];
    expect(all.flat()).toHaveLength(15);
    expect(new Set(all.flat().map((r) => `${r.episode}:${r.frame}`)).size).toBe(15);
    expect([...frameBatches(lengths, { batchSize: 4, seed: 1, epoch: 0 })]).toEqual(all);
    expect([...frameBatches(lengths, { batchSize: 4, seed: 1, epoch: 1 })]).not.toEqual(all);
    const eps = [syntheticEpisode({ length: 5, seed: 1, imageSize: 4 }), syntheticEpisode({ length: 3, seed: 2, imageSize: 4 })];
    const stats = computeActionStats(eps.map((e) => e.actions));
    const batch = actionBatch(eps, [{ episode: 1, frame: 2 }], stats, 3);
    expect(Array.from(batch.mask)).toEqual([1, 0, 0]);
    expect(batch.actions.every((v) => v >= -1 && v <= 1)).toBe(true);
    expect(batch.bins.length).toBe(21);
  });
});

describe('gripper flips and dataset statistics', () => {
  it('counts self-revoking sign changes only', () => {
    const o = -1;
    const c = 1;
    expect(countGripperFlips([o, o, o, c, c, c, c, c, c, c]).flips).toBe(0); // a real grasp
    expect(countGripperFlips([o, o, c, o, o, o, o, o, o, c, c]).at).toEqual([2]); // blip, then a real grasp later
    expect(countGripperFlips([o, o, c, o, o, c, c]).at).toEqual([2, 3]); // the return is revoked by the grasp within w
    expect(countGripperFlips([o, c, o, c, o, o, o, o]).flips).toBe(3); // oscillation: each revoked reversal
    expect(countGripperFlips([o, c, c, c, c, c, c, o], 5).flips).toBe(0); // reverts after 6 > window
    expect(countGripperFlips([o, c, c, c, c, c, c, o], 6).flips).toBe(1);
    expect(countGripperFlips([o, 0, o]).flips).toBe(0); // 0 counts as open
  });

  it('reports episodes, frames, quantiles, flip rate and a length histogram', () => {
    const eps = [10, 12, 30].map((T, i) => syntheticEpisode({ length: T, seed: i, imageSize: 4 }));
    eps[2].actions[3 * 7 + 6] = 1; // one blip in an open stretch, far from the real grasp at 15
    const s = datasetStats(eps);
    expect(s.episodes).toBe(3);
    expect(s.frames).toBe(52);
    expect(s.gripperFlips).toBe(1);
    expect(s.gripperFlipRate).toBeCloseTo(1 / 52, 12);
    expect(s.lengthHistogram.counts.reduce((a, b) => a + b, 0)).toBe(3);
    expect(histogram([1, 2, 3, 10], 3)).toEqual({ edges: [1, 5, 9, 13], counts: [3, 0, 1] });
  });
});
