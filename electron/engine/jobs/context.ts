import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { LabError } from '../errors.js';
import { writeJsonAtomic } from '../util/atomic.js';

/**
 * What a job handler gets: its params and folders, a progress reporter (ETA is derived here from the
 * rate of progress, so handlers only say how far they are), log lines, an AbortSignal for cancel, a JSON
 * checkpoint it can save and load to resume after a crash, and artifact registration.
 */
export interface JobContext {
  readonly jobId: string;
  readonly attempt: number;
  readonly params: Record<string, unknown>;
  readonly dataDir: string;
  readonly jobDir: string;
  readonly experimentDir: string | null;
  readonly signal: AbortSignal;
  progress(fraction: number, stage: string): void;
  log(line: string, level?: 'info' | 'warn' | 'error'): void;
  /** Register a file the job wrote under the experiment folder (path relative to it). */
  artifact(kind: string, relPath: string, meta?: Record<string, unknown>): void;
  /** Store a result of the experiment (a result table, figure data) in the lab database. */
  record(kind: string, value: unknown): void;
  loadCheckpoint<T>(): T | null;
  saveCheckpoint(value: unknown): Promise<void>;
  /** Throws LabError('CANCELLED') when the job was cancelled; call it between units of work. */
  throwIfCancelled(): void;
}

/** A job kind's handler. Async all through: a bad parameter is a rejected promise, never a synchronous throw. */
export type JobHandler = (ctx: JobContext) => Promise<unknown>;

export function checkpointPath(jobDir: string): string {
  return path.join(jobDir, 'checkpoint.json');
}

export function readCheckpoint<T>(jobDir: string): T | null {
  const file = checkpointPath(jobDir);
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (err) {
    throw new LabError('CORRUPT_FILE', `Checkpoint ${file} cannot be read: ${(err as Error).message}`, { file });
  }
}

export const writeCheckpoint = (jobDir: string, value: unknown) => writeJsonAtomic(checkpointPath(jobDir), value);

/** ETA from the progress rate since the job (re)started; null until there is a rate to speak of. */
export class EtaEstimator {
  private readonly t0 = Date.now();
  private f0: number | null = null;
  estimate(fraction: number): number | null {
    if (this.f0 === null) {
      this.f0 = fraction;
      return null;
    }
    const elapsed = (Date.now() - this.t0) / 1000;
    const done = fraction - this.f0;
    if (done <= 1e-6 || elapsed < 0.2) return null;
    return Math.max(0, ((1 - fraction) * elapsed) / done);
  }
}
