import { ACTION_DIM, type Episode, type PrivilegedFrame } from '../../../../electron/engine/data/episode.js';
import type { OperatingKind, Phase, PhaseDetail } from '../../../../electron/engine/phases/taxonomy.js';
import { Rng } from '../../../../electron/engine/util/rng.js';

/**
 * Synthetic teacher rollouts with KNOWN phases, generated kinematically (no physics), until the built-in
 * simulator lands. A scripted "teacher" walks through stages (idle → approach → grasp → carry / operate →
 * place → retreat); each stage writes the true phase of its frames. Teacher-like noise is on by default:
 *   - self-revoking one-frame gripper flips at `flipRate` (≈3 %, paper §4.5), which the fingers follow
 *     for that one frame;
 *   - Gaussian jitter on the translation / rotation actions and on the measured ee position;
 *   - random stage durations, speeds and object placements; failed grasps followed by a regrasp; pauses
 *     while holding.
 * The generator writes LIBERO-layout proprioception, tiny images, and privileged facts (object in hand,
 * contact, progress, and the true phase as `teacherStage`).
 */

export type SyntheticTask = 'pick-place' | 'drawer-pull' | 'knob-turn' | 'drawer-then-place';

export interface SyntheticOptions {
  task: SyntheticTask;
  seed: number;
  flipRate?: number;
  actionJitter?: number;
  posNoise?: number;
  failedGraspProb?: number;
  holdPauseProb?: number;
  imageSize?: number;
  suite?: string;
  teacher?: string;
}

export interface SyntheticEpisode {
  episode: Episode;
  truth: Phase[];
  truthDetails: PhaseDetail[];
}

const OPEN_WIDTH = 0.08;
const FINGER_STEP = 0.006; // m per frame (0.12 m/s)
const TABLE_Z = 0.9;

type Vec3 = [number, number, number];

class Script {
  pos: Vec3;
  theta = 0; // rotation about world z of a gripper pointing down
  width = OPEN_WIDTH;
  /** What the fingers would close on right now (m), and its name. */
  graspable: { name: string; width: number } | null = null;
  held: string | null = null;
  progress = 0;
  frames: { pos: Vec3; theta: number; cmd: number; width: number; phase: Phase; detail: PhaseDetail; held: string | null; contact: boolean; progress: number }[] = [];

  constructor(
    readonly rng: Rng,
    readonly flipRate: number,
    home: Vec3,
  ) {
    this.pos = home;
  }

  private frame(phase: Phase, closed: boolean, detail: PhaseDetail = {}): void {
    const flip = this.rng.next() < this.flipRate;
    const cmdClosed = flip ? !closed : closed;
    const target = cmdClosed ? (this.graspable?.width ?? 0) : OPEN_WIDTH;
    this.width += Math.max(-FINGER_STEP, Math.min(FINGER_STEP, target - this.width));
    const contact = this.graspable !== null && this.width <= this.graspable.width + 1e-4;
    this.held = contact ? this.graspable!.name : null;
    this.frames.push({ pos: [...this.pos], theta: this.theta, cmd: cmdClosed ? 1 : -1, width: this.width, phase, detail, held: this.held, contact, progress: this.progress });
  }

  /** Move along a polyline with a trapezoidal speed profile (3-frame ramps), optionally turning. */
  move(phase: Phase, waypoints: Vec3[], frames: number, closed: boolean, detail: PhaseDetail = {}, turn = 0): void {
    const pts = [this.pos, ...waypoints];
    const seg = pts.slice(1).map((p, i) => Math.hypot(p[0] - pts[i][0], p[1] - pts[i][1], p[2] - pts[i][2]));
    const total = seg.reduce((a, b) => a + b, 0);
    const ramp = Math.min(3, frames / 2);
    const v = Array.from({ length: frames }, (_, k) => Math.min(1, (k + 1) / ramp, (frames - k) / ramp));
    const vs = v.reduce((a, b) => a + b, 0);
    const theta0 = this.theta;
    let s = 0;
    for (let k = 0; k < frames; k++) {
      s += v[k] / vs;
      let d = s * total;
      let i = 0;
      while (i < seg.length - 1 && d > seg[i]) d -= seg[i++];
      const f = seg[i] > 0 ? Math.min(1, d / seg[i]) : 1;
      this.pos = [0, 1, 2].map((j) => pts[i][j] + f * (pts[i + 1][j] - pts[i][j])) as Vec3;
      this.theta = theta0 + s * turn;
      this.frame(phase, closed, detail);
    }
  }

  wait(phase: Phase, frames: number, closed: boolean, detail: PhaseDetail = {}): void {
    for (let k = 0; k < frames; k++) this.frame(phase, closed, detail);
  }

  /** Close until the fingers stop (on the graspable thing, or on nothing). */
  close(phase: Phase): void {
    const target = this.graspable?.width ?? 0;
    let guard = 0;
    do this.frame(phase, true);
    while (Math.abs(this.width - target) > 1e-3 && ++guard < 40);
  }

  open(phase: Phase, detail: PhaseDetail = {}): void {
    this.graspable = null;
    let guard = 0;
    do this.frame(phase, false, detail);
    while (OPEN_WIDTH - this.width > 1e-3 && ++guard < 40);
  }
}

const OBJECTS = ['black bowl', 'alphabet soup', 'cream cheese', 'ketchup', 'butter', 'milk', 'wine bottle'];
const TARGETS = ['plate', 'basket', 'stove', 'cabinet top'];

const add = (a: Vec3, b: Vec3): Vec3 => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];

function pickPlace(s: Script, rng: Rng, failedGraspProb: number, holdPauseProb: number, name: string): void {
  const obj: Vec3 = [rng.uniform(0, 0.15), rng.uniform(-0.2, 0.2), TABLE_Z + 0.03];
  // The goal lies 0.1–0.25 m away horizontally, as on a real tabletop.
  const away = rng.uniform(0.1, 0.25);
  const heading = rng.uniform(0, 2 * Math.PI);
  const goal: Vec3 = [obj[0] + away * Math.cos(heading), obj[1] + away * Math.sin(heading), TABLE_Z + 0.05];
  const objWidth = rng.uniform(0.03, 0.06);
  s.move('approaching', [add(obj, [0, 0, 0.12]), obj], rng.int(25) + 35, false);
  s.graspable = { name, width: objWidth };
  if (rng.next() < failedGraspProb) {
    s.graspable = null; // the object slipped away: the fingers close on nothing
    s.close('grasping');
    s.open('regrasping');
    const retry: Vec3 = add(obj, [rng.uniform(-0.015, 0.015), rng.uniform(-0.015, 0.015), 0]);
    s.move('regrasping', [add(obj, [0, 0, 0.04]), retry], rng.int(10) + 15, false);
    s.graspable = { name, width: objWidth };
    s.close('regrasping');
  } else s.close('grasping');
  const lifted: Vec3 = add(s.pos, [0, 0, rng.uniform(0.12, 0.18)]);
  const above: Vec3 = [goal[0], goal[1], lifted[2]];
  if (rng.next() < holdPauseProb) {
    s.move('transporting', [lifted], rng.int(10) + 15, true);
    s.wait('holding', rng.int(13) + 8, true);
    s.move('transporting', [above], rng.int(20) + 30, true);
  } else s.move('transporting', [lifted, above], rng.int(30) + 40, true);
  s.move('placing', [goal], rng.int(10) + 15, true, { placingStage: 'lowering' });
  s.open('placing', { placingStage: 'releasing' });
}

function operate(s: Script, rng: Rng, kind: OperatingKind, name: string): void {
  const part: Vec3 = [rng.uniform(0.05, 0.15), rng.uniform(-0.15, 0.15), TABLE_Z + rng.uniform(0.05, 0.15)];
  const detail: PhaseDetail = { operatingKind: kind };
  if (kind === 'rotate') s.move('approaching', [add(part, [0, 0, 0.1]), part], rng.int(20) + 30, false);
  else s.move('approaching', [add(part, [-0.08, 0, 0.02]), part], rng.int(20) + 30, false);
  s.graspable = { name, width: kind === 'rotate' ? 0.03 : 0.02 };
  s.close('grasping');
  if (kind === 'rotate') s.move('operating', [add(part, [0.002, 0.001, 0])], rng.int(15) + 25, true, detail, (rng.next() < 0.5 ? -1 : 1) * rng.uniform(0.8, 1.5));
  else if (kind === 'pull') s.move('operating', [add(part, [-rng.uniform(0.12, 0.2), 0, 0])], rng.int(20) + 30, true, detail);
  else s.move('operating', [add(part, [rng.uniform(0.1, 0.15), 0, 0])], rng.int(20) + 30, true, detail);
  s.open('operating', detail);
}

export function syntheticEpisode(options: SyntheticOptions): SyntheticEpisode {
  const rng = new Rng(options.seed);
  const flipRate = options.flipRate ?? 0.03;
  const jitter = options.actionJitter ?? 0.05;
  const posNoise = options.posNoise ?? 0.0002;
  const failed = options.failedGraspProb ?? 0.2;
  const pause = options.holdPauseProb ?? 0.4;
  const home: Vec3 = [-0.1 + rng.uniform(-0.03, 0.03), rng.uniform(-0.03, 0.03), 1.15];
  const s = new Script(rng.fork('script'), flipRate, home);
  const obj = OBJECTS[rng.int(OBJECTS.length)];
  const target = TARGETS[rng.int(TARGETS.length)];
  let instruction: string;

  s.wait('idle', 10 + rng.int(8), false); // the protocol's no-op warm-up, plus a teacher's hesitation
  switch (options.task) {
    case 'pick-place':
      instruction = `pick up the ${obj} and place it on the ${target}`;
      pickPlace(s, rng, failed, pause, obj);
      break;
    case 'drawer-pull':
      instruction = 'open the top drawer of the cabinet';
      operate(s, rng, 'pull', 'drawer-handle');
      break;
    case 'knob-turn':
      instruction = 'turn on the stove';
      operate(s, rng, 'rotate', 'stove-knob');
      break;
    case 'drawer-then-place':
      instruction = `open the top drawer and put the ${obj} inside`;
      operate(s, rng, 'pull', 'drawer-handle');
      s.progress = 0.5;
      pickPlace(s, rng, failed, pause, obj);
      break;
  }
  s.progress = 1;
  s.move('completed', [add(s.pos, [-0.03, 0, 0.1])], rng.int(10) + 15, false);
  s.wait('completed', rng.int(15) + 5, false);

  return toEpisode(s, rng.fork('noise'), { ...options, instruction, jitter, posNoise });
}

function toEpisode(s: Script, rng: Rng, o: SyntheticOptions & { instruction: string; jitter: number; posNoise: number }): SyntheticEpisode {
  const T = s.frames.length;
  const size = o.imageSize ?? 16;
  const actions = new Float32Array(T * ACTION_DIM);
  const ee_pos = new Float64Array(T * 3);
  const ee_ori = new Float64Array(T * 3);
  const gripper_states = new Float64Array(T * 2);
  const robot_states = new Float64Array(T * 9);
  const stateDim = 6;
  const states = new Float64Array(T * stateDim);
  const agentview = new Uint8Array(T * size * size * 3);
  const wrist = new Uint8Array(T * size * size * 3);
  const privileged: PrivilegedFrame[] = [];
  for (let t = 0; t < T; t++) {
    const f = s.frames[t];
    const next = s.frames[Math.min(T - 1, t + 1)];
    for (let d = 0; d < 3; d++) {
      actions[t * 7 + d] = clamp((next.pos[d] - f.pos[d]) / 0.05 + rng.normal(0, o.jitter));
      ee_pos[t * 3 + d] = f.pos[d] + rng.normal(0, o.posNoise);
    }
    actions[t * 7 + 3] = clamp(rng.normal(0, o.jitter));
    actions[t * 7 + 4] = clamp(rng.normal(0, o.jitter));
    actions[t * 7 + 5] = clamp((next.theta - f.theta) / 0.5 + rng.normal(0, o.jitter));
    actions[t * 7 + 6] = f.cmd;
    // Gripper pointing down (Rx(π)) turned by θ about world z: axis-angle π·(cos θ/2, sin θ/2, 0).
    ee_ori[t * 3] = Math.PI * Math.cos(f.theta / 2);
    ee_ori[t * 3 + 1] = Math.PI * Math.sin(f.theta / 2);
    gripper_states[t * 2] = f.width / 2;
    gripper_states[t * 2 + 1] = -f.width / 2;
    robot_states.set([f.width / 2, -f.width / 2, ...f.pos, 0, Math.cos(f.theta / 2), Math.sin(f.theta / 2), 0], t * 9);
    states.set([...f.pos, f.theta, f.width, f.held ? 1 : 0], t * stateDim);
    paint(agentview, t, size, f.pos, f.width, 0);
    paint(wrist, t, size, f.pos, f.width, 1);
    privileged.push({ objectInHand: f.held, gripperContact: f.contact, teacherStage: f.phase, progress: f.progress });
  }
  const episode: Episode = {
    suite: o.suite ?? 'synthetic',
    taskIndex: ['pick-place', 'drawer-pull', 'knob-turn', 'drawer-then-place'].indexOf(o.task),
    instruction: o.instruction,
    initIndex: 0,
    seed: o.seed,
    teacher: o.teacher ?? 'synthetic-scripted',
    length: T,
    imageSize: { height: size, width: size },
    actions,
    dones: Uint8Array.from({ length: T }, (_, t) => (t === T - 1 ? 1 : 0)),
    rewards: Float32Array.from({ length: T }, (_, t) => (t === T - 1 ? 1 : 0)),
    states,
    stateDim,
    robot_states,
    obs: { agentview_rgb: agentview, eye_in_hand_rgb: wrist, ee_pos, ee_ori, ee_states: interleave(ee_pos, ee_ori, T), gripper_states, joint_states: new Float64Array(T * 7) },
    success: true,
    privileged,
  };
  return { episode, truth: s.frames.map((f) => f.phase), truthDetails: s.frames.map((f) => f.detail) };
}

const clamp = (v: number) => Math.max(-1, Math.min(1, v));

function interleave(a: Float64Array, b: Float64Array, T: number): Float64Array {
  const out = new Float64Array(T * 6);
  for (let t = 0; t < T; t++) {
    out.set(a.subarray(3 * t, 3 * t + 3), 6 * t);
    out.set(b.subarray(3 * t, 3 * t + 3), 6 * t + 3);
  }
  return out;
}

/** A grey image with a bright 2×2 marker where the gripper is, coloured by finger width and height. */
function paint(img: Uint8Array, t: number, size: number, pos: Vec3, width: number, camera: number): void {
  const base = t * size * size * 3;
  img.fill(camera ? 60 : 90, base, base + size * size * 3);
  const px = Math.max(0, Math.min(size - 2, Math.round(((pos[1] + 0.3) / 0.6) * (size - 2))));
  const py = Math.max(0, Math.min(size - 2, Math.round(((pos[0] + 0.3) / 0.6) * (size - 2))));
  for (let dy = 0; dy < 2; dy++)
    for (let dx = 0; dx < 2; dx++) {
      const i = base + ((py + dy) * size + px + dx) * 3;
      img[i] = Math.round(Math.min(255, width * 3000));
      img[i + 1] = Math.round(Math.min(255, (pos[2] - 0.8) * 600));
      img[i + 2] = 255;
    }
}

/** A mixed rollout set: `n` episodes cycling through the four task types. */
export function syntheticDataset(n: number, seed: number, options: Partial<SyntheticOptions> = {}): SyntheticEpisode[] {
  const tasks: SyntheticTask[] = ['pick-place', 'drawer-pull', 'knob-turn', 'drawer-then-place'];
  return Array.from({ length: n }, (_, i) => syntheticEpisode({ ...options, task: options.task ?? tasks[i % tasks.length], seed: seed * 1000 + i }));
}
