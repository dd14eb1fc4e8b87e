import type { Episode } from '../data/episode.js';
import { invalidInput } from '../errors.js';
import { classifyEpisode, type PhaseLabeling } from './classifier.js';
import type { ClassifierConfigInput } from './config.js';
import { isPhase, PHASES, type Phase } from './taxonomy.js';

/**
 * Scoring the classifier against known phases (issue 7, "Checks"): per-phase precision / recall / F1,
 * macro-F1 and the confusion matrix, pooled over all frames of all episodes. Reusable on any rollout set
 * whose true phases are known (synthetic fixtures today, built-in simulator rollouts via
 * `truthFromPrivileged`).
 */
export interface PhaseScore {
  phase: Phase;
  precision: number;
  recall: number;
  f1: number;
  /** Frames whose true phase is this one. */
  support: number;
  /** Frames predicted as this phase. */
  predicted: number;
}

export interface ClassifierEvaluation {
  frames: number;
  accuracy: number;
  /** Mean F1 over the phases present in the truth or the prediction. */
  macroF1: number;
  perPhase: PhaseScore[];
  /** confusion[truth][predicted] = frames. */
  confusion: Record<Phase, Record<Phase, number>>;
}

export function scoreLabels(predicted: readonly (readonly Phase[])[], truth: readonly (readonly Phase[])[]): ClassifierEvaluation {
  if (predicted.length !== truth.length) throw invalidInput(`scoreLabels: ${predicted.length} predicted episodes vs ${truth.length} true`, { predicted: predicted.length, truth: truth.length });
  const confusion = Object.fromEntries(PHASES.map((p) => [p, Object.fromEntries(PHASES.map((q) => [q, 0]))])) as Record<Phase, Record<Phase, number>>;
  let frames = 0;
  let correct = 0;
  predicted.forEach((pred, e) => {
    const tru = truth[e];
    if (pred.length !== tru.length) throw invalidInput(`scoreLabels: episode ${e} has ${pred.length} predicted frames vs ${tru.length} true`, { episode: e });
    for (let t = 0; t < tru.length; t++) {
      if (!isPhase(tru[t])) throw invalidInput(`scoreLabels: episode ${e} frame ${t}: unknown true phase ${String(tru[t])}`, { episode: e, frame: t, value: tru[t] });
      confusion[tru[t]][pred[t]]++;
      frames++;
      if (tru[t] === pred[t]) correct++;
    }
  });
  const perPhase: PhaseScore[] = [];
  for (const p of PHASES) {
    const support = PHASES.reduce((s, q) => s + confusion[p][q], 0);
    const predictedCount = PHASES.reduce((s, q) => s + confusion[q][p], 0);
    if (support === 0 && predictedCount === 0) continue;
    const tp = confusion[p][p];
    const precision = predictedCount ? tp / predictedCount : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    perPhase.push({ phase: p, precision, recall, f1, support, predicted: predictedCount });
  }
  const macroF1 = perPhase.length ? perPhase.reduce((s, r) => s + r.f1, 0) / perPhase.length : 0;
  return { frames, accuracy: frames ? correct / frames : 0, macroF1, perPhase, confusion };
}

/** Classify every episode with `config` and score it against `truth` (one phase array per episode). */
export function evaluateClassifier(
  episodes: readonly Episode[],
  truth: readonly (readonly Phase[])[],
  config: ClassifierConfigInput = {},
): ClassifierEvaluation & { labelings: PhaseLabeling[] } {
  const labelings = episodes.map((ep) => classifyEpisode(ep, config));
  return { ...scoreLabels(labelings.map((l) => l.phases), truth), labelings };
}

/**
 * Default map from a scripted teacher's stage names (privileged `teacherStage`) to true phases. Stage
 * names that are already phase names map to themselves; add entries for a teacher with other names.
 */
export const DEFAULT_STAGE_MAP: Record<string, Phase> = {
  warmup: 'idle',
  wait: 'idle',
  approach: 'approaching',
  reach: 'approaching',
  descend: 'approaching', // the empty hand still moves toward the object; the fingers close in `grasp`
  grasp: 'grasping', // includes the expert's wait with closed fingers before the lift (securing the grip)
  close: 'grasping',
  lift: 'transporting', // regrasping when straight followed by `release` (a missed pick, refineStages)
  carry: 'transporting',
  move: 'transporting',
  hold: 'holding',
  lower: 'placing',
  place: 'placing',
  release: 'placing', // operating after pull/turn/push, regrasping after a missed lift (refineStages)
  operate: 'operating',
  pull: 'operating',
  push: 'operating',
  rotate: 'operating',
  turn: 'operating',
  press: 'operating',
  regrasp: 'regrasping', // only after a missed pick / lost object; re-approaching a pushed plate is approaching
  retreat: 'completed', // only the final retreat; one between subtasks is approaching (refineStages)
  done: 'completed',
};

/** Teacher stages that act on an articulated part or push something (mapped to `operating`). */
const OPERATING_STAGES = new Set(['operate', 'pull', 'push', 'rotate', 'turn', 'press']);

/**
 * Stages whose phase depends on what came before or after, resolved on the runs of equal stages (only the
 * stage sequence is read, no physics). Phase definitions in docs/phases.md:
 *   - a `lift` run straight followed by a `release` run is a missed pick (the scripted expert lifts, sees
 *     the object stay behind and lets go): that lift and release are the failed attempt → regrasping;
 *     after it, the retry's stages up to its lift (`regrasp`, `descend`, `grasp`) → regrasping ("reopens,
 *     adjusts its position and closes on the object again"); likewise after a lifted object is lost on the
 *     way (a `lift`/`carry`/`lower` run straight followed by `approach`: the plan starts the pick over);
 *   - `regrasp` that follows no missed pick (a push re-approaching the plate from behind) → approaching;
 *   - `release` straight after an operating stage lets go of a handle → operating, not placing;
 *   - `retreat` is completed only when nothing but retreat/done follows (the goal is reached); a retreat
 *     between two subtasks (after opening a drawer, before picking the bowl) → approaching.
 */
function refineStages(stages: readonly string[], phases: Phase[]): void {
  const runs: { stage: string; start: number; end: number }[] = [];
  stages.forEach((st, t) => {
    const last = runs[runs.length - 1];
    if (last && last.stage === st) last.end = t + 1;
    else runs.push({ stage: st, start: t, end: t + 1 });
  });
  const set = (r: { start: number; end: number }, p: Phase) => {
    for (let t = r.start; t < r.end; t++) phases[t] = p;
  };
  let retrying = false;
  for (let i = 0; i < runs.length; i++) {
    const r = runs[i];
    const prev = runs[i - 1]?.stage;
    const next = runs[i + 1]?.stage;
    if (r.stage === 'lift' && next === 'release') {
      set(r, 'regrasping');
      set(runs[i + 1], 'regrasping');
      i++;
      retrying = true;
      continue;
    }
    // the object lost on the way (the plan starts the pick over): the new approach is the retry
    if ((r.stage === 'lift' || r.stage === 'carry' || r.stage === 'lower') && next === 'approach') {
      retrying = true;
      continue;
    }
    if (r.stage === 'lift') retrying = false;
    if (retrying && (r.stage === 'regrasp' || r.stage === 'descend' || r.stage === 'grasp' || r.stage === 'approach')) set(r, 'regrasping');
    else if (r.stage === 'regrasp') set(r, 'approaching');
    if (r.stage === 'release' && prev !== undefined && OPERATING_STAGES.has(prev)) set(r, 'operating');
    if (r.stage === 'retreat') set(r, runs.slice(i + 1).every((q) => q.stage === 'retreat' || q.stage === 'done') ? 'completed' : 'approaching');
  }
}

/** True phases of a built-in rollout from its privileged `teacherStage` per frame (see `refineStages`). */
export function truthFromPrivileged(episode: Episode, stageMap: Record<string, Phase> = DEFAULT_STAGE_MAP): Phase[] {
  const priv = episode.privileged;
  if (!priv || priv.length !== episode.length) throw invalidInput('truthFromPrivileged: the episode has no per-frame privileged state', { field: 'privileged' });
  const stages = priv.map((f, t) => {
    const stage = f.teacherStage;
    if (stage === undefined) throw invalidInput(`truthFromPrivileged: frame ${t} has no teacherStage`, { field: 'privileged.teacherStage', frame: t });
    return stage;
  });
  const phases = stages.map((stage, t) => {
    if (isPhase(stage)) return stage;
    const mapped = stageMap[stage];
    if (!mapped) throw invalidInput(`truthFromPrivileged: unknown teacher stage '${stage}' at frame ${t}`, { field: 'privileged.teacherStage', frame: t, value: stage });
    return mapped;
  });
  refineStages(stages, phases);
  return phases;
}
