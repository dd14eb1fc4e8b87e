import { z } from 'zod';

/**
 * The records that cross the `lab` API (IPC and HTTP/WebSocket). One definition, validated on both
 * sides: the renderer parses what it receives, main and the web server parse what they are sent.
 */
export const ExperimentId = z.string().regex(/^exp_[a-z0-9]{10,}$/, 'an experiment id looks like exp_…');
export const JobId = z.string().regex(/^job_[a-z0-9]{10,}$/, 'a job id looks like job_…');

export const ExperimentName = z.string().trim().min(1, 'name must not be empty').max(120, 'name is at most 120 characters');

export const Experiment = z.object({
  id: ExperimentId,
  name: ExperimentName,
  recipe: z.string(),
  config: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Experiment = z.infer<typeof Experiment>;

export const JobStatus = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted']);
export type JobStatus = z.infer<typeof JobStatus>;

export const JobProgress = z.object({
  fraction: z.number().min(0).max(1),
  stage: z.string(),
  etaSeconds: z.number().nonnegative().nullable(),
});
export type JobProgress = z.infer<typeof JobProgress>;

export const SerializedErrorSchema = z.object({
  name: z.string(),
  code: z.string(),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});

export const Job = z.object({
  id: JobId,
  kind: z.string(),
  experimentId: ExperimentId.nullable(),
  params: z.record(z.string(), z.unknown()),
  status: JobStatus,
  progress: JobProgress,
  result: z.unknown().nullable(),
  error: SerializedErrorSchema.nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  attempts: z.number().int().nonnegative(),
});
export type Job = z.infer<typeof Job>;

export const JobLogLine = z.object({
  jobId: JobId,
  level: z.enum(['info', 'warn', 'error']),
  line: z.string(),
  at: z.string(),
});
export type JobLogLine = z.infer<typeof JobLogLine>;

/** What a subscriber receives: a job's new state, or one log line. */
export const JobEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('job'), job: Job }),
  z.object({ type: z.literal('log'), log: JobLogLine }),
]);
export type JobEvent = z.infer<typeof JobEvent>;

export const Artifact = z.object({
  id: z.string(),
  experimentId: ExperimentId,
  jobId: JobId.nullable(),
  kind: z.string(),
  path: z.string(), // relative to the experiment folder
  bytes: z.number().int().nonnegative(),
  createdAt: z.string(),
  meta: z.record(z.string(), z.unknown()),
});
export type Artifact = z.infer<typeof Artifact>;

export const DoctorCheck = z.object({
  name: z.string(),
  ok: z.boolean(),
  detail: z.string(),
  /** What to do when it is missing. */
  hint: z.string().optional(),
});
export const DoctorReport = z.object({ checks: z.array(DoctorCheck), at: z.string() });
export type DoctorReport = z.infer<typeof DoctorReport>;

export const VlmSettings = z.object({
  /** OpenAI-compatible base URL, e.g. https://dashscope.aliyuncs.com/compatible-mode/v1 or http://127.0.0.1:8000/v1; null = offline annotator. */
  baseUrl: z.url({ protocol: /^https?$/ }).nullable(),
  model: z.string().trim().min(1).max(200).nullable(),
});
export type VlmSettings = z.infer<typeof VlmSettings>;

/** What the renderer may know about settings: never the key itself, only whether one is set and where it would be kept. */
export const Settings = z.object({
  vlm: VlmSettings.extend({ apiKeySet: z.boolean(), keyStorage: z.object({ canStore: z.boolean(), where: z.string() }) }),
});
export type Settings = z.infer<typeof Settings>;

/** One cell of a result table (evaluate/tables.ts builds them from stored trials). */
export const CellSchema = z.object({
  text: z.string(),
  /** The number behind the text (a rate in [0, 1], a gap, seconds …); null for labels. */
  value: z.number().nullable().default(null),
  bold: z.boolean().optional(),
  /** Significance marker ('*'), rendered after the value. */
  mark: z.string().optional(),
  /** Wilson 95% interval of a rate, in [0, 1]. */
  ci: z.tuple([z.number(), z.number()]).optional(),
  /** p-value of the comparison behind `mark`. */
  p: z.number().optional(),
  /** Trials counted (errored excluded). */
  n: z.number().int().optional(),
  /** The trials behind a rate (a success-matrix or per-task cell): the trial browser opens them (trials.list). */
  trials: z.object({ policyId: z.string().min(1), suite: z.string().min(1), taskIndex: z.number().int().nonnegative() }).optional(),
});
export type Cell = z.infer<typeof CellSchema>;

export const ResultTableSchema = z.object({
  id: z.string(),
  title: z.string(),
  columns: z.array(z.string()),
  rows: z.array(z.array(CellSchema)),
  notes: z.array(z.string()),
});
export type ResultTable = z.infer<typeof ResultTableSchema>;

/** A stored result of an experiment: a table (success matrix, the paper's tables) or figure data. */
export const ResultRecord = z.object({
  id: z.string(),
  kind: z.string(),
  value: z.unknown(),
  createdAt: z.string(),
});
export type ResultRecord = z.infer<typeof ResultRecord>;

/** One stored trial, named by key (never by path): the policy's id, the suite, the task and the trial index. */
export const TrialKey = z.object({
  experimentId: ExperimentId,
  policyId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._=-]*$/, 'a policy id: letters, digits, . _ = -'),
  suite: z.string().regex(/^[a-z0-9_]+$/, 'a suite name: lower-case letters, digits, _'),
  taskIndex: z.number().int().nonnegative(),
  trialIndex: z.number().int().nonnegative(),
});
export type TrialKey = z.infer<typeof TrialKey>;

export const TrialOutcome = z.enum(['success', 'failure', 'error']);

/** How a camera's frames are stored (evaluate/frames.ts): `frames-u8.gz` is gzip of raw H×W×3 frames, LIBERO orientation. */
export const TrialFramesMeta = z.looseObject({
  format: z.string(),
  count: z.number().int().nonnegative(),
  height: z.number().int().positive(),
  width: z.number().int().positive(),
  stride: z.number().int().positive().default(1),
});
/** A row of the trial list (trials.list). */
export const TrialSummary = TrialKey.omit({ experimentId: true }).extend({
  initIndex: z.number().int().nonnegative(),
  success: z.boolean(),
  failure: z.string().nullable(),
  /** success, failure, or error (a broken server or file: left out of the rates), as trials.list filters it. */
  outcome: TrialOutcome,
  errorMessage: z.string().optional(),
  steps: z.number().int().nonnegative(),
  /** Spurious gripper flips (the flip audit's definition) and the steps they start at. */
  flips: z.number().int().nonnegative(),
  flipSteps: z.array(z.number().int().nonnegative()),
  /** Frame files of the trial, as `<experimentId>/<key path>` specs the file URL takes; null when not kept. */
  frames: z.object({ agentview: z.string().nullable(), wrist: z.string().nullable() }),
  /** How the agentview frames are stored (a thumbnail decodes them without fetching the whole record). */
  agentviewFrames: TrialFramesMeta.nullable(),
});
export type TrialSummary = z.infer<typeof TrialSummary>;

const StepSeries = z.object({ names: z.array(z.string()), series: z.array(z.number().int().nonnegative()) });

/**
 * A stored trial record as the trial page reads it (trials.get): the per-step series it plots. The engine's
 * record (evaluate/trial.ts) carries more; fields from before a series was kept are absent.
 */
export const TrialDetail = z.looseObject({
  steps: z.number().int().nonnegative(),
  /** Gripper command per executed step (-1 open, +1 close). */
  gripper: z.array(z.number()),
  /** Executed 7-D action per step, flattened (steps × 7). */
  actions: z.array(z.number()).optional(),
  querySteps: z.array(z.number().int().nonnegative()).optional(),
  /** End-effector position before each step, flattened (steps × 3). */
  eePos: z.array(z.number()).optional(),
  /** Bit k of series[t]: predicate names[k] holds after step t. */
  predicates: StepSeries.optional(),
  phases: StepSeries.nullable(),
  frames: TrialFramesMeta.nullable(),
  wristFrames: TrialFramesMeta.nullable().optional(),
  policyMs: z.array(z.number()),
  seed: z.number().int(),
});
export type TrialDetail = z.infer<typeof TrialDetail>;
