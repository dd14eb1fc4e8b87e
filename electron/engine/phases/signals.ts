import { ACTION_DIM, type Episode } from '../data/episode.js';
import { LabError } from '../errors.js';
import type { ClassifierConfig } from './config.js';

/**
 * Per-frame signals the phase rules read, all derived from proprioception (LIBERO HDF5 has them):
 * the debounced gripper command, the finger width and its rate, and the smoothed end-effector linear and
 * angular velocity.
 */
export interface PhaseSignals {
  length: number;
  /** Raw teacher command: true where actions[t, 6] > 0 (close). */
  rawClosed: boolean[];
  /** The command with self-revoking runs shorter than `minCommandRunFrames` removed. */
  closed: boolean[];
  /** Number of raw command runs the debounce removed. */
  flipsSuppressed: number;
  /**
   * Commanded motion max(|actions[t, 0:3]|, |actions[t, 3:6]|), each a fraction of the action's full scale:
   * the policy's intent to move or turn (a blocked arm still shows it).
   */
  command: Float64Array;
  /** Finger opening (m): |q_left| + |q_right| of gripper_states. */
  width: Float64Array;
  /** d(width)/dt (m/s). */
  widthRate: Float64Array;
  /** Smoothed ee position (T×3) and its velocity (T×3, m/s). */
  pos: Float64Array;
  vel: Float64Array;
  speed: Float64Array;
  /**
   * Velocity over the step that frame t's action makes: (ee_pos[t+1] − ee_pos[t]) · hz, unsmoothed (the
   * last frame repeats the one before). Observation t precedes action t, so this is the motion the
   * policy's action at t caused: where a phase boundary follows the actions (grasp → lift), it does not
   * leak one frame early as the smoothed central difference does.
   */
  stepVel: Float64Array;
  stepSpeed: Float64Array;
  /** Angular speed of the ee orientation (rad/s) and its signed z component (rad/s). */
  angSpeed: Float64Array;
  angVelZ: Float64Array;
}

function checkFinite(name: string, a: ArrayLike<number>, expected: number): void {
  if (a.length !== expected) {
    throw new LabError('SHAPE_MISMATCH', `episode field ${name} has ${a.length} values, expected ${expected}`, { field: name, length: a.length, expected });
  }
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) throw new LabError('NON_FINITE', `episode field ${name} has a non-finite value at index ${i}`, { field: name, index: i, value: a[i] });
  }
}

/** Centred moving average of a T×D array (window shrinks at the ends). */
function smooth(a: ArrayLike<number>, T: number, D: number, window: number): Float64Array {
  const out = new Float64Array(T * D);
  const h = Math.floor(window / 2);
  for (let t = 0; t < T; t++) {
    const lo = Math.max(0, t - h);
    const hi = Math.min(T - 1, t + h);
    for (let d = 0; d < D; d++) {
      let s = 0;
      for (let k = lo; k <= hi; k++) s += a[k * D + d];
      out[t * D + d] = s / (hi - lo + 1);
    }
  }
  return out;
}

/** Central differences (one-sided at the ends) times hz. */
function derivative(a: Float64Array, T: number, D: number, hz: number): Float64Array {
  const out = new Float64Array(T * D);
  if (T < 2) return out;
  for (let t = 0; t < T; t++) {
    const lo = Math.max(0, t - 1);
    const hi = Math.min(T - 1, t + 1);
    for (let d = 0; d < D; d++) out[t * D + d] = ((a[hi * D + d] - a[lo * D + d]) / (hi - lo)) * hz;
  }
  return out;
}

/**
 * Remove command runs shorter than `minRun` frames: such a run is a self-revoking flip (paper §4.5) and
 * takes the value of the last run that was long enough (leading short runs take the first long run's).
 */
export function debounceCommand(raw: boolean[], minRun: number): { closed: boolean[]; suppressed: number } {
  const runs: { value: boolean; start: number; end: number }[] = [];
  for (let t = 0; t < raw.length; t++) {
    const last = runs[runs.length - 1];
    if (last && last.value === raw[t]) last.end = t + 1;
    else runs.push({ value: raw[t], start: t, end: t + 1 });
  }
  let suppressed = 0;
  const out = raw.slice();
  // Leading short runs take the value of the first run long enough to be real.
  let accepted = (runs.find((r) => r.end - r.start >= minRun) ?? runs[0])?.value ?? false;
  for (const r of runs) {
    if (r.end - r.start >= minRun) {
      accepted = r.value;
      continue;
    }
    if (r.value === accepted) continue;
    for (let t = r.start; t < r.end; t++) out[t] = accepted;
    suppressed++;
  }
  return { closed: out, suppressed };
}

export function computeSignals(episode: Episode, cfg: ClassifierConfig): PhaseSignals {
  const T = episode.length;
  if (!Number.isInteger(T) || T < 1) throw new LabError('INVALID_INPUT', `episode length must be a positive integer, got ${T}`, { field: 'length', value: T });
  checkFinite('actions', episode.actions, T * ACTION_DIM);
  checkFinite('obs.ee_pos', episode.obs.ee_pos, T * 3);
  checkFinite('obs.ee_ori', episode.obs.ee_ori, T * 3);
  checkFinite('obs.gripper_states', episode.obs.gripper_states, T * 2);

  const rawClosed = new Array<boolean>(T);
  for (let t = 0; t < T; t++) rawClosed[t] = episode.actions[t * ACTION_DIM + 6] > 0;
  const { closed, suppressed } = debounceCommand(rawClosed, cfg.minCommandRunFrames);

  const command = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    const a = (d: number) => episode.actions[t * ACTION_DIM + d];
    command[t] = Math.max(Math.hypot(a(0), a(1), a(2)), Math.hypot(a(3), a(4), a(5)));
  }

  const width = new Float64Array(T);
  for (let t = 0; t < T; t++) width[t] = Math.abs(episode.obs.gripper_states[2 * t]) + Math.abs(episode.obs.gripper_states[2 * t + 1]);
  const widthRate = derivative(width, T, 1, cfg.controlHz);

  const pos = smooth(episode.obs.ee_pos, T, 3, cfg.smoothingFrames);
  const vel = derivative(pos, T, 3, cfg.controlHz);
  const angVel = smooth(angularVelocity(episode.obs.ee_ori, T, cfg.controlHz), T, 3, cfg.smoothingFrames);
  const speed = new Float64Array(T);
  const angSpeed = new Float64Array(T);
  const angVelZ = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    speed[t] = Math.hypot(vel[3 * t], vel[3 * t + 1], vel[3 * t + 2]);
    angSpeed[t] = Math.hypot(angVel[3 * t], angVel[3 * t + 1], angVel[3 * t + 2]);
    angVelZ[t] = angVel[3 * t + 2];
  }
  const stepVel = new Float64Array(T * 3);
  const stepSpeed = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    const a = Math.min(t, T - 2), b = a + 1;
    if (a < 0) break; // a single frame: no step
    for (let d = 0; d < 3; d++) stepVel[3 * t + d] = (episode.obs.ee_pos[3 * b + d] - episode.obs.ee_pos[3 * a + d]) * cfg.controlHz;
    stepSpeed[t] = Math.hypot(stepVel[3 * t], stepVel[3 * t + 1], stepVel[3 * t + 2]);
  }
  return { length: T, rawClosed, closed, flipsSuppressed: suppressed, command, width, widthRate, pos, vel, speed, stepVel, stepSpeed, angSpeed, angVelZ };
}

type Quat = [number, number, number, number]; // w, x, y, z

function quatFromAxisAngle(x: number, y: number, z: number): Quat {
  const angle = Math.hypot(x, y, z);
  if (angle < 1e-12) return [1, 0, 0, 0];
  const s = Math.sin(angle / 2) / angle;
  return [Math.cos(angle / 2), x * s, y * s, z * s];
}

/**
 * World-frame angular velocity (rad/s) from axis-angle orientations. Differencing axis-angle vectors
 * directly is wrong (a gripper pointing down sits near angle π, where the vector is far from linear in
 * the rotation), so take the relative rotation q(t+1)·q(t-1)⁻¹ and its axis-angle over the time step.
 */
function angularVelocity(ori: ArrayLike<number>, T: number, hz: number): Float64Array {
  const out = new Float64Array(T * 3);
  if (T < 2) return out;
  const q = Array.from({ length: T }, (_, t) => quatFromAxisAngle(ori[3 * t], ori[3 * t + 1], ori[3 * t + 2]));
  for (let t = 0; t < T; t++) {
    const lo = Math.max(0, t - 1);
    const hi = Math.min(T - 1, t + 1);
    const [aw, ax, ay, az] = q[hi];
    const [bw, bx, by, bz] = [q[lo][0], -q[lo][1], -q[lo][2], -q[lo][3]]; // conjugate = inverse
    let w = aw * bw - ax * bx - ay * by - az * bz;
    let x = aw * bx + ax * bw + ay * bz - az * by;
    let y = aw * by - ax * bz + ay * bw + az * bx;
    let z = aw * bz + ax * by - ay * bx + az * bw;
    if (w < 0) [w, x, y, z] = [-w, -x, -y, -z]; // shortest rotation
    const n = Math.hypot(x, y, z);
    const angle = 2 * Math.atan2(n, w);
    const scale = n > 1e-12 ? (angle / n) * (hz / (hi - lo)) : 0;
    out[3 * t] = x * scale;
    out[3 * t + 1] = y * scale;
    out[3 * t + 2] = z * scale;
  }
  return out;
}
