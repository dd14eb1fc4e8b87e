import { LabError } from '../errors.js';
import { Rng } from '../util/rng.js';
import { encodePngRgb } from '../util/png.js';
import { TabletopSim, rotate180, type CameraName, type ObjectPose } from './physics.js';
import { getTask } from './suites/index.js';
import { loadInitStates, type InitState } from './init.js';
import { describePredicate, evalPredicate, drawerJoint, knobJoint } from './predicates.js';
import { MAX_STEPS, type SuiteName, type TaskDef } from './task.js';
import { matToAxisAngle } from './math3.js';
import { CABINET, castEntry } from './objects.js';

/**
 * The built-in simulator's environment, LIBERO-shaped:
 *   const env = await SimEnv.create();
 *   let obs = await env.reset('object', 3, 0);      // suite, task index or name, initial state 0–49
 *   const r = env.step([dx, dy, dz, drx, dry, drz, g]);
 *
 * Actions: 7 numbers. Non-finite values are rejected (LabError 'INVALID_INPUT'); values outside [-1, 1]
 * are clipped, and counted (info.clipped this step, info.clippedTotal in the episode). An episode ends on
 * success, at the suite's step limit, or when the simulation diverges (info.reason 'unstable', with the
 * cause); stepping a finished episode is a 'CONFLICT' error.
 *
 * SimObservation images are in LIBERO's stored orientation (rotated 180°, as robosuite's OpenGL frames
 * are; OpenVLA rotates them back). `render()` returns upright frames for videos and the viewer.
 */
export interface SimObservation {
  agentview_rgb: Uint8Array; // H×W×3
  eye_in_hand_rgb: Uint8Array; // H×W×3
  image_size: number;
  ee_pos: number[]; // 3, world (m)
  ee_ori: number[]; // 3, axis-angle (rad)
  ee_states: number[]; // 6 = ee_pos ++ ee_ori
  gripper_states: number[]; // 2: finger positions [left, −right] (m)
  joint_states: number[]; // 7 (rad)
  object_states: Record<string, ObjectPose>;
}

export type EndReason = 'success' | 'max_steps' | 'unstable';

export interface StepInfo {
  step: number;
  clipped: number; // action components clipped this step
  clippedTotal: number; // in this episode
  predicates: Record<string, boolean>;
  reason: EndReason | null;
  unstable?: string;
}

export interface SimStepResult {
  obs: SimObservation;
  reward: number; // 1 on success, else 0 (LIBERO's sparse reward)
  success: boolean;
  done: boolean;
  info: StepInfo;
}

/** Ground truth the scripted teacher and the phase classifier may read (never the student). */
export interface PrivilegedState {
  objectInHand: string | null; // an object touched by both fingers
  fingerContacts: { left: string[]; right: string[] };
  contacts: string[]; // "a|b" owner pairs
  fixtureJoints: Record<string, number>;
  objects: Record<string, ObjectPose>;
  eePos: number[];
  eeMat: number[];
  gripperCommand: number;
  gripperOpening: number; // m between the finger pads
  goal: { predicate: string; value: boolean }[];
}

export interface EnvOptions {
  imageSize?: number; // observation images (square), default 128
  renderImages?: boolean; // false: physics-only observations with empty images (faster)
  supersample?: number; // anti-aliasing of observation images, default 1 (none)
}

export interface TaskInfo {
  suite: SuiteName;
  index: number;
  name: string;
  instruction: string;
  maxSteps: number;
  initStates: number;
  objects: string[];
  goal: string[];
}

export class SimEnv {
  private sims = new Map<string, TabletopSim>();
  private sim: TabletopSim | null = null;
  private taskDef: TaskDef | null = null;
  private steps = 0;
  private clippedTotal = 0;
  private finished: EndReason | null = null;
  readonly imageSize: number;
  readonly renderImages: boolean;
  readonly supersample: number;

  private constructor(opts: EnvOptions) {
    this.imageSize = opts.imageSize ?? 128;
    this.renderImages = opts.renderImages ?? true;
    this.supersample = opts.supersample ?? 1;
    if (!Number.isInteger(this.imageSize) || this.imageSize < 8 || this.imageSize > 2048) {
      throw new LabError('INVALID_INPUT', `imageSize must be an integer in 8..2048, got ${opts.imageSize}`, { field: 'imageSize', value: opts.imageSize });
    }
    if (!Number.isInteger(this.supersample) || this.supersample < 1 || this.supersample > 4) {
      throw new LabError('INVALID_INPUT', `supersample must be 1..4, got ${opts.supersample}`, { field: 'supersample', value: opts.supersample });
    }
  }

  static async create(opts: EnvOptions = {}): Promise<SimEnv> {
    return new SimEnv(opts);
  }

  dispose(): void {
    for (const s of this.sims.values()) s.dispose();
    this.sims.clear();
    this.sim = null;
  }

  get task(): TaskInfo {
    const t = this.requireTask();
    return taskInfo(t);
  }

  get simulation(): TabletopSim {
    if (!this.sim) throw new LabError('CONFLICT', 'call reset() before using the environment', {});
    return this.sim;
  }

  get stepCount(): number {
    return this.steps;
  }

  async reset(suite: string, task: number | string, initIndex: number): Promise<SimObservation> {
    const t = getTask(suite, task);
    const init = loadInitStates(t);
    if (!Number.isInteger(initIndex) || initIndex < 0 || initIndex >= init.states.length) {
      throw new LabError('INVALID_INPUT', `initial state index ${initIndex} out of range 0..${init.states.length - 1} for ${t.suite}/${t.name}`, {
        field: 'initIndex',
        value: initIndex,
        count: init.states.length,
      });
    }
    return this.resetTo(suite, task, init.states[initIndex]);
  }

  /** Reset to an explicit state (object poses, fixture joints) instead of a stored one: tests, replays. */
  async resetTo(suite: string, task: number | string, s: InitState): Promise<SimObservation> {
    const t = getTask(suite, task);
    const key = JSON.stringify(t.objects);
    let sim = this.sims.get(key);
    if (!sim) {
      sim = await TabletopSim.create({ objects: t.objects });
      this.sims.set(key, sim);
    }
    sim.reset(s.objects, s.fixtures);
    this.sim = sim;
    this.taskDef = t;
    this.steps = 0;
    this.clippedTotal = 0;
    this.finished = null;
    return this.observe();
  }

  step(action: ArrayLike<number>): SimStepResult {
    const t = this.requireTask();
    if (this.finished) {
      throw new LabError('CONFLICT', `the episode has ended (${this.finished}); call reset()`, { reason: this.finished, step: this.steps });
    }
    const { out, clipped, predicates, success } = this.advance(action);
    let reason: EndReason | null = null;
    if (out.unstable) reason = 'unstable';
    else if (success) reason = 'success';
    else if (this.steps >= MAX_STEPS[t.suite]) reason = 'max_steps';
    this.finished = reason;
    const info: StepInfo = { step: this.steps, clipped, clippedTotal: this.clippedTotal, predicates, reason };
    if (out.unstable) info.unstable = out.unstable;
    return { obs: this.observe(), reward: success ? 1 : 0, success, done: reason !== null, info };
  }

  /**
   * One more control step after the episode ended in success (step() refuses it): recording the robot as
   * it settles once the task is done (collection's `tailSteps`). Same action handling as step();
   * `success` says whether the goal still holds; `done` only flags unstable physics (the episode stays ended).
   */
  stepPastEnd(action: ArrayLike<number>): SimStepResult {
    if (this.finished !== 'success') {
      throw new LabError('CONFLICT', `stepPastEnd: only after an episode that ended in success (now: ${this.finished ?? 'running'})`, { reason: this.finished, step: this.steps });
    }
    const { out, clipped, predicates, success } = this.advance(action);
    const info: StepInfo = { step: this.steps, clipped, clippedTotal: this.clippedTotal, predicates, reason: 'success' };
    if (out.unstable) info.unstable = out.unstable;
    return { obs: this.observe(), reward: success ? 1 : 0, success, done: out.unstable !== null, info };
  }

  /** Validate and clip an action, run one control step, evaluate the goal. */
  private advance(action: ArrayLike<number>) {
    const a = validateAction(action);
    let clipped = 0;
    for (let i = 0; i < 7; i++) {
      if (a[i] > 1 || a[i] < -1) {
        a[i] = Math.max(-1, Math.min(1, a[i]));
        clipped++;
      }
    }
    this.clippedTotal += clipped;
    const out = this.simulation.controlStep(a);
    this.steps++;
    const predicates = this.evalGoal();
    const success = out.unstable === null && Object.values(predicates).every(Boolean);
    return { out, clipped, predicates, success };
  }

  /** Goal predicates now, by description. */
  evalGoal(): Record<string, boolean> {
    const sim = this.simulation;
    const contacts = sim.contactPairs();
    const out: Record<string, boolean> = {};
    for (const p of this.requireTask().goal) out[describePredicate(p)] = evalPredicate(sim, p, contacts);
    return out;
  }

  observe(): SimObservation {
    const sim = this.simulation;
    const ee = sim.eePose();
    const ori = matToAxisAngle(ee.mat);
    const n = this.imageSize;
    let agent: Uint8Array = new Uint8Array(0), eye: Uint8Array = new Uint8Array(0);
    if (this.renderImages) {
      const packed = sim.updateScene();
      agent = rotate180(sim.render('agentview', n, n, this.supersample, packed), n, n);
      eye = rotate180(sim.render('eye_in_hand', n, n, this.supersample, packed), n, n);
    }
    const objects: Record<string, ObjectPose> = {};
    for (const [name, o] of sim.objects) if (o.free) objects[name] = sim.objectPose(name);
    return {
      agentview_rgb: agent,
      eye_in_hand_rgb: eye,
      image_size: this.renderImages ? n : 0,
      ee_pos: [...ee.pos],
      ee_ori: ori,
      ee_states: [...ee.pos, ...ori],
      gripper_states: sim.gripperQ(),
      joint_states: sim.jointQ(),
      object_states: objects,
    };
  }

  /** An upright frame from any camera at any size (videos, the viewer). */
  render(camera: CameraName = 'agentview', size: number | { width: number; height: number } = 256, supersample = 2): Uint8Array {
    const { width, height } = typeof size === 'number' ? { width: size, height: size } : size;
    return this.simulation.render(camera, width, height, supersample);
  }

  privileged(): PrivilegedState {
    const sim = this.simulation;
    const contacts = sim.contactPairs();
    const touching = (finger: string) =>
      [...contacts].filter((p) => p.split('|').includes(finger)).map((p) => p.split('|').find((x) => x !== finger)!).filter((x) => x !== 'robot');
    const left = touching('finger_left'), right = touching('finger_right');
    const inHand = left.find((o) => right.includes(o) && sim.objects.get(o)?.free) ?? null;
    const fixtureJoints: Record<string, number> = {};
    for (const [name, o] of sim.objects) {
      if (o.kind === 'wooden_cabinet') for (const d of CABINET.drawers) fixtureJoints[drawerJoint(name, d)] = sim.jointValue(drawerJoint(name, d));
      if (o.kind === 'stove') fixtureJoints[knobJoint(name)] = sim.jointValue(knobJoint(name));
    }
    const objects: Record<string, ObjectPose> = {};
    for (const name of sim.objects.keys()) objects[name] = sim.objectPose(name);
    const ee = sim.eePose();
    const g = sim.gripperQ();
    const goal = this.evalGoal();
    return {
      objectInHand: inHand,
      fingerContacts: { left, right },
      contacts: [...contacts].sort(),
      fixtureJoints,
      objects,
      eePos: [...ee.pos],
      eeMat: [...ee.mat],
      gripperCommand: sim.gripperCommand,
      gripperOpening: g[0] - g[1],
      goal: Object.entries(goal).map(([predicate, value]) => ({ predicate, value })),
    };
  }

  private requireTask(): TaskDef {
    if (!this.taskDef) throw new LabError('CONFLICT', 'call reset() before using the environment', {});
    return this.taskDef;
  }
}

export function taskInfo(t: TaskDef): TaskInfo {
  const init = loadInitStates(t);
  return {
    suite: t.suite,
    index: t.index,
    name: t.name,
    instruction: t.instruction,
    maxSteps: MAX_STEPS[t.suite],
    initStates: init.states.length,
    objects: t.objects.filter((o) => castEntry(o.kind).free).map((o) => o.name),
    goal: t.goal.map(describePredicate),
  };
}

function validateAction(action: ArrayLike<number>): number[] {
  if (action === null || typeof action !== 'object' || typeof action.length !== 'number' || action.length !== 7) {
    throw new LabError('INVALID_INPUT', `action must be 7 numbers [dx, dy, dz, drx, dry, drz, gripper], got length ${action?.length}`, {
      field: 'action',
      length: action?.length,
    });
  }
  const a = Array.from(action, Number);
  const bad = a.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    throw new LabError('INVALID_INPUT', `action[${bad}] is not a finite number (${String(action[bad])})`, { field: `action[${bad}]`, value: String(action[bad]) });
  }
  return a;
}

/** Viewer: the task's initial state i as a PNG from the agentview camera (upright). */
export async function renderInitialStatePng(suite: string, task: number | string, initIndex: number, size = 512, camera: CameraName = 'agentview'): Promise<Buffer> {
  const env = await SimEnv.create({ renderImages: false });
  try {
    await env.reset(suite, task, initIndex);
    const img = env.render(camera, size, 2);
    return Buffer.from(encodePngRgb(img, size, size));
  } finally {
    env.dispose();
  }
}

export interface RolloutFrames {
  frames: Uint8Array[]; // upright H×W×3
  width: number;
  height: number;
  fps: number;
  seed: number;
  successes: number;
  reason: EndReason | null;
}

/** Viewer: a short rollout of seeded random actions, rendered for an MP4. */
export async function renderRandomRolloutFrames(
  suite: string,
  task: number | string,
  initIndex: number,
  opts: { steps?: number; size?: number; seed?: number; camera?: CameraName } = {},
): Promise<RolloutFrames> {
  const steps = opts.steps ?? 60, size = opts.size ?? 256, seed = opts.seed ?? 0;
  const rng = new Rng(seed);
  const env = await SimEnv.create({ renderImages: false });
  try {
    await env.reset(suite, task, initIndex);
    const frames = [env.render(opts.camera ?? 'agentview', size, 2)];
    let successes = 0, reason: EndReason | null = null;
    for (let i = 0; i < steps && reason === null; i++) {
      const a = [0, 1, 2, 3, 4, 5].map(() => rng.uniform(-1, 1) * (i < 3 ? 1 : 0.5));
      a[3] *= 0.3; a[4] *= 0.3; a[5] *= 0.3; // gentle rotations keep random rollouts watchable
      a.push(rng.next() < 0.5 ? -1 : 1);
      const r = env.step(a);
      if (r.success) successes++;
      reason = r.info.reason;
      frames.push(env.render(opts.camera ?? 'agentview', size, 2));
    }
    return { frames, width: size, height: size, fps: 20, seed, successes, reason };
  } finally {
    env.dispose();
  }
}
