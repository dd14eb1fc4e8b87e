import { existsSync, mkdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { LabError } from '../errors.js';
import type { Env } from '../envs/env.js';
import { makeEnv } from '../envs/make-env.js';
import { FRAME_FORMAT, readFramePack } from './frames.js';
import { readEvaluationMeta } from './evaluation.js';
import { WARMUP_STEPS } from './protocol.js';
import { runTrial, wristFramesFile } from './runner.js';
import { findTrial, summarize, type TrialStore } from './trial-browser.js';
import type { TrialRecord } from './trial.js';
import { ReplayPolicy } from '../policies/replay.js';
import type { PanelSource } from '../video/panel-source.js';

/**
 * A stored trial as a video panel: its record and frames, or — when a larger size is asked for and the
 * trial ran on the built-in simulator — the trial re-rendered at that size by replaying its recorded
 * actions from its initial state (policies/replay.ts), checked to end the same way (same success, same
 * step count, the same end-effector path within 1 mm); a replay that does not is refused. Where it cannot
 * be re-rendered (no recorded actions, frames imported as video) the stored frames are upscaled.
 */
export type RerenderMode = 'auto' | 'always' | 'never';
export interface TrialRef { policyId: string; suite: string; taskIndex: number; trialIndex: number }
export interface SourceOptions {
  /** Panel size in pixels (default: the stored frames'). */
  size?: number;
  rerender: RerenderMode;
  /** Re-rendered frame packs are kept here (a rerun reuses them). */
  cacheDir: string;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

/** Max |Δ| of the replayed end-effector path against the recorded one (m); the record keeps it to 1e-5. */
export const REPLAY_TOLERANCE_M = 1e-3;

/** The trial browser's reader over one experiment folder. */
export const folderStore = (experimentId: string, expDir: string): TrialStore => ({ experimentDir: () => expDir, getExperiment: () => ({ id: experimentId }) });


/** Simulators by image size, shared by the panels of one job. */
export class SimPool {
  private readonly envs = new Map<number, Env>();
  async get(size: number): Promise<Env> {
    let e = this.envs.get(size);
    if (!e) {
      e = await makeEnv({ kind: 'builtin', imageSize: size, renderImages: true });
      this.envs.set(size, e);
    }
    return e;
  }
  async close(): Promise<void> {
    for (const e of this.envs.values()) await e.close();
    this.envs.clear();
  }
}

/** One stored trial, named by key, as a panel (its trial log read once). */
export async function loadTrialPanel(experimentId: string, expDir: string, ref: TrialRef, sims: SimPool, opts: SourceOptions): Promise<PanelSource> {
  return loadPanel(experimentId, expDir, findTrial(folderStore(experimentId, expDir), { experimentId, ...ref }), sims, opts);
}

/** A stored trial record as a panel (callers that show several trials of a policy read its log once). */
export async function loadPanel(experimentId: string, expDir: string, record: TrialRecord, sims: SimPool, opts: SourceOptions): Promise<PanelSource> {
  const ref = { policyId: record.policyId, suite: record.suite, taskIndex: record.taskIndex, trialIndex: record.trialIndex };
  const summary = summarize(experimentId, record);
  const evalDir = path.join(expDir, 'eval', ref.policyId);
  const stored = record.frames;
  const canReplay = !!record.actions && stored?.format === FRAME_FORMAT;
  const size = opts.size ?? stored?.width;
  if (!size) throw new LabError('NOT_FOUND', `trial ${ref.suite}/${ref.taskIndex}/${ref.trialIndex} of ${ref.policyId} kept no frames and none were asked to be rendered (pass size)`, { ...ref });
  const want = opts.rerender === 'always' || (opts.rerender === 'auto' && (!stored || size > stored.width));
  if (want && !canReplay) {
    if (opts.rerender === 'always' || !stored) throw new LabError('UNSUPPORTED', `trial ${ref.suite}/${ref.taskIndex}/${ref.trialIndex} of ${ref.policyId} cannot be re-rendered: it recorded no actions or its frames were imported`, { ...ref });
    opts.log?.(`${ref.policyId}: cannot re-render (no recorded actions); upscaling its ${stored.width} px frames`);
  }
  const base = { title: ref.policyId, success: record.success, failure: record.failure, steps: record.steps, gripper: record.gripper, flipSteps: summary.flipSteps, phases: record.phases?.series ?? null, actions: record.actions };
  if (want && canReplay) {
    const r = await rerender(record, evalDir, size, readEvaluationMeta(evalDir)?.warmupSteps ?? WARMUP_STEPS, sims, opts);
    return { ...base, ...r, note: `${size}px replay` };
  }
  if (!stored) throw new LabError('NOT_FOUND', `trial ${ref.suite}/${ref.taskIndex}/${ref.trialIndex} of ${ref.policyId} kept no frames`, { ...ref });
  const wrist = record.wristFrames;
  return {
    ...base,
    frames: readFramePack(path.join(evalDir, stored.path), stored),
    wrist: wrist ? readFramePack(path.join(evalDir, wrist.path), wrist) : undefined,
    size: { width: stored.width, height: stored.height },
    stride: stored.stride,
    note: size > stored.width ? `${stored.width}px upscaled` : undefined,
  };
}

async function rerender(record: TrialRecord, evalDir: string, size: number, warmupSteps: number, sims: SimPool, opts: SourceOptions) {
  mkdirSync(opts.cacheDir, { recursive: true });
  const file = `${record.policyId}-${record.suite}-task${record.taskIndex}-trial${record.trialIndex}-${size}px.${FRAME_FORMAT}`;
  const meta = { count: record.steps + 1, height: size, width: size };
  const cached = path.join(opts.cacheDir, file);
  const wristCached = path.join(opts.cacheDir, wristFramesFile(file));
  if (existsSync(cached) && existsSync(wristCached)) {
    return { frames: readFramePack(cached, meta), wrist: readFramePack(wristCached, meta), size: { width: size, height: size }, stride: 1 };
  }
  const env = await sims.get(size);
  const policy = new ReplayPolicy(record.actions!);
  const spec = { policyId: record.policyId, suite: record.suite, taskIndex: record.taskIndex, trialIndex: record.trialIndex, initIndex: record.initIndex, seed: record.seed, warmupSteps, maxSteps: record.steps, execution: { mode: 'whole' as const } };
  // Written under a temporary name and kept only once the replay is checked.
  const tmp = `${file}.unchecked`;
  const replay = await runTrial(env, policy, spec, { frames: { dir: opts.cacheDir, file: `${tmp}.${FRAME_FORMAT}` }, phases: false, signal: opts.signal });
  const what = `re-rendering ${record.policyId} ${record.suite}/${record.taskIndex}/${record.trialIndex} at ${size} px`;
  if (replay.failure === 'error') throw new LabError('CONFLICT', `${what}: the replay failed: ${replay.errorMessage ?? 'unknown error'}`, { policyId: record.policyId });
  let worst = 0;
  if (record.eePos && replay.eePos) for (let i = 0; i < Math.min(record.eePos.length, replay.eePos.length); i++) worst = Math.max(worst, Math.abs(record.eePos[i] - replay.eePos[i]));
  if (replay.success !== record.success || replay.steps !== record.steps || worst > REPLAY_TOLERANCE_M) {
    throw new LabError(
      'CONFLICT',
      `${what}: the replay does not reproduce the recorded trial (success ${replay.success} vs ${record.success}, ${replay.steps} vs ${record.steps} steps, end-effector off by up to ${(worst * 1000).toFixed(2)} mm): the simulator or its assets changed since it was evaluated`,
      { policyId: record.policyId, suite: record.suite, taskIndex: record.taskIndex, trialIndex: record.trialIndex, worstMm: worst * 1000 },
    );
  }
  renameSync(path.join(opts.cacheDir, `${tmp}.${FRAME_FORMAT}`), cached);
  renameSync(path.join(opts.cacheDir, wristFramesFile(`${tmp}.${FRAME_FORMAT}`)), wristCached);
  opts.log?.(`${what}: reproduces the recorded trial (end-effector within ${(worst * 1000).toFixed(3)} mm)`);
  return { frames: readFramePack(cached, meta), wrist: readFramePack(wristCached, meta), size: { width: size, height: size }, stride: 1 };
}
