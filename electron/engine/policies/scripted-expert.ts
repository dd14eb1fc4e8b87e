import { describePredicate, getTask, type PrivilegedState, type Predicate, type TaskDef } from '../sim/index.js';
import { CABINET } from '../sim/objects.js';
import { ROBOT_BASE } from '../sim/scene.js';
import { rotationError } from '../sim/math3.js';
import { LabError } from '../errors.js';
import type { Observation, Policy, PolicyContext } from './types.js';

/**
 * The scripted expert: a closed-loop policy for every built-in task, driven by the simulator's
 * privileged state (object poses, fixture joints, what is in the hand), acting only through the public
 * 7-D delta action. Its plan comes from the task's goal predicates:
 *   On / In(a, b)        pick a, place it on / into b (basket, plate, stove, cabinet top, rack, bowl, drawer)
 *   Open(cabinet.top)    hook the closed fingers behind the handle and pull
 *   Open(cabinet.lower)  pinch the handle bar with a horizontal gripper and pull (the top handle is above)
 *   TurnOn(stove)        push the knob's lever over
 *   OnRegion(a, region)  push a (the plate) into the region, around the stove
 * A plan is a chain of generator "skills"; each yields one action per control step and reads the
 * refreshed privileged state between steps. The current skill stage is `teacherStage` (names in
 * phases/ DEFAULT_STAGE_MAP: approach, descend, grasp, lift, carry, lower, release, retreat, pull, turn,
 * push, regrasp, done). A failed grasp (nothing in the hand after the lift) is retried from the start;
 * a predicate that does not hold after its skill (a bounced placement) gets up to two more rounds.
 * Once the whole goal holds it never starts another attempt (a retry decided just before a dropped
 * object landed on its goal): it opens, rises clear and rests (`retreat`, then `done`).
 * Deterministic: no randomness (noise.ts adds it).
 *
 * Geometry (gripper): the fingertips reach 7 mm below the `ee` site, the pads are 52 mm tall and open to
 * 80 mm along the hand's y axis; the hand's box (180 × 60 mm) starts 48 mm above the ee site.
 */
type Vec3 = [number, number, number];
type Action = number[];
type Gen = Generator<Action, boolean, void>;

const clip = (v: number, lo = -1, hi = 1) => Math.max(lo, Math.min(hi, v));
const OPEN = -1;
const CLOSE = 1;

/** Gripper pointing down with its finger axis (hand y) at world yaw psi. */
export function downMat(psi: number): number[] {
  const y = [Math.cos(psi), Math.sin(psi), 0];
  const z = [0, 0, -1];
  const x = [y[1] * z[2] - y[2] * z[1], y[2] * z[0] - y[0] * z[2], y[0] * z[1] - y[1] * z[0]];
  return [x[0], y[0], z[0], x[1], y[1], z[1], x[2], y[2], z[2]];
}

export const handYaw = (eeMat: number[]) => Math.atan2(eeMat[4], eeMat[1]);

/** Yaw of a body's x axis from its quaternion (w x y z). */
export function quatYaw(q: ArrayLike<number>): number {
  const [w, x, y, z] = [q[0], q[1], q[2], q[3]];
  return Math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z));
}

/** The finger-axis yaw equivalent to psi (the gripper is symmetric under a half turn) closest to cur. */
export function nearestYaw(psi: number, cur: number): number {
  let best = psi;
  for (let k = -3; k <= 3; k++) if (Math.abs(psi + k * Math.PI - cur) < Math.abs(best - cur)) best = psi + k * Math.PI;
  return best;
}

/** How each graspable kind is held: its shape and half sizes (from sim/objects.ts). */
interface GraspShape {
  shape: 'box' | 'cylinder' | 'bottle' | 'bowl';
  hx: number; // box half sizes / cylinder radius
  hy: number;
  hh: number; // half height
  neckHh?: number;
}
const SHAPES: Record<string, GraspShape> = {
  alphabet_soup: { shape: 'cylinder', hx: 0.032, hy: 0.032, hh: 0.045 },
  tomato_sauce: { shape: 'cylinder', hx: 0.036, hy: 0.036, hh: 0.035 },
  ramekin: { shape: 'cylinder', hx: 0.036, hy: 0.036, hh: 0.022 },
  salad_dressing: { shape: 'bottle', hx: 0.027, hy: 0.027, hh: 0.065, neckHh: 0.018 },
  bbq_sauce: { shape: 'bottle', hx: 0.027, hy: 0.027, hh: 0.065, neckHh: 0.018 },
  wine_bottle: { shape: 'bottle', hx: 0.032, hy: 0.032, hh: 0.1, neckHh: 0.04 },
  cream_cheese: { shape: 'box', hx: 0.042, hy: 0.026, hh: 0.018 },
  ketchup: { shape: 'box', hx: 0.03, hy: 0.02, hh: 0.06 },
  butter: { shape: 'box', hx: 0.04, hy: 0.025, hh: 0.016 },
  milk: { shape: 'box', hx: 0.027, hy: 0.027, hh: 0.06 },
  chocolate_pudding: { shape: 'box', hx: 0.035, hy: 0.026, hh: 0.02 },
  orange_juice: { shape: 'box', hx: 0.027, hy: 0.027, hh: 0.06 },
  cookie_box: { shape: 'box', hx: 0.055, hy: 0.085, hh: 0.02 },
  black_bowl: { shape: 'bowl', hx: 0.055, hy: 0.055, hh: 0.022 },
};
const BOWL_RIM = 0.055;
/** The robot's base, for choosing reachable spots. */
const ROBOT_BASE_XY = [ROBOT_BASE[0], ROBOT_BASE[1]];

/** Cabinet drawer geometry (sim/objects.ts): drawer centre height in the cabinet frame. */
function drawerLocalZ(part: string): number {
  const t = 0.008;
  const slotH = (2 * CABINET.hz - 2 * t) / 3;
  const i = (CABINET.drawers as readonly string[]).indexOf(part);
  return CABINET.hz - t - slotH * (i + 0.5);
}

export interface ExpertOptions {
  /** Grasp retries after a miss before the expert gives up (holds still); default 2. */
  retries?: number;
  /** Passes over the goal predicates (a predicate that does not hold gets another); default 3. */
  rounds?: number;
}

/** Shared state between the skills: the latest privileged state and the stage being executed. */
class Ctl {
  priv!: PrivilegedState;
  stage = 'approach';
  gripper = OPEN;
  kinds = new Map<string, string>();
  constructor(readonly task: TaskDef) {
    for (const o of task.objects) this.kinds.set(o.name, o.kind);
  }
  pos(name: string): Vec3 {
    const o = this.priv.objects[name];
    if (!o) throw new LabError('INTERNAL', `scripted expert: no object '${name}' in the privileged state`, { object: name });
    return [...o.pos] as Vec3;
  }
  yaw(name: string): number {
    return quatYaw(this.priv.objects[name].quat);
  }
  get ee(): Vec3 {
    return this.priv.eePos as Vec3;
  }
  get curYaw(): number {
    return handYaw(this.priv.eeMat);
  }
  joint(name: string): number {
    return this.priv.fixtureJoints[name] ?? 0;
  }
}

interface MoveOpts {
  yaw?: number;
  /** A full goal orientation (row-major 3×3) instead of pointing down at `yaw`. */
  mat?: number[];
  gripper?: number;
  tol?: number;
  maxSteps?: number;
  /** Cap on the commanded displacement per step, as a fraction of the 5 cm maximum. */
  speed?: number;
  /** Stop early when this holds. */
  until?: () => boolean;
}

/** Servo the ee to a (possibly moving) target with the gripper pointing down. Returns whether it arrived. */
function* move(c: Ctl, stage: string, target: () => Vec3, o: MoveOpts = {}): Gen {
  c.stage = stage;
  if (o.gripper !== undefined) c.gripper = o.gripper;
  const tol = o.tol ?? 0.008;
  const speed = o.speed ?? 1;
  const yaw = o.yaw ?? c.curYaw;
  const goal = o.mat ?? downMat(yaw);
  let still = 0, last = [...c.ee];
  for (let i = 0; i < (o.maxSteps ?? 60); i++) {
    if (o.until?.()) return true;
    // blocked or at the edge of the workspace: give up on this move rather than push forever
    still = Math.hypot(c.ee[0] - last[0], c.ee[1] - last[1], c.ee[2] - last[2]) < 0.001 ? still + 1 : 0;
    last = [...c.ee];
    if (still >= 8) return false;
    const t = target();
    const e = [t[0] - c.ee[0], t[1] - c.ee[1], t[2] - c.ee[2]];
    const r = rotationError(goal, c.priv.eeMat);
    const dist = Math.hypot(e[0], e[1], e[2]);
    if (dist < tol && Math.hypot(r[0], r[1], r[2]) < 0.06) return true;
    // Proportional, with the step length capped (the controller moves at most 5 cm per step).
    const scale = Math.min(1, (speed * 0.05) / Math.max(dist, 1e-9));
    yield [...e.map((v) => clip((v * scale) / 0.05)), ...r.map((v) => clip(v / 0.5)), c.gripper];
  }
  return false;
}

function* hold(c: Ctl, stage: string, gripper: number, n: number): Gen {
  c.stage = stage;
  c.gripper = gripper;
  for (let i = 0; i < n; i++) yield [0, 0, 0, 0, 0, 0, gripper];
  return true;
}

/** Where and how to grasp an object: ee position, finger yaw. */
function graspPose(c: Ctl, name: string, preferYaw?: number[]): { pos: Vec3; yaw: number } {
  const kind = c.kinds.get(name)!;
  const s = SHAPES[kind];
  if (!s) throw new LabError('INVALID_INPUT', `scripted expert: no grasp for object kind '${kind}'`, { object: name, kind });
  const p = c.pos(name);
  if (s.shape === 'bowl') {
    // Pinch the rim: the finger axis radial, the ee over the wall, on the side with the most room.
    const phi = bowlGraspAngle(c, name, preferYaw);
    return { pos: [p[0] + BOWL_RIM * Math.cos(phi), p[1] + BOWL_RIM * Math.sin(phi), Math.max(p[2] - 0.004, 0.016)], yaw: nearestYaw(phi, c.curYaw) };
  }
  let z: number;
  // a bottle: high enough that the hand's box clears the top of its neck
  if (s.shape === 'bottle') z = Math.max(p[2] + s.hh - 2 * s.neckHh! - 0.03, p[2] + s.hh - 0.046);
  else z = p[2] + Math.max(s.hh - 0.03, -s.hh + 0.012);
  z = Math.max(z, 0.015);
  let yaw = c.curYaw;
  if (s.shape === 'cylinder' || s.shape === 'bottle') {
    // round: any finger yaw grips it; take the one that keeps the hand off the cabinet, turning least
    let best = -Infinity;
    for (const k of [0, 1, -1, 2, -2, 3]) {
      const cand = c.curYaw + (k * Math.PI) / 6;
      const score = Math.min(handClearance(c, p[0], p[1], cand), 0.03) * 100 - Math.abs(k) * 0.01;
      if (score > best) (best = score), (yaw = cand);
    }
  }
  if (s.shape === 'box') {
    const oy = c.yaw(name);
    yaw = nearestYaw(s.hy <= s.hx ? oy + Math.PI / 2 : oy, c.curYaw);
  }
  return { pos: [p[0], p[1], z], yaw };
}

/** Gap between the hand's footprint (180 × 60 mm, long along the finger yaw) at (x, y) and any cabinet. */
function handClearance(c: Ctl, x: number, y: number, yaw: number): number {
  const ax = 0.09 * Math.abs(Math.cos(yaw)) + 0.03 * Math.abs(Math.sin(yaw)), ay = 0.09 * Math.abs(Math.sin(yaw)) + 0.03 * Math.abs(Math.cos(yaw));
  let clear = Infinity;
  for (const [name, kind] of c.kinds) {
    if (kind !== 'wooden_cabinet') continue;
    const q = c.pos(name);
    clear = Math.min(clear, Math.max(Math.abs(x - q[0]) - CABINET.hx - ax, Math.abs(y - q[1]) - CABINET.hy - ay));
  }
  return clear;
}

/** Footprint radii of free objects, for the clearance of a bowl grasp. */
const FOOTPRINT: Record<string, number> = {
  black_bowl: 0.065, plate: 0.09, ramekin: 0.04, cookie_box: 0.1, cream_cheese: 0.05, wine_bottle: 0.04,
  alphabet_soup: 0.035, tomato_sauce: 0.04, salad_dressing: 0.03, bbq_sauce: 0.03, ketchup: 0.037, butter: 0.048,
  milk: 0.04, chocolate_pudding: 0.045, orange_juice: 0.04, basket: 0.15,
};

/**
 * Rim angle for a bowl grasp: among candidates, the one whose hand footprint (180 × 60 mm along the
 * finger axis, centred on the rim point) keeps the most room from other objects and the cabinet.
 */
function bowlGraspAngle(c: Ctl, name: string, prefer?: number[]): number {
  const p = c.pos(name);
  const candidates = prefer ?? [Math.PI, (3 * Math.PI) / 4, -(3 * Math.PI) / 4, Math.PI / 2, -Math.PI / 2, Math.PI / 4, -Math.PI / 4];
  let best = candidates[0], bestScore = -Infinity;
  candidates.forEach((phi, rank) => {
    const ex = p[0] + BOWL_RIM * Math.cos(phi), ey = p[1] + BOWL_RIM * Math.sin(phi);
    const u = [Math.cos(phi), Math.sin(phi)];
    let clearance = Infinity;
    for (const [other, o] of Object.entries(c.priv.objects)) {
      if (other === name) continue;
      const kind = c.kinds.get(other);
      if (!kind) continue;
      const dx = o.pos[0] - ex, dy = o.pos[1] - ey;
      // distance from the other object's centre to the hand rectangle, minus its radius
      const along = Math.abs(dx * u[0] + dy * u[1]), across = Math.abs(-dx * u[1] + dy * u[0]);
      const gap = Math.hypot(Math.max(0, along - 0.09), Math.max(0, across - 0.03));
      let r = FOOTPRINT[kind];
      if (kind === 'wooden_cabinet') continue; // below, with the hand's footprint
      if (r === undefined) continue;
      // objects lying lower than the bowl's rim (a plate under it) do not block the hand
      if (kind === 'plate' && Math.abs(o.pos[2] - p[2]) > 0.015) r = 0;
      clearance = Math.min(clearance, gap - r);
    }
    clearance = Math.min(clearance, handClearance(c, ex, ey, phi));
    const score = Math.min(clearance, 0.06) - rank * 0.001; // enough room: prefer the earlier (reachable) candidates
    if (score > bestScore) (bestScore = score), (best = phi);
  });
  return best;
}

/** Pick an object: hover, descend, close, lift to `liftZ`; retried when the hand comes up empty. */
function* pick(c: Ctl, name: string, liftZ: number, retries: number, preferYaw?: number[], slideOut?: [number, number]): Gen {
  for (let attempt = 0; attempt <= retries; attempt++) {
    const g = graspPose(c, name, preferYaw);
    const hover: Vec3 = [g.pos[0], g.pos[1], Math.max(g.pos[2] + 0.1, Math.min(liftZ, g.pos[2] + 0.16))];
    // Rise first when low (after a miss, or next to fixtures), then travel at hover height.
    if (c.ee[2] < hover[2] - 0.03) yield* move(c, attempt ? 'regrasp' : 'approach', () => [c.ee[0], c.ee[1], hover[2]], { gripper: OPEN, maxSteps: 20, tol: 0.02 });
    // Travel no lower than where the hand is (a diagonal descent can catch the cabinet's edge).
    const travelZ = Math.max(hover[2], Math.min(c.ee[2], 0.32));
    yield* move(c, attempt ? 'regrasp' : 'approach', () => {
      const t = graspPose(c, name, preferYaw);
      return [t.pos[0], t.pos[1], travelZ];
    }, { yaw: g.yaw, gripper: OPEN, maxSteps: 60, tol: 0.01 });
    yield* move(c, 'descend', () => graspPose(c, name, preferYaw).pos, { yaw: g.yaw, gripper: OPEN, maxSteps: 40, tol: 0.005, speed: 0.6 });
    yield* hold(c, 'grasp', CLOSE, 8);
    if (slideOut) {
      // out from under the cabinet before lifting (the drawer's far half is inside it)
      const e0 = [...c.ee];
      yield* move(c, 'carry', () => [e0[0] + slideOut[0], e0[1] + slideOut[1], e0[2] + 0.004], { gripper: CLOSE, maxSteps: 20, tol: 0.006, speed: 0.5 });
    }
    // Holding is judged by the object rising with the hand (finger contacts flicker in a firm grasp).
    const z0 = c.pos(name)[2], ee0 = c.ee[2];
    const missed = () => c.ee[2] - ee0 > 0.04 && c.pos(name)[2] - z0 < 0.5 * (c.ee[2] - ee0);
    yield* move(c, 'lift', () => [c.ee[0], c.ee[1], liftZ], { gripper: CLOSE, maxSteps: 40, tol: 0.015, speed: 0.7, until: missed });
    if (!missed() && c.pos(name)[2] - z0 > 0.5 * (c.ee[2] - ee0)) return true;
    yield* hold(c, 'release', OPEN, 4);
  }
  return false;
}

/**
 * Carry the held object over `target()` (its desired centre xy) at `carryZ`, lower it until its bottom is
 * `dropGap` above `surfaceZ`, open, and rise. The object's offset from the ee is measured live.
 */
function* place(c: Ctl, name: string, target: () => [number, number], surfaceZ: number, carryBottom: number, opts: { dropGap?: number; yaw?: number; rimAngles?: number[] } = {}): Gen {
  const s = SHAPES[c.kinds.get(name)!];
  const offset = () => {
    const p = c.pos(name);
    return [c.ee[0] - p[0], c.ee[1] - p[1], c.ee[2] - (p[2] - s.hh)]; // ee relative to the object's bottom centre
  };
  const o0 = offset();
  const carryZ = Math.min(0.55, Math.max(carryBottom + o0[2], c.ee[2])); // never back down before the carry
  const yaw = opts.yaw ?? (s.shape === 'bowl' ? bowlCarryYaw(c, name, target(), opts.rimAngles) : c.curYaw);
  yield* move(c, 'lift', () => [c.ee[0], c.ee[1], carryZ], { yaw: c.curYaw, gripper: CLOSE, maxSteps: 30, tol: 0.02 });
  // The object's offset from the ee as grasped, turned with the hand (a bowl held by its rim swings
  // round when the hand turns); not re-measured live, so a tilting object cannot drag the target away.
  const yaw0 = c.curYaw;
  const over = (z: number) => () => {
    const t = target(), d = c.curYaw - yaw0;
    const ox = Math.cos(d) * o0[0] - Math.sin(d) * o0[1], oy = Math.sin(d) * o0[0] + Math.cos(d) * o0[1];
    return [t[0] + ox, t[1] + oy, z] as Vec3;
  };
  // dropped on the way (the object is no longer where the hand holds it): give up, the plan retries
  const dropped = () => {
    const o = offset();
    return Math.hypot(o[0], o[1]) > Math.hypot(o0[0], o0[1]) + 0.04 || Math.abs(o[2] - o0[2]) > 0.04;
  };
  yield* move(c, 'carry', over(carryZ), { yaw, gripper: CLOSE, maxSteps: 80, tol: 0.008, until: dropped });
  if (dropped()) return false;
  const releaseZ = surfaceZ + (opts.dropGap ?? 0.012) + offset()[2];
  yield* move(c, 'lower', over(releaseZ), { yaw, gripper: CLOSE, maxSteps: 40, tol: 0.006, speed: 0.5, until: dropped });
  if (dropped()) return false;
  yield* hold(c, 'release', OPEN, 6);
  yield* move(c, 'retreat', () => [c.ee[0], c.ee[1], Math.min(0.5, c.ee[2] + 0.08)], { gripper: OPEN, maxSteps: 12, tol: 0.02 });
  return true;
}

const wrap = (a: number) => Math.atan2(Math.sin(a), Math.cos(a));

/**
 * Hand yaw for carrying a bowl held by its rim to `target`: the bowl turns with the hand, so choose the
 * rim side (from the bowl's centre to the ee) at the target that keeps the hand's footprint clear of
 * the cabinet, with the smallest turn; candidates default to the robot's side first.
 */
function bowlCarryYaw(c: Ctl, name: string, target: [number, number], candidates?: number[]): number {
  const p = c.pos(name);
  const phiNow = Math.atan2(c.ee[1] - p[1], c.ee[0] - p[0]);
  const cabinets = [...c.kinds].filter(([, k]) => k === 'wooden_cabinet').map(([n]) => c.pos(n));
  let best = c.curYaw, bestScore = -Infinity;
  for (const phi of candidates ?? [Math.PI, (3 * Math.PI) / 4, -(3 * Math.PI) / 4, Math.PI / 2, -Math.PI / 2, phiNow]) {
    const ex = target[0] + BOWL_RIM * Math.cos(phi), ey = target[1] + BOWL_RIM * Math.sin(phi);
    const ax = 0.09 * Math.abs(Math.cos(phi)) + 0.03 * Math.abs(Math.sin(phi)), ay = 0.09 * Math.abs(Math.sin(phi)) + 0.03 * Math.abs(Math.cos(phi));
    let clear = 0.05;
    for (const q of cabinets) {
      const gx = Math.abs(ex - q[0]) - CABINET.hx - ax, gy = Math.abs(ey - q[1]) - CABINET.hy - ay;
      clear = Math.min(clear, Math.max(gx, gy));
    }
    const turn = wrap(phi - phiNow);
    const score = Math.min(clear, 0.03) * 100 - Math.abs(turn) * 0.1;
    if (score > bestScore) (bestScore = score), (best = c.curYaw + turn);
  }
  return best;
}

/** Hook the closed fingers behind a drawer's handle and pull it open to `amount` metres. */
function* openDrawer(c: Ctl, fixture: string, part: string, amount: number): Gen {
  const joint = `${fixture}_${part}_slide`;
  const handle = (q: number): Vec3 => {
    const p = c.pos(fixture), yaw = c.yaw(fixture);
    // between the handle bar and the drawer front, in the cabinet frame: x = −hx − q − 0.019
    const lx = -CABINET.hx - q - 0.019;
    return [p[0] + Math.cos(yaw) * lx, p[1] + Math.sin(yaw) * lx, p[2] + drawerLocalZ(part) + 0.004];
  };
  const yaw = nearestYaw(c.yaw(fixture) + Math.PI / 2, c.curYaw); // finger pads' thin side along the pull
  const start = handle(c.joint(joint));
  yield* move(c, 'approach', () => [start[0], start[1], start[2] + 0.12], { yaw, gripper: CLOSE, maxSteps: 60, tol: 0.01 });
  yield* move(c, 'descend', () => handle(c.joint(joint)), { yaw, gripper: CLOSE, maxSteps: 40, tol: 0.005, speed: 0.6 });
  yield* move(c, 'pull', () => handle(amount + 0.01), { yaw, gripper: CLOSE, maxSteps: 60, tol: 0.005, speed: 0.4, until: () => c.joint(joint) >= amount });
  yield* move(c, 'retreat', () => [c.ee[0] - 0.01, c.ee[1], start[2] + 0.1], { yaw, gripper: CLOSE, maxSteps: 20, tol: 0.015 });
  return true;
}

/**
 * Gripper pointing along the world direction `dir` (horizontal) with its finger axis vertical: for a
 * drawer whose handle has another drawer's handle right above it, where a top-down hand does not fit.
 */
function forwardMat(yaw: number): number[] {
  const z = [Math.cos(yaw), Math.sin(yaw), 0];
  const y = [0, 0, 1];
  const x = [y[1] * z[2] - y[2] * z[1], y[2] * z[0] - y[0] * z[2], y[0] * z[1] - y[1] * z[0]];
  return [x[0], y[0], z[0], x[1], y[1], z[1], x[2], y[2], z[2]];
}

/** Pinch a lower drawer's handle bar with a horizontal gripper and pull it open to `amount` metres. */
function* openLowerDrawer(c: Ctl, fixture: string, part: string, amount: number): Gen {
  const joint = `${fixture}_${part}_slide`;
  const yaw = c.yaw(fixture);
  const mat = forwardMat(yaw); // pointing +x of the cabinet (into its front)
  const bar = (q: number, back: number): Vec3 => {
    const p = c.pos(fixture);
    const lx = -CABINET.hx - 0.046 - q + 0.004 - back; // ee just past the bar's middle
    return [p[0] + Math.cos(yaw) * lx, p[1] + Math.sin(yaw) * lx, p[2] + drawerLocalZ(part)];
  };
  yield* move(c, 'approach', () => bar(c.joint(joint), 0.16), { mat, gripper: OPEN, maxSteps: 60, tol: 0.01 });
  yield* move(c, 'approach', () => bar(c.joint(joint), 0), { mat, gripper: OPEN, maxSteps: 40, tol: 0.005, speed: 0.5 });
  yield* hold(c, 'grasp', CLOSE, 6);
  yield* move(c, 'pull', () => bar(amount + 0.01, 0), { mat, gripper: CLOSE, maxSteps: 60, tol: 0.005, speed: 0.4, until: () => c.joint(joint) >= amount });
  yield* hold(c, 'release', OPEN, 4);
  yield* move(c, 'retreat', () => bar(c.joint(joint), 0.1), { mat, gripper: OPEN, maxSteps: 20, tol: 0.015 });
  return true;
}

/** Push the stove knob's lever over (towards −y) until it reads on. */
function* turnKnob(c: Ctl, fixture: string): Gen {
  const joint = `${fixture}_knob_hinge`;
  const knob = (): Vec3 => {
    const p = c.pos(fixture);
    return [p[0] - 0.085, p[1] + 0.1, p[2] + 0.012];
  };
  const k = knob();
  yield* move(c, 'approach', () => [k[0], k[1] + 0.05, k[2] + 0.15], { gripper: CLOSE, maxSteps: 60, tol: 0.01 });
  yield* move(c, 'descend', () => [k[0], k[1] + 0.05, k[2] + 0.045], { gripper: CLOSE, maxSteps: 40, tol: 0.006, speed: 0.6 });
  yield* move(c, 'turn', () => [k[0], k[1] - 0.07, k[2] + 0.045], { gripper: CLOSE, maxSteps: 40, tol: 0.006, speed: 0.4, until: () => c.joint(joint) >= 0.75 });
  yield* move(c, 'retreat', () => [c.ee[0], c.ee[1], k[2] + 0.15], { gripper: CLOSE, maxSteps: 20, tol: 0.02 });
  return true;
}

/** Half sizes of the fixtures' footprints that a pushed object must go around (sim/objects.ts). */
const FIXTURE_HALF: Record<string, [number, number]> = { stove: [0.11, 0.13], flat_stove: [0.11, 0.13], wooden_cabinet: [CABINET.hx, CABINET.hy], wine_rack: [0.07, 0.1] };

/**
 * Push a flat object to `goal`, around fixtures: when the straight line would drag it across a fixture's
 * footprint (grown by the object's radius), first push it along x to the goal's x, then along y.
 */
function* pushAround(c: Ctl, name: string, goalOf: () => [number, number], radius: number, tol: number): Gen {
  const p = c.pos(name);
  const goal = goalOf();
  const blocked = [...c.kinds].some(([fixture, kind]) => {
    const half = FIXTURE_HALF[kind];
    if (!half) return false;
    const f = c.pos(fixture);
    for (let k = 0; k <= 20; k++) {
      const x = p[0] + ((goal[0] - p[0]) * k) / 20, y = p[1] + ((goal[1] - p[1]) * k) / 20;
      if (Math.abs(x - f[0]) < half[0] + radius && Math.abs(y - f[1]) < half[1] + radius) return true;
    }
    return false;
  });
  // first along x only (the goal follows the disc's y), then straight to the goal
  if (blocked) yield* pushTo(c, name, () => [goal[0], c.pos(name)[1]], radius, 0.02);
  return yield* pushTo(c, name, goalOf, radius, tol);
}

/**
 * Push a flat disc (the plate) along the table until its centre is within tol of goal (xy). The open
 * gripper, its finger axis across the push, cups the rim between its two fingers: a two-point push that
 * keeps the disc centred on the push line. Re-approaches from behind when the disc turns off the line.
 */
function* pushTo(c: Ctl, name: string, goalOf: () => [number, number], radius: number, tol = 0.012): Gen {
  const zPush = 0.015, zUp = 0.06;
  const cup = Math.sqrt(radius * radius - 0.045 * 0.045); // ee behind the centre with both fingers on the rim
  for (let round = 0; round < 30; round++) {
    const p = c.pos(name);
    let goal = goalOf();
    const d = [goal[0] - p[0], goal[1] - p[1]];
    const dist = Math.hypot(d[0], d[1]);
    if (dist < tol) return true;
    const u = [d[0] / dist, d[1] / dist];
    const yaw = nearestYaw(Math.atan2(u[1], u[0]) + Math.PI / 2, c.curYaw); // fingers across the push
    const behind = (back: number, z: number): Vec3 => {
      const q = c.pos(name);
      return [q[0] - u[0] * (cup + back), q[1] - u[1] * (cup + back), z];
    };
    const b0 = behind(0.035, zPush);
    if (Math.hypot(c.ee[0] - b0[0], c.ee[1] - b0[1]) > 0.02 || c.ee[2] > zPush + 0.02) {
      const stage = round ? 'regrasp' : 'approach';
      if (c.ee[2] < zUp - 0.01) yield* move(c, stage, () => [c.ee[0], c.ee[1], zUp], { gripper: OPEN, maxSteps: 10, tol: 0.015 });
      yield* move(c, stage, () => behind(0.035, zUp), { yaw, gripper: OPEN, maxSteps: 50, tol: 0.01 });
      yield* move(c, 'descend', () => behind(0.035, zPush), { yaw, gripper: OPEN, maxSteps: 20, tol: 0.006, speed: 0.6 });
    }
    c.stage = 'push';
    c.gripper = OPEN;
    let still = 0, last = [...c.ee];
    for (let i = 0; i < 100; i++) {
      const q = c.pos(name);
      goal = goalOf();
      const e = [goal[0] - q[0], goal[1] - q[1]];
      // blocked (the hand does not move): lift and come again
      still = Math.hypot(c.ee[0] - last[0], c.ee[1] - last[1]) < 0.002 ? still + 1 : 0;
      last = [...c.ee];
      if (still > 6) break;
      const rem = Math.hypot(e[0], e[1]);
      if (rem < tol) return true;
      const v = [e[0] / rem, e[1] / rem];
      if (v[0] * u[0] + v[1] * u[1] < 0.8) break; // the disc turned off the line: push again from behind
      // follow the point behind the disc's centre, advancing along the line
      const adv = Math.min(0.025, 0.4 * rem + 0.004); // slow down near the goal: a pushed plate slides on
      const t = [q[0] - v[0] * cup + u[0] * adv, q[1] - v[1] * cup + u[1] * adv, zPush];
      const err = [t[0] - c.ee[0], t[1] - c.ee[1], t[2] - c.ee[2]];
      const r = rotationError(downMat(yaw), c.priv.eeMat);
      yield [...err.map((x) => clip(x / 0.05)), ...r.map((x) => clip(x / 0.5)), OPEN];
    }
  }
  return false;
}

/** The plan for a task, from its goal predicates. */
function* plan(c: Ctl, retries: number, rounds: number): Gen {
  const goal = c.task.goal;
  const holds = (p: Predicate) => c.priv.goal.find((g) => g.predicate === describePredicate(p))?.value === true;
  // Drawers first (a bowl goes into an open drawer), then the rest in the task's order; a predicate
  // that does not hold afterwards (a placement that bounced, a drawer pushed back) gets another round.
  const ordered = [...goal.filter((p) => p.op === 'Open'), ...goal.filter((p) => p.op !== 'Open')];
  for (let round = 0; round < rounds; round++) {
    for (const p of ordered) {
      if (holds(p)) continue;
      switch (p.op) {
        case 'Open': {
          const inside = goal.some((q) => q.op === 'In' && q.part === p.part);
          if (p.part === 'top') yield* openDrawer(c, p.fixture, p.part, inside ? 0.15 : 0.12);
          else yield* openLowerDrawer(c, p.fixture, p.part, 0.12);
          break;
        }
        case 'TurnOn':
          yield* turnKnob(c, p.fixture);
          break;
        case 'OnRegion': {
          // The goal's x follows the plate within the region (less travel, and the hand never has to
          // get between the plate and the robot's base), kept a plate radius clear of the stove.
          const region = p.region, a = p.a;
          const goalX = () => Math.max(region.x - region.hx + 0.025, Math.min(region.x - 0.015, c.pos(a)[0]));
          yield* pushAround(c, a, () => [goalX(), region.y], 0.085, 0.025);
          break;
        }
        case 'On':
        case 'In':
          if (yield* pickAndPlace(c, p, retries)) yield* hold(c, 'retreat', OPEN, 2);
          break;
        default:
          throw new LabError('INVALID_INPUT', `scripted expert: no plan for predicate ${p.op}`, { predicate: p.op });
      }
    }
    if (goal.every(holds)) break;
  }
  return true;
}

/** Is the object in a cabinet's drawer (in front of or inside the cabinet, above the table)? */
function inOpenDrawer(c: Ctl, name: string): { yaw: number } | null {
  const p = c.pos(name);
  for (const [other, kind] of c.kinds) {
    if (kind !== 'wooden_cabinet') continue;
    const q = c.pos(other), yaw = c.yaw(other);
    const dx = p[0] - q[0], dy = p[1] - q[1];
    const lx = Math.cos(yaw) * dx + Math.sin(yaw) * dy, ly = -Math.sin(yaw) * dx + Math.cos(yaw) * dy;
    if (Math.abs(ly) < CABINET.hy && lx < CABINET.hx && lx > -CABINET.hx - CABINET.drawerTravel && p[2] > 0.05 && p[2] < q[2] + CABINET.hz) return { yaw };
  }
  return null;
}

/** Place targets: where the object's centre goes (xy), the support's surface height, how high to carry. */
function* pickAndPlace(c: Ctl, p: Extract<Predicate, { op: 'On' | 'In' }>, retries: number): Gen {
  const support = p.b;
  const kind = c.kinds.get(support)!;
  const heldKind = c.kinds.get(p.a)!;
  let target: () => [number, number];
  let surface: () => number;
  let preferYaw: number[] | undefined;
  let dropGap = 0.012;
  const centre = (): [number, number] => {
    const q = c.pos(support);
    return [q[0], q[1]];
  };
  if (p.op === 'In' && p.part) {
    // into an open drawer: its floor, the drawer's centre pulled out; grasp a bowl from the side so the
    // hand stays clear of the cabinet
    const part = p.part;
    target = () => {
      const q = c.pos(support), yaw = c.yaw(support), open = c.joint(`${support}_${part}_slide`);
      const lx = -open - 0.01;
      return [q[0] + Math.cos(yaw) * lx, q[1] + Math.sin(yaw) * lx];
    };
    surface = () => c.pos(support)[2] + drawerLocalZ(part) - (2 * CABINET.hz - 0.016) / 6 + 0.016;
    preferYaw = [Math.PI / 2, -Math.PI / 2];
  } else {
    target = centre;
    if (kind === 'wooden_cabinet') {
      // the cabinet top is at the edge of the arm's reach: use its corner nearest the robot, inset by
      // the held object's footprint
      const inset = (FOOTPRINT[heldKind] ?? 0.05) + 0.01;
      target = () => {
        const q = c.pos(support);
        const nx = Math.max(q[0] - CABINET.hx + inset, Math.min(q[0] + CABINET.hx - inset, ROBOT_BASE_XY[0]));
        const ny = Math.max(q[1] - CABINET.hy + inset, Math.min(q[1] + CABINET.hy - inset, ROBOT_BASE_XY[1]));
        return [nx, ny];
      };
    }
    const top: Record<string, number> = { basket: -0.04 + 0.01, plate: 0.006, wooden_cabinet: CABINET.hz, stove: 0.014, flat_stove: 0.014, wine_rack: 0.01, black_bowl: -0.022 + 0.008, cookie_box: 0.02, ramekin: 0.022 };
    if (top[kind] === undefined) throw new LabError('INVALID_INPUT', `scripted expert: cannot place on '${kind}'`, { support, kind });
    surface = () => c.pos(support)[2] + top[kind];
    if (heldKind === 'black_bowl') dropGap = 0.004; // set a bowl down: opening the fingers kicks a dropped one
    if (kind === 'basket') dropGap = 0.03;
    if (kind === 'black_bowl') dropGap = 0.02;
  }
  const high = kind === 'wooden_cabinet' || (p.op === 'In' && p.part) ? 0.27 : kind === 'basket' ? 0.13 : 0.1;
  const carryBottom = Math.max(surface() + 0.06, high);
  const liftZ = Math.min(0.5, Math.max(0.2, c.pos(p.a)[2] + 0.15));
  // A bowl inside an open drawer is pinched from the side, so the hand clears the drawer's front wall.
  const drawer = inOpenDrawer(c, p.a);
  const fromDrawer = drawer ? [Math.PI / 2, -Math.PI / 2] : undefined;
  const slide: [number, number] | undefined = drawer ? [-Math.cos(drawer.yaw) * 0.08, -Math.sin(drawer.yaw) * 0.08] : undefined;
  const ok = yield* pick(c, p.a, liftZ, retries, heldKind === 'black_bowl' ? fromDrawer : undefined, slide);
  if (!ok) return false;
  return yield* place(c, p.a, target, surface(), carryBottom, { dropGap, rimAngles: preferYaw });
}

/** Stages of a (re)attempt that has not touched anything yet: dropped once the whole goal already holds. */
const ATTEMPT_STAGES = new Set(['approach', 'regrasp', 'descend', 'grasp']);

/** The goal is reached: open the hand, rise clear, then rest (stage `done`). */
function* finish(c: Ctl): Gen {
  yield* move(c, 'retreat', () => [c.ee[0], c.ee[1], Math.min(0.5, c.ee[2] + 0.08)], { gripper: OPEN, maxSteps: 12, tol: 0.02 });
  return true;
}

export class ScriptedExpert implements Policy {
  readonly name = 'scripted-expert';
  private ctl: Ctl | null = null;
  private gen: Gen | null = null;
  private finished = false;
  private finishing = false;
  private readonly retries: number;
  private readonly rounds: number;

  constructor(opts: ExpertOptions = {}) {
    this.retries = opts.retries ?? 2;
    this.rounds = opts.rounds ?? 3;
    for (const [field, v, lo] of [['retries', this.retries, 0], ['rounds', this.rounds, 1]] as const) {
      if (!Number.isInteger(v) || v < lo || v > 10) throw new LabError('INVALID_INPUT', `scripted expert: ${field} must be an integer in ${lo}..10, got ${v}`, { field, value: v });
    }
  }

  /** The stage of the last action returned (phases/ DEFAULT_STAGE_MAP names). */
  get teacherStage(): string | undefined {
    return this.ctl ? (this.finished ? 'done' : this.ctl.stage) : undefined;
  }

  async reset(ctx: PolicyContext): Promise<void> {
    this.ctl = new Ctl(getTask(ctx.suite, ctx.taskIndex));
    this.gen = plan(this.ctl, this.retries, this.rounds);
    this.finished = false;
    this.finishing = false;
  }

  /** One action from the privileged state (the `sim` field of the observation's privileged facts). */
  actPrivileged(priv: PrivilegedState): Float32Array {
    const c = this.ctl;
    if (!c || !this.gen) throw new LabError('CONFLICT', 'scripted expert: call reset() first', {});
    c.priv = priv;
    // A retry decided before a dropped object landed on its goal (the goal now holds, the hand is empty):
    // no new attempt on a finished task, the expert retreats instead. The whole goal only holds at success,
    // so this changes nothing before it (collection stops there unless it records a tail).
    if (!this.finished && !this.finishing && priv.objectInHand === null && ATTEMPT_STAGES.has(c.stage) && priv.goal.length > 0 && priv.goal.every((g) => g.value)) {
      this.gen = finish(c);
      this.finishing = true;
    }
    if (!this.finished) {
      const r = this.gen.next();
      if (!r.done) return Float32Array.from(r.value);
      this.finished = true;
    }
    return Float32Array.of(0, 0, 0, 0, 0, 0, c.gripper);
  }

  async act(obs: Observation): Promise<Float32Array> {
    const priv = (obs.privileged as { sim?: PrivilegedState } | undefined)?.sim;
    if (!priv) throw new LabError('INVALID_INPUT', 'scripted expert: the observation has no privileged simulator state (it drives the built-in simulator only)', { field: 'privileged.sim' });
    return this.actPrivileged(priv);
  }
}
