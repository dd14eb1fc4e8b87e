import path from 'node:path';
import { ACTION_DIM, type Episode } from '../data/episode.js';
import { LabError } from '../errors.js';
import { classifyEpisode, PHASES, type Phase } from '../phases/index.js';
import type { Env } from '../envs/env.js';
import { wantsPhase, type Observation, type Policy } from '../policies/types.js';
import { runRollout } from '../rollout/loop.js';
import { FRAME_FORMAT, writeFramePack } from './frames.js';
import type { TrialSpec } from './protocol.js';
import { parseTrialRecord, type FailureReason, type TrialRecord } from './trial.js';

/**
 * One closed-loop trial (docs/evaluate.md "Runner"):
 *   the one rollout loop (rollout/loop.ts: reset to init i with the trial seed, policy.reset, `warmupSteps`
 *   no-ops, then the policy through the chunk executor) until success, the step limit, instability or an
 *   error; the runner records what the trial record holds through the loop's hooks.
 *
 * Outcomes:
 * - success: every goal predicate holds after a step;
 * - `timeout`: `maxSteps` policy steps ran, or the environment ended the episode at its own step limit
 *   (the built-in simulator counts the warm-up against its suite limit, so it stops 10 steps earlier
 *   than OpenVLA's `max_steps + num_steps_wait`: recorded as timeout, noted in the docs);
 * - `unstable`: the simulation diverged (the env's info.reason 'unstable');
 * - `error`: the policy or the environment threw mid-episode with a runtime error (a teacher server
 *   died, timed out or answered garbage: REMOTE_ERROR, NON_FINITE, INTERRUPTED, a network error). Such a
 *   trial says nothing about the policy, so tables leave it out of the rates and report it apart.
 *   Setup errors (INVALID_INPUT, SHAPE_MISMATCH, CORRUPT_FILE, UNSUPPORTED, NOT_FOUND, CONFLICT, INTERNAL:
 *   a wrong policy file, a bug) are thrown instead: every trial would hit them, and a table of
 *   "errored" trials would hide that the evaluation was misconfigured.
 *
 * Timing: `policyMs` holds one entry per policy query (act()), `simMs` the environment's time (reset,
 * warm-up, steps), so policy latency is measured apart from the simulator.
 *
 * Phases: after the episode, the rule classifier (phases/classifyEpisode) labels the recorded
 * proprioception + executed actions, proprioception only (`usePrivileged: false`), i.e. the same
 * labels an online, deployable classifier could compute from what the robot senses. The series has one
 * entry per executed step (the state before the action).
 */
export interface RunTrialOptions {
  /** The task's instruction (PolicyContext); default looked up with env.listTasks. */
  instruction?: string;
  /** Keep agentview frames: written to `dir/file`, the record stores `file` (relative to dir). */
  frames?: { dir: string; file: string; stride?: number } | null;
  /** Label the phase series after the episode (default true). */
  phases?: boolean;
  /** Clock in ms; injectable for tests. */
  now?: () => number;
  /** Stops the trial at the next step (CANCELLED, thrown: a cancelled trial is no result). */
  signal?: AbortSignal;
}

/** Errors that mean "the setup is wrong" rather than "this episode broke": thrown, never recorded. */
const SETUP_ERRORS = new Set(['INVALID_INPUT', 'SHAPE_MISMATCH', 'CORRUPT_FILE', 'UNSUPPORTED', 'NOT_FOUND', 'CONFLICT', 'INTERNAL', 'CANCELLED']);

export function isSetupError(err: unknown): boolean {
  return err instanceof LabError && SETUP_ERRORS.has(err.code);
}

const describeError = (err: unknown) => (err instanceof LabError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err));

/** What the phase classifier needs of the episode so far: proprioception before each action, and the action. */
export class ProprioTrace {
  readonly ee_pos: number[] = [];
  readonly ee_ori: number[] = [];
  readonly gripper_states: number[] = [];
  readonly actions: number[] = [];
  get length() {
    return this.actions.length / ACTION_DIM;
  }
  push(obs: Observation, action: ArrayLike<number>): void {
    for (let d = 0; d < 3; d++) this.ee_pos.push(obs.ee_pos[d]);
    for (let d = 0; d < 3; d++) this.ee_ori.push(obs.ee_ori[d]);
    for (let d = 0; d < 2; d++) this.gripper_states.push(obs.gripper_states[d]);
    for (let d = 0; d < ACTION_DIM; d++) this.actions.push(action[d]);
  }
  pop(): void {
    this.ee_pos.length -= 3;
    this.ee_ori.length -= 3;
    this.gripper_states.length -= 2;
    this.actions.length -= ACTION_DIM;
  }
  /** The trace as the minimal Episode classifyEpisode reads (no images, no privileged facts). */
  episode(meta: { suite: string; taskIndex: number; initIndex: number; seed: number; success: boolean }, upTo = this.length): Episode {
    const T = upTo;
    return {
      ...meta,
      instruction: '',
      teacher: 'evaluation',
      length: T,
      imageSize: { height: 0, width: 0 },
      actions: Float32Array.from(this.actions.slice(0, T * ACTION_DIM)),
      dones: new Uint8Array(T),
      rewards: new Float32Array(T),
      states: new Float64Array(0),
      stateDim: 0,
      robot_states: new Float64Array(0),
      obs: {
        agentview_rgb: new Uint8Array(0),
        eye_in_hand_rgb: new Uint8Array(0),
        ee_pos: Float64Array.from(this.ee_pos.slice(0, T * 3)),
        ee_ori: Float64Array.from(this.ee_ori.slice(0, T * 3)),
        ee_states: new Float64Array(0),
        gripper_states: Float64Array.from(this.gripper_states.slice(0, T * 2)),
        joint_states: new Float64Array(0),
      },
    };
  }
}

/** Phase labels of a trace, proprioception only. */
export function labelTrace(trace: ProprioTrace, meta: Parameters<ProprioTrace['episode']>[0]): Phase[] {
  if (trace.length === 0) return [];
  return classifyEpisode(trace.episode(meta), { usePrivileged: false }).phases;
}

export async function runTrial(env: Env, policy: Policy, spec: TrialSpec, opts: RunTrialOptions = {}): Promise<TrialRecord> {
  const startedAt = new Date().toISOString();
  const gripper: number[] = [];
  const frames: Uint8Array[] = [];
  const wristFrames: Uint8Array[] = [];
  // What the trial browser replays (docs/evaluate.md "Per-trial record"): rounded so a 300-step record stays small.
  const actions: number[] = [];
  const eePos: number[] = [];
  const querySteps: number[] = [];
  const predicateNames: string[] = [];
  const predicateSeries: number[] = [];
  const stride = opts.frames?.stride ?? 1;
  const trace = new ProprioTrace();
  let steps = 0;
  let success = false;
  let failure: FailureReason | null = null;
  let errorMessage: string | undefined;
  let imageSize = { height: 0, width: 0 };
  const timing = { policyMs: [] as number[], simMs: 0 };
  const keepFrame = (obs: Observation, index: number) => {
    if (!opts.frames || index % stride !== 0) return;
    if (obs.agentview_rgb.length > 0) frames.push(obs.agentview_rgb.slice());
    if (obs.eye_in_hand_rgb.length > 0) wristFrames.push(obs.eye_in_hand_rgb.slice());
  };
  const meta = { suite: spec.suite, taskIndex: spec.taskIndex, initIndex: spec.initIndex, seed: spec.seed, success: false };
  const phaseAware = wantsPhase(policy) ? policy : null;

  try {
    const instruction = opts.instruction ?? (await env.listTasks(spec.suite)).find((t) => t.index === spec.taskIndex)?.instruction;
    if (instruction === undefined) throw new LabError('NOT_FOUND', `${env.name} has no task ${spec.taskIndex} in suite ${spec.suite}`, { suite: spec.suite, taskIndex: spec.taskIndex });
    const r = await runRollout(
      env,
      policy,
      { suite: spec.suite, taskIndex: spec.taskIndex, initIndex: spec.initIndex, seed: spec.seed, instruction, warmupSteps: spec.warmupSteps, maxSteps: spec.maxSteps, execution: spec.execution },
      {
        now: opts.now,
        signal: opts.signal,
        timing, // filled as the trial runs, so an errored trial keeps its timing
        onStart: (obs) => {
          imageSize = obs.imageSize;
          keepFrame(obs, 0);
        },
        beforeQuery: (obs) => {
          querySteps.push(steps);
          if (!phaseAware) return;
          // The newest frame's action is not known yet: carry the last gripper command (open at the start).
          trace.push(obs, [0, 0, 0, 0, 0, 0, gripper.at(-1) ?? -1]);
          const phase = labelTrace(trace, meta).at(-1)!;
          trace.pop();
          phaseAware.setPhase(phase);
        },
        onStep: (s) => {
          trace.push(s.obs, s.action);
          gripper.push(s.action[ACTION_DIM - 1]);
          for (let d = 0; d < ACTION_DIM; d++) actions.push(float32Exact(s.action[d]));
          for (let d = 0; d < 3; d++) eePos.push(round(s.obs.ee_pos[d], 1e5));
          predicateSeries.push(predicateBits(s.result.info?.predicates, predicateNames));
          steps++;
          keepFrame(s.result.obs, steps);
        },
      },
    );
    success = r.success;
    if (r.end === 'unstable') {
      failure = 'unstable';
      errorMessage = String(r.endInfo?.unstable ?? 'simulation diverged');
    } else if (!r.success) failure = 'timeout';
  } catch (err) {
    if (isSetupError(err)) throw err;
    success = false;
    failure = 'error';
    errorMessage = describeError(err);
  }

  let phases: TrialRecord['phases'] = null;
  if (opts.phases !== false && steps > 0) {
    try {
      const labels = labelTrace(trace, { suite: spec.suite, taskIndex: spec.taskIndex, initIndex: spec.initIndex, seed: spec.seed, success });
      phases = { names: [...PHASES], series: labels.map((p) => PHASES.indexOf(p)) };
    } catch (err) {
      // A diverged simulation can leave non-finite proprioception: the trial still counts, unlabelled.
      if (!(err instanceof LabError && err.code === 'NON_FINITE')) throw err;
    }
  }
  const pack = async (dir: string, kept: Uint8Array[], file: string): Promise<TrialRecord['frames']> => {
    if (kept.length === 0) return null;
    await writeFramePack(path.join(dir, file), kept);
    return { path: file, format: FRAME_FORMAT, count: kept.length, height: imageSize.height, width: imageSize.width, stride };
  };
  const framesRef = opts.frames ? await pack(opts.frames.dir, frames, opts.frames.file) : null;
  const wristRef = opts.frames ? await pack(opts.frames.dir, wristFrames, wristFramesFile(opts.frames.file)) : null;
  const finiteSeries = (v: number[]) => v.every(Number.isFinite);
  return parseTrialRecord(
    {
      policyId: spec.policyId,
      suite: spec.suite,
      taskIndex: spec.taskIndex,
      trialIndex: spec.trialIndex,
      initIndex: spec.initIndex,
      seed: spec.seed,
      success,
      steps,
      failure: success ? null : failure,
      ...(errorMessage !== undefined && !success ? { errorMessage } : {}),
      execution: spec.execution,
      gripper,
      phases,
      policyMs: timing.policyMs,
      simMs: timing.simMs,
      frames: framesRef,
      ...(opts.frames ? { wristFrames: wristRef } : {}),
      // A diverged simulation can leave non-finite numbers: such series are left out, the trial still counts.
      ...(finiteSeries(actions) ? { actions } : {}),
      ...(finiteSeries(eePos) ? { eePos } : {}),
      querySteps,
      ...(predicateNames.length > 0 ? { predicates: { names: predicateNames, series: predicateSeries } } : {}),
      startedAt,
    },
    `trial ${spec.policyId} ${spec.suite}/${spec.taskIndex}/${spec.trialIndex}`,
  );
}

const round = (x: number, scale: number) => Math.round(x * scale) / scale;

/**
 * The shortest decimal that reads back as the same float32 (≤ 9 digits): the executed actions are kept
 * exactly, because a replay of them re-renders the trial (evaluate/trial-video-source.ts) and a grasp
 * can turn on the 5th decimal.
 */
export function float32Exact(x: number): number {
  const f = Math.fround(x);
  for (let p = 6; p < 9; p++) {
    const v = Number(f.toPrecision(p));
    if (Math.fround(v) === f) return v;
  }
  return Number(f.toPrecision(9));
}

/** The env's goal predicates after a step as a bit mask over `names` (names grow in first-seen order). */
function predicateBits(predicates: unknown, names: string[]): number {
  if (!predicates || typeof predicates !== 'object') return 0;
  let bits = 0;
  for (const [name, truth] of Object.entries(predicates as Record<string, unknown>)) {
    let k = names.indexOf(name);
    if (k < 0 && names.length < 30) k = names.push(name) - 1;
    if (k >= 0 && truth === true) bits |= 1 << k;
  }
  return bits;
}

/** The wrist camera's frame file beside the agentview one. */
export const wristFramesFile = (agentviewFile: string) => agentviewFile.replace(/\.frames-u8\.gz$/, '') + `.wrist.${FRAME_FORMAT}`;

/** The frame file of a trial, relative to its policy's eval folder. */
export const trialFramesFile = (spec: Pick<TrialSpec, 'suite' | 'taskIndex' | 'trialIndex'>) => `frames/${spec.suite}-task${spec.taskIndex}-trial${spec.trialIndex}.${FRAME_FORMAT}`;
