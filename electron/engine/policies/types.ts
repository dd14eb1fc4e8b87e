import { ACTION_DIM } from '../data/episode.js';
import type { Phase } from '../phases/index.js';
import { LabError } from '../errors.js';

/**
 * What a teacher (or student) policy sees and returns. An observation is one frame of the simulator or
 * of real LIBERO, with LIBERO's field names and orientation (agentview not rotated: policies that want
 * OpenVLA's view rotate it themselves, see data/image.ts).
 */
export interface Observation {
  imageSize: { height: number; width: number };
  /** H×W×3 uint8, LIBERO orientation. */
  agentview_rgb: Uint8Array;
  /** H×W×3 uint8. */
  eye_in_hand_rgb: Uint8Array;
  ee_pos: Float64Array; // 3
  ee_ori: Float64Array; // 3, axis-angle
  gripper_states: Float64Array; // 2
  joint_states: Float64Array; // 7
  /** 9: gripper qpos 2 + ee pos 3 + ee quaternion 4 (LIBERO's robot_states). */
  robot_states: Float64Array;
  /** Flattened simulator state (LIBERO's `states`). */
  state: Float64Array;
  /** Privileged simulator facts for scripted teachers (absent from real LIBERO). */
  privileged?: Record<string, unknown>;
}

export interface PolicyContext {
  suite: string;
  taskIndex: number;
  instruction: string;
  initIndex: number;
  seed: number;
}

/** K×7 actions, row-major (K ≥ 1): one policy answer. */
export type ActionChunk = Float32Array;

/**
 * A policy returns K×7 actions (K ≥ 1, LIBERO convention: gripper -1 open, +1 close). K > 1 is an
 * action chunk that the caller executes open-loop before asking again.
 */
export interface Policy {
  readonly name: string;
  reset(ctx: PolicyContext): Promise<void>;
  act(obs: Observation): Promise<ActionChunk>;
  close?(): Promise<void>;
  /**
   * A scripted teacher's own stage for the actions last returned by act() (e.g. 'approach', 'grasp';
   * names in phases/ DEFAULT_STAGE_MAP). Collection records it per frame as privileged.teacherStage.
   */
  readonly teacherStage?: string;
}

/** Check a K×7 action array from outside (a server): width, length, finiteness → REMOTE_ERROR naming the field. */
export function checkRemoteActions(values: ArrayLike<number>, shape: number[], source: string, field: string): Float32Array {
  const width = shape[shape.length - 1];
  if (shape.length === 0 || shape.length > 2 || width !== ACTION_DIM) {
    throw new LabError('REMOTE_ERROR', `${source}: ${field} has shape [${shape.join(', ')}], expected [${ACTION_DIM}] or [K, ${ACTION_DIM}]`, { source, field, shape });
  }
  if (values.length === 0 || values.length % ACTION_DIM !== 0) {
    throw new LabError('REMOTE_ERROR', `${source}: ${field} has ${values.length} values, not a multiple of ${ACTION_DIM}`, { source, field });
  }
  const out = Float32Array.from(values);
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i])) {
      throw new LabError('REMOTE_ERROR', `${source}: ${field}[${Math.floor(i / ACTION_DIM)}][${i % ACTION_DIM}] is ${values[i]} (not finite)`, { source, field, index: i, reason: 'non-finite' });
    }
  }
  return out;
}

/**
 * A policy that wants the current phase label as test-time text (the student in `phase` mode): the
 * rollout loop calls `setPhase` before each query with the label its caller's online classifier gives
 * the newest frame (evaluate/runner.ts: causal, proprioception only).
 */
export interface PhaseAwarePolicy extends Policy {
  readonly wantsPhase: true;
  setPhase(phase: Phase): void;
}
export const wantsPhase = (p: Policy): p is PhaseAwarePolicy => (p as Partial<PhaseAwarePolicy>).wantsPhase === true;
