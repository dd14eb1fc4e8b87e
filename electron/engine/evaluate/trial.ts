import { z } from 'zod';
import { parseOr } from '../errors.js';
import { ChunkExecutionSchema } from '../rollout/chunk-executor.js';

/**
 * One closed-loop trial as stored (docs/evaluate.md, "Per-trial record"). The record is the unit of
 * resumption and of every table: (policy, suite, task, trial) is its identity, and trial i always starts
 * from initial state i, so two policies' records with the same identity form a pair for McNemar and the
 * paired bootstrap.
 */

export const FAILURE_REASONS = ['timeout', 'unstable', 'error'] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

const finite = z.number().refine(Number.isFinite, 'must be finite');

/** A camera's frames, stored compactly (a video or a frame pack). */
const FramesRefSchema = z.object({
  path: z.string().min(1),
  /** frames-u8.gz: gzip of the raw H×W×3 frames, concatenated (frames.ts). */
  format: z.enum(['mp4', 'webm', 'frames-u8', 'frames-u8.gz']),
  count: z.number().int().nonnegative(),
  height: z.number().int().positive(),
  width: z.number().int().positive(),
  /** Keep every `stride`-th frame (1 = all). */
  stride: z.number().int().positive().default(1),
});

export const TrialRecordSchema = z
  .object({
    policyId: z.string().min(1),
    suite: z.string().min(1),
    taskIndex: z.number().int().nonnegative(),
    trialIndex: z.number().int().nonnegative(),
    /** The fixed initial state (= trialIndex under the protocol; kept explicit for imported LIBERO runs). */
    initIndex: z.number().int().nonnegative(),
    seed: z.number().int(),
    success: z.boolean(),
    /** Control steps after the warm-up (policy steps, not counting the 10 no-ops). */
    steps: z.number().int().nonnegative(),
    /** Null on success; on failure: ran out of steps, the simulation diverged, or something broke (server, file). */
    failure: z.enum(FAILURE_REASONS).nullable(),
    /** For 'error' (and 'unstable'): what happened, for the report of errored trials. */
    errorMessage: z.string().optional(),
    execution: ChunkExecutionSchema,
    /** Gripper command sent at each executed step (LIBERO convention: -1 open, +1 close). */
    gripper: z.array(finite),
    /** Phase index per executed step into `phaseNames` (null when no phase classifier ran). */
    phases: z.object({ names: z.array(z.string()), series: z.array(z.number().int().nonnegative()) }).nullable(),
    /** Milliseconds of each policy query (act()), apart from simulator time. */
    policyMs: z.array(finite),
    /** Milliseconds of simulator stepping, total over the trial. */
    simMs: finite,
    /** Where the agentview frames live, stored compactly (a video or a frame pack), or null if not kept. */
    frames: FramesRefSchema.nullable(),
    /** The wrist camera's frames, like `frames` (absent in records from before both cameras were kept). */
    wristFrames: FramesRefSchema.nullable().optional(),
    /** The executed 7-D action per step, flattened (steps × 7); absent in older records. */
    actions: z.array(finite).optional(),
    /** The steps at which the policy was queried (a chunk requested), ascending. */
    querySteps: z.array(z.number().int().nonnegative()).optional(),
    /** End-effector position before each executed step, flattened (steps × 3). */
    eePos: z.array(finite).optional(),
    /** The goal predicates after each step: bit k of series[t] is names[k]'s truth. */
    predicates: z.object({ names: z.array(z.string()).max(30), series: z.array(z.number().int().nonnegative()) }).optional(),
    startedAt: z.string().optional(),
    /** The ONNX Runtime execution provider a student ran on (absent: not an ONNX policy, or a record from before it was kept, which ran on the CPU). */
    ep: z.enum(['cpu', 'cuda']).optional(),
    /** The matmul precision a student ran at (absent: not an ONNX policy, or a record from before it was kept: fp32). */
    precision: z.enum(['fp32', 'int8']).optional(),
  })
  .superRefine((r, ctx) => {
    if (r.success && r.failure !== null) ctx.addIssue({ code: 'custom', path: ['failure'], message: 'a successful trial has no failure reason' });
    if (!r.success && r.failure === null) ctx.addIssue({ code: 'custom', path: ['failure'], message: 'a failed trial needs a failure reason' });
    if (r.gripper.length !== r.steps) ctx.addIssue({ code: 'custom', path: ['gripper'], message: `gripper series has ${r.gripper.length} entries for ${r.steps} steps` });
    const perStep = (name: 'actions' | 'eePos', width: number) => {
      const v = r[name];
      if (v && v.length !== r.steps * width) ctx.addIssue({ code: 'custom', path: [name], message: `${name} has ${v.length} numbers for ${r.steps} steps × ${width}` });
    };
    perStep('actions', 7);
    perStep('eePos', 3);
    if (r.predicates && r.predicates.series.length !== r.steps) ctx.addIssue({ code: 'custom', path: ['predicates', 'series'], message: `predicate series has ${r.predicates.series.length} entries for ${r.steps} steps` });
    if (r.querySteps?.some((q, i) => q > r.steps || (i > 0 && q <= r.querySteps![i - 1]))) ctx.addIssue({ code: 'custom', path: ['querySteps'], message: 'query steps must ascend within the trial' });
    if (r.phases) {
      if (r.phases.series.length !== r.steps) ctx.addIssue({ code: 'custom', path: ['phases', 'series'], message: `phase series has ${r.phases.series.length} entries for ${r.steps} steps` });
      const bad = r.phases.series.findIndex((p) => p >= r.phases!.names.length);
      if (bad >= 0) ctx.addIssue({ code: 'custom', path: ['phases', 'series', bad], message: 'phase index outside phase names' });
    }
  });
export type TrialRecord = z.infer<typeof TrialRecordSchema>;
export type TrialRecordInput = z.input<typeof TrialRecordSchema>;

/** Validate a record read from a file or the store; the failing field is named in the error. */
export function parseTrialRecord(value: unknown, source = 'trial record'): TrialRecord {
  return parseOr(TrialRecordSchema, value, source, 'CORRUPT_FILE', { source });
}

/** The identity of a trial: one policy, one suite, one task, one trial index. */
export const trialKey = (r: { policyId: string; suite: string; taskIndex: number; trialIndex: number }) =>
  `${r.policyId}\u0000${r.suite}\u0000${r.taskIndex}\u0000${r.trialIndex}`;

/** Errored trials are reported apart from failures: a dead server says nothing about the policy. */
export const isErrored = (r: TrialRecord) => r.failure === 'error';
