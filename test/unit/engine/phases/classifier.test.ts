import { describe, expect, it } from 'vitest';
import { DEFAULT_CLASSIFIER_CONFIG, classifyEpisode, debounceCommand, evaluateClassifier, operatingSegments, truthFromPrivileged, uniformKeyframes, phaseSegments } from '../../../../electron/engine/phases/index.js';
import { LabError } from '../../../../electron/engine/errors.js';
import { syntheticDataset, syntheticEpisode } from '../../../../electron/cli/bench/fixtures/synthetic-phases.js';

// The check runs on built-in simulator rollouts; until sim/ lands it runs on the synthetic
// kinematic rollouts of fixtures.ts (known true phases, ≈3 % self-revoking gripper flips, action jitter).
const data = syntheticDataset(48, 11);
const episodes = data.map((d) => d.episode);
const truth = data.map((d) => d.truth);

function table(r: ReturnType<typeof evaluateClassifier>): string {
  return r.perPhase.map((p) => `${p.phase.padEnd(13)} P=${p.precision.toFixed(3)} R=${p.recall.toFixed(3)} F1=${p.f1.toFixed(3)} n=${p.support}`).join('\n');
}

describe('rule-based phase classifier on noisy synthetic rollouts', () => {
  it('reaches macro-F1 >= 0.85 from proprioception only, with teacher noise on', () => {
    const noisyFlips = episodes.reduce((s, e) => s + classifyEpisode(e, { usePrivileged: false }).flipsSuppressed, 0);
    expect(noisyFlips).toBeGreaterThan(50); // the noise really is there
    const r = evaluateClassifier(episodes, truth, { usePrivileged: false });
    console.info(`proprio-only: macro-F1 ${r.macroF1.toFixed(3)}, accuracy ${r.accuracy.toFixed(3)}, ${r.frames} frames\n${table(r)}`);
    expect(r.perPhase.map((p) => p.phase).sort()).toEqual(
      ['approaching', 'completed', 'grasping', 'holding', 'idle', 'operating', 'placing', 'regrasping', 'transporting'],
    );
    expect(r.macroF1).toBeGreaterThanOrEqual(0.85);
    for (const p of r.perPhase) {
      expect(p.precision, p.phase).toBeGreaterThan(0.6);
      expect(p.recall, p.phase).toBeGreaterThan(0.6);
    }
    expect(r.labelings.every((l) => !l.usedPrivileged && l.privilegedFields.length === 0)).toBe(true);
  });

  it('reaches macro-F1 >= 0.85 with privileged state, and marks it', () => {
    const r = evaluateClassifier(episodes, truth);
    console.info(`privileged: macro-F1 ${r.macroF1.toFixed(3)}\n${table(r)}`);
    expect(r.macroF1).toBeGreaterThanOrEqual(0.85);
    expect(r.labelings[0].usedPrivileged).toBe(true);
    expect(r.labelings[0].privilegedFields).toContain('objectInHand');
  });

  it('ignores one-frame gripper flips: labels are identical with and without them', () => {
    for (const seed of [1, 2, 3]) {
      const clean = syntheticEpisode({ task: 'pick-place', seed, flipRate: 0, failedGraspProb: 0 }).episode;
      const base = classifyEpisode(clean, { usePrivileged: false }).phases;
      const noisy = { ...clean, actions: clean.actions.slice() };
      let flips = 0;
      const cmd = (t: number) => clean.actions[t * 7 + 6];
      for (let t = 4; t < clean.length - 4; t += 9) {
        // Away from real command changes (a flip closer to one than the debounce length only shifts it, by design).
        const near = DEFAULT_CLASSIFIER_CONFIG.minCommandRunFrames;
        if (Array.from({ length: 2 * near + 1 }, (_, i) => i - near).some((k) => cmd(t + k) !== cmd(t))) continue;
        noisy.actions[t * 7 + 6] *= -1; // one-frame, self-revoking
        flips++;
      }
      expect(flips).toBeGreaterThan(10);
      const l = classifyEpisode(noisy, { usePrivileged: false });
      expect(l.flipsSuppressed).toBe(flips);
      expect(l.phases).toEqual(base);
    }
  });

  it('debounces command runs shorter than the minimum, including at the start', () => {
    const b = (s: string) => [...s].map((c) => c === '1');
    expect(debounceCommand(b('0100001110111000'), 3).closed).toEqual(b('0000001111111000'));
    expect(debounceCommand(b('1000000'), 3)).toEqual({ closed: b('0000000'), suppressed: 1 });
    expect(debounceCommand(b('0011'), 3).closed).toEqual(b('0000')); // no long run of 1s
  });

  it('finds operating segments with 5 uniform keyframes and the right kind of motion', () => {
    const drawer = syntheticEpisode({ task: 'drawer-pull', seed: 5 });
    const segs = operatingSegments(classifyEpisode(drawer.episode, { usePrivileged: false }), drawer.episode);
    expect(segs).toHaveLength(1);
    const s = segs[0];
    expect(s.keyframes).toHaveLength(5);
    expect(s.keyframes[0]).toBe(s.start);
    expect(s.keyframes[4]).toBe(s.end - 1);
    expect([...s.keyframes].sort((a, b) => a - b)).toEqual(s.keyframes);
    expect(s.kind).toBe('pull');
    expect(s.motion.translation[0]).toBeLessThan(-0.05);

    const knob = syntheticEpisode({ task: 'knob-turn', seed: 6 });
    const k = operatingSegments(classifyEpisode(knob.episode, { usePrivileged: false }), knob.episode);
    expect(k.map((x) => x.kind)).toEqual(['rotate']);
    expect(Math.abs(k[0].motion.rotationZ)).toBeGreaterThan(0.5);
  });

  it('samples keyframes over beginning, middle and end', () => {
    expect(uniformKeyframes(10, 31, 5)).toEqual([10, 15, 20, 25, 30]);
    expect(uniformKeyframes(0, 3, 5)).toEqual([0, 1, 2]);
    expect(() => uniformKeyframes(4, 4, 5)).toThrow(LabError);
    expect(phaseSegments(['idle', 'idle', 'approaching'])).toEqual([
      { phase: 'idle', start: 0, end: 2 },
      { phase: 'approaching', start: 2, end: 3 },
    ]);
  });

  it('reads true phases from privileged teacher stages', () => {
    expect(truthFromPrivileged(data[0].episode)).toEqual(data[0].truth);
    const noPriv = { ...data[0].episode, privileged: undefined };
    expect(() => truthFromPrivileged(noPriv)).toThrow(/privileged/);
    expect(classifyEpisode(noPriv).usedPrivileged).toBe(false);
  });

  it('rejects bad configs and non-finite proprioception with typed errors', () => {
    expect(() => classifyEpisode(episodes[0], { stillSpeed: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', details: expect.objectContaining({ field: 'stillSpeed' }) }));
    const bad = { ...episodes[0], obs: { ...episodes[0].obs, ee_pos: episodes[0].obs.ee_pos.slice() } };
    bad.obs.ee_pos[30] = NaN;
    expect(() => classifyEpisode(bad)).toThrow(expect.objectContaining({ code: 'NON_FINITE' }));
    const short = { ...episodes[0], actions: episodes[0].actions.slice(0, 7) };
    expect(() => classifyEpisode(short)).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
  });
});
