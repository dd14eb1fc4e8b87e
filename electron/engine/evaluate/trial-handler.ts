import type { TrialSpec } from './protocol.js';
import { TrialSession, type TrialSessionConfig } from './trial-session.js';

/**
 * The closed-loop trial handler for `forkWorkerPool` (trial-workers.ts): each worker process builds
 * one TrialSession (simulator + policy) at init and runs its trials on it.
 */
let session: TrialSession | null = null;

export async function init(config: TrialSessionConfig): Promise<void> {
  // The entry exits the process when the parent disconnects; the OS reclaims the simulator then.
  session = await TrialSession.create(config);
}

export async function runTrial(spec: TrialSpec, ctx?: { signal?: AbortSignal }) {
  if (!session) throw new Error('trial handler: init() was not called');
  return session.run(spec, ctx?.signal);
}
