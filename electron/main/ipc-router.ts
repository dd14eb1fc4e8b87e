import { ipcMain, type IpcMainInvokeEvent, type WebContents } from 'electron';
import { IPC_CHANNEL_PREFIX, IPC_JOB_EVENT_CHANNEL, LAB_METHOD_NAMES } from '../api/lab-api.js';
import type { Lab } from '../engine/lab-runtime.js';

/**
 * The `lab` API over IPC: one `ipcMain.handle` channel per method, each checking that the message comes
 * from our own top-level frame (senderFrame) before the shared handler validates its payload. Job events
 * are pushed to every window that asked for them.
 */
export function registerIpcRouter(lab: Lab, isTrustedUrl: (url: string) => boolean): void {
  const trusted = (event: IpcMainInvokeEvent) => {
    const frame = event.senderFrame;
    return frame !== null && frame.parent === null && isTrustedUrl(frame.url);
  };
  for (const method of LAB_METHOD_NAMES) {
    ipcMain.handle(IPC_CHANNEL_PREFIX + method, async (event, payload: unknown) => {
      if (!trusted(event)) {
        return { ok: false, error: { name: 'LabError', code: 'INVALID_INPUT', message: `IPC ${method} from an untrusted frame was refused` } };
      }
      return lab.handle(method, payload);
    });
  }
  const subscribers = new Set<WebContents>();
  ipcMain.on(IPC_JOB_EVENT_CHANNEL, (event) => {
    if (!trusted(event as unknown as IpcMainInvokeEvent)) return;
    const wc = event.sender;
    if (subscribers.has(wc)) return;
    subscribers.add(wc);
    wc.once('destroyed', () => subscribers.delete(wc));
  });
  lab.supervisor.subscribe((e) => {
    for (const wc of subscribers) if (!wc.isDestroyed()) wc.send(IPC_JOB_EVENT_CHANNEL, e);
  });
}
