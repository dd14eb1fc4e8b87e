import type { LabInput, LabMethod, LabOutput } from '../api/lab-api.js';
import { fromSerialized, type SerializedError } from '../engine/errors.js';
import type { Lab } from '../engine/lab-runtime.js';

/**
 * One `lab` API call from the CLI, through the same handler as IPC and web mode (validation, defaults —
 * e.g. an experiment's full distill config — and the answer's schema): the value, or the envelope's
 * error thrown as the LabError it was.
 */
export async function callLab<M extends LabMethod>(lab: Lab, method: M, input: LabInput<M>): Promise<LabOutput<M>> {
  const r = await lab.handle(method, input);
  if (!r.ok) throw fromSerialized(r.error as SerializedError);
  return r.value as LabOutput<M>;
}
