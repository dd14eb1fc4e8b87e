import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimEnv } from '../../../electron/engine/sim/env.js';
import { loadInitStates, type InitState } from '../../../electron/engine/sim/init.js';
import { getTask } from '../../../electron/engine/sim/suites/index.js';
import { TabletopSim } from '../../../electron/engine/sim/physics.js';
import { drawerJoint, knobJoint, OPEN_AT, ON_AT } from '../../../electron/engine/sim/predicates.js';
import { castEntry } from '../../../electron/engine/sim/objects.js';
import { hold, moveTo, nearestYaw, objectYaw } from './scripted.js';

/** A stored state with every free object except `keep` moved off to the side of the table. */
function isolate(suite: string, task: number, keep: Record<string, InitState['objects'][string]>): InitState {
  const s = structuredClone(loadInitStates(getTask(suite, task)).states[0]);
  let k = 0;
  for (const name of Object.keys(s.objects)) {
    if (keep[name]) s.objects[name] = keep[name];
    else {
      const kind = getTask(suite, task).objects.find((o) => o.name === name)!.kind;
      s.objects[name] = { pos: [0.3, -0.5 + 0.25 * k++, castEntry(kind).halfHeight + 0.001], quat: [1, 0, 0, 0] };
    }
  }
  return s;
}

let env: SimEnv;
beforeAll(async () => {
  env = await SimEnv.create({ renderImages: false });
});
afterAll(() => env.dispose());

describe('physics sanity', () => {
  it('a dropped object comes to rest on the table', async () => {
    const sim = await TabletopSim.create({ objects: [{ name: 'milk', kind: 'milk' }] });
    try {
      sim.reset({ milk: { pos: [0, 0.1, 0.3], quat: [0.96, 0.2, 0.1, 0.05] } });
      expect(sim.settle(2).unstable).toBeNull();
      const z = sim.objectPose('milk').pos[2];
      // it lands on one of its faces: the box's half extents are 0.027 / 0.027 / 0.06
      expect([0.027, 0.06].some((h) => Math.abs(z - h) < 0.004)).toBe(true);
      const v = Array.from(sim.data.qvel as Float64Array).slice(-6);
      expect(Math.hypot(...v)).toBeLessThan(0.02);
    } finally {
      sim.dispose();
    }
  });

  it('a closed gripper lifts a grocery item 10 cm, holds it for 2 s, and opening releases it', async () => {
    const start = { pos: [-0.08, 0.08, 0.061] as [number, number, number], quat: [0.9689, 0, 0, 0.2474] as [number, number, number, number] };
    await env.resetTo('object', 7, isolate('object', 7, { milk: start }));
    const yaw = nearestYaw(env, objectYaw(start.quat));
    moveTo(env, [start.pos[0], start.pos[1], 0.2], { yaw, gripper: -1, maxSteps: 40 });
    moveTo(env, [start.pos[0], start.pos[1], 0.09], { yaw, gripper: -1, maxSteps: 40, tol: 0.004 });
    hold(env, 1, 12);
    expect(env.privileged().objectInHand).toBe('milk');
    const z0 = env.simulation.objectPose('milk').pos[2];
    moveTo(env, [start.pos[0], start.pos[1], 0.19], { yaw, gripper: 1, maxSteps: 40, tol: 0.004 });
    const lifted = env.simulation.objectPose('milk').pos[2];
    expect(lifted - z0).toBeGreaterThan(0.09);
    hold(env, 1, 40); // 2 s at 20 Hz
    const held = env.simulation.objectPose('milk').pos[2];
    expect(Math.abs(held - lifted)).toBeLessThan(0.005);
    expect(env.privileged().objectInHand).toBe('milk');
    hold(env, -1, 25);
    expect(env.privileged().objectInHand).toBeNull();
    expect(env.simulation.objectPose('milk').pos[2]).toBeLessThan(0.07); // fell back to the table
  });

  it("the drawer opens when the gripper pulls its handle", async () => {
    await env.resetTo('goal', 3, isolate('goal', 3, {})); // task 3's goal includes Open(top drawer)
    const sim = env.simulation;
    const drawer = sim.mj.mj_name2id(sim.model, sim.mj.mjtObj.mjOBJ_BODY.value, 'cabinet_top');
    const d = Array.from((sim.data.xpos as Float64Array).subarray(3 * drawer, 3 * drawer + 3));
    const hookX = d[0] - 0.11 - 0.019; // between the handle bar and the drawer front
    const yaw = nearestYaw(env, Math.PI / 2); // finger pads' thin side along x
    moveTo(env, [hookX, d[1], d[2] + 0.12], { yaw, gripper: 1, maxSteps: 60 });
    moveTo(env, [hookX, d[1], d[2] + 0.004], { yaw, gripper: 1, maxSteps: 40, tol: 0.004 });
    expect(sim.jointValue(drawerJoint('cabinet', 'top'))).toBeLessThan(0.01);
    moveTo(env, [hookX - 0.13, d[1], d[2] + 0.004], { yaw, gripper: 1, maxSteps: 60, gain: 0.4 });
    expect(sim.jointValue(drawerJoint('cabinet', 'top'))).toBeGreaterThan(OPEN_AT);
    expect(env.evalGoal()['Open(cabinet.top_drawer)']).toBe(true);
  });

  it('pushing the knob lever turns the stove on', async () => {
    await env.resetTo('goal', 7, isolate('goal', 7, {}));
    const sim = env.simulation;
    expect(env.evalGoal()['TurnOn(stove)']).toBe(false);
    const knob = sim.mj.mj_name2id(sim.model, sim.mj.mjtObj.mjOBJ_BODY.value, 'stove_knob');
    const k = Array.from((sim.data.xpos as Float64Array).subarray(3 * knob, 3 * knob + 3));
    moveTo(env, [k[0], k[1] + 0.05, k[2] + 0.15], { gripper: 1, maxSteps: 60 });
    moveTo(env, [k[0], k[1] + 0.05, k[2] + 0.045], { gripper: 1, maxSteps: 40 });
    // the episode ends with success as soon as the knob passes the threshold
    const r = moveTo(env, [k[0], k[1] - 0.06, k[2] + 0.045], { gripper: 1, maxSteps: 40, gain: 0.4 });
    expect(sim.jointValue(knobJoint('stove'))).toBeGreaterThan(ON_AT);
    expect(r?.info.predicates['TurnOn(stove)']).toBe(true);
    expect(r?.success).toBe(true);
    expect(r?.done).toBe(true);
    expect(r?.info.reason).toBe('success');
    expect(() => env.step([0, 0, 0, 0, 0, 0, 1])).toThrow(/episode has ended/);
  });
});

describe('goal predicates at their thresholds', () => {
  it('On(bowl, plate) holds within 3 cm of the plate centre and not beyond', async () => {
    const results: [number, boolean][] = [];
    for (const off of [0, 0.015, 0.025, 0.035, 0.05]) {
      const plate = { pos: [-0.05, 0, 0.007] as [number, number, number], quat: [1, 0, 0, 0] as [number, number, number, number] };
      const bowl = { pos: [-0.05 + off, 0, 0.012 + 0.022 + 0.002] as [number, number, number], quat: [1, 0, 0, 0] as [number, number, number, number] };
      await env.resetTo('spatial', 2, isolate('spatial', 2, { plate, black_bowl_1: bowl }));
      hold(env, -1, 10);
      const dist = Math.hypot(
        env.simulation.objectPose('black_bowl_1').pos[0] - env.simulation.objectPose('plate').pos[0],
        env.simulation.objectPose('black_bowl_1').pos[1] - env.simulation.objectPose('plate').pos[1],
      );
      results.push([dist, env.evalGoal()['On(black_bowl_1, plate)']]);
    }
    for (const [dist, on] of results) expect(on, `centre distance ${dist.toFixed(4)}`).toBe(dist < 0.03);
    expect(results.map((r) => r[1])).toEqual([true, true, true, false, false]);
  });

  it('In(item, basket) needs containment and contact', async () => {
    const basket = { pos: [0.05, 0, 0.041] as [number, number, number], quat: [1, 0, 0, 0] as [number, number, number, number] };
    const inside = { pos: [0.05, 0.02, 0.01 + 0.018 + 0.003] as [number, number, number], quat: [1, 0, 0, 0] as [number, number, number, number] };
    const outside = { pos: [0.05, 0.2, 0.019] as [number, number, number], quat: [1, 0, 0, 0] as [number, number, number, number] };
    await env.resetTo('object', 1, isolate('object', 1, { basket, cream_cheese: inside }));
    hold(env, -1, 5);
    expect(env.evalGoal()['In(cream_cheese, basket)']).toBe(true);
    await env.resetTo('object', 1, isolate('object', 1, { basket, cream_cheese: outside }));
    hold(env, -1, 5);
    expect(env.evalGoal()['In(cream_cheese, basket)']).toBe(false);
  });
});
