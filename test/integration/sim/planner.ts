import type { SimEnv, SimStepResult } from '../../../electron/engine/sim/env.js';
import { castEntry } from '../../../electron/engine/sim/objects.js';
import { hold, moveTo, nearestYaw, objectYaw } from './scripted.js';

/**
 * A test-only pick-and-place planner for the object suite ("pick up the X and place it in the basket"),
 * acting only through 7-D delta actions and reading the privileged state, to show the tasks are
 * solvable with this robot, controller and physics.
 */
export function solveObjectTask(env: SimEnv, target: string): SimStepResult | null {
  const sim = env.simulation;
  const kind = sim.objects.get(target)!.kind;
  const hh = castEntry(kind).halfHeight;
  const p = sim.objectPose(target);
  const yaw = nearestYaw(env, objectYaw(p.quat) + Math.PI / 2); // fingers across the item's narrow side
  const graspZ = p.pos[2] - hh + Math.max(hh, 2 * hh - 0.035); // centre of short items, near the top of tall ones
  const done = (r: SimStepResult | null) => r !== null && r.done;
  let r = moveTo(env, [p.pos[0], p.pos[1], 0.25], { yaw, gripper: -1, maxSteps: 40, tol: 0.01 });
  if (done(r)) return r;
  r = moveTo(env, [p.pos[0], p.pos[1], graspZ + 0.06], { yaw, gripper: -1, maxSteps: 30, tol: 0.008 });
  if (done(r)) return r;
  r = moveTo(env, [p.pos[0], p.pos[1], graspZ], { yaw, gripper: -1, maxSteps: 30, tol: 0.005, gain: 0.6 });
  if (done(r)) return r;
  r = hold(env, 1, 8);
  if (done(r)) return r;
  r = moveTo(env, [p.pos[0], p.pos[1], 0.27], { gripper: 1, maxSteps: 40, tol: 0.01 });
  if (done(r)) return r;
  const b = sim.objectPose('basket').pos;
  r = moveTo(env, [b[0], b[1], 0.27], { gripper: 1, maxSteps: 50, tol: 0.01 });
  if (done(r)) return r;
  r = moveTo(env, [b[0], b[1], 0.1 + (graspZ - (p.pos[2] - hh))], { gripper: 1, maxSteps: 40, tol: 0.01 });
  if (done(r)) return r;
  r = hold(env, -1, 30);
  return r;
}

type Step = () => SimStepResult | null;

/** Run steps until one ends the episode; returns the last result. */
function run(steps: Step[]): { r: SimStepResult | null; ended: boolean } {
  let r: SimStepResult | null = null;
  for (const s of steps) {
    const x = s();
    if (x) r = x;
    if (r?.done) return { r, ended: true };
  }
  return { r, ended: false };
}

/**
 * Pinch a bowl's rim on the side facing the robot and lift it to a carrying height. In the cabinet's
 * drawer the front panel is in the way: pinch the side facing the table centre instead, and slide the
 * bowl out of the drawer before lifting it (the cabinet top is just above).
 */
function pickBowl(env: SimEnv, name: string): { r: SimStepResult | null; ended: boolean } {
  const bowl = env.simulation.objectPose(name).pos;
  const inDrawer = bowl[1] > 0.25 && bowl[2] > 0.1 && bowl[0] < -0.05;
  const ang = inDrawer ? -Math.PI / 2 : Math.atan2(0 - bowl[1], -0.5 - bowl[0]);
  const rim = [bowl[0] + 0.055 * Math.cos(ang), bowl[1] + 0.055 * Math.sin(ang)];
  const yaw = nearestYaw(env, ang);
  const rimTop = bowl[2] + 0.022;
  const back = inDrawer ? 0.08 : 0;
  return run([
    () => moveTo(env, [rim[0], rim[1], Math.max(0.3, rimTop + 0.1)], { yaw, gripper: -1, maxSteps: 40, tol: 0.01 }),
    () => moveTo(env, [rim[0], rim[1], rimTop + 0.04], { yaw, gripper: -1, maxSteps: 30, tol: 0.006 }),
    () => moveTo(env, [rim[0], rim[1], rimTop - 0.012], { yaw, gripper: -1, maxSteps: 30, tol: 0.004, gain: 0.6 }),
    () => hold(env, 1, 8),
    () => (inDrawer ? moveTo(env, [rim[0] - back, rim[1], rimTop - 0.008], { gripper: 1, maxSteps: 30, tol: 0.006, gain: 0.5 }) : null),
    () => moveTo(env, [rim[0] - back, rim[1], Math.max(0.3, rimTop + 0.1)], { gripper: 1, maxSteps: 40, tol: 0.01 }),
  ]);
}

/** Pick a grocery-like item (fingers across its narrow side; centre of short items, near the top of tall ones). */
function pickItem(env: SimEnv, name: string, carryZ = 0.27): { r: SimStepResult | null; ended: boolean } {
  const sim = env.simulation;
  const p = sim.objectPose(name);
  const hh = castEntry(sim.objects.get(name)!.kind).halfHeight;
  const yaw = nearestYaw(env, objectYaw(p.quat) + Math.PI / 2);
  const graspZ = p.pos[2] - hh + Math.max(hh, 2 * hh - 0.035);
  return run([
    () => moveTo(env, [p.pos[0], p.pos[1], carryZ], { yaw, gripper: -1, maxSteps: 40, tol: 0.01 }),
    () => moveTo(env, [p.pos[0], p.pos[1], graspZ + 0.06], { yaw, gripper: -1, maxSteps: 30, tol: 0.008 }),
    () => moveTo(env, [p.pos[0], p.pos[1], graspZ], { yaw, gripper: -1, maxSteps: 30, tol: 0.005, gain: 0.6 }),
    () => hold(env, 1, 8),
    () => moveTo(env, [p.pos[0], p.pos[1], carryZ], { gripper: 1, maxSteps: 40, tol: 0.01 }),
  ]);
}

/**
 * Carry the held object so its centre ends over (x, y), lower it until its bottom is `clearance` above
 * `supportZ`, release, and back off upwards.
 */
function placeHeld(env: SimEnv, name: string, x: number, y: number, supportZ: number, carryZ: number, clearance = 0.01): { r: SimStepResult | null; ended: boolean } {
  const sim = env.simulation;
  const hh = castEntry(sim.objects.get(name)!.kind).halfHeight;
  const o = sim.objectPose(name).pos, ee = env.privileged().eePos;
  const off = [o[0] - ee[0], o[1] - ee[1]];
  const eeAboveBottom = ee[2] - (o[2] - hh);
  const over = [x - off[0], y - off[1]];
  return run([
    () => moveTo(env, [over[0], over[1], carryZ], { gripper: 1, maxSteps: 50, tol: 0.008 }),
    () => moveTo(env, [over[0], over[1], supportZ + clearance + eeAboveBottom], { gripper: 1, maxSteps: 40, tol: 0.005 }),
    () => hold(env, -1, 12),
    () => moveTo(env, [over[0], over[1], carryZ], { gripper: -1, maxSteps: 30, tol: 0.01 }),
    () => hold(env, -1, 10),
  ]);
}

/** Spatial suite ("pick up the black bowl … and place it on the plate"). */
export function solveSpatialTask(env: SimEnv): SimStepResult | null {
  const a = pickBowl(env, 'black_bowl_1');
  if (a.ended) return a.r;
  const plate = env.simulation.objectPose('plate').pos;
  return placeHeld(env, 'black_bowl_1', plate[0], plate[1], plate[2] + 0.006, 0.3).r ?? a.r;
}

/**
 * Goal suite: bowl on the stove / cabinet / plate, wine bottle on the cabinet / rack, cream cheese in the
 * bowl, the knob, the plate push, the top drawer + bowl, and the middle drawer (horizontal approach).
 */
export function solveGoalTask(env: SimEnv, index: number): SimStepResult | null | 'unsupported' {
  const sim = env.simulation;
  const at = (n: string) => sim.objectPose(n).pos;
  const bowlTo = (x: number, y: number, z: number) => {
    const a = pickBowl(env, 'bowl');
    return a.ended ? a.r : placeHeld(env, 'bowl', x, y, z, 0.36).r;
  };
  const bottleTo = (x: number, y: number, z: number) => {
    const a = pickItem(env, 'wine_bottle', 0.45);
    return a.ended ? a.r : placeHeld(env, 'wine_bottle', x, y, z, 0.45, 0.015).r;
  };
  switch (index) {
    case 1: return bowlTo(at('stove')[0], at('stove')[1], 0.027);
    case 2: return bottleTo(at('cabinet')[0], at('cabinet')[1] - 0.03, 0.24);
    case 4: return bowlTo(at('cabinet')[0], at('cabinet')[1] - 0.03, 0.24);
    case 6: {
      const a = pickItem(env, 'cream_cheese', 0.3);
      const b = at('bowl');
      return a.ended ? a.r : placeHeld(env, 'cream_cheese', b[0], b[1], b[2] - 0.022 + 0.008, 0.3, 0.02).r;
    }
    case 7: {
      const k = sim.objectPose('stove').pos;
      const knob = [k[0] - 0.085, k[1] + 0.1, k[2] + 0.012];
      return run([
        () => moveTo(env, [knob[0], knob[1] + 0.05, knob[2] + 0.15], { gripper: 1, maxSteps: 60 }),
        () => moveTo(env, [knob[0], knob[1] + 0.05, knob[2] + 0.045], { gripper: 1, maxSteps: 40 }),
        () => moveTo(env, [knob[0], knob[1] - 0.06, knob[2] + 0.045], { gripper: 1, maxSteps: 40, gain: 0.4 }),
        () => hold(env, 1, 5),
      ]).r;
    }
    case 8: return bowlTo(at('plate')[0], at('plate')[1], at('plate')[2] + 0.006);
    case 3: {
      // Hook the top drawer's handle from above with the closed gripper and pull; then the bowl goes into
      // the exposed front part of the drawer.
      const drawer = sim.mj.mj_name2id(sim.model, sim.mj.mjtObj.mjOBJ_BODY.value, 'cabinet_top');
      const d = Array.from((sim.data.xpos as Float64Array).subarray(3 * drawer, 3 * drawer + 3));
      const hookX = d[0] - 0.11 - 0.019;
      const yaw = nearestYaw(env, Math.PI / 2);
      const a = run([
        () => moveTo(env, [hookX, d[1], d[2] + 0.12], { yaw, gripper: 1, maxSteps: 60 }),
        () => moveTo(env, [hookX, d[1], d[2] + 0.004], { yaw, gripper: 1, maxSteps: 40, tol: 0.004 }),
        () => moveTo(env, [hookX - 0.15, d[1], d[2] + 0.004], { yaw, gripper: 1, maxSteps: 60, gain: 0.4 }),
        () => moveTo(env, [hookX - 0.15, d[1], d[2] + 0.15], { yaw, gripper: -1, maxSteps: 30 }),
      ]);
      if (a.ended) return a.r;
      const open = sim.jointValue('cabinet_top_slide');
      const floorZ = d[2] - 0.0313 + 0.01;
      const b = pickBowl(env, 'bowl');
      return b.ended ? b.r : placeHeld(env, 'bowl', d[0] - open - 0.04, d[1], floorZ, 0.36).r;
    }
    case 5: {
      // Push the plate with the open fingers (two contacts 8 cm apart) from behind, closed-loop, via a waypoint that keeps it off
      // the stove: first along x to the region's x, then along −y into the region.
      const R = [-0.19, -0.38];
      const p0 = at('plate');
      const waypoints = [[R[0], p0[1]], R];
      let r: SimStepResult | null = null;
      for (const W of waypoints) {
        const p = at('plate');
        const d0 = Math.hypot(W[0] - p[0], W[1] - p[1]);
        if (d0 < 0.02) continue;
        const u0 = [(W[0] - p[0]) / d0, (W[1] - p[1]) / d0];
        const back = 0.085 + 0.025;
        const yaw = nearestYaw(env, Math.atan2(u0[1], u0[0]) + Math.PI / 2);
        const a = run([
          () => moveTo(env, [p[0] - u0[0] * back, p[1] - u0[1] * back, 0.12], { yaw, gripper: -1, maxSteps: 60, tol: 0.01 }),
          () => moveTo(env, [p[0] - u0[0] * back, p[1] - u0[1] * back, 0.011], { yaw, gripper: -1, maxSteps: 40, tol: 0.005 }),
        ]);
        if (a.ended) return a.r;
        for (let i = 0; i < 120; i++) {
          const q = at('plate');
          const dist = Math.hypot(W[0] - q[0], W[1] - q[1]);
          if (dist < 0.015) break;
          const u = [(W[0] - q[0]) / dist, (W[1] - q[1]) / dist];
          const push = Math.min(0.02, dist);
          const goal = [q[0] - u[0] * (0.075 + 0.012 - push), q[1] - u[1] * (0.075 + 0.012 - push), 0.011];
          const ee = env.privileged().eePos;
          const act = [0, 1, 2].map((k) => Math.max(-0.3, Math.min(0.3, (goal[k] - ee[k]) / 0.05)));
          r = env.step([...act, 0, 0, 0, -1]);
          if (r.done) return r;
        }
        const lift = env.privileged().eePos;
        const b = run([() => moveTo(env, [lift[0], lift[1], 0.12], { gripper: -1, maxSteps: 20, tol: 0.01 })]);
        if (b.ended) return b.r;
        r = b.r ?? r;
      }
      return r;
    }
    case 9: return bottleTo(at('wine_rack')[0], at('wine_rack')[1], 0.02);
    case 0: {
      // The middle drawer's handle is under the top one's: approach it horizontally, the gripper pointing
      // at the cabinet (+x) with the fingers opening vertically, pinch the handle bar, and pull.
      const drawer = sim.mj.mj_name2id(sim.model, sim.mj.mjtObj.mjOBJ_BODY.value, 'cabinet_middle');
      const d = Array.from((sim.data.xpos as Float64Array).subarray(3 * drawer, 3 * drawer + 3));
      const barX = d[0] - 0.11 - 0.046;
      const mat = [0, 0, 1, 1, 0, 0, 0, 1, 0]; // columns: x = +y, fingers = +z, approach = +x
      return run([
        () => moveTo(env, [barX - 0.15, d[1] - 0.1, d[2] + 0.1], { mat, gripper: -1, maxSteps: 60, tol: 0.01 }),
        () => moveTo(env, [barX - 0.1, d[1], d[2]], { mat, gripper: -1, maxSteps: 40, tol: 0.006 }),
        () => moveTo(env, [barX + 0.004, d[1], d[2]], { mat, gripper: -1, maxSteps: 40, tol: 0.004, gain: 0.5 }),
        () => hold(env, 1, 8),
        () => moveTo(env, [barX - 0.14, d[1], d[2]], { mat, gripper: 1, maxSteps: 60, tol: 0.006, gain: 0.4 }),
        () => hold(env, 1, 5),
      ]).r;
    }
    default: return 'unsupported';
  }
}
