import { mkdirSync } from 'node:fs';
import { LabError, serializeError } from '../errors.js';
import { FromWorker, ToWorker } from './protocol.js';
import { EtaEstimator, readCheckpoint, writeCheckpoint, type JobContext } from './context.js';
import { loadJobHandler } from './registry.js';

/** How a worker talks to its supervisor: process.parentPort in a utilityProcess, process.send under fork. */
export interface WorkerTransport {
  send(message: FromWorker): void;
  onMessage(listener: (message: unknown) => void): void;
}

const PROGRESS_INTERVAL_MS = 100; // at most ~10 progress messages a second reach the supervisor

/**
 * The body of every job worker process: wait for `start`, run the handler for the job's kind, report
 * progress/logs/artifacts, then exactly one result or error, and exit.
 */
export function runWorker(transport: WorkerTransport, exit: (code: number) => void): void {
  const abort = new AbortController();
  let started = false;
  transport.onMessage(async (raw) => {
    const parsed = ToWorker.safeParse(raw);
    if (!parsed.success) {
      transport.send({ type: 'log', level: 'error', line: `worker: ignored a malformed message: ${parsed.error.issues[0]?.message}` });
      return;
    }
    const msg = parsed.data;
    if (msg.type === 'cancel') {
      abort.abort();
      return;
    }
    if (started) return;
    started = true;
    const { job, dirs, env } = msg;
    Object.assign(process.env, env);
    mkdirSync(dirs.jobDir, { recursive: true });
    const eta = new EtaEstimator();
    let lastProgressAt = 0;
    const ctx: JobContext = {
      jobId: job.id,
      attempt: job.attempt,
      params: job.params,
      dataDir: dirs.dataDir,
      jobDir: dirs.jobDir,
      experimentDir: dirs.experimentDir,
      signal: abort.signal,
      progress(fraction, stage) {
        const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
        const etaSeconds = eta.estimate(f);
        const t = Date.now();
        if (t - lastProgressAt < PROGRESS_INTERVAL_MS && f < 1) return;
        lastProgressAt = t;
        transport.send({ type: 'progress', fraction: f, stage, etaSeconds });
      },
      log(line, level = 'info') {
        transport.send({ type: 'log', level, line });
      },
      artifact(kind, relPath, meta = {}) {
        transport.send({ type: 'artifact', kind, relPath, meta });
      },
      record(kind, value) {
        transport.send({ type: 'record', kind, value });
      },
      loadCheckpoint: <T>() => readCheckpoint<T>(dirs.jobDir),
      saveCheckpoint: (value) => writeCheckpoint(dirs.jobDir, value),
      throwIfCancelled() {
        if (abort.signal.aborted) throw new LabError('CANCELLED', `Job ${job.id} was cancelled`, { jobId: job.id });
      },
    };
    try {
      const handler = await loadJobHandler(job.kind);
      const value = await handler(ctx);
      ctx.throwIfCancelled();
      transport.send({ type: 'result', value: value ?? null });
      exit(0);
    } catch (err) {
      // Whatever a cancelled handler throws on its way out, the job's outcome is "cancelled".
      const error = abort.signal.aborted
        ? serializeError(new LabError('CANCELLED', `Job ${job.id} was cancelled`, { jobId: job.id }))
        : serializeError(err);
      transport.send({ type: 'error', error });
      exit(error.code === 'CANCELLED' ? 0 : 1);
    }
  });
  transport.send({ type: 'ready' });
}
