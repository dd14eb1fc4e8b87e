import { z } from 'zod';
import { Artifact, DoctorReport, ResultRecord, Experiment, ExperimentId, ExperimentName, Job, JobId, Settings, TrialKey, TrialOutcome, TrialDetail, TrialSummary, VlmSettings } from './schemas.js';
import { JOB_KINDS, unknownJobKindMessage } from './job-kinds.js';

/**
 * The `lab` API contract: one entry per message, with the schema of what is sent and of what comes back.
 * Implemented twice — Electron main over IPC (electron/main/ipc-router.ts) and the web-mode server over
 * HTTP (electron/server/) — and consumed once by the renderer through `LabClient`. Job events are the one
 * stream: `subscribeJobs` (a preload bridge over IPC, a WebSocket in web mode).
 */
export { JOB_KINDS };
export const JobKind = z.enum(JOB_KINDS, { error: (issue) => (issue.input === undefined ? undefined : unknownJobKindMessage(issue.input)) });
export type JobKind = z.infer<typeof JobKind>;

export const labMethods = {
  'experiments.list': { input: z.object({}).strict(), output: z.array(Experiment) },
  'experiments.get': { input: z.object({ id: ExperimentId }).strict(), output: Experiment },
  'experiments.create': {
    input: z
      .object({ name: ExperimentName, recipe: z.string().default('distill'), config: z.record(z.string(), z.unknown()).default({}) })
      .strict(),
    output: Experiment,
  },
  'experiments.rename': { input: z.object({ id: ExperimentId, name: ExperimentName }).strict(), output: Experiment },
  /** Replace the experiment's recipe settings (validated against the recipe, e.g. distill's DistillConfig). */
  'experiments.configure': { input: z.object({ id: ExperimentId, config: z.record(z.string(), z.unknown()) }).strict(), output: Experiment },
  'experiments.delete': { input: z.object({ id: ExperimentId }).strict(), output: z.object({ deleted: z.literal(true) }) },
  'jobs.start': {
    input: z
      .object({ kind: JobKind, experimentId: ExperimentId.nullable().default(null), params: z.record(z.string(), z.unknown()).default({}) })
      .strict(),
    output: Job,
  },
  'jobs.cancel': { input: z.object({ id: JobId }).strict(), output: Job },
  'jobs.resume': { input: z.object({ id: JobId }).strict(), output: Job },
  'jobs.list': { input: z.object({ experimentId: ExperimentId.optional() }).strict(), output: z.array(Job) },
  'jobs.logs': {
    input: z.object({ id: JobId }).strict(),
    output: z.array(z.object({ level: z.string(), line: z.string(), at: z.string() })),
  },
  'artifacts.list': { input: z.object({ experimentId: ExperimentId }).strict(), output: z.array(Artifact) },
  'results.list': { input: z.object({ experimentId: ExperimentId, kind: z.string().optional() }).strict(), output: z.array(ResultRecord) },
  /** The stored closed-loop trials of an experiment's evaluations, filtered (the matrix cell → its trials). */
  'trials.list': {
    input: z
      .object({ experimentId: ExperimentId, policyId: TrialKey.shape.policyId.optional(), suite: TrialKey.shape.suite.optional(), taskIndex: z.number().int().nonnegative().optional(), outcome: TrialOutcome.optional() })
      .strict(),
    output: z.array(TrialSummary),
  },
  /** One trial: its summary and the whole stored record (actions, phases, predicates, query steps). */
  'trials.get': { input: TrialKey.strict(), output: z.object({ summary: TrialSummary, record: TrialDetail }) },
  'doctor.run': { input: z.object({}).strict(), output: DoctorReport },
  'settings.get': { input: z.object({}).strict(), output: Settings },
  /** apiKey: a new key (kept in the OS keychain), null to forget it, absent to leave it as it is. */
  'settings.setVlm': {
    input: VlmSettings.extend({ apiKey: z.string().min(1).max(4096).nullable().optional() }).strict(),
    output: Settings,
  },
} as const;

export type LabMethod = keyof typeof labMethods;
export const LAB_METHOD_NAMES = Object.keys(labMethods) as LabMethod[];
export type LabInput<M extends LabMethod> = z.input<(typeof labMethods)[M]['input']>;
export type LabParsedInput<M extends LabMethod> = z.output<(typeof labMethods)[M]['input']>;
export type LabOutput<M extends LabMethod> = z.output<(typeof labMethods)[M]['output']>;

/** The wire envelope of every answer (IPC and HTTP): a value or a serialized typed error. */
export type LabResult<T> = { ok: true; value: T } | { ok: false; error: { name: string; code: string; message: string; details?: Record<string, unknown> } };

/** What the renderer sees, whichever shell it runs in. */
export interface LabClient {
  call<M extends LabMethod>(method: M, input: LabInput<M>): Promise<LabOutput<M>>;
  /** Returns the unsubscribe function. */
  subscribeJobs(listener: (event: import('./schemas.js').JobEvent) => void): () => void;
  /** A URL the page can load an artifact file from (<video>, <img>, a download link). */
  fileUrl(experimentId: string, relPath: string): string;
}

export const IPC_CHANNEL_PREFIX = 'lab:';
export const IPC_JOB_EVENT_CHANNEL = 'lab-event:jobs';
