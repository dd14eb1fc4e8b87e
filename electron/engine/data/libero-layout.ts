import { ACTION_DIM, type Episode } from './episode.js';

/**
 * The LIBERO / robomimic per-demo layout as one table: HDF5 key, the dtype LIBERO writes
 * (LIBERO `scripts/create_dataset.py`: actions, states and low-dim obs float64; images uint8; dones and
 * rewards uint8 with a 1 on the last frame), and the per-frame shape. Writer, reader and the h5py check
 * (test/python/check_libero_hdf5.py) all follow this table.
 */
export type FieldKind = 'float' | 'uint8' | 'scalar'; // scalar: dones/rewards, any int or float dtype on read

export interface FieldSpec {
  key: string; // path under data/demo_i
  kind: FieldKind;
  /** h5wasm dtype string used when writing. */
  dtype: '<d' | '<B';
  /** numpy dtype name LIBERO uses (for docs and the h5py check). */
  numpy: 'float64' | 'uint8';
  /** Per-frame shape; `null` entries are free (set by the first episode or by the file). */
  frame: (ep: Pick<Episode, 'imageSize' | 'stateDim'>) => number[];
}

export const LIBERO_FIELDS: readonly FieldSpec[] = [
  { key: 'actions', kind: 'float', dtype: '<d', numpy: 'float64', frame: () => [ACTION_DIM] },
  { key: 'dones', kind: 'scalar', dtype: '<B', numpy: 'uint8', frame: () => [] },
  { key: 'rewards', kind: 'scalar', dtype: '<B', numpy: 'uint8', frame: () => [] },
  { key: 'states', kind: 'float', dtype: '<d', numpy: 'float64', frame: (ep) => [ep.stateDim] },
  { key: 'robot_states', kind: 'float', dtype: '<d', numpy: 'float64', frame: () => [9] },
  { key: 'obs/agentview_rgb', kind: 'uint8', dtype: '<B', numpy: 'uint8', frame: (ep) => [ep.imageSize.height, ep.imageSize.width, 3] },
  { key: 'obs/eye_in_hand_rgb', kind: 'uint8', dtype: '<B', numpy: 'uint8', frame: (ep) => [ep.imageSize.height, ep.imageSize.width, 3] },
  { key: 'obs/ee_pos', kind: 'float', dtype: '<d', numpy: 'float64', frame: () => [3] },
  { key: 'obs/ee_ori', kind: 'float', dtype: '<d', numpy: 'float64', frame: () => [3] },
  { key: 'obs/ee_states', kind: 'float', dtype: '<d', numpy: 'float64', frame: () => [6] },
  { key: 'obs/gripper_states', kind: 'float', dtype: '<d', numpy: 'float64', frame: () => [2] },
  { key: 'obs/joint_states', kind: 'float', dtype: '<d', numpy: 'float64', frame: () => [7] },
];

type FieldArray = Float32Array | Float64Array | Uint8Array;

/** The episode's array for a field key. */
export function episodeField(ep: Episode, key: string): FieldArray {
  switch (key) {
    case 'actions': return ep.actions;
    case 'dones': return ep.dones;
    case 'rewards': return ep.rewards;
    case 'states': return ep.states;
    case 'robot_states': return ep.robot_states;
    case 'obs/agentview_rgb': return ep.obs.agentview_rgb;
    case 'obs/eye_in_hand_rgb': return ep.obs.eye_in_hand_rgb;
    case 'obs/ee_pos': return ep.obs.ee_pos;
    case 'obs/ee_ori': return ep.obs.ee_ori;
    case 'obs/ee_states': return ep.obs.ee_states;
    case 'obs/gripper_states': return ep.obs.gripper_states;
    case 'obs/joint_states': return ep.obs.joint_states;
    default: throw new Error(`unknown LIBERO field ${key}`);
  }
}

/** Demo group names sorted by their index (demo_2 before demo_10), as robomimic sorts them. */
export function sortDemoKeys(keys: string[]): string[] {
  const index = (k: string) => Number(/^demo_(\d+)$/.exec(k)?.[1] ?? NaN);
  return keys.filter((k) => Number.isInteger(index(k))).sort((a, b) => index(a) - index(b));
}
