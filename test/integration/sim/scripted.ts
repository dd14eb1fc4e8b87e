import type { SimEnv, SimStepResult } from '../../../electron/engine/sim/env.js';
import { rotationError } from '../../../electron/engine/sim/math3.js';
import { matToQuat } from '../../../electron/engine/sim/math3.js';

/**
 * A test-only scripted controller: drives the end-effector to a point with the gripper pointing down and
 * its fingers opening along a given world yaw, through the public 7-D delta action (nothing privileged
 * is written, only read).
 */
const clip = (v: number) => Math.max(-1, Math.min(1, v));

export function downMat(psi: number): number[] {
  const y = [Math.cos(psi), Math.sin(psi), 0], zc = [0, 0, -1];
  const x = [y[1] * zc[2] - y[2] * zc[1], y[2] * zc[0] - y[0] * zc[2], y[0] * zc[1] - y[1] * zc[0]];
  return [x[0], y[0], zc[0], x[1], y[1], zc[1], x[2], y[2], zc[2]];
}

/** The finger axis yaw closest to the current one (the gripper is symmetric under a half turn). */
export function nearestYaw(env: SimEnv, psi: number): number {
  const m = env.privileged().eeMat;
  const cur = Math.atan2(m[4], m[1]);
  let best = psi;
  for (const k of [-2, -1, 0, 1, 2]) if (Math.abs(psi + k * Math.PI - cur) < Math.abs(best - cur)) best = psi + k * Math.PI;
  return best;
}

export interface MoveOpts {
  yaw?: number; // finger axis yaw; default: keep the current one
  mat?: number[]; // full goal orientation (row-major), instead of pointing down with `yaw`
  gripper: number;
  maxSteps?: number;
  tol?: number;
  gain?: number;
}

/** Step until the end-effector is within tol of target (or maxSteps); returns the last step result. */
export function moveTo(env: SimEnv, target: number[], o: MoveOpts): SimStepResult | null {
  let last: SimStepResult | null = null;
  const maxSteps = o.maxSteps ?? 60, tol = o.tol ?? 0.006, gain = o.gain ?? 1;
  const priv0 = env.privileged();
  const yaw = o.yaw ?? Math.atan2(priv0.eeMat[4], priv0.eeMat[1]);
  const goal = o.mat ?? downMat(yaw);
  for (let i = 0; i < maxSteps; i++) {
    const p = env.privileged();
    const e = [target[0] - p.eePos[0], target[1] - p.eePos[1], target[2] - p.eePos[2]];
    const r = rotationError(goal, p.eeMat);
    if (Math.hypot(...e) < tol && Math.hypot(...r) < 0.05) break;
    const a = [...e.map((v) => clip((gain * v) / 0.05)), ...r.map((v) => clip(v / 0.5)), o.gripper];
    last = env.step(a);
    if (last.done) break;
  }
  return last;
}

/** Hold still with a gripper command for n steps. */
export function hold(env: SimEnv, gripper: number, n: number): SimStepResult | null {
  let last: SimStepResult | null = null;
  for (let i = 0; i < n; i++) {
    last = env.step([0, 0, 0, 0, 0, 0, gripper]);
    if (last.done) break;
  }
  return last;
}

/** Yaw of an object's body x axis (from its quaternion). */
export function objectYaw(q: number[]): number {
  const [w, x, y, z] = q;
  return Math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z));
}

export { matToQuat };
