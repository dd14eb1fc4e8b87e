import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { LabError, parseOr } from '../errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { readJsonFile } from '../util/json-file.js';
import { workerModule } from '../util/runtime-paths.js';
import { trainingCoverage, type TrainingCoverage } from './coverage.js';
import { StudentRuntime } from '../policies/student-onnx.js';
import { selectExecutionProvider } from '../graph/runtime.js';
import { PolicyEntrySchema, samePolicy, type PolicyEntry, type PolicyEntryInput } from './policy-entry.js';
import { planTrials, remainingTrials, uniqueTrials, type Protocol, type TrialSpec } from './protocol.js';
import { defaultWorkers, runTrials, type TrialProgress } from '../rollout/scheduler.js';
import { trialKey, type TrialRecord } from './trial.js';
import { appendTrial, readTrials } from './trial-log.js';
import { forkWorkerPool } from '../rollout/pool.js';
import { TrialSession, type TrialSessionConfig } from './trial-session.js';

/**
 * Evaluate one policy under a protocol, resumably (docs/evaluate.md "Evaluate job"):
 * `<evalDir>/trials.jsonl` is the append-only record of finished trials; a rerun plans the protocol,
 * drops what the log already holds (remainingTrials: each trial counted once, a seed mismatch is a
 * CONFLICT) and runs the rest over `workers` processes (one per core by default; 1 = in this process),
 * appending each record as it finishes. A kill loses at most the trials in flight. A student evaluated on
 * suites or tasks it was not trained on still runs; the gap is kept in evaluation.json (`coverage`).
 */
export interface EvaluatePolicyOptions {
  /** The policy (parsed here: a PolicySpec or an older string spec). */
  entry: PolicyEntryInput | PolicyEntry;
  protocol: Protocol;
  /** `<experiment>/eval/<policyId>`. */
  evalDir: string;
  /** Relative student paths resolve here. */
  baseDir: string;
  workers?: number;
  imageSize?: number;
  frames?: { keep: boolean; stride: number };
  retryErrored?: boolean;
  tokenizerDir?: string;
  signal?: AbortSignal;
  onTrial?: (p: TrialProgress<TrialRecord> & { skipped: number }) => void;
  /** Force worker processes even with workers = 1 (tests). */
  forceProcesses?: boolean;
  /** The student's training coverage if the caller already checked it; computed here for a student otherwise. */
  coverage?: TrainingCoverage | null;
  /** A student's execution provider, winning over its spec's `ep` (the evaluate job's `ep`); resolved before anything is written. */
  ep?: 'auto' | 'cpu' | 'cuda';
  /** Where the EP choice (and a change of EP in a resumed folder) is said. */
  log?: (line: string, level?: 'info' | 'warn') => void;
}

/** The execution provider a student policy runs on: asked for (the job's, else its spec's), used, and why. */
export interface StudentEp {
  requested: 'auto' | 'cpu' | 'cuda';
  used: 'cpu' | 'cuda';
  reason: string;
}

/**
 * A student's execution provider, resolved here (selectExecutionProvider): `override` (the evaluate job's
 * `ep`) else the spec's own. `cuda` where CUDA cannot run throws the typed UNSUPPORTED naming the missing
 * pieces. Null for every policy that is not a student (not an ONNX model).
 */
export async function studentEp(entry: PolicyEntry, override?: 'auto' | 'cpu' | 'cuda', log?: (m: string) => void): Promise<StudentEp | null> {
  if (entry.spec.kind !== 'student') return null;
  const requested = override ?? entry.spec.ep;
  const choice = await selectExecutionProvider(requested, log ? (m) => log(`${entry.id}: ${m}`) : undefined);
  return { requested, used: choice.ep, reason: choice.reason };
}

export interface PolicyEvaluation {
  policyId: string;
  /** One record per planned trial that is stored, plan order. */
  records: TrialRecord[];
  ran: number;
  skipped: number;
  workers: number;
  /** For a student: were the evaluated suites/tasks in its training data (null for teachers and baselines). */
  coverage: TrainingCoverage | null;
  /** For a student: the execution provider it ran on (null for teachers and baselines). */
  ep: StudentEp | null;
}

/** A student's training coverage under a protocol; null for every other kind of policy. */
export function studentCoverage(entry: PolicyEntry, protocol: Pick<Protocol, 'suites' | 'tasks'>, baseDir: string): TrainingCoverage | null {
  const spec = entry.spec;
  if (spec.kind !== 'student') return null;
  return trainingCoverage(StudentRuntime.readMeta(path.resolve(baseDir, spec.file)), protocol.suites, protocol.tasks, entry.id);
}

export const trialLogFile = (evalDir: string) => path.join(evalDir, 'trials.jsonl');
/** What a policy's eval folder was evaluated under (the policy, the protocol, its EP and file hash). */
export const evaluationMetaFile = (evalDir: string) => path.join(evalDir, 'evaluation.json');

const EvaluationMeta = z.object({ policy: z.unknown(), protocol: z.object({ warmupSteps: z.number().int().nonnegative() }).loose() }).loose();
/** The policy entry and protocol an eval folder records, or null for a folder without one (older, or not evaluated here). */
export function readEvaluationMeta(evalDir: string): { policy: PolicyEntry | null; warmupSteps: number } | null {
  const file = evaluationMetaFile(evalDir);
  if (!existsSync(file)) return null;
  const m = readJsonFile(file, EvaluationMeta);
  const policy = PolicyEntrySchema.safeParse(m.policy);
  return { policy: policy.success ? policy.data : null, warmupSteps: m.protocol.warmupSteps };
}

const handlerFile = () => workerModule('trial-handler');

/** The log's records; a truncated last line (a killed append) is cut off so new appends start clean. */
async function loadLog(file: string): Promise<TrialRecord[]> {
  const { records, truncatedLine } = readTrials(file);
  if (truncatedLine !== null) {
    const text = readFileSync(file, 'utf8');
    await writeFileAtomic(file, text.slice(0, text.lastIndexOf('\n') + 1));
  }
  return records;
}

/** The stored records of a plan, one per trial, plan order (missing trials left out). */
export function planRecords(plan: readonly TrialSpec[], records: Iterable<TrialRecord>): TrialRecord[] {
  const byKey = new Map(uniqueTrials(records).map((r) => [trialKey(r), r]));
  return plan.map((s) => byKey.get(trialKey(s))).filter((r): r is TrialRecord => r !== undefined);
}

/** sha256 of a policy file (a student's policy.onnx), when it exists (a missing one fails later, naming it). */
function fileDigest(file: string): { sha256: string } | null {
  if (!existsSync(file)) return null;
  return { sha256: createHash('sha256').update(readFileSync(file)).digest('hex') };
}

/**
 * Trials of an earlier version of the same student file (retrained since: the distill recipe's train stage
 * ran again, or the user exported anew) describe another policy: the folder is moved aside to
 * `eval/<id>.previous-<hash>` (kept, not deleted) and the evaluation starts afresh. Folders from before
 * the hash was recorded are kept in place (nothing to compare).
 */
function setAsideIfRetrained(evalDir: string, id: string, now: { sha256: string } | null, log?: (line: string, level?: 'info' | 'warn') => void): void {
  const metaFile = evaluationMetaFile(evalDir);
  if (!now || !existsSync(metaFile)) return;
  const prev = (JSON.parse(readFileSync(metaFile, 'utf8')) as { policyFile?: { sha256?: string } }).policyFile?.sha256;
  if (prev === undefined || prev === now.sha256) return;
  let aside = `${evalDir}.previous-${prev.slice(0, 12)}`;
  for (let k = 2; existsSync(aside); k++) aside = `${evalDir}.previous-${prev.slice(0, 12)}-${k}`;
  renameSync(evalDir, aside);
  log?.(`${id}: the student file changed since eval/${id} was evaluated (sha256 ${prev.slice(0, 12)} → ${now.sha256.slice(0, 12)}); its trials were moved to ${path.basename(aside)} and the evaluation starts afresh`, 'warn');
}

export async function evaluatePolicy(opts: EvaluatePolicyOptions): Promise<PolicyEvaluation> {
  const { protocol, evalDir } = opts;
  const entry = parseOr(PolicyEntrySchema, opts.entry, 'evaluate: policy');
  // The EP first: an `ep: cuda` that cannot run fails here, before the eval folder is made.
  const ep = await studentEp(entry, opts.ep);
  // A student is the file it names: its content hash is part of what this folder was evaluated on.
  const policyFile = entry.spec.kind === 'student' ? fileDigest(path.resolve(opts.baseDir, entry.spec.file)) : null;
  setAsideIfRetrained(evalDir, entry.id, policyFile, opts.log);
  mkdirSync(evalDir, { recursive: true });
  const log = trialLogFile(evalDir);
  // The protocol and policy this folder was evaluated under, recorded (seeds included) and checked.
  const metaFile = evaluationMetaFile(evalDir);
  const coverage = opts.coverage !== undefined ? opts.coverage : studentCoverage(entry, protocol, opts.baseDir);
  const meta = { policy: entry, protocol, coverage, ...(ep ? { ep } : {}), ...(policyFile ? { policyFile } : {}) };
  if (existsSync(metaFile)) {
    // An evaluation.json of either spec form (string + textMode, or PolicySpec) compares by what it names.
    const prev = JSON.parse(readFileSync(metaFile, 'utf8')) as { policy?: unknown; ep?: { used?: unknown } };
    // The EP is not the policy's identity: a folder may hold trials of both (each record names its own; so do the latency tables).
    const prevEp = prev.ep?.used ?? (entry.spec.kind === 'student' ? 'cpu' : undefined);
    if (ep && prevEp !== ep.used) opts.log?.(`${entry.id}: eval/${entry.id} holds trials run on ${String(prevEp)}; the new ones run on ${ep.used} (each trial record names its EP)`, 'warn');
    if (!samePolicy(prev.policy, entry)) {
      throw new LabError('CONFLICT', `eval/${entry.id} holds trials of ${JSON.stringify(prev.policy)}, not ${JSON.stringify(entry)}: use another policy id`, {
        field: 'policies',
        id: entry.id,
      });
    }
  }
  await writeJsonAtomic(metaFile, meta);

  const plan = planTrials(protocol, entry.id);
  const stored = await loadLog(log);
  const todo = remainingTrials(plan, stored, { retryErrored: opts.retryErrored });
  const skipped = plan.length - todo.length;
  const workers = Math.max(1, Math.min(opts.workers ?? defaultWorkers(), Math.max(1, todo.length)));
  const config: TrialSessionConfig = {
    policy: entry,
    seed: protocol.seed,
    baseDir: opts.baseDir,
    evalDir,
    imageSize: opts.imageSize ?? 128,
    frames: opts.frames ?? { keep: true, stride: 1 },
    tokenizerDir: opts.tokenizerDir,
    ...(ep ? { ep: ep.used } : {}),
  };
  if (todo.length > 0) {
    const useProcesses = workers > 1 || opts.forceProcesses === true;
    const pool = useProcesses ? forkWorkerPool<TrialSpec, TrialRecord>(workers, { handler: handlerFile(), config }) : null;
    const local = useProcesses ? null : await TrialSession.create(config);
    try {
      await runTrials(todo, pool ? pool.runOne : (spec) => local!.run(spec), {
        workers,
        signal: opts.signal,
        onProgress: (p) => {
          appendTrial(log, p.result);
          opts.onTrial?.({ ...p, skipped });
        },
      });
    } finally {
      await pool?.close();
      await local?.close();
    }
  }
  return { policyId: entry.id, records: planRecords(plan, (await loadLog(log)).values()), ran: todo.length, skipped, workers, coverage, ep };
}
