import { BuiltinSimEnv } from './builtin-sim.js';
import type { Env } from './env.js';
import { LiberoBridgeEnv } from './libero-bridge.js';
import type { EnvSpec } from './spec.js';

/** The one place an EnvSpec (spec.ts) becomes an Env. */
export async function makeEnv(spec: EnvSpec): Promise<Env> {
  switch (spec.kind) {
    case 'builtin':
      return BuiltinSimEnv.create({ imageSize: spec.imageSize, renderImages: spec.renderImages });
    case 'libero-bridge':
      return new LiberoBridgeEnv({ python: spec.python, script: spec.script, args: spec.args, timeoutMs: spec.timeoutMs, startTimeoutMs: spec.startTimeoutMs });
  }
}
