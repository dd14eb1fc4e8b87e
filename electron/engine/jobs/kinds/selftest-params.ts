import { z } from 'zod';

/** The `selftest` job's parameters: a schema alone, light to load, so a shell can check a job's parameters before it starts a worker. */
export const SelftestParams = z
  .object({
    steps: z.number().int().min(1).max(1_000_000).default(300),
    hidden: z.number().int().min(2).max(4096).default(64),
    batch: z.number().int().min(1).max(65_536).default(256),
    lr: z.number().positive().max(1).default(0.01),
    seed: z.number().int().default(0),
    ep: z.enum(['auto', 'cpu', 'cuda']).default('auto'),
    checkpointEvery: z.number().int().min(1).default(50),
  })
  .strict();
export type SelftestParams = z.output<typeof SelftestParams>;
