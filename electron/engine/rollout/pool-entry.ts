import { pathToFileURL } from 'node:url';
import { serializeError } from '../errors.js';
import type { ChildMessage, ParentMessage, WorkerHandlerModule } from './pool.js';

/**
 * Child side of `forkWorkerPool`: load the handler module named on the command line, run its `init`
 * once, then run one trial per 'run' message, one at a time. Exits when the parent disconnects.
 */
const handlerPath = process.argv[2];
const send = (m: ChildMessage) => process.send?.(m);
let handler: WorkerHandlerModule<unknown, unknown> | null = null;
let queue: Promise<void> = Promise.resolve();

process.on('message', (m: ParentMessage) => {
  // Serialize: a worker runs one trial at a time, in the order the parent sent them.
  queue = queue.then(async () => {
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
      const result = await handler!.runTrial(m.spec, { worker: m.worker, index: m.index });
      send({ type: 'result', id: m.id, result });
    } catch (e) {
      send({ type: 'error', id: m.id, error: serializeError(e) });
    }
  });
});
process.on('disconnect', () => process.exit(0));
