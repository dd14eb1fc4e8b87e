import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { SimEnv, listTasks, SUITES, MAX_STEPS, renderInitialStatePng, renderRandomRolloutFrames } from '../../../electron/engine/sim/index.js';
import { LabError } from '../../../electron/engine/errors.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let env: SimEnv;
beforeAll(async () => {
  env = await SimEnv.create();
});
afterAll(() => env.dispose());

async function code(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    expect(err).toBeInstanceOf(LabError);
    return `${(err as LabError).code}: ${(err as Error).message}`;
  }
  return 'no error';
}

describe('SimEnv API', () => {
  it('lists 10 tasks per suite with LIBERO instructions and horizons', () => {
    for (const s of SUITES) {
      const tasks = listTasks(s);
      expect(tasks).toHaveLength(10);
      for (const t of tasks) {
        expect(t.initStates).toBe(50);
        expect(t.maxSteps).toBe(MAX_STEPS[s]);
        expect(t.goal.length).toBeGreaterThan(0);
      }
    }
    expect(listTasks('object')[3].instruction).toBe('pick up the bbq sauce and place it in the basket');
    expect(listTasks('spatial')[4].instruction).toBe('pick up the black bowl in the top drawer of the wooden cabinet and place it on the plate');
    expect(listTasks('goal')[5].instruction).toBe('push the plate to the front of the stove');
  });

  it('reset returns LIBERO-shaped observations', async () => {
    const obs = await env.reset('spatial', 0, 0);
    expect(obs.agentview_rgb).toHaveLength(128 * 128 * 3);
    expect(obs.eye_in_hand_rgb).toHaveLength(128 * 128 * 3);
    expect(obs.ee_pos).toHaveLength(3);
    expect(obs.ee_ori).toHaveLength(3);
    expect(obs.ee_states).toEqual([...obs.ee_pos, ...obs.ee_ori]);
    expect(obs.gripper_states[0]).toBeCloseTo(0.04, 3); // open
    expect(obs.gripper_states[1]).toBeCloseTo(-0.04, 3);
    expect(obs.joint_states).toHaveLength(7);
    expect(Object.keys(obs.object_states).sort()).toEqual(['black_bowl_1', 'black_bowl_2', 'cookie_box', 'plate', 'ramekin']);
    // the image is not blank: many distinct colours
    const colours = new Set<number>();
    for (let i = 0; i < obs.agentview_rgb.length; i += 3) colours.add((obs.agentview_rgb[i] << 16) | (obs.agentview_rgb[i + 1] << 8) | obs.agentview_rgb[i + 2]);
    expect(colours.size).toBeGreaterThan(20);
    expect(env.task.instruction).toContain('between the plate and the ramekin');
    const r = env.step([0, 0, 0, 0, 0, 0, -1]);
    expect(r.success).toBe(false);
    expect(r.info.predicates['On(black_bowl_1, plate)']).toBe(false);
  });

  it('moves the end-effector by about 0.05 m per step at |a| = 1', async () => {
    await env.reset('object', 0, 0);
    const p0 = env.observe().ee_pos;
    for (let i = 0; i < 4; i++) env.step([0, 0, 1, 0, 0, 0, -1]);
    env.step([0, 0, 0, 0, 0, 0, -1]);
    const p1 = env.observe().ee_pos;
    expect(p1[2] - p0[2]).toBeGreaterThan(0.15);
    expect(p1[2] - p0[2]).toBeLessThan(0.21);
    expect(Math.hypot(p1[0] - p0[0], p1[1] - p0[1])).toBeLessThan(0.01);
  });

  it('is deterministic: same initial state and actions give identical observations', async () => {
    const run = async () => {
      await env.reset('goal', 1, 7);
      let h = '';
      for (let i = 0; i < 15; i++) {
        const r = env.step([0.3 * Math.sin(i), 0.4, -0.2, 0.05, 0, 0.1, i > 8 ? 1 : -1]);
        h = sha(r.obs.agentview_rgb) + sha(r.obs.eye_in_hand_rgb) + JSON.stringify(r.obs.joint_states);
      }
      return h;
    };
    expect(await run()).toBe(await run());
  });

  it('rejects unknown ids, bad indices and non-finite actions; clips and counts out-of-range actions', async () => {
    expect(await code(env.reset('libero_90', 0, 0))).toMatch(/^NOT_FOUND: unknown suite 'libero_90'/);
    expect(await code(env.reset('object', 12, 0))).toMatch(/^NOT_FOUND: unknown task '12'/);
    expect(await code(env.reset('object', 'pick_up_the_spaceship', 0))).toMatch(/pick_up_the_spaceship/);
    expect(await code(env.reset('object', 0, 50))).toMatch(/^INVALID_INPUT: initial state index 50 out of range 0..49/);
    expect(await code(env.reset('object', 0, -1))).toMatch(/^INVALID_INPUT/);
    await env.reset('object', 'pick_up_the_milk_and_place_it_in_the_basket', 0);
    expect(await code(() => env.step([0, 0, Number.NaN, 0, 0, 0, 1]))).toMatch(/^INVALID_INPUT: action\[2\] is not a finite number/);
    expect(await code(() => env.step([0, 0, Infinity, 0, 0, 0, 1]))).toMatch(/^INVALID_INPUT/);
    expect(await code(() => env.step([0, 0, 0]))).toMatch(/^INVALID_INPUT: action must be 7 numbers/);
    const r = env.step([3, 0, -2, 0, 0, 0, 5]);
    expect(r.info.clipped).toBe(3);
    expect(r.info.clippedTotal).toBe(3);
    expect(env.step([0.5, 0, 0, 0, 0, 0, 1]).info.clippedTotal).toBe(3);
  });

  it('ends an unstable episode with reason "unstable" instead of hanging', async () => {
    await env.reset('object', 0, 0);
    const sim = env.simulation;
    // Kick an object with an absurd velocity: the divergence check must catch it.
    const o = sim.objects.get('basket')!;
    const dof = sim.model.jnt_dofadr[sim.mj.mj_name2id(sim.model, sim.mj.mjtObj.mjOBJ_JOINT.value, 'basket_free')];
    sim.data.qvel[dof + 2] = 1e6;
    expect(o.free).toBe(true);
    const r = env.step([0, 0, 0, 0, 0, 0, -1]);
    expect(r.done).toBe(true);
    expect(r.success).toBe(false);
    expect(r.info.reason).toBe('unstable');
    expect(r.info.unstable).toBeTruthy();
  });

  it('stops at the suite horizon with reason "max_steps"', async () => {
    const fast = await SimEnv.create({ renderImages: false });
    try {
      await fast.reset('spatial', 2, 3);
      let r = fast.step([0, 0, 0, 0, 0, 0, -1]);
      while (!r.done) r = fast.step([0, 0, 0, 0, 0, 0, -1]);
      expect(r.info.step).toBe(MAX_STEPS.spatial);
      expect(r.info.reason).toBe('max_steps');
    } finally {
      fast.dispose();
    }
  });

  it('privileged state reports the fixtures and the gripper', async () => {
    await env.reset('goal', 0, 0);
    const p = env.privileged();
    expect(p.fixtureJoints).toMatchObject({ cabinet_top_slide: 0, cabinet_middle_slide: 0, cabinet_bottom_slide: 0, stove_knob_hinge: 0 });
    expect(p.objectInHand).toBeNull();
    expect(p.gripperOpening).toBeCloseTo(0.08, 3);
    expect(p.goal).toEqual([{ predicate: 'Open(cabinet.middle_drawer)', value: false }]);
  });

  it('renders upright frames of any camera and size; the viewer helpers produce a PNG and rollout frames', async () => {
    await env.reset('object', 0, 0);
    const big = env.render('agentview', { width: 320, height: 240 }, 2);
    expect(big).toHaveLength(320 * 240 * 3);
    const obs = env.observe();
    // the observation is the 180°-rotated render at 128
    const up = env.render('agentview', 128, 1);
    expect(up[0]).toBe(obs.agentview_rgb[obs.agentview_rgb.length - 3]);
    expect(await code(() => env.render('sidecam' as never, 64))).toMatch(/^NOT_FOUND: unknown camera 'sidecam'/);
    const png = await renderInitialStatePng('goal', 0, 0, 96);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    const roll = await renderRandomRolloutFrames('object', 0, 0, { steps: 5, size: 64, seed: 3 });
    expect(roll.frames).toHaveLength(6);
    expect(roll.frames[5]).toHaveLength(64 * 64 * 3);
    expect(roll.fps).toBe(20);
    const again = await renderRandomRolloutFrames('object', 0, 0, { steps: 5, size: 64, seed: 3 });
    expect(sha(again.frames[5])).toBe(sha(roll.frames[5]));
  });
});
