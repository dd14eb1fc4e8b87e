import type { Episode } from '../data/episode.js';
import { resolveClassifierConfig, type ClassifierConfig, type ClassifierConfigInput } from './config.js';
import { computeSignals, type PhaseSignals } from './signals.js';
import type { OperatingKind, Phase, PhaseDetail } from './taxonomy.js';

/**
 * The rule-based 9-phase classifier (paper §3.3). It reads the gripper command (debounced, so a
 * one-frame teacher flip never makes a phase change), the finger width, the end-effector velocity and,
 * on built-in rollouts, the simulator's privileged facts (object in hand, contact, task progress).
 *
 * The rules work on "grip intervals", maximal runs of the debounced close command:
 *   - the closing transient (command closed, fingers still moving) is `grasping` (or `regrasping` when
 *     the previous grip failed);
 *   - a grip on an object that gets lifted is a carry: `transporting` while moving, `holding` while still,
 *     `placing` over the final descent and while the fingers open again;
 *   - a grip on something that moves without being lifted (or is a named fixture) is `operating`,
 *     including the release;
 *   - a grip that closes on nothing (or never moves what it holds) and is followed by another grip is a
 *     failed attempt: the open stretch up to the next grip is `regrasping`;
 *   - open, empty stretches are `approaching`, `idle` when still long enough, `completed` after the last
 *     release of a successful episode.
 * docs/phases.md lists every threshold.
 */

export type GripKind = 'object' | 'fixture' | 'empty' | 'aborted';

export interface GripInterval {
  /** First frame of the debounced close command. */
  start: number;
  /** First frame at which the fingers stopped closing. */
  settle: number;
  /** First frame of the debounced open command after the grip (or T). */
  end: number;
  /** First frame at which the fingers stopped opening after `end`. */
  releaseEnd: number;
  kind: GripKind;
  /** Closed on nothing / moved nothing, and another grip followed within the regrasp window. */
  failed: boolean;
  /** Name of the held thing, when privileged state says it. */
  heldName?: string;
  /** For fixture grips: the kind of constrained motion and its net translation / z rotation. */
  motion?: OperatingMotion;
}

export interface OperatingMotion {
  kind: OperatingKind;
  /** Net end-effector translation over the operation (m), world frame. */
  translation: [number, number, number];
  /** Net rotation about the world z axis (rad), positive = counter-clockwise seen from above. */
  rotationZ: number;
}

export interface PhaseLabeling {
  phases: Phase[];
  details: PhaseDetail[];
  /** True when privileged simulator state informed the labels (never for imported LIBERO data). */
  usedPrivileged: boolean;
  /** Which privileged fields were read, e.g. ['objectInHand', 'progress']. */
  privilegedFields: string[];
  /** Self-revoking gripper-command runs the debounce removed. */
  flipsSuppressed: number;
  grips: GripInterval[];
  config: ClassifierConfig;
}

function firstSettled(s: PhaseSignals, from: number, limit: number, cfg: ClassifierConfig): number {
  let run = 0;
  for (let t = from + 1; t < limit; t++) {
    run = Math.abs(s.widthRate[t]) < cfg.fingerSettleRate ? run + 1 : 0;
    if (run >= cfg.fingerSettleFrames) return t - cfg.fingerSettleFrames + 1;
  }
  return limit;
}

function operatingMotion(s: PhaseSignals, from: number, to: number, cfg: ClassifierConfig): OperatingMotion {
  const last = Math.max(from, to - 1);
  const tr: [number, number, number] = [0, 1, 2].map((d) => s.pos[3 * last + d] - s.pos[3 * from + d]) as [number, number, number];
  let rot = 0;
  let rotZ = 0;
  for (let t = from; t < to; t++) {
    rot += s.angSpeed[t] / cfg.controlHz;
    rotZ += s.angVelZ[t] / cfg.controlHz;
  }
  const travel = Math.hypot(...tr);
  let kind: OperatingKind;
  if (rot * cfg.rotateLeverArm > travel) kind = 'rotate';
  else {
    const horizontal = Math.hypot(tr[0], tr[1]);
    const [fx, fy, fz] = cfg.forwardAxis;
    const forward = tr[0] * fx + tr[1] * fy + tr[2] * fz;
    if (-tr[2] > horizontal) kind = 'press';
    else kind = forward < 0 ? 'pull' : 'push';
  }
  return { kind, translation: tr, rotationZ: rotZ };
}

/** Majority non-null objectInHand over [from, to), or null. */
function heldName(ep: Episode, from: number, to: number): string | null {
  const counts = new Map<string | null, number>();
  for (let t = from; t < to; t++) {
    const n = ep.privileged![t].objectInHand;
    counts.set(n, (counts.get(n) ?? 0) + 1);
  }
  let best: string | null = null;
  let bestCount = 0;
  for (const [n, c] of counts) if (c > bestCount) [best, bestCount] = [n, c];
  return best;
}

function findGrips(ep: Episode, s: PhaseSignals, cfg: ClassifierConfig, privileged: boolean, fields: Set<string>): GripInterval[] {
  const T = s.length;
  const grips: GripInterval[] = [];
  const fixtureRe = new RegExp(cfg.fixturePattern, 'i');
  for (let t = 0; t < T; ) {
    if (!s.closed[t]) {
      t++;
      continue;
    }
    const start = t;
    while (t < T && s.closed[t]) t++;
    const end = t;
    const settle = firstSettled(s, start, Math.min(end, start + cfg.maxFingerTransientFrames), cfg);
    const holdFrom = Math.min(settle, end - 1);

    let kind: GripKind;
    let name: string | undefined;
    if (privileged) {
      fields.add('objectInHand');
      const n = heldName(ep, holdFrom, end);
      if (n === null) kind = 'empty';
      else {
        name = n;
        kind = fixtureRe.test(n) ? 'fixture' : 'object';
      }
    } else {
      const heldWidth = s.width[holdFrom];
      let lift = 0;
      for (let k = holdFrom; k < end; k++) lift = Math.max(lift, s.pos[3 * k + 2] - s.pos[3 * holdFrom + 2]);
      const m = operatingMotion(s, holdFrom, end, cfg);
      const travel = Math.hypot(...m.translation);
      let rot = 0;
      for (let k = holdFrom; k < end; k++) rot += s.angSpeed[k] / cfg.controlHz;
      if (heldWidth < cfg.emptyWidth) kind = 'empty';
      else if (lift >= cfg.liftHeight) kind = 'object';
      else if (travel >= cfg.operateMinTravel || rot >= cfg.operateMinAngle) kind = 'fixture';
      else kind = 'aborted';
    }
    const releaseLimit = Math.min(T, end + cfg.maxFingerTransientFrames);
    const releaseEnd = kind === 'object' || kind === 'fixture' ? Math.max(end, Math.min(firstSettled(s, end, releaseLimit, cfg), T)) : end;
    const grip: GripInterval = { start, settle, end, releaseEnd, kind, failed: false, heldName: name };
    if (kind === 'fixture') grip.motion = operatingMotion(s, holdFrom, end, cfg);
    grips.push(grip);
  }
  // A grip that held nothing (or moved nothing) and is followed soon by another close is a failed attempt.
  for (let i = 0; i + 1 < grips.length; i++) {
    const g = grips[i];
    if ((g.kind === 'empty' || g.kind === 'aborted') && grips[i + 1].start - g.end <= cfg.regraspWindowFrames) g.failed = true;
  }
  // The release of one grip cannot run into the next one.
  for (let i = 0; i + 1 < grips.length; i++) grips[i].releaseEnd = Math.min(grips[i].releaseEnd, grips[i + 1].start);
  return grips;
}

/** Label still runs of at least `minFrames` inside [from, to) as `still`, the rest as `moving`. */
function labelByMotion(out: Phase[], s: PhaseSignals, from: number, to: number, minFrames: number, still: Phase, moving: Phase, threshold: number): void {
  let t = from;
  while (t < to) {
    const isStill = s.speed[t] < threshold;
    let e = t;
    while (e < to && s.speed[e] < threshold === isStill) e++;
    const label = isStill && e - t >= minFrames ? still : moving;
    for (let k = t; k < e; k++) out[k] = label;
    t = e;
  }
}

export function classifyEpisode(episode: Episode, configInput: ClassifierConfigInput | ClassifierConfig = {}): PhaseLabeling {
  const cfg = resolveClassifierConfig(configInput);
  const s = computeSignals(episode, cfg);
  const T = s.length;
  const privileged = cfg.usePrivileged && Array.isArray(episode.privileged) && episode.privileged.length === T;
  const fields = new Set<string>();
  const grips = findGrips(episode, s, cfg, privileged, fields);

  const phases = new Array<Phase | null>(T).fill(null) as Phase[];
  const details: PhaseDetail[] = Array.from({ length: T }, () => ({}));
  const vz = (t: number) => s.vel[3 * t + 2];

  for (let i = 0; i < grips.length; i++) {
    const g = grips[i];
    const prev = grips[i - 1];
    const graspLabel: Phase = prev?.failed ? 'regrasping' : 'grasping';
    if (g.kind === 'object') {
      for (let t = g.start; t < g.settle; t++) phases[t] = graspLabel;
      // Final descent before the release: still frames at the very end, then the descending frames.
      let t = g.end - 1;
      const floor = Math.max(g.settle, g.end - cfg.maxPlaceFrames);
      while (t >= floor && s.speed[t] < cfg.stillSpeed) t--;
      const descentEnd = t;
      while (t >= floor && vz(t) < -cfg.placeDescentSpeed) t--;
      const placeFrom = t === descentEnd ? g.end : t + 1;
      labelByMotion(phases, s, g.settle, placeFrom, cfg.holdMinFrames, 'holding', 'transporting', cfg.stillSpeed);
      for (let k = placeFrom; k < g.end; k++) [phases[k], details[k]] = ['placing', { placingStage: 'lowering' }];
      for (let k = g.end; k < g.releaseEnd; k++) [phases[k], details[k]] = ['placing', { placingStage: 'releasing' }];
    } else if (g.kind === 'fixture') {
      for (let t = g.start; t < g.settle; t++) phases[t] = graspLabel;
      for (let t = g.settle; t < g.releaseEnd; t++) [phases[t], details[t]] = ['operating', { operatingKind: g.motion!.kind }];
    } else if (g.failed) {
      for (let t = g.start; t < g.end; t++) phases[t] = graspLabel;
      // Reopening and repositioning until the next close belongs to the new attempt.
      for (let t = g.end; t < grips[i + 1].start; t++) phases[t] = 'regrasping';
    }
    // A closed-empty grip that is not a failed attempt (e.g. the teacher closes the gripper and moves on)
    // is left to the open-stretch rules below.
  }

  // Completion: after the release of the last grip that carried or operated something, on a successful
  // episode (or, with privileged state, once task progress reaches 1).
  const lastUseful = [...grips].reverse().find((g) => g.kind === 'object' || g.kind === 'fixture');
  let completedFrom = T;
  if (lastUseful) {
    if (privileged && episode.privileged!.some((f) => f.progress !== undefined)) {
      fields.add('progress');
      for (let t = lastUseful.releaseEnd; t < T; t++) {
        if ((episode.privileged![t].progress ?? 0) >= 1 - 1e-9) {
          completedFrom = t;
          break;
        }
      }
    } else if (episode.success) completedFrom = lastUseful.releaseEnd;
  }

  // Open stretches: approaching / idle by motion, completed after the goal.
  for (let t = 0; t < T; ) {
    if (phases[t] !== null) {
      t++;
      continue;
    }
    let e = t;
    while (e < T && phases[e] === null && e < completedFrom === t < completedFrom) e++;
    if (t >= completedFrom) for (let k = t; k < e; k++) phases[k] = 'completed';
    else labelByMotion(phases, s, t, e, cfg.idleMinFrames, 'idle', 'approaching', cfg.stillSpeed);
    t = e;
  }

  // Privileged contact without a grasp (pushing a plate, pressing a button) is operating too.
  if (privileged) {
    fields.add('gripperContact');
    for (let t = 0; t < T; ) {
      const f = episode.privileged![t];
      const free = f.gripperContact && f.objectInHand === null && (phases[t] === 'approaching' || phases[t] === 'idle');
      if (!free) {
        t++;
        continue;
      }
      let e = t;
      while (e < T && episode.privileged![e].gripperContact && episode.privileged![e].objectInHand === null && (phases[e] === 'approaching' || phases[e] === 'idle')) e++;
      if (e - t >= cfg.minCommandRunFrames) {
        const m = operatingMotion(s, t, e, cfg);
        for (let k = t; k < e; k++) [phases[k], details[k]] = ['operating', { operatingKind: m.kind }];
      }
      t = e;
    }
  }

  return {
    phases,
    details,
    usedPrivileged: privileged,
    privilegedFields: [...fields].sort(),
    flipsSuppressed: s.flipsSuppressed,
    grips,
    config: cfg,
  };
}
