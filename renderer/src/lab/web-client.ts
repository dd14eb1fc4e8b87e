import type { LabClient, LabInput, LabMethod } from '../../../electron/api/lab-api';
import { JobEvent } from '../../../electron/api/schemas';
import { LabCallError, unwrap } from './unwrap';

const TOKEN_KEY = 'vla-ad-token';

/**
 * The `lab` API in web mode: POST /api/<method> with the per-launch token, and job events over a
 * WebSocket that reconnects after a server restart. The token comes in the URL once and is kept for
 * the tab's session, then removed from the address bar.
 */
export function createWebClient(location: Location): LabClient {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete('token');
    history.replaceState(history.state, '', url.pathname + url.search + url.hash);
  }
  const token = sessionStorage.getItem(TOKEN_KEY) ?? '';
  const listeners = new Set<(e: JobEvent) => void>();
  let socket: WebSocket | null = null;
  let retry: ReturnType<typeof setTimeout> | null = null;

  const connect = () => {
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/events?token=${encodeURIComponent(token)}`);
    socket = ws;
    ws.onmessage = (m) => {
      let data: unknown;
      try {
        data = JSON.parse(String(m.data));
      } catch {
        return;
      }
      const e = JobEvent.safeParse(data);
      if (e.success) for (const l of listeners) l(e.data);
    };
    ws.onclose = () => {
      socket = null;
      if (listeners.size > 0) retry = setTimeout(connect, 1000);
    };
  };

  return {
    async call<M extends LabMethod>(method: M, input: LabInput<M>) {
      let res: Response;
      try {
        res = await fetch(`/api/${method}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify(input ?? {}),
        });
      } catch (err) {
        throw new LabCallError('REMOTE_ERROR', `The lab server is unreachable: ${(err as Error).message}`);
      }
      let body: unknown;
      try {
        body = await res.json();
      } catch {
        throw new LabCallError('REMOTE_ERROR', `${method}: the server answered ${res.status} without JSON`);
      }
      return unwrap(method, body as never);
    },
    fileUrl(experimentId, relPath) {
      return `/files/${experimentId}/${relPath.split('/').map(encodeURIComponent).join('/')}?token=${encodeURIComponent(token)}`;
    },
    subscribeJobs(listener) {
      listeners.add(listener);
      if (!socket) connect();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) {
          if (retry) clearTimeout(retry);
          socket?.close();
          socket = null;
        }
      };
    },
  };
}
