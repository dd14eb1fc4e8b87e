import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { fromSerialized, LabError, type SerializedError } from '../errors.js';
import type { TrialContext } from './scheduler.js';
import { workerModule } from '../util/runtime-paths.js';

/**
 * The worker-process pool that collection and evaluation share. One child process per worker for `runTrials`: worker w always runs in process w, so each process
 * loads its simulator and policy once (the handler caches them) and trials run truly in parallel
 * (onnxruntime's `session.run` and the simulator block their thread).
 *
 * The handler is a module exporting `runTrial(spec, ctx)` and optionally `init(config)`, called once per
 * process before its first trial. Messages use structured clone (`serialization: 'advanced'`), so typed
 * arrays cross intact. A process that dies fails its trial with INTERRUPTED and is started afresh for
 * the next one.
 */
export interface WorkerHandlerModule<S, R> {
  init?(config: unknown): void | Promise<void>;
  /** `signal` aborts when the parent is gone: stop at the next safe point. */
  runTrial(spec: S, ctx: { worker: number; index: number; signal: AbortSignal }): Promise<R>;
}

export type ParentMessage = { type: 'init'; config: unknown } | { type: 'run'; id: number; spec: unknown; worker: number; index: number };
export type ChildMessage = { type: 'ready' } | { type: 'init-error'; error: SerializedError } | { type: 'result'; id: number; result: unknown } | { type: 'error'; id: number; error: SerializedError };

export interface WorkerPoolOptions {
  /** Path of the handler module (.ts from a source checkout, or built .js). */
  handler: string;
  /** Passed to the handler's `init` in every process. */
  config?: unknown;
  env?: NodeJS.ProcessEnv;
  /** The child entry; default the pool entry of this layout (util/runtime-paths.ts: the .ts source, or the bundle's pool-entry.js). */
  entry?: string;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

class WorkerProcess {
  private child: ChildProcess | null = null;
  private ready: Promise<void> | null = null;
  private pending = new Map<number, Pending>();
  private nextId = 0;
  constructor(
    private readonly worker: number,
    private readonly opts: WorkerPoolOptions,
  ) {}

  private start(): Promise<void> {
    const entry = this.opts.entry ?? workerModule('pool-entry');
    const execArgv: string[] = [];
    if (entry.endsWith('.ts') || this.opts.handler.endsWith('.ts')) {
      execArgv.push('--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href);
    }
    const child = fork(entry, [path.resolve(this.opts.handler)], { execArgv, env: this.opts.env ?? process.env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
    this.child = child;
    const ready = new Promise<void>((resolve, reject) => {
      child.on('message', (m: ChildMessage) => {
        if (m.type === 'ready') return resolve();
        if (m.type === 'init-error') return reject(fromSerialized(m.error));
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.type === 'result') p.resolve(m.result);
        else p.reject(fromSerialized(m.error));
      });
      child.on('exit', (code, signal) => {
        const err = new LabError('INTERRUPTED', `trial worker ${this.worker} exited (${signal ?? `code ${code}`})`, { worker: this.worker, code, signal });
        reject(err);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
        if (this.child === child) {
          this.child = null;
          this.ready = null;
        }
      });
    });
    child.send({ type: 'init', config: this.opts.config } satisfies ParentMessage);
    return ready;
  }

  async run(spec: unknown, index: number): Promise<unknown> {
    if (!this.ready) this.ready = this.start();
    await this.ready;
    const child = this.child;
    if (!child) throw new LabError('INTERRUPTED', `trial worker ${this.worker} is gone`, { worker: this.worker });
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      child.send({ type: 'run', id, spec, worker: this.worker, index } satisfies ParentMessage);
    });
  }

  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.disconnect(); // the entry exits when its channel closes
    await exited;
  }
}

export interface WorkerPool<S, R> {
  size: number;
  runOne(spec: S, ctx: TrialContext): Promise<R>;
  close(): Promise<void>;
}

export function forkWorkerPool<S, R>(workers: number, opts: WorkerPoolOptions): WorkerPool<S, R> {
  const procs = Array.from({ length: workers }, (_, w) => new WorkerProcess(w, opts));
  return {
    size: workers,
    runOne: (spec, ctx) => procs[ctx.worker].run(spec, ctx.index) as Promise<R>,
    close: async () => {
      await Promise.all(procs.map((p) => p.close()));
    },
  };
}
