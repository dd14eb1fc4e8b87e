import { HOME_Q, JOINT_LIMITS } from './robot.js';
import { axisAngleToMat, matMul, rotationError, type Mat3 } from './math3.js';
import { solve } from './linalg.js';
import type { MainModule, MjData, MjModel } from './mujoco.js';

/**
 * Delta end-effector control with LIBERO / robosuite OSC_POSE semantics: an action [dx, dy, dz, drx, dry,
 * drz, g] in [-1, 1] moves the end-effector goal by up to 0.05 m and rotates it by up to 0.5 rad
 * (axis-angle, world frame) from the measured pose, per 20 Hz control step.
 *
 * Each step solves damped-least-squares IK (3 Gauss–Newton iterations from the measured joints, with a
 * weak null-space pull to the home posture) for the goal pose; the joint position actuators (stiff PD
 * inside MuJoCo, gravity-compensated arm) track the new joint target, interpolated from the previous
 * target over the 25 physics substeps. Like OSC, the arm may fall a little short of a large delta
 * within one step; zero action stops the arm where it is.
 */
export const POS_SCALE = 0.05; // m per step at |a| = 1
export const ROT_SCALE = 0.5; // rad per step at |a| = 1
const DAMPING = 1e-3; // λ² of the damped least squares
const ROT_WEIGHT = 0.5; // rotation error weight against position (m vs rad)
const NULL_GAIN = 0.05;
const IK_ITERS = 3;

export interface Pose {
  pos: [number, number, number];
  mat: Mat3;
}

export class DeltaEeController {
  readonly qRef = new Float64Array(7);
  private readonly kin: MjData;

  constructor(
    private readonly mj: MainModule,
    private readonly model: MjModel,
    private readonly qposAdr: number[], // arm joints' qpos addresses
    private readonly jointIds: number[],
    private readonly eeSite: number,
  ) {
    this.kin = new mj.MjData(model);
  }

  dispose(): void {
    this.kin.delete();
  }

  reset(q: ArrayLike<number>): void {
    this.qRef.set(Array.from(q).slice(0, 7));
  }

  /** Forward kinematics of the arm at q (other bodies as in the scratch data). */
  fk(q: ArrayLike<number>): Pose {
    const qpos = this.kin.qpos;
    for (let i = 0; i < 7; i++) qpos[this.qposAdr[i]] = q[i];
    this.mj.mj_kinematics(this.model, this.kin);
    const p = this.kin.site_xpos, m = this.kin.site_xmat;
    const s = this.eeSite;
    return { pos: [p[3 * s], p[3 * s + 1], p[3 * s + 2]], mat: Array.from(m.subarray(9 * s, 9 * s + 9)) };
  }

  /** Geometric Jacobian (6×7, rows: linear then angular) at the last fk() configuration. */
  private jacobian(ee: [number, number, number]): Float64Array {
    const J = new Float64Array(42);
    const anchor = this.kin.xanchor, axis = this.kin.xaxis;
    for (let i = 0; i < 7; i++) {
      const j = this.jointIds[i];
      const ax = axis[3 * j], ay = axis[3 * j + 1], az = axis[3 * j + 2];
      const rx = ee[0] - anchor[3 * j], ry = ee[1] - anchor[3 * j + 1], rz = ee[2] - anchor[3 * j + 2];
      J[i] = ay * rz - az * ry;
      J[7 + i] = az * rx - ax * rz;
      J[14 + i] = ax * ry - ay * rx;
      J[21 + i] = ax;
      J[28 + i] = ay;
      J[35 + i] = az;
    }
    return J;
  }

  /**
   * Advance the reference by one action (already clipped to [-1, 1]). `measuredQ` are the real arm joint
   * angles and `measured` the real end-effector pose. Returns the new joint reference.
   */
  step(action: ArrayLike<number>, measuredQ: ArrayLike<number>, measured: Pose): Float64Array {
    // robosuite semantics: the goal is the measured pose plus the delta (no wind-up when the arm lags or
    // is blocked); IK starts from the measured joints.
    this.reset(measuredQ);
    const ref = measured;
    const goalPos: [number, number, number] = [
      ref.pos[0] + POS_SCALE * action[0],
      ref.pos[1] + POS_SCALE * action[1],
      ref.pos[2] + POS_SCALE * action[2],
    ];
    const goalMat = matMul(axisAngleToMat([ROT_SCALE * action[3], ROT_SCALE * action[4], ROT_SCALE * action[5]]), ref.mat);
    this.solveIk(goalPos, goalMat);
    return this.qRef;
  }

  /** Damped least-squares IK towards a goal pose, starting from qRef; writes qRef. */
  solveIk(goalPos: [number, number, number], goalMat: Mat3, iters = IK_ITERS): { posErr: number; rotErr: number } {
    const q = this.qRef;
    let posErr = 0, rotErr = 0;
    for (let it = 0; it < iters; it++) {
      const cur = this.fk(q);
      const ep = [goalPos[0] - cur.pos[0], goalPos[1] - cur.pos[1], goalPos[2] - cur.pos[2]];
      const er = rotationError(goalMat, cur.mat);
      posErr = Math.hypot(ep[0], ep[1], ep[2]);
      rotErr = Math.hypot(er[0], er[1], er[2]);
      const e = new Float64Array([ep[0], ep[1], ep[2], ROT_WEIGHT * er[0], ROT_WEIGHT * er[1], ROT_WEIGHT * er[2]]);
      const J = this.jacobian(cur.pos);
      for (let k = 21; k < 42; k++) J[k] *= ROT_WEIGHT;
      // A = J Jᵀ + λ² I (6×6)
      const A = new Float64Array(36);
      for (let r = 0; r < 6; r++)
        for (let c = 0; c < 6; c++) {
          let s = r === c ? DAMPING : 0;
          for (let k = 0; k < 7; k++) s += J[r * 7 + k] * J[c * 7 + k];
          A[r * 6 + c] = s;
        }
      const y = solve(A, e, 6);
      // dq = Jᵀ y + N (k (q_home − q)), N = I − J⁺ J with J⁺ = Jᵀ A⁻¹
      const dq = new Float64Array(7);
      for (let k = 0; k < 7; k++) for (let r = 0; r < 6; r++) dq[k] += J[r * 7 + k] * y[r];
      const z = new Float64Array(7);
      for (let k = 0; k < 7; k++) z[k] = NULL_GAIN * (HOME_Q[k] - q[k]);
      const Jz = new Float64Array(6);
      for (let r = 0; r < 6; r++) for (let k = 0; k < 7; k++) Jz[r] += J[r * 7 + k] * z[k];
      const w = solve(A, Jz, 6);
      for (let k = 0; k < 7; k++) {
        let proj = 0;
        for (let r = 0; r < 6; r++) proj += J[r * 7 + k] * w[r];
        dq[k] += z[k] - proj;
      }
      for (let k = 0; k < 7; k++) {
        const [lo, hi] = JOINT_LIMITS[k];
        q[k] = Math.min(hi - 0.01, Math.max(lo + 0.01, q[k] + dq[k]));
      }
    }
    return { posErr, rotErr };
  }
}

