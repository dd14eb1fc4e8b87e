/**
 * The in-memory episode: one teacher rollout in LIBERO's per-demo layout (DESIGN.md, "HDF5 layout"),
 * plus what the method adds beside it. Arrays are row-major, frame-major: `actions` holds T×7 floats.
 * This is the type every room shares (sim and teacher produce it, data/ reads and writes it as HDF5,
 * phases/ and annotate/ label it, train/ batches it).
 */
export const ACTION_DIM = 7; // [dx, dy, dz, drx, dry, drz, gripper]; gripper -1 open, +1 close

export interface EpisodeObs {
  /** T×H×W×3 uint8, agentview camera (LIBERO orientation, not rotated). */
  agentview_rgb: Uint8Array;
  /** T×H×W×3 uint8, wrist camera. */
  eye_in_hand_rgb: Uint8Array;
  /** T×3 end-effector position (m). */
  ee_pos: Float64Array;
  /** T×3 end-effector orientation, axis-angle (rad). */
  ee_ori: Float64Array;
  /** T×6 ee_pos ++ ee_ori, as LIBERO stores it. */
  ee_states: Float64Array;
  /** T×2 finger joint positions (m). */
  gripper_states: Float64Array;
  /** T×7 arm joint positions (rad). */
  joint_states: Float64Array;
}

/**
 * Privileged per-frame facts that only a simulator knows (object in hand, contacts, fixture joints,
 * the scripted teacher's own stage). Absent for data imported from real LIBERO.
 */
export interface PrivilegedFrame {
  /** Name of the object held between the fingers, or null. */
  objectInHand: string | null;
  /** True when the gripper fingers touch any object. */
  gripperContact: boolean;
  /** The scripted teacher's stage at this frame, when the teacher is scripted (e.g. 'approach'). */
  teacherStage?: string;
  /** Task progress in [0, 1] (goal predicates satisfied / total, or the teacher's plan index). */
  progress?: number;
}

export interface Episode {
  suite: string;
  taskIndex: number;
  instruction: string;
  /** Initial-state index used for this rollout. */
  initIndex: number;
  /** Seed recorded with the rollout. */
  seed: number;
  teacher: string;
  length: number; // T
  imageSize: { height: number; width: number };
  actions: Float32Array; // T×7
  dones: Uint8Array; // T
  rewards: Float32Array; // T
  states: Float64Array; // T×S flattened simulator state
  stateDim: number;
  robot_states: Float64Array; // T×9 (gripper 2 + ee_pos 3 + ee quat 4), as LIBERO
  obs: EpisodeObs;
  success: boolean;
  privileged?: PrivilegedFrame[];
}

/** Row r of a T×D array as a plain array (for small reads; hot loops index the typed array directly). */
export function row(array: ArrayLike<number>, dim: number, r: number): number[] {
  const out = new Array<number>(dim);
  for (let d = 0; d < dim; d++) out[d] = array[r * dim + d];
  return out;
}
