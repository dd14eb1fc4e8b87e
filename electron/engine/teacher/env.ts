import type { Observation } from './policy.js';

/**
 * The environment interface rollout collection drives. ASSUMED here (sim/ is built elsewhere): the
 * built-in simulator and the LIBERO bridge client (libero-bridge-client.ts) both implement it.
 * Actions are 7-D in LIBERO's convention ([dx, dy, dz, drx, dry, drz, gripper] in [-1, 1], gripper
 * -1 open / +1 close, 20 Hz OSC_POSE deltas).
 */
export interface TaskInfo {
  index: number;
  name: string;
  instruction: string;
  /** Number of fixed initial states available for this task. */
  numInitStates: number;
}

export interface StepResult {
  obs: Observation;
  reward: number;
  /** The episode ended (success or a terminal failure); the max-step limit is the caller's. */
  done: boolean;
  /** All goal predicates hold. */
  success: boolean;
  info?: Record<string, unknown>;
}

export interface Env {
  readonly name: string;
  listSuites(): Promise<string[]>;
  listTasks(suite: string): Promise<TaskInfo[]>;
  /** Load task `taskIndex` of `suite` at fixed initial state `initIndex`. */
  reset(opts: { suite: string; taskIndex: number; initIndex: number; seed: number }): Promise<Observation>;
  step(action: Float32Array): Promise<StepResult>;
  /** Dimension of the flattened simulator state in observations (LIBERO's `states` width). */
  close(): Promise<void>;
}

/** OpenVLA's per-suite step limits (counted after the warm-up) and warm-up length: data/libero-protocol.ts. */
export { SUITE_MAX_STEPS as MAX_STEPS, WARMUP_STEPS } from '../data/libero-protocol.js';
import { WARMUP_ACTION } from '../data/libero-protocol.js';
export const NOOP_ACTION = Float32Array.from(WARMUP_ACTION);
