import type { z } from 'zod';
/**
 * Typed errors for every boundary of the engine. A LabError carries a stable `code` (for the UI, the
 * job protocol and tests) and `details` naming the file, field or value at fault. Errors cross process
 * boundaries (worker → supervisor → renderer) as `SerializedError` and are rebuilt with `fromSerialized`.
 */
export type ErrorCode =
  | 'INVALID_INPUT' // a value that fails validation (field named in details)
  | 'NOT_FOUND' // an id or file that does not exist
  | 'CONFLICT' // the operation clashes with stored state (e.g. a second instance, a name in use)
  | 'CORRUPT_FILE' // a file that exists but cannot be read as what it claims to be
  | 'UNSUPPORTED' // a feature or format this build does not handle
  | 'SHAPE_MISMATCH' // graph/model tensor shapes that do not agree
  | 'NON_FINITE' // NaN or Inf where finite numbers are required
  | 'REMOTE_ERROR' // a server (VLM, teacher, bridge) answered badly or not at all
  | 'CANCELLED' // the user cancelled a job
  | 'INTERRUPTED' // a job's process died; resumable
  | 'SIM_UNSTABLE' // the simulation diverged
  | 'IO_ERROR' // the file system refused a write (disk full, read-only, I/O error); what was saved is intact
  | 'INTERNAL'; // a bug: anything not foreseen

export interface SerializedError {
  name: string;
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export class LabError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;
  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LabError';
    this.code = code;
    this.details = details;
  }
  toJSON(): SerializedError {
    return { name: this.name, code: this.code, message: this.message, details: this.details };
  }
}

export const invalidInput = (message: string, details: Record<string, unknown> = {}) =>
  new LabError('INVALID_INPUT', message, details);
export const notFound = (message: string, details: Record<string, unknown> = {}) =>
  new LabError('NOT_FOUND', message, details);

/** Turn anything thrown into the wire form, keeping typed errors' codes. */
export function serializeError(err: unknown): SerializedError {
  if (err instanceof LabError) return err.toJSON();
  if (err instanceof Error) return { name: err.name, code: 'INTERNAL', message: err.message };
  return { name: 'Error', code: 'INTERNAL', message: String(err) };
}

export function fromSerialized(e: SerializedError): LabError {
  return new LabError(e.code, e.message, e.details ?? {});
}

/**
 * Parse `value` with a zod schema, or throw a LabError naming what was parsed and the first field at
 * fault (`<what>: <field>: <message>`, details.field and every issue) — the one zod → LabError path.
 */
export function parseOr<S extends z.ZodType>(schema: S, value: unknown, what: string, code: ErrorCode = 'INVALID_INPUT', details: Record<string, unknown> = {}): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue.path.map(String).join('.');
  throw new LabError(code, `${what}: ${field || '(root)'}: ${issue.message}`, {
    ...details,
    field,
    issues: r.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
  });
}
