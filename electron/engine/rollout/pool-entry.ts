import { pathToFileURL } from 'node:url';
import { serializeError } from '../errors.js';
import type { ChildMessage, ParentMessage, WorkerHandlerModule } from './pool.js';

/**
 * Child side of `forkWorkerPool`: load the handler module named on the command line, run its `init`
 * once, then run one trial per 'run' message, one at a time.
 *
 * When the parent goes (it disconnected, was killed, or cancelled by closing the pool), the running
 * trial's signal is aborted so its handler stops at its next safe point — collection finishes the commit
 * it is in and keeps every finished episode, never stopping between the files of one commit — and the
 * process exits once the queue has drained. Messages to a parent that is gone are dropped (no EPIPE).
 */
const handlerPath = process.argv[2];
const parentGone = new AbortController();
const send = (m: ChildMessage) => {
  if (!process.connected) return;
  process.send?.(m, undefined, undefined, () => {
    /* the parent went away while this was in flight: nothing to tell it any more */
  });
};
let handler: WorkerHandlerModule<unknown, unknown> | null = null;
let queue: Promise<void> = Promise.resolve();

process.on('message', (m: ParentMessage) => {
  // Serialize: a worker runs one trial at a time, in the order the parent sent them.
  queue = queue.then(async () => {
    if (parentGone.signal.aborted) return;
    if (m.type === 'init') {
      try {
        handler = (await import(pathToFileURL(handlerPath).href)) as WorkerHandlerModule<unknown, unknown>;
        if (typeof handler.runTrial !== 'function') throw new Error(`${handlerPath} exports no runTrial(spec, ctx)`);
        await handler.init?.(m.config);
        send({ type: 'ready' });
      } catch (e) {
        send({ type: 'init-error', error: serializeError(e) });
      }
      return;
    }
    try {
      const result = await handler!.runTrial(m.spec, { worker: m.worker, index: m.index, signal: parentGone.signal });
      send({ type: 'result', id: m.id, result });
    } catch (e) {
      send({ type: 'error', id: m.id, error: serializeError(e) });
    }
  });
});
process.on('disconnect', () => {
  parentGone.abort();
  void queue.finally(() => process.exit(0));
});
