import { runWorker, type WorkerTransport } from '../engine/jobs/worker-runtime.js';

/**
 * The entry of every job process. In Electron it runs as a utilityProcess (messages on
 * process.parentPort); in the CLI and web mode as a child_process.fork (process.send / 'message').
 */
type ParentPort = { postMessage(m: unknown): void; on(ev: 'message', cb: (e: { data: unknown }) => void): void };
const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;

const transport: WorkerTransport = parentPort
  ? { send: (m) => parentPort.postMessage(m), onMessage: (l) => parentPort.on('message', (e) => l(e.data)) }
  : {
      // A parent that died (the CLI killed, web mode stopped) must not kill this worker mid-write with an
      // EPIPE: messages to it are dropped, and its going cancels the job, which stops at its next safe point.
      send: (m) => {
        if (process.connected) process.send?.(m, undefined, undefined, () => {});
      },
      onMessage: (l) => {
        process.on('message', l);
        process.on('disconnect', () => l({ type: 'cancel' }));
      },
    };

// Let the last message reach the supervisor before exiting: under fork, process.send is asynchronous and
// disconnect() flushes what is queued; a handler that leaves native threads behind is ended by the timer.
const exit = (code: number) => {
  process.exitCode = code;
  if (!parentPort && process.connected) process.disconnect();
  setTimeout(() => process.exit(code), parentPort ? 100 : 2000).unref();
};

runWorker(transport, exit);
