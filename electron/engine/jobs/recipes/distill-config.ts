import { z } from 'zod';
import { parseOr } from '../../errors.js';
import { TAXONOMY_SIZES } from '../../phases/index.js';
import { TrainOptions } from '../../train/options.js';
import { ChunkExecutionSchema } from '../../rollout/chunk-executor.js';
import { TeacherSpec } from '../../policies/spec.js';

/**
 * The distill recipe's settings (one experiment's config), on their own so the API (lab-service.ts) can
 * validate and default an experiment's config without loading the stages' rooms. The training settings
 * take their defaults from the one home of training defaults, train/options.ts (as the train job's params
 * do), so the recipe and the train job cannot disagree.
 */
const isTaxonomy = (n: number) => (TAXONOMY_SIZES as readonly number[]).includes(n);
const taxonomyMessage = `one of ${TAXONOMY_SIZES.join(', ')} (phases)`;
export const DistillConfig = z
  .object({
    suites: z.array(z.enum(['object', 'spatial', 'goal'])).min(1).default(['object']),
    /** Task indices (0–9) of each suite. */
    tasks: z.array(z.number().int().min(0).max(9)).min(1).default([0, 1]),
    episodesPerTask: z.number().int().min(2).default(12),
    /**
     * The teacher, as a PolicySpec (policies/spec.ts): the scripted expert with OpenVLA-like noise (the
     * default) or without, or a remote VLA server. It collects and is evaluated with the same spec.
     * The old string form ("scripted-noisy", "scripted") still parses.
     */
    teacher: TeacherSpec.default({ kind: 'scripted-noisy', noise: {} }),
    imageSize: z.number().int().min(16).max(512).default(128),
    taxonomy: z.number().int().refine(isTaxonomy, taxonomyMessage).default(9),
    /**
     * The taxonomy ablation (paper §4.3): for each listed taxonomy, annotate the same data with it and train
     * one student with the first λ; the report compares their validation token accuracy. [] = off.
     */
    taxonomyAblation: z
      .array(z.number().int().refine(isTaxonomy, taxonomyMessage))
      .refine((a) => new Set(a).size === a.length, 'each taxonomy once')
      .default([]),
    annotator: z.enum(['auto', 'vlm', 'offline']).default('auto'),
    annotateMode: z.enum(['segment', 'frame']).default('segment'),
    /** A VLM task that still fails after its retries: 'none' fails the annotate stage, 'offline' fills it with offline text (counted, and noted in every table that uses it). */
    annotateFallback: z.enum(['none', 'offline']).default('none'),
    /** The student preset (model/config.ts) and overrides of it. */
    student: TrainOptions.shape.config,
    studentOverrides: TrainOptions.shape.configOverrides,
    /**
     * The student's initial weights: absent = seeded random; {"kind":"hf","dir":…} = a local HF CLIP folder
     * (the paper's pretrained Long-CLIP-B, stretched to 248 positions), with `tokenizerDir` when the folder
     * has no tokenizer files. Nothing is downloaded.
     */
    studentInit: TrainOptions.shape.init.optional(),
    tokenizerDir: z.string().min(1).optional(),
    lambdas: z.array(z.number().nonnegative()).min(1).default([0.5]),
    /** Also train the no-VLM baseline (instruction only, λ = 0). */
    baseline: z.boolean().default(true),
    epochs: TrainOptions.shape.epochs,
    batchSize: TrainOptions.shape.batchSize,
    lr: TrainOptions.shape.lr,
    trials: z.number().int().positive().default(20),
    /** How a predicted chunk is executed (rollout/chunk-executor.ts). */
    execution: ChunkExecutionSchema.default({ mode: 'whole' }),
    seed: z.number().int().default(0),
    threads: z.number().int().positive().optional(),
    /**
     * The execution provider of the train and evaluate stages (one setting for both; train/options.ts):
     * cpu (default), auto (CUDA where it loads, else the CPU; the log says which and why) or cuda (fails
     * at once, naming what is missing). Fingerprinted only when not cpu (an EP changes results in the last
     * bits), so experiments from before the setting keep their fingerprints.
     */
    ep: TrainOptions.shape.ep,
  })
  .strict();
export type DistillConfig = z.infer<typeof DistillConfig>;
export type DistillConfigInput = z.input<typeof DistillConfig>;

export function parseDistillConfig(raw: unknown): DistillConfig {
  return parseOr(DistillConfig, raw ?? {}, 'distill config');
}
