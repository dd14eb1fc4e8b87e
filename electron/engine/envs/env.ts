import { WARMUP_ACTION } from '../data/libero-protocol.js';
import type { Observation } from '../policies/types.js';

/**
 * The environment every rollout drives (rollout/loop.ts): the built-in simulator (builtin-sim.ts) and
 * real LIBERO through the bridge (libero-bridge.ts) both implement it. Actions are 7-D in LIBERO's
 * convention ([dx, dy, dz, drx, dry, drz, gripper] in [-1, 1], gripper -1 open / +1 close, 20 Hz OSC_POSE
 * deltas). The protocol's constants (step limits counted after the warm-up, the warm-up itself) live in
 * data/libero-protocol.ts, below the simulator that also needs them.
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
  /** Observations carry the simulator's ground truth (obs.privileged), which collection records per frame. */
  readonly providesPrivileged?: boolean;
  listSuites(): Promise<string[]>;
  listTasks(suite: string): Promise<TaskInfo[]>;
  /** Load task `taskIndex` of `suite` at fixed initial state `initIndex`. */
  reset(opts: { suite: string; taskIndex: number; initIndex: number; seed: number }): Promise<Observation>;
  step(action: Float32Array): Promise<StepResult>;
  close(): Promise<void>;
}

/**
 * An environment that can keep stepping after an episode ended in success (the built-in simulator).
 * `step` refuses that; `stepPastEnd` exists only to record what the robot does once the task is done
 * (collection's `tailSteps`).
 */
export interface PastEndEnv extends Env {
  stepPastEnd(action: Float32Array): Promise<StepResult>;
}
export const canStepPastEnd = (env: Env): env is PastEndEnv => typeof (env as Partial<PastEndEnv>).stepPastEnd === 'function';

/** The warm-up action as the env takes it: no motion, gripper open. */
export const NOOP_ACTION = Float32Array.from(WARMUP_ACTION);
