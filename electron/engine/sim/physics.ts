import { LabError } from '../errors.js';
import { compileMjcf, objId, type MainModule, type MjData, type MjModel } from './mujoco.js';
import { ARM_JOINTS, FINGER_JOINTS, FINGER_OPEN, HOME_Q, gripperTarget } from './robot.js';
import { DeltaEeController, type Pose } from './controller.js';
import { castEntry } from './objects.js';
import { sceneXml, SUBSTEPS, type SceneSpec } from './scene.js';
import { GEOM_STRIDE, lookAt, rasterize, type RasterCamera } from './raster.js';
import type { Mat3 } from './math3.js';
import { rotate180 as rotateImage180 } from '../data/image.js';

/**
 * One MuJoCo tabletop scene with the robot: posing, the control step (delta-EE controller + 25 physics
 * substeps at 500 Hz), state readers, contacts by owner, and camera rendering through the native
 * rasterizer. Knows nothing about tasks; env.ts adds those.
 */
export interface ObjectPose {
  pos: [number, number, number];
  quat: [number, number, number, number]; // w x y z
}

export type CameraName = 'agentview' | 'eye_in_hand' | 'frontview' | 'birdview';

/** Fixed cameras: position and look-at target (world), vertical field of view (deg). */
export const FIXED_CAMERAS: Record<Exclude<CameraName, 'eye_in_hand'>, { pos: number[]; target: number[]; fovy: number }> = {
  agentview: { pos: [0.7, 0, 0.75], target: [-0.2, 0, 0.12], fovy: 50 },
  frontview: { pos: [0.9, 0, 0.35], target: [-0.15, 0, 0.1], fovy: 45 },
  birdview: { pos: [-0.05, 0, 1.3], target: [-0.05, 0, 0], fovy: 45 },
};

const RAMP_SUBSTEPS = 12;
const MAX_QVEL = 100; // rad/s or m/s: beyond this the simulation is treated as diverged

export interface StepOutcome {
  unstable: null | string;
}

export class TabletopSim {
  readonly armQpos: number[];
  readonly armDof: number[];
  readonly fingerQpos: number[];
  readonly eeSite: number;
  readonly eyeCam: number;
  readonly controller: DeltaEeController;
  /** Free objects and fixtures by name. */
  readonly objects = new Map<string, { body: number; qposAdr: number; free: boolean; kind: string }>();
  /** Owner of every body: object name, 'robot', 'finger_left'/'finger_right', or 'world'. */
  readonly bodyOwner: string[];
  readonly geomBody: Int32Array;
  private readonly renderGeoms: number[]; // geom ids drawn by the cameras
  private readonly packed: Float64Array;
  private readonly fingerActs: number[];
  private gripperCmd = -1;
  /** Timing breakdown (ms), accumulated since the last reset of these counters. */
  readonly timing = { physicsMs: 0, sceneMs: 0, rasterMs: 0, controlMs: 0 };

  private constructor(
    readonly mj: MainModule,
    readonly model: MjModel,
    readonly data: MjData,
    readonly spec: SceneSpec,
  ) {
    const m = model;
    this.armQpos = ARM_JOINTS.map((j) => m.jnt_qposadr[objId(mj, m, 'joint', j)]);
    this.armDof = ARM_JOINTS.map((j) => m.jnt_dofadr[objId(mj, m, 'joint', j)]);
    this.fingerQpos = FINGER_JOINTS.map((j) => m.jnt_qposadr[objId(mj, m, 'joint', j)]);
    this.fingerActs = FINGER_JOINTS.map((j) => objId(mj, m, 'actuator', `act_${j}`));
    this.eeSite = objId(mj, m, 'site', 'ee');
    this.eyeCam = mj.mj_name2id(m, mj.mjtObj.mjOBJ_CAMERA.value, 'eye_in_hand');
    this.controller = new DeltaEeController(mj, m, this.armQpos, ARM_JOINTS.map((j) => objId(mj, m, 'joint', j)), this.eeSite);
    for (const o of spec.objects) {
      const body = objId(mj, m, 'body', o.name);
      const free = castEntry(o.kind).free;
      const qposAdr = free ? m.jnt_qposadr[objId(mj, m, 'joint', `${o.name}_free`)] : -1;
      this.objects.set(o.name, { body, qposAdr, free, kind: o.kind });
    }
    // Body owners, by name: robot links, fingers, objects and their child bodies (drawers, knob).
    const names = spec.objects.map((o) => o.name).sort((a, b) => b.length - a.length);
    this.bodyOwner = [];
    for (let b = 0; b < m.nbody; b++) {
      const name = mj.mj_id2name(m, mj.mjtObj.mjOBJ_BODY.value, b) ?? '';
      let owner = 'world';
      if (name === 'finger_left_body') owner = 'finger_left';
      else if (name === 'finger_right_body') owner = 'finger_right';
      else if (/^link\d$|^hand$/.test(name)) owner = 'robot';
      else owner = names.find((n) => name === n || name.startsWith(`${n}_`)) ?? 'world';
      this.bodyOwner.push(owner);
    }
    this.geomBody = Int32Array.from(m.geom_bodyid as ArrayLike<number>);
    // Static part of the render list: type, size, rgba; pos/mat are filled per frame.
    this.renderGeoms = [];
    for (let g = 0; g < m.ngeom; g++) if (m.geom_group[g] <= 2 && m.geom_rgba[4 * g + 3] > 0) this.renderGeoms.push(g);
    this.packed = new Float64Array(this.renderGeoms.length * GEOM_STRIDE);
    this.renderGeoms.forEach((g, i) => {
      const o = i * GEOM_STRIDE;
      this.packed[o] = m.geom_type[g];
      for (let k = 0; k < 3; k++) this.packed[o + 1 + k] = m.geom_size[3 * g + k];
      for (let k = 0; k < 4; k++) this.packed[o + 16 + k] = Math.fround(m.geom_rgba[4 * g + k]);
      this.packed[o + 20] = -1;
    });
  }

  static async create(spec: SceneSpec): Promise<TabletopSim> {
    const { mj, model } = await compileMjcf(sceneXml(spec));
    const data = new mj.MjData(model);
    return new TabletopSim(mj, model, data, spec);
  }

  dispose(): void {
    this.controller.dispose();
    this.data.delete();
    this.model.delete();
  }

  /** Reset: robot at home with the gripper open, objects at the given poses, everything at rest. */
  reset(poses: Record<string, ObjectPose>, fixtureQ: Record<string, number> = {}, armQ: ArrayLike<number> = HOME_Q): void {
    const { mj, model: m, data: d } = this;
    mj.mj_resetData(m, d);
    const qpos = d.qpos;
    for (let i = 0; i < 7; i++) qpos[this.armQpos[i]] = armQ[i];
    for (const a of this.fingerQpos) qpos[a] = FINGER_OPEN;
    for (const [name, o] of this.objects) {
      if (!o.free) continue;
      const p = poses[name];
      if (!p) throw new LabError('INVALID_INPUT', `initial state has no pose for object '${name}'`, { object: name });
      qpos.set([...p.pos, ...p.quat], o.qposAdr);
    }
    for (const [joint, v] of Object.entries(fixtureQ)) qpos[m.jnt_qposadr[objId(mj, m, 'joint', joint)]] = v;
    const ctrl = d.ctrl;
    for (let i = 0; i < 7; i++) ctrl[i] = armQ[i];
    for (const a of this.fingerActs) ctrl[a] = FINGER_OPEN;
    this.gripperCmd = -1;
    mj.mj_forward(m, d);
    this.controller.reset(armQ);
  }

  /** One 20 Hz control step with an action already validated and clipped to [-1, 1]. */
  controlStep(action: ArrayLike<number>): StepOutcome {
    const { mj, model: m, data: d } = this;
    const t0 = performance.now();
    const qFrom = Float64Array.from(this.controller.qRef);
    const qTo = this.controller.step(action, this.jointQ(), this.eePose());
    const fingerTarget = gripperTarget(action[6]);
    this.gripperCmd = action[6];
    const t1 = performance.now();
    const tStart = d.time;
    for (let s = 1; s <= SUBSTEPS; s++) {
      // Ramp the joint target from the previous one over the first RAMP_SUBSTEPS (smooth motion), then
      // hold it so the arm settles on it before the next control step.
      const ctrl = d.ctrl;
      const a = Math.min(1, s / RAMP_SUBSTEPS);
      for (let i = 0; i < 7; i++) ctrl[i] = qFrom[i] + (qTo[i] - qFrom[i]) * a;
      for (const f of this.fingerActs) ctrl[f] = fingerTarget;
      mj.mj_step(m, d);
    }
    const t2 = performance.now();
    this.timing.controlMs += t1 - t0;
    this.timing.physicsMs += t2 - t1;
    return { unstable: this.checkStable(tStart) };
  }

  /** Advance physics without moving the arm reference (settling, tests). */
  settle(seconds: number): StepOutcome {
    const { mj, model: m, data: d } = this;
    const tStart = d.time;
    const n = Math.round(seconds / m.opt.timestep);
    for (let i = 0; i < n; i++) mj.mj_step(m, d);
    return { unstable: this.checkStable(tStart) };
  }

  private checkStable(tStart: number): string | null {
    const d = this.data;
    // MuJoCo resets the data itself when accelerations blow up; time going backwards shows it.
    if (!(d.time > tStart)) return 'MuJoCo reset the simulation after a divergence (bad accelerations)';
    const qpos = d.qpos, qvel = d.qvel;
    for (let i = 0; i < qpos.length; i++) if (!Number.isFinite(qpos[i])) return `non-finite qpos[${i}]`;
    for (let i = 0; i < qvel.length; i++) {
      if (!Number.isFinite(qvel[i])) return `non-finite qvel[${i}]`;
      if (Math.abs(qvel[i]) > MAX_QVEL) return `velocity ${qvel[i].toFixed(1)} at dof ${i} exceeds ${MAX_QVEL}`;
    }
    return null;
  }

  jointQ(): number[] {
    const q = this.data.qpos;
    return this.armQpos.map((a) => q[a]);
  }

  /** Finger joint positions as LIBERO reports them: [left, −right] (open ≈ [0.04, −0.04]). */
  gripperQ(): [number, number] {
    const q = this.data.qpos;
    return [q[this.fingerQpos[0]], -q[this.fingerQpos[1]]];
  }

  get gripperCommand(): number {
    return this.gripperCmd;
  }

  eePose(): Pose {
    const s = this.eeSite;
    const p = this.data.site_xpos, m = this.data.site_xmat;
    return { pos: [p[3 * s], p[3 * s + 1], p[3 * s + 2]], mat: Array.from(m.subarray(9 * s, 9 * s + 9)) as Mat3 };
  }

  objectPose(name: string): ObjectPose {
    const o = this.objects.get(name);
    if (!o) throw new LabError('NOT_FOUND', `no object '${name}' in this scene`, { object: name });
    const x = this.data.xpos, q = this.data.xquat, b = o.body;
    return { pos: [x[3 * b], x[3 * b + 1], x[3 * b + 2]], quat: [q[4 * b], q[4 * b + 1], q[4 * b + 2], q[4 * b + 3]] };
  }

  bodyMat(body: number): Mat3 {
    return Array.from(this.data.xmat.subarray(9 * body, 9 * body + 9)) as Mat3;
  }

  jointValue(joint: string): number {
    const { mj, model: m } = this;
    return this.data.qpos[m.jnt_qposadr[objId(mj, m, 'joint', joint)]];
  }

  /** Pairs of owners in contact now (each pair sorted, deduplicated), e.g. "basket|milk". */
  contactPairs(): Set<string> {
    const d = this.data;
    const out = new Set<string>();
    const n = d.ncon;
    // `d.contact` is an embind vector copied into the WASM heap on every access: free it, or a long
    // collection exhausts the 2 GiB heap ("Cannot enlarge memory").
    const contacts = d.contact;
    try {
      for (let i = 0; i < n; i++) {
        const c = contacts.get(i);
        if (!c) continue;
        const a = this.bodyOwner[this.geomBody[c.geom1]], b = this.bodyOwner[this.geomBody[c.geom2]];
        const dist = c.dist;
        c.delete();
        if (a === b || dist > 0.002) continue;
        out.add(a < b ? `${a}|${b}` : `${b}|${a}`);
      }
    } finally {
      (contacts as { delete?: () => void }).delete?.();
    }
    return out;
  }

  /** Camera pose for the named camera. */
  cameraPose(camera: CameraName): { pos: number[]; mat: number[]; fovy: number } {
    if (camera === 'eye_in_hand') {
      const c = this.eyeCam;
      const d = this.data;
      return { pos: Array.from(d.cam_xpos.subarray(3 * c, 3 * c + 3)), mat: Array.from(d.cam_xmat.subarray(9 * c, 9 * c + 9)), fovy: this.model.cam_fovy[c] };
    }
    const cam = FIXED_CAMERAS[camera];
    if (!cam) throw new LabError('NOT_FOUND', `unknown camera '${camera}'`, { camera, known: ['agentview', 'eye_in_hand', ...Object.keys(FIXED_CAMERAS)] });
    return { pos: cam.pos, mat: lookAt(cam.pos, cam.target), fovy: cam.fovy };
  }

  /** Fill the per-frame part (positions, rotations) of the render list from the current state. */
  updateScene(): Float64Array {
    const t0 = performance.now();
    const xpos = this.data.geom_xpos, xmat = this.data.geom_xmat;
    const p = this.packed;
    this.renderGeoms.forEach((g, i) => {
      const o = i * GEOM_STRIDE;
      p[o + 4] = xpos[3 * g];
      p[o + 5] = xpos[3 * g + 1];
      p[o + 6] = xpos[3 * g + 2];
      for (let k = 0; k < 9; k++) p[o + 7 + k] = xmat[9 * g + k];
    });
    this.timing.sceneMs += performance.now() - t0;
    return p;
  }

  /** Render an upright H×W×3 image from the named camera (call updateScene() first when the state changed). */
  render(camera: CameraName, width: number, height: number, supersample = 1, packed?: Float64Array): Uint8Array {
    const pose = this.cameraPose(camera);
    const cam: RasterCamera = { pos: pose.pos, mat: pose.mat, fovy: pose.fovy, width, height, supersample };
    const t0 = performance.now();
    const img = rasterize(packed ?? this.updateScene(), cam);
    this.timing.rasterMs += performance.now() - t0;
    return img;
  }

  /** Full physics state (qpos, qvel, act, ctrl) for determinism checks and replays. */
  stateVector(): Float64Array {
    const d = this.data;
    return Float64Array.from([...d.qpos, ...d.qvel, ...d.ctrl]);
  }
}

/** Rotate an H×W×3 image by 180° (LIBERO's stored orientation for its OpenGL-rendered cameras). */
export function rotate180(img: Uint8Array, width: number, height: number): Uint8Array {
  return rotateImage180({ data: img, width, height, channels: 3 }).data;
}
