import { z } from 'zod';
import { PolicyEntrySchema } from '../../evaluate/policy-entry.js';
import { ChunkExecutionSchema } from '../../rollout/chunk-executor.js';

/** The `evaluate` job's parameters: a schema alone, light to load, so a shell can check a job's parameters before it starts a worker. */
export const EvaluateParams = z
  .object({
    policies: z.array(PolicyEntrySchema).min(1),
    suites: z.array(z.string().min(1)).min(1).default(['spatial', 'object', 'goal']),
    tasks: z.array(z.number().int().nonnegative()).min(1).default([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
    trials: z.number().int().positive().default(20),
    execution: ChunkExecutionSchema.default({ mode: 'whole' }),
    warmupSteps: z.number().int().nonnegative().default(10),
    maxSteps: z.record(z.string(), z.number().int().positive()).default({}),
    workers: z.number().int().min(1).max(64).optional(),
    seed: z.number().int().default(0),
    /** The reference policy id (teacher) of the tables; default the first teacher-like spec, else the first. */
    reference: z.string().optional(),
    imageSize: z.number().int().min(16).max(512).default(128),
    keepFrames: z.boolean().default(true),
    frameStride: z.number().int().positive().default(1),
    retryErrored: z.boolean().default(false),
    /**
     * The execution provider of every student policy of the job, when given (it wins over a student
     * spec's own `ep`; absent: each student runs on its spec's `ep`, default cpu). auto = CUDA where it
     * loads, else the CPU (the log says which and why); cuda where CUDA cannot run fails at once, before
     * anything is written under eval/. Teachers and baselines are not ONNX models: it does not apply to
     * them. The EP used is recorded in evaluation.json, in each trial record and in the latency tables.
     */
    ep: z.enum(['auto', 'cpu', 'cuda']).optional(),
  })
  .strict();
export type EvaluateParams = z.output<typeof EvaluateParams>;
