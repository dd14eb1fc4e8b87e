import { LAB_METHOD_NAMES, type LabClient, type LabInput, type LabMethod, type LabResult } from '../../../electron/api/lab-api';
import { JobEvent } from '../../../electron/api/schemas';
import { createWebClient } from './web-client';
import { unwrap } from './unwrap';

export { LabCallError } from './unwrap';

type PreloadBridge = Record<LabMethod, (input: unknown) => Promise<LabResult<unknown>>> & {
  subscribeJobs(listener: (e: unknown) => void): () => void;
};

function createIpcClient(bridge: PreloadBridge): LabClient {
  for (const m of LAB_METHOD_NAMES) if (typeof bridge[m] !== 'function') throw new Error(`preload bridge lacks ${m}`);
  return {
    async call<M extends LabMethod>(method: M, input: LabInput<M>) {
      return unwrap(method, await bridge[method](input));
    },
    fileUrl(experimentId, relPath) {
      return `lab-file://${experimentId}/${relPath.split('/').map(encodeURIComponent).join('/')}`;
    },
    subscribeJobs(listener) {
      return bridge.subscribeJobs((raw) => {
        const e = JobEvent.safeParse(raw);
        if (e.success) listener(e.data);
      });
    },
  };
}

let client: LabClient | null = null;

/** Electron gives us `window.lab` (the preload bridge); in a browser we speak HTTP + WebSocket. */
export function lab(): LabClient {
  if (!client) {
    const bridge = (window as unknown as { lab?: PreloadBridge }).lab;
    client = bridge ? createIpcClient(bridge) : createWebClient(window.location);
  }
  return client;
}
