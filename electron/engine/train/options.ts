import { z } from 'zod';
import { parseOr } from '../errors.js';

/**
 * Training options (paper §4.1: AdamW, batch 32, 30 epochs). Every training default is here, and only
 * here: the train job's params (jobs/kinds/train.ts) and the distill recipe's config (jobs/recipes/
 * distill-config.ts) take theirs from these fields (`TrainOptions.shape.lr`, …), so a student trained by
 * calling trainStudent, by the train job or by the recipe gets the same settings. The resolved options are
 * recorded in each checkpoint and in metrics.json.
 */
export const TrainOptions = z.object({
  /** Student preset name and overrides (model/config.ts). */
  config: z.string().default('tiny'),
  configOverrides: z.record(z.string(), z.unknown()).default({}),
  /** Initial weights: seeded random, or an HF CLIP folder (model.safetensors + config.json [+ tokenizer]). */
  init: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('random'), seed: z.number().int().default(0) }),
    z.object({ kind: z.literal('hf'), dir: z.string(), stretch: z.boolean().default(true), seed: z.number().int().default(0) }),
  ]).default({ kind: 'random', seed: 0 }),
  /** Folder with tokenizer.json or vocab.json + merges.txt (CLIP BPE configs only). */
  tokenizerDir: z.string().optional(),
  epochs: z.number().int().positive().default(30),
  batchSize: z.number().int().positive().default(32),
  /** Peak LR (after the warm-up), AdamW. */
  lr: z.number().positive().default(3e-4),
  schedule: z.enum(['cosine', 'constant']).default('cosine'),
  /** Linear warm-up steps (from 0 to lr). */
  warmupSteps: z.number().int().nonnegative().default(20),
  /** Final LR of the cosine, as a fraction of lr. */
  minLrFraction: z.number().min(0).max(1).default(0),
  weightDecay: z.number().nonnegative().default(0.01),
  clipNorm: z.number().positive().default(1),
  /** Dual-path weight: L = L_full + λ·L_image_only (λ = 0: full path only). */
  lambda: z.number().nonnegative().default(0.5),
  /** Use descriptions in the full path; false = the no-VLM baseline (instruction only). */
  useDescriptions: z.boolean().default(true),
  /** Chunk weights c_k (length K); default all 1. */
  chunkWeights: z.array(z.number().nonnegative()).optional(),
  /** Dimension weights w_d for [dx,dy,dz,drx,dry,drz,gripper]; rotation up-weighted by default. */
  dimWeights: z.array(z.number().nonnegative()).length(7).default([1, 1, 1, 2, 2, 2, 1]),
  valFraction: z.number().min(0).lt(1).default(0.1),
  /** Rotate agentview frames 180° (LIBERO-origin data). */
  rotate180: z.boolean().default(false),
  augment: z.object({
    /** Random shift of up to this many pixels (edge-replicated), per sample. */
    shift: z.number().int().nonnegative().default(0),
    /** Brightness / contrast jitter amplitude (factor in [1−j, 1+j]). */
    colorJitter: z.number().min(0).max(1).default(0),
  }).default({ shift: 0, colorJitter: 0 }),
  seed: z.number().int().default(0),
  /**
   * ORT intra-op threads. 1 = bit-identical runs and resumes on CPU; with more, some ORT CPU kernels sum
   * in a scheduling-dependent order, so two runs differ in the last bits (docs/student.md).
   */
  threads: z.number().int().positive().optional(),
  /**
   * Execution provider (graph/runtime.ts selectExecutionProvider): cpu (default: bit-identical runs with
   * threads 1), auto (CUDA where its provider loads, else the CPU; the log says which and why), cuda (a
   * typed UNSUPPORTED error naming the missing pieces before anything is written). The EP used is recorded
   * in metrics.json (`ep`). It may change across a resume (like threads): results then differ in the last bits.
   */
  ep: z.enum(['auto', 'cpu', 'cuda']).default('cpu'),
  /**
   * Full checkpoints (parameters + AdamW state) kept in checkpoints/: the latest `keepCheckpoints` epochs;
   * the best validation epoch is kept apart as weights alone (student-best.safetensors, best.json). One
   * per epoch would fill a disk: 44.6 MB each for the demo's tiny student, GBs for a b16 λ sweep. Resume
   * needs only the latest.
   */
  keepCheckpoints: z.number().int().min(1).default(1),
  /** Run id recorded in checkpoints and the exported policy. */
  runId: z.string().default('run'),
});
export type TrainOptions = z.infer<typeof TrainOptions>;
export type TrainOptionsInput = z.input<typeof TrainOptions>;

export function parseTrainOptions(x: unknown): TrainOptions {
  return parseOr(TrainOptions, x ?? {}, 'train options');
}

/** LR at optimizer step s (1-based): linear warm-up, then constant or cosine to minLrFraction·lr. Computed outside the graph. */
export function learningRate(o: Pick<TrainOptions, 'lr' | 'schedule' | 'warmupSteps' | 'minLrFraction'>, step: number, totalSteps: number): number {
  if (o.warmupSteps > 0 && step <= o.warmupSteps) return (o.lr * step) / o.warmupSteps;
  if (o.schedule === 'constant') return o.lr;
  const span = Math.max(1, totalSteps - o.warmupSteps);
  const p = Math.min(1, (step - o.warmupSteps) / span);
  const min = o.lr * o.minLrFraction;
  return min + 0.5 * (o.lr - min) * (1 + Math.cos(Math.PI * p));
}
