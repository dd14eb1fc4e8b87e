import type { TrialSummary } from '../../../electron/api/schemas';
import { lab } from '../lab/client';

/** Routes of the trial browser (hash history: the same in Electron and web mode). */
export const trialListRoute = (experimentId: string, t: { policyId: string; suite: string; taskIndex: number }) =>
  `/experiments/${experimentId}/trials/${encodeURIComponent(t.policyId)}/${t.suite}/${t.taskIndex}`;
export const trialRoute = (experimentId: string, t: Pick<TrialSummary, 'policyId' | 'suite' | 'taskIndex' | 'trialIndex'>) =>
  `${trialListRoute(experimentId, t)}/${t.trialIndex}`;
export const pairedRoute = (experimentId: string, t: Pick<TrialSummary, 'suite' | 'taskIndex' | 'initIndex'>) =>
  `/experiments/${experimentId}/paired/${t.suite}/${t.taskIndex}/${t.initIndex}`;

/** The URL of a frame spec from trials.list/get (`<experimentId>/trial-frames/…`): the lab names it, the page never builds a path. */
export function frameUrl(experimentId: string, spec: string | null): string | null {
  if (!spec) return null;
  const prefix = `${experimentId}/`;
  if (!spec.startsWith(prefix)) return null;
  return lab().fileUrl(experimentId, spec.slice(prefix.length));
}

export const outcomeText = (t: Pick<TrialSummary, 'success' | 'failure'>) => (t.success ? 'success' : `failed: ${t.failure ?? 'unknown'}`);
