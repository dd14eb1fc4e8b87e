import { z } from 'zod';
import { TrainOptions } from '../../train/options.js';

/** The `train` job's parameters: a schema alone, light to load, so a shell can check a job's parameters before it starts a worker. */
export const TrainParams = TrainOptions.pick({
  // The training settings, with their defaults, from the one home of training defaults (train/options.ts).
  lambda: true,
  config: true,
  configOverrides: true,
  /** Initial weights: seeded random, or a local HF CLIP folder (e.g. Long-CLIP-B converted; train/options.ts). */
  init: true,
  epochs: true,
  batchSize: true,
  lr: true,
  warmupSteps: true,
  valFraction: true,
  seed: true,
  threads: true,
  /** Execution provider (default cpu): auto = CUDA where it loads, else the CPU; cuda = CUDA or a typed error at once. */
  ep: true,
  keepCheckpoints: true,
})
  .extend({
    dataset: z.string().min(1).default('data'),
    runId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'runId starts with a letter or digit and uses letters, digits, . _ - (it names a folder under students/)').default('student'),
    descriptions: z.enum(['sidecar', 'none']).default('sidecar'),
    /** CLIP BPE tokenizer folder, when the HF folder has none (tokenizer.json or vocab.json + merges.txt). */
    tokenizerDir: z.string().min(1).optional(),
    exportPolicy: z.boolean().default(true),
  })
  .strict();
export type TrainParams = z.output<typeof TrainParams>;
export type TrainParamsInput = z.input<typeof TrainParams>;
