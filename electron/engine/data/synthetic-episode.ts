import { Rng } from '../util/rng.js';
import { ACTION_DIM, type Episode } from './episode.js';

/**
 * A deterministic synthetic episode with every LIBERO field filled (for tests, benchmarks and fixtures
 * where no simulator runs). Actions drift smoothly; the gripper closes halfway through; images are a
 * gradient with the frame index in them, so a reader that mixes frames up is caught.
 */
export function syntheticEpisode(opts: { length: number; seed: number; imageSize?: number; stateDim?: number; suite?: string; taskIndex?: number; initIndex?: number; instruction?: string }): Episode {
  const T = opts.length;
  const S = opts.stateDim ?? 16;
  const H = opts.imageSize ?? 128;
  const rng = new Rng(opts.seed);
  const actions = new Float32Array(T * ACTION_DIM);
  for (let t = 0; t < T; t++) {
    for (let d = 0; d < 6; d++) actions[t * ACTION_DIM + d] = Math.max(-1, Math.min(1, 0.5 * Math.sin(t / 7 + d) + rng.normal(0, 0.05)));
    actions[t * ACTION_DIM + 6] = t < T / 2 ? -1 : 1;
  }
  const dones = new Uint8Array(T);
  const rewards = new Float32Array(T);
  dones[T - 1] = 1;
  rewards[T - 1] = 1;
  const fill = (n: number, f: (i: number) => number) => Float64Array.from({ length: n }, (_, i) => f(i));
  const img = (offset: number) => {
    const a = new Uint8Array(T * H * H * 3);
    for (let t = 0; t < T; t++) for (let i = 0; i < H * H * 3; i++) a[t * H * H * 3 + i] = (i + t * 7 + offset) & 255;
    return a;
  };
  const ee_pos = fill(T * 3, (i) => 0.1 * Math.sin(i));
  const ee_ori = fill(T * 3, (i) => 0.2 * Math.cos(i));
  const ee_states = new Float64Array(T * 6);
  for (let t = 0; t < T; t++) {
    ee_states.set(ee_pos.subarray(t * 3, t * 3 + 3), t * 6);
    ee_states.set(ee_ori.subarray(t * 3, t * 3 + 3), t * 6 + 3);
  }
  const suite = opts.suite ?? 'spatial';
  const taskIndex = opts.taskIndex ?? 0;
  return {
    suite,
    taskIndex,
    instruction: opts.instruction ?? `synthetic task ${taskIndex}`,
    initIndex: opts.initIndex ?? 0,
    seed: opts.seed,
    teacher: 'synthetic',
    length: T,
    imageSize: { height: H, width: H },
    actions,
    dones,
    rewards,
    states: fill(T * S, (i) => rng.normal()),
    stateDim: S,
    robot_states: fill(T * 9, (i) => i * 1e-3),
    obs: {
      agentview_rgb: img(0),
      eye_in_hand_rgb: img(101),
      ee_pos,
      ee_ori,
      ee_states,
      gripper_states: fill(T * 2, (i) => 0.04 * (i % 2 ? -1 : 1)),
      joint_states: fill(T * 7, (i) => Math.sin(i * 0.1)),
    },
    success: true,
  };
}
