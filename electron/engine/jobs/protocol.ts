import { z } from 'zod';
import { SerializedErrorSchema } from '../../api/schemas.js';

/**
 * The one job protocol, the same over utilityProcess (Electron) and child_process.fork (CLI, web mode):
 * the supervisor sends `start` then maybe `cancel`; the worker answers with progress, log lines,
 * artifacts, and exactly one `result` or `error`. Both sides validate every message.
 */
export const ToWorker = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('start'),
    job: z.object({ id: z.string(), kind: z.string(), params: z.record(z.string(), z.unknown()), attempt: z.number().int().nonnegative() }),
    dirs: z.object({ dataDir: z.string(), jobDir: z.string(), experimentDir: z.string().nullable() }),
    /** Settings the job needs from the shell (VLM endpoint and key), applied to the worker's environment. */
    env: z.record(z.string(), z.string()).default({}),
  }),
  z.object({ type: z.literal('cancel') }),
]);
export type ToWorker = z.infer<typeof ToWorker>;

export const FromWorker = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('progress'), fraction: z.number().min(0).max(1), stage: z.string(), etaSeconds: z.number().nonnegative().nullable() }),
  z.object({ type: z.literal('log'), level: z.enum(['info', 'warn', 'error']), line: z.string() }),
  z.object({ type: z.literal('artifact'), kind: z.string(), relPath: z.string(), meta: z.record(z.string(), z.unknown()) }),
  /** A result of the experiment (a table, figure data) to store in the lab database. */
  z.object({ type: z.literal('record'), kind: z.string().min(1), value: z.unknown() }),
  z.object({ type: z.literal('result'), value: z.unknown() }),
  z.object({ type: z.literal('error'), error: SerializedErrorSchema }),
]);
export type FromWorker = z.infer<typeof FromWorker>;

/** A running worker process, whatever started it. */
export interface JobProcess {
  readonly pid: number | undefined;
  send(message: ToWorker): void;
  onMessage(listener: (message: unknown) => void): void;
  /** Called once when the process is gone, with its exit code (null when killed by a signal). */
  onExit(listener: (code: number | null) => void): void;
  kill(): void;
}

export type SpawnJobProcess = (jobId: string) => JobProcess;

/** The part of a child process handle (child_process or Electron's utilityProcess) a JobProcess needs. */
export interface ProcessHandle {
  readonly pid?: number | undefined;
  // Loose on purpose: ChildProcess and UtilityProcess overload `on` differently for the same two events.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  on(event: 'exit' | 'message', listener: (...args: any[]) => void): unknown;
}

/** Wrap a started worker process: messages after its exit are dropped, and exit listeners fire once. */
export function jobProcessFrom(handle: ProcessHandle, send: (m: ToWorker) => void, kill: () => void): JobProcess {
  let exited = false;
  const exitListeners: Array<(code: number | null) => void> = [];
  handle.on('exit', (code: number | null) => {
    exited = true;
    for (const l of exitListeners) l(code);
  });
  return {
    get pid() {
      return handle.pid;
    },
    send(message) {
      if (!exited) send(message);
    },
    onMessage(listener) {
      handle.on('message', listener);
    },
    onExit(listener) {
      exitListeners.push(listener);
    },
    kill() {
      if (!exited) kill();
    },
  };
}
