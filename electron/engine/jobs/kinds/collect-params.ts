import { z } from 'zod';
import { SUITES } from '../../sim/task.js';
import { TeacherSpec } from '../../policies/spec.js';

/** The `collect` job's parameters: a schema alone, light to load, so a shell can check a job's parameters before it starts a worker. */
export const CollectParams = z
  .object({
    suite: z.enum(SUITES),
    /** Task indices; default every task of the suite. */
    tasks: z.array(z.number().int().min(0).max(9)).min(1).optional(),
    episodesPerTask: z.number().int().min(1).max(50).default(50),
    teacher: TeacherSpec.default({ kind: 'scripted' }),
    seed: z.number().int().default(0),
    imageSize: z.number().int().min(8).max(512).default(128),
    keepFailures: z.boolean().default(false),
    /** Recorded frames per episode after the warm-up; default the suite's limit (OpenVLA's). */
    maxSteps: z.number().int().min(1).optional(),
    flushEvery: z.number().int().min(1).default(5),
    /**
     * Recorded frames after each success (the teacher releases, retreats and rests), so `completed` frames
     * exist (phase-classifier checks); 0 = stop at success, like OpenVLA's rollouts. Noted per demo in the sidecar.
     */
    tailSteps: z.number().int().min(0).max(200).default(0),
    /** Worker processes, one task at a time each (default: one per core); 1 = in this process. */
    workers: z.number().int().min(1).max(64).optional(),
  })
  .strict();
export type CollectParams = z.output<typeof CollectParams>;
export type CollectParamsInput = z.input<typeof CollectParams>;
