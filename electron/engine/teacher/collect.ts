import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { LabError, invalidInput, parseOr } from '../errors.js';
import { stageFile, type StagedFile } from '../util/atomic.js';
import { commitUnit, recoverUnit, sweepTemps } from '../util/commit-unit.js';
import { acquirePidLock } from '../util/pid-lock.js';
import { ACTION_DIM, type Episode, type PrivilegedFrame } from '../data/episode.js';
import { openLiberoHdf5, stageLiberoAppend } from '../data/libero-hdf5.js';
import { readSidecar, sidecarPath, SIDECAR_VERSION, type Sidecar } from '../data/sidecar.js';
import { SUITE_MAX_STEPS, WARMUP_STEPS } from '../data/libero-protocol.js';
import { canStepPastEnd, type Env, type TaskInfo } from '../envs/env.js';
import type { Observation, Policy } from '../policies/types.js';
import { runRollout } from '../rollout/loop.js';

/**
 * Rollout collection: for each task and each fixed initial state i (trial i uses init state i, as in
 * LIBERO's protocol), reset, run `warmupSteps` no-ops (not recorded), then record (obs, action) until
 * success or the suite's step limit. Successful rollouts are appended to `<outDir>/<suite>/task<k>_demo.hdf5`
 * (one task per file, LIBERO's convention); failures are counted and, with `keepFailures`, appended to
 * `task<k>_failures.hdf5`.
 *
 * Resumable: a (task, init) pair is skipped when the HDF5 already holds it (demo attr init_index) or the
 * journal `collect-state.json` lists it as attempted. Episodes are appended at episode granularity
 * (every `flushEvery` successes, atomically: copy, append, rename), then the journal is written, so a
 * kill loses at most the unflushed rollouts (re-run on resume) and never duplicates one.
 * One process collects a journal's files at a time (`<journal>.lock`, util/pid-lock.ts): a resumed job
 * waits for a killed job's rollout process that is still finishing (and committing) its episode, and
 * takes over the lock of one that is gone.
 *
 * With `tailSteps` > 0 a successful rollout goes on for that many more recorded frames after the success
 * (the teacher keeps acting: the scripted expert finishes its release / retreat, then holds still), so
 * the settled end of a demonstration exists in the data, as in LIBERO's human demos. Off by default
 * (training data ends at success, OpenVLA's protocol); the sidecar notes record `tail_steps` and
 * `success_frame` (the first tail frame) per demo.
 */
export interface CollectOptions {
  suite: string;
  tasks: number[];
  /** Init states 0..episodesPerTask-1 of each task. */
  episodesPerTask: number;
  seed: number;
  outDir: string;
  maxSteps?: number;
  warmupSteps?: number;
  keepFailures?: boolean;
  flushEvery?: number;
  teacher?: string;
  naming?: FileNaming;
  /**
   * Journal per task (`<suite>/task_<k>.collect-state.json`) instead of one per suite: processes that
   * collect different tasks into the same folder then never write the same journal.
   */
  journalPerTask?: boolean;
  /**
   * Frames recorded after success (default 0: stop at success). Needs an env with `stepPastEnd`
   * (the built-in simulator); the tail may run past `maxSteps`.
   */
  tailSteps?: number;
}

export interface CollectProgress {
  attempted: number;
  total: number;
  successes: number;
  failures: number;
  skipped: number;
  frames: number;
  task: number;
  initIndex: number;
  etaSeconds: number | null;
}

export interface CollectResult {
  suite: string;
  files: string[];
  successes: number;
  failures: number;
  skipped: number;
  frames: number;
  perTask: Record<number, { successes: number; failures: number }>;
  seconds: number;
}

const Journal = z.object({
  version: z.literal(1),
  suite: z.string(),
  seed: z.number(),
  /** The teacher's name (absent in journals written before it was recorded). */
  teacher: z.string().optional(),
  attempts: z.array(z.object({ task: z.number().int(), init: z.number().int(), success: z.boolean(), steps: z.number().int() })),
});
type Journal = z.infer<typeof Journal>;

/**
 * File names: 'demo' (default) is `task<k>_demo.hdf5` / `task<k>_failures.hdf5`; 'task' (the collect job's
 * layout under an experiment) is `task_<k>.hdf5` / `task_<k>_failures.hdf5`.
 */
export type FileNaming = 'demo' | 'task';
export const demoFile = (outDir: string, suite: string, task: number, naming: FileNaming = 'demo') =>
  path.join(outDir, suite, naming === 'task' ? `task_${task}.hdf5` : `task${task}_demo.hdf5`);
export const failureFile = (outDir: string, suite: string, task: number, naming: FileNaming = 'demo') =>
  path.join(outDir, suite, naming === 'task' ? `task_${task}_failures.hdf5` : `task${task}_failures.hdf5`);
const journalFile = (outDir: string, suite: string, task?: number) =>
  path.join(outDir, suite, task === undefined ? 'collect-state.json' : `task_${task}.collect-state.json`);

function readJournal(file: string, suite: string, seed: number, teacher: string): Journal {
  if (!existsSync(file)) return { version: 1, suite, seed, teacher, attempts: [] };
  const journal = parseOr(Journal, JSON.parse(readFileSync(file, 'utf8')), file, 'CORRUPT_FILE', { file });
  if (journal.seed !== seed) throw new LabError('CONFLICT', `${file} was collected with seed ${journal.seed}, not ${seed}: use another output folder`, { file, seed: journal.seed });
  // Another teacher's episodes are not this teacher's "already done" ones.
  if (journal.teacher !== undefined && journal.teacher !== teacher) {
    throw new LabError('CONFLICT', `${file} holds episodes of teacher ${journal.teacher}, not ${teacher}: collect into another experiment (or output folder)`, { file, teacher: journal.teacher, asked: teacher });
  }
  return { ...journal, teacher: journal.teacher ?? teacher };
}

/** Per-seed for episode (task, init): recorded with the episode. */
export const episodeSeed = (seed: number, task: number, init: number) => (seed * 1_000_003 + task * 1009 + init) % 2 ** 31;

/**
 * The per-frame privileged facts of a simulator observation (sim-env.ts puts them in obs.privileged),
 * with the teacher's stage; null when the environment has none (real LIBERO).
 */
function privilegedFrame(obs: Observation, stage: string | undefined): PrivilegedFrame | null {
  const p = obs.privileged;
  if (!p || !('objectInHand' in p)) return null;
  const frame: PrivilegedFrame = { objectInHand: (p.objectInHand as string | null) ?? null, gripperContact: Boolean(p.gripperContact) };
  if (stage !== undefined) frame.teacherStage = stage;
  if (typeof p.progress === 'number') frame.progress = p.progress;
  return frame;
}

class Recorder {
  private frames: { obs: Observation; action: Float32Array; priv: PrivilegedFrame | null }[] = [];
  push(obs: Observation, action: Float32Array, stage?: string) {
    this.frames.push({ obs, action, priv: privilegedFrame(obs, stage) });
  }
  get length() {
    return this.frames.length;
  }
  toEpisode(meta: Pick<Episode, 'suite' | 'taskIndex' | 'instruction' | 'initIndex' | 'seed' | 'teacher' | 'success'>): Episode {
    const T = this.frames.length;
    const first = this.frames[0].obs;
    const { height: H, width: W } = first.imageSize;
    const S = first.state.length;
    const img = H * W * 3;
    const ep: Episode = {
      ...meta,
      length: T,
      imageSize: { height: H, width: W },
      actions: new Float32Array(T * ACTION_DIM),
      dones: new Uint8Array(T),
      rewards: new Float32Array(T),
      states: new Float64Array(T * S),
      stateDim: S,
      robot_states: new Float64Array(T * 9),
      obs: {
        agentview_rgb: new Uint8Array(T * img),
        eye_in_hand_rgb: new Uint8Array(T * img),
        ee_pos: new Float64Array(T * 3),
        ee_ori: new Float64Array(T * 3),
        ee_states: new Float64Array(T * 6),
        gripper_states: new Float64Array(T * 2),
        joint_states: new Float64Array(T * 7),
      },
    };
    this.frames.forEach(({ obs, action }, t) => {
      if (obs.state.length !== S) throw new LabError('SHAPE_MISMATCH', `state width changed from ${S} to ${obs.state.length} at frame ${t}`, { field: 'state', frame: t });
      ep.actions.set(action, t * ACTION_DIM);
      ep.states.set(obs.state, t * S);
      ep.robot_states.set(obs.robot_states, t * 9);
      ep.obs.agentview_rgb.set(obs.agentview_rgb, t * img);
      ep.obs.eye_in_hand_rgb.set(obs.eye_in_hand_rgb, t * img);
      ep.obs.ee_pos.set(obs.ee_pos, t * 3);
      ep.obs.ee_ori.set(obs.ee_ori, t * 3);
      ep.obs.ee_states.set(obs.ee_pos, t * 6);
      ep.obs.ee_states.set(obs.ee_ori, t * 6 + 3);
      ep.obs.gripper_states.set(obs.gripper_states, t * 2);
      ep.obs.joint_states.set(obs.joint_states, t * 7);
    });
    if (this.frames.every((f) => f.priv !== null)) ep.privileged = this.frames.map((f) => f.priv!);
    // LIBERO marks the last frame done (and rewarded, for successes).
    ep.dones[T - 1] = 1;
    ep.rewards[T - 1] = meta.success ? 1 : 0;
    return ep;
  }
}

/**
 * Stage episodes for a LIBERO file and their privileged per-frame facts (teacher stage, object in hand,
 * gripper contact, progress) for its sidecar (`<file>.lab.json`, fields teacher_stage, object_in_hand,
 * gripper_contact, progress): the HDF5 keeps LIBERO's layout, the extras live beside it. Nothing is
 * replaced yet: the caller commits the staged files together with the journal (util/commit-unit.ts).
 */
async function stageWithPrivileged(file: string, episodes: Episode[], notes: WeakMap<Episode, Record<string, unknown>>): Promise<StagedFile[]> {
  const { staged, names } = await stageLiberoAppend(file, episodes);
  const withPriv = episodes.map((ep, i) => [names[i], ep] as const).filter(([, ep]) => ep.privileged);
  if (withPriv.length === 0) return [staged];
  const base = path.basename(file);
  const sidecar: Sidecar = existsSync(sidecarPath(file)) ? readSidecar(file) : { version: SIDECAR_VERSION, hdf5: base, demos: {} };
  for (const [demo, ep] of withPriv) {
    const f = ep.privileged!;
    sidecar.demos[demo] = {
      teacher: ep.teacher,
      frames: {
        ...(sidecar.demos[demo]?.frames ?? {}),
        teacher_stage: f.map((x) => x.teacherStage ?? null),
        object_in_hand: f.map((x) => x.objectInHand),
        gripper_contact: f.map((x) => x.gripperContact),
        progress: f.map((x) => x.progress ?? null),
      },
      notes: { ...(sidecar.demos[demo]?.notes ?? {}), privileged: 'simulator ground truth recorded at collection', ...(notes.get(ep) ?? {}) },
    };
  }
  try {
    return [staged, await stageFile(sidecarPath(file), JSON.stringify(sidecar, null, 2) + '\n')];
  } catch (err) {
    rmSync(staged.tmp, { force: true });
    throw err;
  }
}

/** Per-frame privileged facts of a demo, back from the sidecar written at collection (undefined if none). */
export function readPrivilegedFrames(file: string, demo: string): PrivilegedFrame[] | undefined {
  const d = readSidecar(file).demos[demo];
  const stage = d?.frames.teacher_stage, hand = d?.frames.object_in_hand, contact = d?.frames.gripper_contact, progress = d?.frames.progress;
  if (!hand || !contact) return undefined;
  return hand.map((h, t) => {
    const f: PrivilegedFrame = { objectInHand: typeof h === 'string' ? h : null, gripperContact: contact[t] === true };
    if (typeof stage?.[t] === 'string') f.teacherStage = stage[t] as string;
    if (typeof progress?.[t] === 'number') f.progress = progress[t] as number;
    return f;
  });
}

export async function collectRollouts(
  env: Env,
  policy: Policy,
  opts: CollectOptions,
  hooks: { onProgress?: (p: CollectProgress) => void; signal?: AbortSignal; log?: (line: string) => void } = {},
): Promise<CollectResult> {
  const maxSteps = opts.maxSteps ?? SUITE_MAX_STEPS[opts.suite];
  if (!maxSteps) throw invalidInput(`no step limit known for suite ${opts.suite}: pass maxSteps`, { field: 'maxSteps' });
  if (!(opts.episodesPerTask > 0)) throw invalidInput(`episodesPerTask must be positive`, { field: 'episodesPerTask' });
  const warmup = opts.warmupSteps ?? WARMUP_STEPS;
  const flushEvery = Math.max(1, opts.flushEvery ?? 10);
  const tailSteps = opts.tailSteps ?? 0;
  if (!Number.isInteger(tailSteps) || tailSteps < 0) throw invalidInput(`tailSteps must be a non-negative integer, got ${tailSteps}`, { field: 'tailSteps', value: tailSteps });
  if (tailSteps > 0 && !canStepPastEnd(env)) throw invalidInput(`tailSteps: environment ${env.name} cannot step past the end of an episode`, { field: 'tailSteps', env: env.name });
  const epNotes = new WeakMap<Episode, Record<string, unknown>>();
  const teacher = opts.teacher ?? policy.name;
  const started = Date.now();
  const taskInfo = new Map((await env.listTasks(opts.suite)).map((t) => [t.index, t]));
  if (opts.journalPerTask && opts.tasks.length !== 1) throw invalidInput('journalPerTask: collect one task per call', { field: 'tasks', value: opts.tasks });
  const jFile = journalFile(opts.outDir, opts.suite, opts.journalPerTask ? opts.tasks[0] : undefined);
  const commitFile = `${jFile}.commit`;
  // One collector at a time per journal (its HDF5, sidecar and journal): a killed job's rollout process
  // finishes and commits the episode it is in, so a resumed job waits for it to go before it reads what is
  // done — otherwise that episode is collected twice, or one process's commit replaces the other's.
  mkdirSync(path.dirname(jFile), { recursive: true });
  const lock = await acquirePidLock(`${jFile}.lock`, {
    what: `collect ${opts.suite} task${opts.tasks.length === 1 ? '' : 's'} ${opts.tasks.join(',')}`,
    signal: hooks.signal,
    onWait: (h) => hooks.log?.(`collect: ${path.basename(jFile)} is held by process ${h.pid ?? '?'} (${h.what ?? 'another collector'}); waiting for it to finish`),
  });
  try {
    return await collectLocked(env, policy, opts, hooks, { jFile, commitFile, teacher, started, taskInfo, maxSteps, warmup, flushEvery, tailSteps, epNotes });
  } finally {
    lock.release();
  }
}

async function collectLocked(
  env: Env,
  policy: Policy,
  opts: CollectOptions,
  hooks: { onProgress?: (p: CollectProgress) => void; signal?: AbortSignal; log?: (line: string) => void },
  c: { jFile: string; commitFile: string; teacher: string; started: number; taskInfo: Map<number, TaskInfo>; maxSteps: number; warmup: number; flushEvery: number; tailSteps: number; epNotes: WeakMap<Episode, Record<string, unknown>> },
): Promise<CollectResult> {
  const { jFile, commitFile, teacher, started, taskInfo, maxSteps, warmup, flushEvery, tailSteps, epNotes } = c;
  // A commit a kill interrupted is completed first; temp files of writers that died go.
  const completed = recoverUnit(commitFile);
  if (completed.length) hooks.log?.(`collect: completed an interrupted commit (${completed.map((f) => path.basename(f)).join(', ')})`);
  const swept = sweepTemps(path.join(opts.outDir, opts.suite));
  if (swept.length) hooks.log?.(`collect: removed ${swept.length} temp file(s) left by killed writers`);
  const journal = readJournal(jFile, opts.suite, opts.seed, teacher);
  const result: CollectResult = { suite: opts.suite, files: [], successes: 0, failures: 0, skipped: 0, frames: 0, perTask: {}, seconds: 0 };

  // What is already done: demos in the HDF5 (the source of truth for successes) and journaled attempts.
  const done = new Set(journal.attempts.map((a) => `${a.task}:${a.init}`));
  for (const task of opts.tasks) {
    const file = demoFile(opts.outDir, opts.suite, task, opts.naming);
    if (!existsSync(file)) continue;
    const reader = await openLiberoHdf5(file);
    try {
      for (const key of reader.demoKeys) {
        const info = reader.info(key);
        if (info.initIndex !== undefined) done.add(`${task}:${info.initIndex}`);
      }
      // An episode counted as done must have its ground truth, where the env records it.
      if (env.providesPrivileged) {
        const side = existsSync(sidecarPath(file)) ? readSidecar(file) : null;
        const bare = reader.demoKeys.filter((d) => !side?.demos[d]?.frames.object_in_hand);
        if (bare.length) {
          throw new LabError('CORRUPT_FILE', `${file}: ${bare.join(', ')} ha${bare.length === 1 ? 's' : 've'} no simulator ground truth in ${path.basename(sidecarPath(file))} (a collection killed between the two files by an earlier version): move the file and its sidecar away and collect these episodes again`, { file, demos: bare });
        }
      }
    } finally {
      reader.close();
    }
  }

  const total = opts.tasks.length * opts.episodesPerTask;
  let attempted = 0;
  let attemptedThisRun = 0;
  const pending = new Map<number, { ok: Episode[]; failed: Episode[]; attempts: Journal['attempts'] }>();

  // HDF5, sidecar and journal change together (one commit unit): a kill leaves all of them old or all new.
  const flush = async (task: number) => {
    const p = pending.get(task);
    if (!p || p.attempts.length === 0) return;
    const staged: StagedFile[] = [];
    try {
      if (p.ok.length) staged.push(...(await stageWithPrivileged(demoFile(opts.outDir, opts.suite, task, opts.naming), p.ok, epNotes)));
      if (p.failed.length) staged.push(...(await stageWithPrivileged(failureFile(opts.outDir, opts.suite, task, opts.naming), p.failed, epNotes)));
      const next = { ...journal, attempts: [...journal.attempts, ...p.attempts] };
      staged.push(await stageFile(jFile, JSON.stringify(next, null, 2) + '\n'));
      await commitUnit(commitFile, staged);
      journal.attempts = next.attempts;
    } catch (err) {
      for (const f of staged) rmSync(f.tmp, { force: true });
      throw err;
    }
    pending.set(task, { ok: [], failed: [], attempts: [] });
  };

  try {
    for (const task of opts.tasks) {
      const info = taskInfo.get(task);
      if (!info) throw invalidInput(`suite ${opts.suite} has no task ${task}`, { field: 'tasks', value: task });
      if (opts.episodesPerTask > info.numInitStates) throw invalidInput(`task ${task} has ${info.numInitStates} initial states, asked for ${opts.episodesPerTask}`, { field: 'episodesPerTask' });
      result.perTask[task] = { successes: 0, failures: 0 };
      pending.set(task, { ok: [], failed: [], attempts: [] });
      for (let init = 0; init < opts.episodesPerTask; init++) {
        attempted++;
        if (done.has(`${task}:${init}`)) {
          result.skipped++;
          continue;
        }
        if (hooks.signal?.aborted) throw new LabError('CANCELLED', 'collection cancelled', { task, init });
        const seed = episodeSeed(opts.seed, task, init);
        const rec = new Recorder();
        // Every recorded frame is the observation an action answered, with that action and the teacher's stage.
        const r = await runRollout(
          env,
          policy,
          { suite: opts.suite, taskIndex: task, initIndex: init, seed, instruction: info.instruction, warmupSteps: warmup, maxSteps, execution: { mode: 'whole' }, tailSteps },
          { signal: hooks.signal, onStep: (s) => rec.push(s.obs, s.action, s.stage) },
        );
        // A success during the warm-up leaves nothing to learn from: counted as a failed attempt.
        const success = r.success && r.steps > 0;
        const successFrame = r.steps;
        const ep = rec.length > 0 ? rec.toEpisode({ suite: opts.suite, taskIndex: task, instruction: info.instruction, initIndex: init, seed, teacher, success }) : null;
        if (ep && success && tailSteps > 0) epNotes.set(ep, { tail_steps: rec.length - successFrame, success_frame: successFrame });
        const p = pending.get(task)!;
        p.attempts.push({ task, init, success, steps: rec.length });
        if (success && ep) {
          p.ok.push(ep);
          result.successes++;
          result.perTask[task].successes++;
          result.frames += ep.length;
        } else {
          if (opts.keepFailures && ep) p.failed.push(ep);
          result.failures++;
          result.perTask[task].failures++;
        }
        attemptedThisRun++;
        if (p.ok.length + p.failed.length >= flushEvery) await flush(task);
        const elapsed = (Date.now() - started) / 1000;
        hooks.onProgress?.({
          attempted,
          total,
          successes: result.successes,
          failures: result.failures,
          skipped: result.skipped,
          frames: result.frames,
          task,
          initIndex: init,
          etaSeconds: attemptedThisRun > 0 ? (elapsed / attemptedThisRun) * (total - attempted) : null,
        });
      }
      await flush(task);
    }
  } finally {
    // Keep what finished before a cancel or an error (a bad teacher answer, a dead bridge).
    for (const task of pending.keys()) await flush(task);
  }
  result.files = opts.tasks.map((t) => demoFile(opts.outDir, opts.suite, t, opts.naming)).filter((f) => existsSync(f));
  result.seconds = (Date.now() - started) / 1000;
  return result;
}
