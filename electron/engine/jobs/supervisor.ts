import { mkdirSync } from 'node:fs';
import type { Job, JobEvent } from '../../api/schemas.js';
import { checkJobParams } from './job-params.js';
import { LabError } from '../errors.js';
import type { LabStore } from '../store/lab-store.js';
import { FromWorker, type JobProcess, type SpawnJobProcess } from './protocol.js';
import { isJobKind } from './registry.js';
import { unknownJobKindMessage } from '../../api/job-kinds.js';

const CANCEL_GRACE_MS = 5_000; // a worker that ignores cancel this long is killed

/**
 * Starts jobs in worker processes (how is the shell's business: `spawn`), keeps their rows in the store
 * current, and publishes every change as a JobEvent. A job outlives the renderer that started it; if its
 * process dies without a result the job becomes `interrupted` and `resume` starts it again, the handler
 * picking up its own checkpoint.
 */
export class JobSupervisor {
  private readonly running = new Map<string, JobProcess>();
  private readonly listeners = new Set<(e: JobEvent) => void>();
  private readonly settled = new Map<string, Array<(job: Job) => void>>();

  constructor(
    private readonly store: LabStore,
    private readonly spawn: SpawnJobProcess,
    /** What each job's worker gets in its environment (e.g. the VLM endpoint and key), read at launch. */
    private readonly jobEnv: () => Record<string, string> = () => ({}),
  ) {
    // Jobs that were running when the previous owner of this data directory stopped.
    for (const job of store.markOrphanedJobsInterrupted()) this.emit({ type: 'job', job });
  }

  subscribe(listener: (e: JobEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: JobEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        /* a faulty subscriber must not break the job */
      }
    }
  }

  start(kind: string, experimentId: string | null, params: Record<string, unknown>): Job {
    if (!isJobKind(kind)) throw new LabError('INVALID_INPUT', unknownJobKindMessage(kind), { kind });
    checkJobParams(kind, params); // before any row or worker exists
    const job = this.store.createJob({ kind, experimentId, params });
    return this.launch(job);
  }

  resume(id: string): Job {
    const job = this.store.getJob(id);
    if (this.running.has(id) || job.status === 'running' || job.status === 'queued') {
      throw new LabError('CONFLICT', `Job ${id} is already running`, { jobId: id });
    }
    if (job.status === 'succeeded') throw new LabError('CONFLICT', `Job ${id} already succeeded; start a new one`, { jobId: id });
    return this.launch(job);
  }

  cancel(id: string): Job {
    const job = this.store.getJob(id);
    const proc = this.running.get(id);
    if (!proc) {
      if (job.status === 'interrupted' || job.status === 'failed') {
        const updated = this.store.updateJob(id, { status: 'cancelled' });
        this.emit({ type: 'job', job: updated });
        return updated;
      }
      return job; // already finished: cancelling is a no-op
    }
    proc.send({ type: 'cancel' });
    const timer = setTimeout(() => proc.kill(), CANCEL_GRACE_MS);
    timer.unref?.();
    const updated = this.store.updateJob(id, { progress: { ...job.progress, stage: 'cancelling' } });
    this.emit({ type: 'job', job: updated });
    return updated;
  }

  /** Resolves when the job reaches a final state (succeeded, failed, cancelled, interrupted). */
  waitFor(id: string): Promise<Job> {
    const job = this.store.getJob(id);
    if (!this.running.has(id)) return Promise.resolve(job);
    return new Promise((resolve) => {
      const list = this.settled.get(id) ?? [];
      list.push(resolve);
      this.settled.set(id, list);
    });
  }

  isRunning(id: string): boolean {
    return this.running.has(id);
  }

  /** Stop every worker (app quit): their jobs become interrupted and resumable. */
  shutdown(): void {
    for (const proc of this.running.values()) proc.kill();
  }

  private launch(job: Job): Job {
    const jobDir = this.store.jobDir(job);
    mkdirSync(jobDir, { recursive: true });
    const proc = this.spawn(job.id);
    this.running.set(job.id, proc);
    let outcome: { kind: 'result'; value: unknown } | { kind: 'error'; error: Job['error'] & object } | null = null;
    const started = this.store.updateJob(job.id, {
      status: 'running',
      pid: proc.pid ?? null,
      error: null,
      attemptsDelta: 1,
      progress: { fraction: job.progress.fraction, stage: 'starting', etaSeconds: null },
    });
    this.emit({ type: 'job', job: started });

    proc.onMessage(this.guarded(job.id, (raw) => {
      const parsed = FromWorker.safeParse(raw);
      if (!parsed.success) {
        this.log(job.id, 'error', `supervisor: malformed message from worker: ${parsed.error.issues[0]?.message}`);
        return;
      }
      const msg = parsed.data;
      switch (msg.type) {
        case 'ready':
          proc.send({
            type: 'start',
            job: { id: job.id, kind: job.kind, params: job.params, attempt: started.attempts },
            dirs: { dataDir: this.store.dataDir, jobDir, experimentDir: job.experimentId ? this.store.experimentDir(job.experimentId) : null },
            env: this.jobEnv(),
          });
          break;
        case 'progress': {
          const updated = this.store.updateJob(job.id, { progress: { fraction: msg.fraction, stage: msg.stage, etaSeconds: msg.etaSeconds } });
          this.emit({ type: 'job', job: updated });
          break;
        }
        case 'log':
          this.log(job.id, msg.level, msg.line);
          break;
        case 'artifact':
          if (!job.experimentId) {
            this.log(job.id, 'warn', `artifact ${msg.relPath} not registered: the job belongs to no experiment`);
            break;
          }
          try {
            this.store.addArtifact({ experimentId: job.experimentId, jobId: job.id, kind: msg.kind, relPath: msg.relPath, meta: msg.meta });
          } catch (err) {
            this.log(job.id, 'error', `artifact ${msg.relPath}: ${(err as Error).message}`);
          }
          break;
        case 'record':
          if (job.experimentId) this.store.addResult({ experimentId: job.experimentId, kind: msg.kind, value: msg.value });
          else this.log(job.id, 'warn', `result ${msg.kind} not stored: the job belongs to no experiment`);
          break;
        case 'result':
          outcome = { kind: 'result', value: msg.value };
          break;
        case 'error':
          outcome = { kind: 'error', error: msg.error };
          break;
      }
    }));

    proc.onExit(this.guarded(job.id, (code: number | null) => {
      this.running.delete(job.id);
      let final: Job;
      const o = outcome as typeof outcome;
      if (o?.kind === 'result') {
        final = this.store.updateJob(job.id, { status: 'succeeded', result: o.value, pid: null, progress: { fraction: 1, stage: 'done', etaSeconds: 0 } });
      } else if (o?.kind === 'error') {
        const status = o.error.code === 'CANCELLED' ? 'cancelled' : 'failed';
        final = this.store.updateJob(job.id, { status, error: o.error, pid: null });
      } else {
        final = this.store.updateJob(job.id, {
          status: 'interrupted',
          pid: null,
          error: { name: 'LabError', code: 'INTERRUPTED', message: `The job process exited (code ${code}) without a result; it can be resumed` },
        });
      }
      this.emit({ type: 'job', job: final });
      for (const resolve of this.settled.get(job.id) ?? []) resolve(final);
      this.settled.delete(job.id);
    }));
    return this.store.getJob(job.id);
  }

  /**
   * A worker's message or exit that the store cannot record (a full disk: SQLITE_FULL) must not take the
   * lab process down, and with it every other job and the web server: it is reported on stderr and the job
   * is left as the database last saw it (a restart marks it interrupted, and it resumes).
   */
  private guarded<A extends unknown[]>(jobId: string, f: (...args: A) => void): (...args: A) => void {
    return (...args) => {
      try {
        f(...args);
      } catch (err) {
        process.stderr.write(`vla-ad supervisor: job ${jobId}: could not record a worker event: ${(err as Error).message}\n`);
      }
    };
  }

  private log(jobId: string, level: 'info' | 'warn' | 'error', line: string): void {
    const entry = this.store.appendLog(jobId, level, line);
    this.emit({ type: 'log', log: { jobId, level, line: entry.line, at: entry.at } });
  }
}
