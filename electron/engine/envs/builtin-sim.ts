import { SimEnv, SUITE_TASKS, isSuite, loadInitStates, type EnvOptions, type PrivilegedState } from '../sim/index.js';
import type { SimObservation } from '../sim/index.js';
import { matToQuat } from '../sim/math3.js';
import { LabError } from '../errors.js';
import type { Env, StepResult, TaskInfo } from './env.js';
import type { Observation } from '../policies/types.js';

/**
 * The built-in simulator (electron/engine/sim) behind the teacher's Env interface, so rollout collection
 * drives it exactly like the LIBERO bridge. What it adds to the simulator's observation:
 * - `robot_states` (9: gripper qpos 2, ee pos 3, ee quaternion w x y z 4) and `state` (the flattened
 *   physics state: time, qpos, qvel, as robosuite's sim.get_state().flatten()), LIBERO's fields;
 * - `privileged`: the facts the episode's PrivilegedFrame records (objectInHand, gripperContact,
 *   progress = goal predicates holding / total) and `sim`, the simulator's whole PrivilegedState, which
 *   only the scripted expert reads.
 *
 * The simulator's own horizon is the suite's limit plus the 10 warm-up steps (data/libero-protocol.ts),
 * so a collection records up to the suite's limit after the warm-up, as OpenVLA's loop does.
 */
export interface SimPrivileged extends Record<string, unknown> {
  objectInHand: string | null;
  gripperContact: boolean;
  progress: number;
  sim: PrivilegedState;
}

export class BuiltinSimEnv implements Env {
  readonly name = 'vla-ad-lab-sim';
  readonly providesPrivileged = true;
  private constructor(readonly sim: SimEnv) {}

  static async create(opts: EnvOptions = {}): Promise<BuiltinSimEnv> {
    return new BuiltinSimEnv(await SimEnv.create(opts));
  }

  async listSuites(): Promise<string[]> {
    return Object.keys(SUITE_TASKS);
  }

  async listTasks(suite: string): Promise<TaskInfo[]> {
    if (!isSuite(suite)) throw new LabError('NOT_FOUND', `unknown suite '${suite}' (known: ${Object.keys(SUITE_TASKS).join(', ')})`, { field: 'suite', value: suite });
    return SUITE_TASKS[suite].map((t) => ({ index: t.index, name: t.name, instruction: t.instruction, numInitStates: loadInitStates(t).states.length }));
  }

  async reset(opts: { suite: string; taskIndex: number; initIndex: number; seed: number }): Promise<Observation> {
    const obs = await this.sim.reset(opts.suite, opts.taskIndex, opts.initIndex);
    return this.convert(obs);
  }

  async step(action: Float32Array): Promise<StepResult> {
    const r = this.sim.step(action);
    return { obs: this.convert(r.obs), reward: r.reward, done: r.done, success: r.success, info: { ...r.info } };
  }

  /** One more control step after a successful episode (SimEnv.stepPastEnd), for collection's `tailSteps`. */
  async stepPastEnd(action: Float32Array): Promise<StepResult> {
    const r = this.sim.stepPastEnd(action);
    return { obs: this.convert(r.obs), reward: r.reward, done: r.done, success: r.success, info: { ...r.info, pastEnd: true } };
  }

  async close(): Promise<void> {
    this.sim.dispose();
  }

  /** The teacher-side observation of the simulator's current state (also used by in-process servers). */
  convert(o: SimObservation): Observation {
    const priv = this.sim.privileged();
    const quat = matToQuat(priv.eeMat);
    const d = this.sim.simulation.data;
    const holding = priv.goal.filter((g) => g.value).length;
    const privileged: SimPrivileged = {
      objectInHand: priv.objectInHand,
      gripperContact: priv.fingerContacts.left.length + priv.fingerContacts.right.length > 0,
      progress: priv.goal.length ? holding / priv.goal.length : 0,
      sim: priv,
    };
    return {
      imageSize: { height: o.image_size, width: o.image_size },
      agentview_rgb: o.agentview_rgb,
      eye_in_hand_rgb: o.eye_in_hand_rgb,
      ee_pos: Float64Array.from(o.ee_pos),
      ee_ori: Float64Array.from(o.ee_ori),
      gripper_states: Float64Array.from(o.gripper_states),
      joint_states: Float64Array.from(o.joint_states),
      robot_states: Float64Array.from([...o.gripper_states, ...o.ee_pos, ...quat]),
      state: flatState(d.time, d.qpos as ArrayLike<number>, d.qvel as ArrayLike<number>),
      privileged,
    };
  }
}

/** [time, qpos, qvel], robosuite's flattened MjSimState. */
function flatState(time: number, qpos: ArrayLike<number>, qvel: ArrayLike<number>): Float64Array {
  const out = new Float64Array(1 + qpos.length + qvel.length);
  out[0] = time;
  for (let i = 0; i < qpos.length; i++) out[1 + i] = qpos[i];
  for (let i = 0; i < qvel.length; i++) out[1 + qpos.length + i] = qvel[i];
  return out;
}

