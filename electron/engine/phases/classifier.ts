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
 *   - the closing transient and the pause until the arm moves off is `grasping` (or `regrasping` when
 *     the previous grip failed);
 *   - a grip on an object that gets lifted is a carry: `transporting` while moving, `holding` while at
 *     rest (still and commanded to stay), `placing` over the final descent and the release;
 *   - a grip on something that moves without being lifted (or is a named fixture) is `operating`,
 *     including the release;
 *   - a grip that closes on nothing, or loses its object on the way (dropped), and is followed by
 *     another grip is a failed attempt: the empty hand coming up and the open stretch up to the next grip
 *     are `regrasping`; closed fingers that never pause (hooking, pushing a lever) are no attempt at all;
 *   - contact without a grasp (down to something, then along it: a push, a hook, a lever) is `operating`;
 *   - open, empty stretches are `approaching`, `idle` when resting at the start, `completed` after the
 *     last release or contact work of a successful episode, and wherever the robot rests at its end.
 * docs/phases.md lists every threshold.
 */

/** `tool`: closed on nothing and never paused (the closed fingers push a lever or hook a handle): not a grasp attempt. */
/** `dropped`: an object was lifted, then lost before the release (the fingers shut on nothing). */
export type GripKind = 'object' | 'fixture' | 'empty' | 'aborted' | 'tool' | 'dropped';

export interface GripInterval {
  /** First frame of the debounced close command. */
  start: number;
  /** First frame at which the fingers stopped closing. */
  settle: number;
  /** First frame after the settle at which the arm starts moving (the lift or pull): grasping ends here. */
  graspEnd: number;
  /** For dropped grips: the first frame at which the fingers left the held width (the object is lost). */
  lostAt?: number;
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

/**
 * The arm moves (or turns) off after a grasp or a release: the lift, pull or turn has started, or the
 * retreat. A hand still going down (the end of the descent into a grasp or onto the goal, the arm's
 * momentum after an early release) is not moving off yet.
 */
function movingOff(s: PhaseSignals, t: number, cfg: ClassifierConfig): boolean {
  return (s.stepSpeed[t] >= cfg.graspMoveSpeed && s.stepVel[3 * t + 2] > -cfg.placeDescentSpeed) || s.angSpeed[t] >= cfg.graspMoveAngSpeed;
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
    // With privileged state a named thing in the hand decides object / fixture. Nothing named is no
    // proof of an empty hand (the simulator names free objects only, not a drawer handle or a knob):
    // then the proprioceptive rules below decide.
    const n = privileged ? heldName(ep, holdFrom, end) : null;
    if (privileged) fields.add('objectInHand');
    if (n !== null) {
      name = n;
      kind = fixtureRe.test(n) ? 'fixture' : 'object';
    } else {
      const heldWidth = s.width[holdFrom];
      let lift = 0;
      for (let k = holdFrom; k < end; k++) lift = Math.max(lift, s.pos[3 * k + 2] - s.pos[3 * holdFrom + 2]);
      const m = operatingMotion(s, holdFrom, end, cfg);
      const travel = Math.hypot(...m.translation);
      let rot = 0;
      for (let k = holdFrom; k < end; k++) rot += s.angSpeed[k] / cfg.controlHz;
      // closed on nothing; or held and lost it on the way (the fingers are shut when the open command comes)
      const lost = s.width[Math.min(end, T - 1)] < cfg.emptyWidth;
      if (heldWidth < cfg.emptyWidth) kind = 'empty';
      // lifted, or the start of a lift (mostly upward) cut short when the fingers opened
      else if (lift >= cfg.liftHeight || (travel >= cfg.operateMinTravel && m.translation[2] > Math.hypot(m.translation[0], m.translation[1]))) kind = lost ? 'dropped' : 'object';
      // a part moved along its path is operated, even when the hand slips off it before the release
      else if (travel >= cfg.operateMinTravel || rot >= cfg.operateMinAngle) kind = 'fixture';
      else if (lost) kind = 'empty';
      else kind = 'aborted';
    }
    // A grasp attempt stops the arm while the fingers close; closed fingers that never pause are a tool.
    if (kind === 'empty' || kind === 'aborted') {
      let paused = false;
      for (let k = start; k < Math.min(end, start + cfg.maxFingerTransientFrames); k++) if (s.speed[k] < cfg.graspMoveSpeed) paused = true;
      if (!paused) kind = 'tool';
    }
    // Grasping lasts until the arm moves off (lift, pull), at most a finger transient after the settle.
    let graspEnd = settle;
    while (graspEnd < Math.min(end, settle + cfg.maxFingerTransientFrames) && !movingOff(s, graspEnd, cfg)) graspEnd++;
    const releaseLimit = Math.min(T, end + cfg.maxFingerTransientFrames);
    // Releasing lasts while the fingers open and, like grasping, until the arm moves off.
    let releaseEnd = kind === 'object' || kind === 'fixture' ? Math.max(end, Math.min(firstSettled(s, end, releaseLimit, cfg), T)) : end;
    if (kind === 'object' || kind === 'fixture') while (releaseEnd < releaseLimit && !movingOff(s, releaseEnd, cfg)) releaseEnd++;
    const grip: GripInterval = { start, settle, graspEnd, end, releaseEnd, kind, failed: false, heldName: name };
    if (kind === 'dropped') {
      // the loss is where the width leaves the held width for good: a flip the fingers followed for a
      // frame or two while the object stayed in the hand (the width comes back) is not it
      let k = end;
      while (k > graspEnd && Math.abs(s.width[k - 1] - s.width[holdFrom]) > cfg.lostWidthChange) k--;
      grip.lostAt = k;
    }
    if (kind === 'fixture') grip.motion = operatingMotion(s, holdFrom, end, cfg);
    grips.push(grip);
  }
  // An object let go without being set down (no descent before the release: the fingers opened in the
  // air) and grasped again soon after was lost on the way, not placed.
  for (let i = 0; i + 1 < grips.length; i++) {
    const g = grips[i];
    if (g.kind !== 'object' || grips[i + 1].start - g.end > cfg.regraspWindowFrames) continue;
    let t = g.end - 1;
    while (t > g.graspEnd && s.speed[t] < cfg.stillSpeed) t--;
    if (t > g.graspEnd && s.vel[3 * t + 2] < -cfg.placeDescentSpeed) continue;
    g.kind = 'dropped';
    g.lostAt = g.end;
    g.releaseEnd = g.end;
  }
  // A grip that held nothing (or moved nothing) and is followed soon by another close is a failed attempt.
  for (let i = 0; i + 1 < grips.length; i++) {
    const g = grips[i];
    if ((g.kind === 'empty' || g.kind === 'aborted' || g.kind === 'dropped') && grips[i + 1].start - g.end <= cfg.regraspWindowFrames) g.failed = true;
  }
  // The release of one grip cannot run into the next one.
  for (let i = 0; i + 1 < grips.length; i++) grips[i].releaseEnd = Math.min(grips[i].releaseEnd, grips[i + 1].start);
  return grips;
}

/** Frame t lies in a grip's labelled span (from its close to the end of its release). */
function insideGrip(grips: readonly GripInterval[], t: number): boolean {
  return grips.some((g) => g.kind !== 'tool' && t >= g.start && t < g.releaseEnd);
}

/**
 * Label resting runs of at least `minFrames` inside [from, to) as `still`, the rest as `moving`. Resting:
 * the arm is nearly still (speed < threshold) and the policy asks it to stay (commanded translation <
 * maxCommand) — a blocked arm that is still commanded to move is still carrying / approaching.
 */
function labelByMotion(out: Phase[], s: PhaseSignals, from: number, to: number, minFrames: number, still: Phase, moving: Phase, threshold: number, maxCommand: number): void {
  const rest = (t: number) => s.speed[t] < threshold && s.command[t] < maxCommand;
  let t = from;
  while (t < to) {
    const isStill = rest(t);
    let e = t;
    while (e < to && rest(e) === isStill) e++;
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

  // A successful episode whose last grip lost its object while lowering it let it go at the goal (the
  // fingers opened early, e.g. a gripper flip): that grip placed the object, released where the width changed.
  const lastAttempt = [...grips].reverse().find((g) => g.kind !== 'tool');
  const lostWhileLowering = (g: GripInterval) => g.lostAt! < T && s.vel[3 * g.lostAt! + 2] < -cfg.placeDescentSpeed;
  if (episode.success && lastAttempt?.kind === 'dropped' && lastAttempt === grips[grips.length - 1] && lostWhileLowering(lastAttempt)) {
    const g = lastAttempt;
    const commandEnd = g.end;
    g.kind = 'object';
    g.end = Math.max(g.graspEnd, g.lostAt!);
    // the hand goes on to the goal and opens the (now empty) fingers: still the placement's release
    const limit = Math.min(T, commandEnd + cfg.maxFingerTransientFrames);
    let r = Math.max(commandEnd, Math.min(firstSettled(s, commandEnd, limit, cfg), T));
    while (r < limit && !movingOff(s, r, cfg)) r++;
    g.releaseEnd = r;
  }

  const phases = new Array<Phase | null>(T).fill(null) as Phase[];
  const details: PhaseDetail[] = Array.from({ length: T }, () => ({}));
  const vz = (t: number) => s.vel[3 * t + 2];

  for (let i = 0; i < grips.length; i++) {
    const g = grips[i];
    const prev = grips[i - 1];
    const graspLabel: Phase = prev?.failed ? 'regrasping' : 'grasping';
    if (g.kind === 'object') {
      for (let t = g.start; t < g.graspEnd; t++) phases[t] = graspLabel;
      // Final descent before the release, walked back from it: first the frames near the release height
      // (the hand settling or pressing the object onto its goal, however it jitters), then the steeply
      // descending frames (lowering goes down steeply: the end of a carry that already dips a little is
      // still transport). Without a descent there is no lowering.
      let t = g.end - 1;
      const floor = Math.max(g.graspEnd, g.end - cfg.maxPlaceFrames);
      const releaseZ = s.pos[3 * (g.end - 1) + 2];
      const steep = (k: number) => vz(k) < -cfg.placeDescentSpeed && -vz(k) >= cfg.placeMinSlope * Math.hypot(s.vel[3 * k], s.vel[3 * k + 1]);
      const atGoal = (k: number) => Math.abs(s.pos[3 * k + 2] - releaseZ) < cfg.placeSettleHeight;
      while (t >= floor && !steep(t) && atGoal(t)) t--;
      const descentEnd = t;
      while (t >= floor && steep(t)) t--;
      const placeFrom = t === descentEnd ? g.end : t + 1;
      labelByMotion(phases, s, g.graspEnd, placeFrom, cfg.holdMinFrames, 'holding', 'transporting', cfg.stillSpeed, cfg.restMaxCommand);
      for (let k = placeFrom; k < g.end; k++) [phases[k], details[k]] = ['placing', { placingStage: 'lowering' }];
      for (let k = g.end; k < g.releaseEnd; k++) [phases[k], details[k]] = ['placing', { placingStage: 'releasing' }];
    } else if (g.kind === 'fixture') {
      for (let t = g.start; t < g.graspEnd; t++) phases[t] = graspLabel;
      for (let t = g.graspEnd; t < g.releaseEnd; t++) [phases[t], details[t]] = ['operating', { operatingKind: g.motion!.kind }];
    } else if (g.kind === 'dropped') {
      // carried until the object is lost; then, if another grip follows, the retry
      for (let t = g.start; t < g.graspEnd; t++) phases[t] = graspLabel;
      labelByMotion(phases, s, g.graspEnd, g.lostAt!, cfg.holdMinFrames, 'holding', 'transporting', cfg.stillSpeed, cfg.restMaxCommand);
      if (g.failed) for (let t = g.lostAt!; t < grips[i + 1].start; t++) phases[t] = 'regrasping';
    } else if (g.failed) {
      for (let t = g.start; t < g.graspEnd; t++) phases[t] = graspLabel;
      // The empty hand coming up (the miss shows), reopening and repositioning until the next close.
      for (let t = g.graspEnd; t < g.end; t++) phases[t] = 'regrasping';
      for (let t = g.end; t < grips[i + 1].start; t++) phases[t] = 'regrasping';
    }
    // A closed-empty grip that is not a failed attempt (e.g. the teacher closes the gripper and moves on)
    // is left to the open-stretch rules below.
  }

  // Completion: after the release of the last grip that carried or operated something, on a successful
  // episode (or, with privileged state, once task progress reaches 1).
  const hasProgress = privileged && episode.privileged!.some((f) => f.progress !== undefined);
  if (hasProgress) fields.add('progress');
  const goalReached = hasProgress ? (episode.privileged![T - 1].progress ?? 0) >= 1 - 1e-9 : episode.success;
  // A successful episode whose last attempt dropped its object (and nothing was tried after it) reached
  // the goal with that drop: the work ends where the fingers open.
  const lastTry = [...grips].reverse().find((g) => g.kind !== 'tool');
  const droppedHome = goalReached && lastTry?.kind === 'dropped' && !lastTry.failed;
  const lastUseful = droppedHome ? lastTry : [...grips].reverse().find((g) => g.kind === 'object' || g.kind === 'fixture');
  /** Where the finished work hands over to `completed`: from `from` on (privileged: once progress reaches 1). */
  const completionFrom = (from: number): number => {
    if (!hasProgress) return episode.success ? from : T;
    for (let t = from; t < T; t++) if ((episode.privileged![t].progress ?? 0) >= 1 - 1e-9) return t;
    return T;
  };
  // a grasp attempt after the work means the work went on (a retry): no completion before that
  const attemptAfter = (t: number) => grips.some((g) => g.start >= t && g.kind !== 'tool');
  let completedFrom = T;
  if (lastUseful && !grips.some((g) => g.start > lastUseful.start && g.kind !== 'tool')) completedFrom = completionFrom(lastUseful.releaseEnd);

  // Contact without a grasp, from motion: the hand went down to something and worked along it (push,
  // hook pull, lever) until it rose or the episode ended. A bottom that ends in a grasp is an approach.
  // The work starts when the hand moves along at `contactMoveSpeed`: resting against the part before
  // that is still the approach.
  const descending = (t: number) => vz(t) < -cfg.contactDescentSpeed;
  const rising = (t: number) => vz(t) > cfg.contactDescentSpeed;
  const horizontal = (t: number) => Math.hypot(s.vel[3 * t], s.vel[3 * t + 1]);
  const along = (t: number) => !descending(t) && !rising(t) && horizontal(t) >= cfg.stillSpeed;
  let lastContactEnd = -1;
  for (let t = 0; t < Math.min(T, completedFrom); ) {
    if (phases[t] !== null) {
      t++;
      continue;
    }
    let stretchEnd = t;
    while (stretchEnd < Math.min(T, completedFrom) && phases[stretchEnd] === null) stretchEnd++;
    for (let a = t + 1; a < stretchEnd; a++) {
      if (!descending(a - 1) || descending(a) || rising(a)) continue;
      // a bottom: from the end of a descent to the next rise / descent / grasp
      let b = a;
      let moving = 0;
      while (b < stretchEnd && !descending(b) && !rising(b)) moving += along(b++) ? 1 : 0;
      const endsFree = b === T || (b < stretchEnd && rising(b));
      let from = a;
      while (from < b && horizontal(from) < cfg.contactMoveSpeed) from++;
      if (endsFree && moving >= cfg.contactMinFrames && from < b) {
        const m = operatingMotion(s, from, b, cfg);
        for (let k = from; k < b; k++) [phases[k], details[k]] = ['operating', { operatingKind: m.kind }];
        lastContactEnd = b;
      }
      a = b;
    }
    t = stretchEnd;
  }
  // …and completion after the last such contact work (a knob pushed over, a plate pushed home), unless
  // a grasp attempt follows it.
  if (lastContactEnd > (lastUseful?.releaseEnd ?? -1) && !attemptAfter(lastContactEnd)) completedFrom = Math.min(completedFrom, completionFrom(lastContactEnd));

  // The robot at rest at the end of a successful episode (commanded motion below `restMaxCommand` for
  // `completedRestFrames` frames, outside any grip) has finished: completed, even where the contact
  // rule saw the hand still on the part it pushed.
  if (goalReached) {
    const free = (t: number) => phases[t] === null || (phases[t] === 'operating' && !insideGrip(grips, t));
    let r = T;
    while (r > 0 && free(r - 1) && s.command[r - 1] < cfg.restMaxCommand) r--;
    if (T - r >= cfg.completedRestFrames && r >= (lastUseful?.releaseEnd ?? 0)) {
      for (let t = r; t < T; t++) if (phases[t] === 'operating') [phases[t], details[t]] = ['completed', {}];
      completedFrom = Math.min(completedFrom, r);
    }
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
    // idle is "not yet acting": only in the stretch the episode starts with; a pause later is part of the approach
    else labelByMotion(phases, s, t, e, cfg.idleMinFrames, t === 0 ? 'idle' : 'approaching', 'approaching', cfg.stillSpeed, cfg.restMaxCommand);
    t = e;
  }
  // …and only before the arm first moves off (a hand stopped against the part it is about to push, after
  // travelling there, is still approaching)
  let firstMove = 0;
  while (firstMove < T && s.speed[firstMove] < cfg.graspMoveSpeed) firstMove++;
  for (let t = firstMove; t < T; t++) if (phases[t] === 'idle') phases[t] = 'approaching';

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
