import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { TrialKey, type TrialSummary } from '../../api/schemas.js';
import { flipAudit, seriesFromTrials } from '../audit/flips.js';
import { LabError } from '../errors.js';
import { trialLogFile } from './evaluation.js';
import { uniqueTrials } from './protocol.js';
import { isErrored, type TrialRecord } from './trial.js';
import { readTrials } from './trial-log.js';

/**
 * The stored trials of an experiment, for the trial browser (issue 14): `eval/<policyId>/trials.jsonl`
 * of every evaluated policy (folders set aside as `<id>.previous-<hash>` are not current and are left
 * out). Trials are named by key (policy, suite, task, trial), never by a path the caller makes up; their
 * frame files are served as `<experimentId>/trial-frames/<policyId>/<suite>/<task>/<trial>/<camera>`
 * (resolveTrialFrames), which is looked up in the record.
 */
/** What the browser needs of the lab's store (the shells pass `lab.store`; getExperiment throws NOT_FOUND). */
export interface TrialStore {
  experimentDir(id: string): string;
  getExperiment(id: string): unknown;
}
export type TrialFilter = { experimentId: string; policyId?: string; suite?: string; taskIndex?: number; outcome?: 'success' | 'failure' | 'error' };

const CAMERAS = ['agentview', 'wrist'] as const;
export type Camera = (typeof CAMERAS)[number];
const FRAMES_PREFIX = 'trial-frames/';

function evalRoot(store: TrialStore, experimentId: string): string {
  store.getExperiment(experimentId); // NOT_FOUND for an unknown experiment
  return path.join(store.experimentDir(experimentId), 'eval');
}

/** The policy ids evaluated in an experiment (current folders only). */
export function evaluatedPolicies(store: TrialStore, experimentId: string): string[] {
  const root = evalRoot(store, experimentId);
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.includes('.previous-') && existsSync(trialLogFile(path.join(root, d.name))))
    .map((d) => d.name)
    .sort();
}

/** A policy's current trials (each once), read from its trial log. */
export function policyTrials(store: TrialStore, experimentId: string, policyId: string): TrialRecord[] {
  return uniqueTrials(readTrials(trialLogFile(path.join(evalRoot(store, experimentId), policyId))).records);
}

const outcomeOf = (r: TrialRecord): 'success' | 'failure' | 'error' => (r.success ? 'success' : isErrored(r) ? 'error' : 'failure');

const framesSpec = (experimentId: string, r: TrialRecord, camera: Camera) =>
  `${experimentId}/${FRAMES_PREFIX}${r.policyId}/${r.suite}/${r.taskIndex}/${r.trialIndex}/${camera}`;

export function summarize(experimentId: string, r: TrialRecord): TrialSummary {
  const flips = flipAudit(seriesFromTrials([r])).episodes[0];
  return {
    policyId: r.policyId,
    suite: r.suite,
    taskIndex: r.taskIndex,
    trialIndex: r.trialIndex,
    initIndex: r.initIndex,
    success: r.success,
    failure: r.failure,
    outcome: outcomeOf(r),
    ...(r.errorMessage !== undefined ? { errorMessage: r.errorMessage } : {}),
    steps: r.steps,
    flips: flips?.flips ?? 0,
    flipSteps: flips?.at ?? [],
    frames: {
      agentview: r.frames ? framesSpec(experimentId, r, 'agentview') : null,
      wrist: r.wristFrames ? framesSpec(experimentId, r, 'wrist') : null,
    },
    agentviewFrames: r.frames ? { format: r.frames.format, count: r.frames.count, height: r.frames.height, width: r.frames.width, stride: r.frames.stride } : null,
  };
}

export function listTrials(store: TrialStore, f: TrialFilter): TrialSummary[] {
  const policies = f.policyId !== undefined ? [f.policyId] : evaluatedPolicies(store, f.experimentId);
  const out: TrialSummary[] = [];
  for (const policyId of policies) {
    for (const r of policyTrials(store, f.experimentId, policyId)) {
      if (f.suite !== undefined && r.suite !== f.suite) continue;
      if (f.taskIndex !== undefined && r.taskIndex !== f.taskIndex) continue;
      if (f.outcome !== undefined && outcomeOf(r) !== f.outcome) continue;
      out.push(summarize(f.experimentId, r));
    }
  }
  return out.sort((a, b) => a.policyId.localeCompare(b.policyId) || a.suite.localeCompare(b.suite) || a.taskIndex - b.taskIndex || a.trialIndex - b.trialIndex);
}

export function findTrial(store: TrialStore, key: TrialKey): TrialRecord {
  const r = policyTrials(store, key.experimentId, key.policyId).find((t) => t.suite === key.suite && t.taskIndex === key.taskIndex && t.trialIndex === key.trialIndex);
  if (!r) throw new LabError('NOT_FOUND', `no trial ${key.suite}/task ${key.taskIndex}/trial ${key.trialIndex} of policy ${key.policyId} in experiment ${key.experimentId}`, { ...key });
  return r;
}

export function getTrial(store: TrialStore, key: TrialKey): { summary: TrialSummary; record: TrialRecord } {
  const r = findTrial(store, key);
  return { summary: summarize(key.experimentId, r), record: r };
}

/**
 * The frame pack behind `<experimentId>/trial-frames/<policyId>/<suite>/<task>/<trial>/<camera>`, or null
 * when the spec is not a trial-frames one (resolveLabFile then tries registered artifacts). The path comes from
 * the stored record and must stay inside the policy's eval folder (symlinks resolved).
 */
export function resolveTrialFrames(store: TrialStore, spec: string): string | null {
  const slash = spec.indexOf('/');
  if (slash <= 0 || !spec.startsWith(FRAMES_PREFIX, slash + 1)) return null;
  const experimentId = spec.slice(0, slash);
  const parts = spec.slice(slash + 1 + FRAMES_PREFIX.length).split('/');
  const [policyId, suite, task, trial, camera] = parts;
  const key = TrialKey.safeParse({ experimentId, policyId, suite, taskIndex: /^\d+$/.test(task ?? '') ? Number(task) : -1, trialIndex: /^\d+$/.test(trial ?? '') ? Number(trial) : -1 });
  if (parts.length !== 5 || !key.success || !(CAMERAS as readonly string[]).includes(camera)) {
    throw new LabError('INVALID_INPUT', `trial frames "${spec}" must be <experimentId>/trial-frames/<policyId>/<suite>/<task>/<trial>/agentview|wrist`, { path: spec });
  }
  const r = findTrial(store, key.data);
  const ref = camera === 'wrist' ? r.wristFrames : r.frames;
  if (!ref) throw new LabError('NOT_FOUND', `trial ${suite}/${task}/${trial} of ${policyId} kept no ${camera} frames`, { path: spec });
  const dir = realpathSync(path.join(evalRoot(store, experimentId), policyId));
  const file = path.join(dir, ref.path);
  if (!existsSync(file)) throw new LabError('NOT_FOUND', `the ${camera} frames of trial ${suite}/${task}/${trial} of ${policyId} are gone (${ref.path})`, { path: spec });
  const real = realpathSync(file);
  if (!real.startsWith(dir + path.sep) || !statSync(real).isFile()) throw new LabError('INVALID_INPUT', `trial frames ${ref.path} leave the eval folder of ${policyId}`, { path: spec });
  return real;
}
