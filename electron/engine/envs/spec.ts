import { z } from 'zod';

/**
 * Every environment as data, and one `makeEnv(spec)`: the built-in simulator (MuJoCo in WASM, the
 * three built-in suites) or real LIBERO through the bridge script run by the user's LIBERO Python;
 * `makeEnv(spec)` (make-env.ts) builds it.
 */
const Builtin = z
  .object({
    kind: z.literal('builtin'),
    /** Camera image size (square), pixels. */
    imageSize: z.number().int().min(8).max(1024).default(128),
    /** Render camera images (off for solvability runs that need only state). */
    renderImages: z.boolean().default(true),
  })
  .strict();
const LiberoBridge = z
  .object({
    kind: z.literal('libero-bridge'),
    /** The LIBERO environment's Python interpreter. */
    python: z.string().min(1),
    /** The bridge script (default resources/libero_bridge.py). */
    script: z.string().min(1).optional(),
    args: z.array(z.string()).default([]),
    timeoutMs: z.number().int().positive().optional(),
    startTimeoutMs: z.number().int().positive().optional(),
  })
  .strict();

export const EnvSpec = z.discriminatedUnion('kind', [Builtin, LiberoBridge]);
export type EnvSpec = z.output<typeof EnvSpec>;
export type EnvSpecInput = z.input<typeof EnvSpec>;
