import { z } from 'zod';
import { TAXONOMY_SIZES } from '../../phases/taxonomy.js';

/** The `annotate` job's parameters: a schema alone, light to load, so a shell can check a job's parameters before it starts a worker. */
export const AnnotateParams = z
  .object({
    /** An HDF5 file or a folder of them, relative to the experiment folder. */
    dataset: z.string().min(1).default('data'),
    annotator: z.enum(['auto', 'vlm', 'offline']).default('auto'),
    mode: z.enum(['segment', 'frame']).default('segment'),
    taxonomy: z.number().int().refine((n) => (TAXONOMY_SIZES as readonly number[]).includes(n), 'taxonomy is one of 3, 5, 7, 9, 11, 13').default(9),
    keyframesPerSegment: z.number().int().min(1).max(64).optional(),
    concurrency: z.number().int().min(1).max(64).default(8),
    seed: z.number().int().default(0),
    dryRun: z.boolean().default(false),
    /** A task the VLM could not answer after the retries: 'none' fails the job, 'offline' fills it with the offline template (counted in the result, named in the sidecar's annotator). Auth/config errors fail the job either way. */
    fallback: z.enum(['none', 'offline']).default('none'),
    /** Write and record the granularity statistics (the taxonomy ablation's extra annotation passes skip them: same labels, same figures). */
    granularity: z.boolean().default(true),
  })
  .strict();
export type AnnotateParams = z.output<typeof AnnotateParams>;
