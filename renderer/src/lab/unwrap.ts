import { labMethods, type LabMethod, type LabOutput, type LabResult } from '../../../electron/api/lab-api';

/** A failed `lab` call, with the typed error's code and details from the other side. */
export class LabCallError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'LabCallError';
  }
}

/** Unwrap the wire envelope and validate the value against the contract, whichever shell answered. */
export function unwrap<M extends LabMethod>(method: M, result: LabResult<unknown>): LabOutput<M> {
  if (!result || typeof result !== 'object' || !('ok' in result)) throw new LabCallError('INTERNAL', `${method}: malformed answer`);
  if (!result.ok) throw new LabCallError(result.error.code, result.error.message, result.error.details);
  const parsed = labMethods[method].output.safeParse(result.value);
  if (!parsed.success) throw new LabCallError('INTERNAL', `${method}: answer does not match the contract: ${parsed.error.issues[0]?.message}`);
  return parsed.data as LabOutput<M>;
}
