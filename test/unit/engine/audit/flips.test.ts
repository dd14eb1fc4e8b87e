import { describe, expect, it } from 'vitest';
import { flipAudit, flipReduction, seriesFromEpisodes, seriesFromTrials } from '../../../../electron/engine/audit/flips.js';
import { syntheticEpisode } from '../../../../electron/engine/data/synthetic-episode.js';
import { countGripperFlips } from '../../../../electron/engine/data/stats.js';
import type { TrialRecord } from '../../../../electron/engine/evaluate/trial.js';
import { LabError } from '../../../../electron/engine/errors.js';

/** -1 (open) for `open` frames, then +1 (close) with a one-frame open blip at each of `blips` frames. */
function noisyGrasp(length: number, open: number, blips: number[]): number[] {
  const g = Array.from({ length }, (_, t) => (t < open ? -1 : 1));
  for (const b of blips) g[b] = -1;
  return g;
}

describe('gripper flip audit', () => {
  it('counts revoked sign changes within w frames, not real grasps and releases', () => {
    // One real grasp at 10, one real release at 30 (held > w frames): no spurious flip.
    const clean = [...Array(10).fill(-1), ...Array(20).fill(1), ...Array(10).fill(-1)];
    // Blips at 20 and 30 in the closed stretch: each is a change to open revoked one frame later. (A blip
    // within w of the grasp, or of another blip, also makes the reversal before it a revoked one.)
    const noisy = noisyGrasp(40, 10, [20, 30]);
    const a = flipAudit([
      { source: 'teacher', suite: 'goal', taskIndex: 1, index: 0, gripper: clean },
      { source: 'teacher', suite: 'goal', taskIndex: 1, index: 1, gripper: noisy },
      { source: 'student', suite: 'goal', taskIndex: 1, index: 0, gripper: clean },
    ]);
    expect(a.window).toBe(5);
    expect(a.episodes.map((e) => e.flips)).toEqual([0, 2, 0]);
    expect(a.episodes[1].at).toEqual([20, 30]);
    expect(flipAudit([{ source: 't', suite: 'goal', taskIndex: 1, index: 0, gripper: noisyGrasp(40, 10, [14, 17]) }]).episodes[0].at).toEqual([10, 14, 15, 17]);
    expect(a.episodes[1].per1000).toBe(50);
    expect(a.tasks).toEqual([
      { source: 'teacher', suite: 'goal', taskIndex: 1, episodes: 2, frames: 80, flips: 2, per1000: 25, episodesWithFlips: 1 },
      { source: 'student', suite: 'goal', taskIndex: 1, episodes: 1, frames: 40, flips: 0, per1000: 0, episodesWithFlips: 0 },
    ]);
    expect(a.sources.map((s) => s.source)).toEqual(['teacher', 'student']);
    expect(flipReduction(a.sources[0], a.sources[1])).toBe(Infinity);
  });

  it('w is the revocation window: a flip revoked after w frames is a real change', () => {
    // Close for 6 frames inside an open stretch: revoked at +6 → spurious only when w ≥ 6.
    const g = [...Array(5).fill(-1), ...Array(6).fill(1), ...Array(5).fill(-1)];
    expect(flipAudit([{ source: 's', suite: 'object', taskIndex: 0, index: 0, gripper: g }], 5).episodes[0].flips).toBe(0);
    expect(flipAudit([{ source: 's', suite: 'object', taskIndex: 0, index: 0, gripper: g }], 6).episodes[0].flips).toBe(1);
    expect(() => flipAudit([], 0)).toThrow(LabError);
  });

  it("the paper's figures: 27 reversals in 240 frames vs 1, and 242 flips per 8,223 frames ≈ 29.4 per 1,000", () => {
    // Teacher: 27 isolated one-frame blips in a 240-frame held grasp; student: one.
    const blips = Array.from({ length: 27 }, (_, i) => 20 + 8 * i);
    const teacher = noisyGrasp(240, 10, blips);
    const student = noisyGrasp(240, 10, [100]);
    const a = flipAudit([
      { source: 'teacher', suite: 'object', taskIndex: 3, index: 0, gripper: teacher },
      { source: 'student', suite: 'object', taskIndex: 3, index: 0, gripper: student },
    ]);
    expect(a.sources[0].flips).toBe(27);
    expect(a.sources[1].flips).toBe(1);
    expect(flipReduction(a.sources[0], a.sources[1])).toBe(27);
    // 242 isolated blips over 8,223 frames: the audit's unit on the paper's counts.
    const long = noisyGrasp(8223, 10, Array.from({ length: 242 }, (_, i) => 20 + 30 * i));
    const whole = flipAudit([{ source: 'teacher', suite: 'object', taskIndex: 0, index: 0, gripper: long }]);
    expect(whole.sources[0]).toMatchObject({ flips: 242, frames: 8223 });
    expect(whole.sources[0].per1000).toBeCloseTo(29.43, 2);
  });

  it('reads teacher episodes (gripper column of the actions) and trial records through the shared counter', () => {
    const ep = syntheticEpisode({ length: 30, seed: 1, imageSize: 4, suite: 'spatial', taskIndex: 2, initIndex: 7 });
    const g = noisyGrasp(30, 5, [12]);
    for (let t = 0; t < 30; t++) ep.actions[t * 7 + 6] = g[t];
    const [s] = seriesFromEpisodes([ep]);
    expect(s).toMatchObject({ source: 'teacher:synthetic', suite: 'spatial', taskIndex: 2, index: 7 });
    expect(Array.from(s.gripper)).toEqual(g);
    const trial = { policyId: 'student-λ0.1', suite: 'spatial', taskIndex: 2, trialIndex: 4, gripper: g } as unknown as TrialRecord;
    const a = flipAudit([...seriesFromEpisodes([ep]), ...seriesFromTrials([trial])]);
    expect(a.episodes.map((e) => [e.source, e.flips])).toEqual([
      ['teacher:synthetic', 1],
      ['student-λ0.1', 1],
    ]);
    expect(a.episodes[0].flips).toBe(countGripperFlips(g).flips);
  });
});
