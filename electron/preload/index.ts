import { contextBridge, ipcRenderer } from 'electron';
import { IPC_CHANNEL_PREFIX, IPC_JOB_EVENT_CHANNEL, LAB_METHOD_NAMES, type LabMethod } from '../api/lab-api.js';
import type { JobEvent } from '../api/schemas.js';

/**
 * The narrow bridge: one function per `lab` message and a job-event subscription that returns its
 * unsubscribe function. The renderer never sees ipcRenderer.
 */
const methods = Object.fromEntries(
  LAB_METHOD_NAMES.map((m: LabMethod) => [m, (input: unknown) => ipcRenderer.invoke(IPC_CHANNEL_PREFIX + m, input)]),
);

contextBridge.exposeInMainWorld('lab', {
  ...methods,
  subscribeJobs(listener: (e: JobEvent) => void): () => void {
    const handler = (_event: unknown, e: JobEvent) => listener(e);
    ipcRenderer.on(IPC_JOB_EVENT_CHANNEL, handler);
    ipcRenderer.send(IPC_JOB_EVENT_CHANNEL);
    return () => ipcRenderer.removeListener(IPC_JOB_EVENT_CHANNEL, handler);
  },
});
