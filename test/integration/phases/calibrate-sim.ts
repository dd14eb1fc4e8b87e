/**
 * Calibration set for the phase classifier on built-in rollouts (not a test): noisy scripted-teacher
 * rollouts on OTHER seeds and tasks than classifier-sim.test.ts, so thresholds are never tuned on the
 * test's episodes. Prints the per-phase table and, with --dump, truth vs prediction frame by frame.
 *
 *   npx tsx test/integration/phases/calibrate-sim.ts [--dump] [--only goal:5] [--tail 12] [--seeds 11,23] [--test-set] [--privileged]
 *
 * --tail N records N frames past success (collect's tailSteps), as the test does; --test-set collects the
 * test's own episodes instead (seed 5, its tasks and noise seeds) to read its confusion matrix and dump
 * (diagnosis only: no threshold is fitted to them);
 * --privileged lets the classifier read the privileged facts too (object in hand, contact, progress).
 * Rollouts are cached in /tmp/phases-calib/t<tail>[-test]/s<seed> (delete it to re-collect).
 */
import { existsSync } from 'node:fs';
import { collectRollouts, demoFile, readPrivilegedFrames } from '../../../electron/engine/teacher/collect.js';
import { ScriptedExpert } from '../../../electron/engine/policies/scripted-expert.js';
import { NoisyPolicy } from '../../../electron/engine/policies/noise.js';
import { BuiltinSimEnv } from '../../../electron/engine/envs/builtin-sim.js';
import { readLiberoHdf5 } from '../../../electron/engine/data/libero-hdf5.js';
import type { Episode } from '../../../electron/engine/data/episode.js';
import { evaluateClassifier, truthFromPrivileged } from '../../../electron/engine/phases/evaluate.js';
import { computeSignals } from '../../../electron/engine/phases/signals.js';
import { resolveClassifierConfig } from '../../../electron/engine/phases/config.js';

// Seeds 11, 23, 37, 41, 53 (the test uses 5); tasks of every kind: the same skills as the test's tasks (lower drawer,
// push, knob exist once each in the suites, so those come with another seed only) plus other tasks.
let SEEDS = [11, 23, 37, 41, 53];
let TASKS: [suite: 'object' | 'spatial' | 'goal', task: number][] = [
  ['object', 0],
  ['object', 1],
  ['object', 3],
  ['object', 5],
  ['object', 8],
  ['spatial', 0],
  ['spatial', 2],
  ['spatial', 6],
  ['goal', 0],
  ['goal', 1],
  ['goal', 2],
  ['goal', 3], // top drawer (hooked with closed fingers) + bowl inside
  ['goal', 5],
  ['goal', 4],
  ['goal', 6],
  ['goal', 7],
  ['goal', 8],
  ['goal', 9],
];
const args = process.argv.slice(2);
const dump = args.includes('--dump');
const argValue = (name: string) => (args.indexOf(name) >= 0 ? args[args.indexOf(name) + 1] : undefined);
const only = argValue('--only');
const tailSteps = Number(argValue('--tail') ?? 0);
const testSet = args.includes('--test-set');
if (argValue('--seeds')) SEEDS = argValue('--seeds')!.split(',').map(Number);
// the test's episodes (classifier-sim.test.ts): seed 5, noise seed 5 + task
if (testSet) {
  SEEDS = [5];
  TASKS = [['object', 0], ['object', 5], ['spatial', 0], ['goal', 0], ['goal', 1], ['goal', 5], ['goal', 7]];
}
const noiseSeed = (seed: number, task: number) => (testSet ? 5 + task : 100 * seed + task);
const DIR = `/tmp/phases-calib/t${tailSteps}${testSet ? '-test' : ''}`;

const env = await BuiltinSimEnv.create({ imageSize: 16 });
const episodes: Episode[] = [];
for (const seed of SEEDS)
  for (const [suite, task] of TASKS) {
    if (only && only !== `${suite}:${task}`) continue;
    const dir = `${DIR}/s${seed}`;
    const file = demoFile(dir, suite, task);
    if (!existsSync(file)) {
      const policy = new NoisyPolicy(new ScriptedExpert(), { seed: noiseSeed(seed, task), flipRate: 0.03, jitterStd: 0.02 });
      await collectRollouts(env, policy, { suite, tasks: [task], episodesPerTask: 3, seed, outDir: dir, tailSteps });
    }
    if (!existsSync(file)) continue; // no successful rollout for this task and seed
    const { episodes: eps, demoKeys } = await readLiberoHdf5(file);
    eps.forEach((ep, i) => episodes.push({ ...ep, privileged: readPrivilegedFrames(file, demoKeys[i])! }));
  }
await env.close();

const truth = episodes.map((ep) => truthFromPrivileged(ep));
const proprioOnly = episodes.map(({ privileged: _p, ...ep }) => ep as Episode);
const result = evaluateClassifier(args.includes('--privileged') ? episodes : proprioOnly, truth);
if (dump) {
  const cfg = resolveClassifierConfig();
  episodes.forEach((ep, e) => {
    const s = computeSignals(ep, cfg);
    console.log(`\n# ${ep.suite}:${ep.taskIndex} init ${ep.initIndex} "${ep.instruction}" T=${ep.length}`);
    for (let t = 0; t < ep.length; t++) {
      const p = ep.privileged![t];
      const mark = truth[e][t] === result.labelings[e].phases[t] ? ' ' : '*';
      console.log(
        `${String(t).padStart(3)} ${mark} ${p.teacherStage!.padEnd(8)} ${truth[e][t].padEnd(12)} ${result.labelings[e].phases[t].padEnd(12)}` +
          ` cmd ${s.rawClosed[t] ? 'C' : 'o'}${s.closed[t] ? 'C' : 'o'} w ${(s.width[t] * 1000).toFixed(1).padStart(5)} dw ${(s.widthRate[t] * 1000).toFixed(0).padStart(5)}` +
          ` v ${(s.speed[t] * 1000).toFixed(0).padStart(4)} vz ${(s.vel[3 * t + 2] * 1000).toFixed(0).padStart(5)} z ${(ep.obs.ee_pos[3 * t + 2] * 1000).toFixed(0).padStart(4)}` +
          ` hand ${p.objectInHand ?? '-'} c ${p.gripperContact ? 1 : 0} prog ${p.progress?.toFixed(2) ?? '-'}`,
      );
    }
  });
}
const table = result.perPhase.map((p) => `${p.phase.padEnd(13)} P ${p.precision.toFixed(2)} R ${p.recall.toFixed(2)} F1 ${p.f1.toFixed(2)} (n ${p.support}, pred ${p.predicted})`).join('\n');
console.log(`calibration rollouts: ${episodes.length} episodes, ${result.frames} frames, accuracy ${result.accuracy.toFixed(3)}, macro-F1 ${result.macroF1.toFixed(3)}\n${table}`);
const phases = result.perPhase.map((p) => p.phase);
console.log('confusion (rows truth, cols predicted):\n' + ''.padEnd(13) + phases.map((p) => p.slice(0, 6).padStart(7)).join(''));
for (const r of phases) console.log(r.padEnd(13) + phases.map((c) => String(result.confusion[r][c]).padStart(7)).join(''));
