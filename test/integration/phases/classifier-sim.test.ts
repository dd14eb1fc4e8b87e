import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectRollouts, demoFile, readPrivilegedFrames } from '../../../electron/engine/teacher/collect.js';
import { ScriptedExpert } from '../../../electron/engine/policies/scripted-expert.js';
import { NoisyPolicy } from '../../../electron/engine/policies/noise.js';
import { BuiltinSimEnv } from '../../../electron/engine/envs/builtin-sim.js';
import { readLiberoHdf5 } from '../../../electron/engine/data/libero-hdf5.js';
import type { Episode } from '../../../electron/engine/data/episode.js';
import { evaluateClassifier, truthFromPrivileged } from '../../../electron/engine/phases/evaluate.js';

/**
 * The rule classifier on built-in rollouts, where the true phase of every frame is the scripted teacher's
 * stage (privileged state): the noisy teacher (3 % self-revoking gripper flips, action jitter) on
 * pick-and-place, drawer, push and knob tasks of the three suites. The classifier reads proprioception
 * only (the privileged frames are used for the truth, not given to it). Collection records TAIL_STEPS
 * frames past success (the expert finishes its release, retreats and rests), so `completed` exists in
 * the truth; thresholds were set on other seeds (calibrate-sim.ts), never on these episodes.
 */
const TAIL_STEPS = 12;
const TASKS: [suite: 'object' | 'spatial' | 'goal', task: number][] = [
  ['object', 0],
  ['object', 5],
  ['spatial', 0],
  ['goal', 0], // open the middle drawer
  ['goal', 1], // bowl on the stove
  ['goal', 5], // push the plate
  ['goal', 7], // turn on the stove
];

let env: BuiltinSimEnv;
let dir: string;
beforeAll(async () => {
  env = await BuiltinSimEnv.create({ imageSize: 16 });
  dir = mkdtempSync(path.join(os.tmpdir(), 'phases-sim-'));
});
afterAll(async () => {
  await env.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('phase classifier on built-in rollouts', () => {
  it('labels built-in rollouts against the teacher\'s stages with teacher noise on (per-phase P/R reported)', async () => {
    const episodes: Episode[] = [];
    for (const [suite, task] of TASKS) {
      const policy = new NoisyPolicy(new ScriptedExpert(), { seed: 5 + task, flipRate: 0.03, jitterStd: 0.02 });
      await collectRollouts(env, policy, { suite, tasks: [task], episodesPerTask: 3, seed: 5, outDir: dir, tailSteps: TAIL_STEPS });
      const file = demoFile(dir, suite, task);
      const { episodes: eps, demoKeys } = await readLiberoHdf5(file);
      eps.forEach((ep, i) => episodes.push({ ...ep, privileged: readPrivilegedFrames(file, demoKeys[i])! }));
    }
    const truth = episodes.map((ep) => truthFromPrivileged(ep));
    const proprioOnly = episodes.map(({ privileged: _p, ...ep }) => ep as Episode);
    const result = evaluateClassifier(proprioOnly, truth);
    const table = result.perPhase.map((p) => `${p.phase.padEnd(13)} P ${p.precision.toFixed(2)} R ${p.recall.toFixed(2)} F1 ${p.f1.toFixed(2)} (n ${p.support}, pred ${p.predicted})`).join('\n');
    const phases = result.perPhase.map((p) => p.phase);
    const confusion = phases.map((r) => r.padEnd(13) + phases.map((c) => String(result.confusion[r][c]).padStart(7)).join('')).join('\n');
    console.log(
      `built-in rollouts: ${episodes.length} episodes, ${result.frames} frames, accuracy ${result.accuracy.toFixed(3)}, macro-F1 ${result.macroF1.toFixed(3)}\n${table}\n` +
        `confusion (rows truth, cols predicted):\n${''.padEnd(13)}${phases.map((p) => p.slice(0, 6).padStart(7)).join('')}\n${confusion}`,
    );
    expect(episodes.length).toBeGreaterThanOrEqual(18);
    // the tail makes `completed` a real class (≈ 9 frames per episode), not one stray frame
    expect(result.perPhase.find((p) => p.phase === 'completed')!.support).toBeGreaterThanOrEqual(100);
    // Issue 7: macro-F1 ≥ 0.85 with teacher noise on. Measured (seed 5, 19 episodes, 1,451 frames):
    // macro-F1 0.955, accuracy 0.965; the weakest phase is operating (F1 0.89: the first frame or two of
    // a push or a knob turn still look like the descent). Held-out seeds 11/23/37/41/53 (246 episodes,
    // calibrate-sim.ts --tail 12): macro-F1 0.954, accuracy 0.959.
    expect(result.macroF1).toBeGreaterThanOrEqual(0.85);
    expect(result.accuracy).toBeGreaterThanOrEqual(0.9);
    for (const p of result.perPhase) expect(p.f1, p.phase).toBeGreaterThanOrEqual(0.8);
  });
});
