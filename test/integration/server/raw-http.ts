import net from 'node:net';

/** What came back for one raw request: the status line parsed, the body de-chunked. */
export interface RawResponse {
  /** No byte came back before the server closed the connection. */
  empty: boolean;
  /** The answer did not arrive within the timeout. */
  timedOut: boolean;
  statusLine: string;
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** Every byte received, head and body. */
  raw: Buffer;
}

/**
 * Send bytes as they are (no client-side validation of the request line or headers, unlike http.request
 * and fetch) to a loopback server and read one answer: until it is complete (by its content-length or
 * chunked end), or the server closes. A server still waiting for more of the request after `quietMs`
 * gets an end of stream (half-close), as a client that has nothing more to send.
 */
export function rawRequest(origin: string, request: Buffer | string, opts: { timeoutMs?: number; quietMs?: number; head?: boolean } = {}): Promise<RawResponse> {
  const { hostname, port } = new URL(origin);
  if (hostname !== '127.0.0.1' && hostname !== '[::1]' && hostname !== 'localhost') throw new Error(`rawRequest is for loopback only, not ${hostname}`);
  const head = opts.head ?? /^HEAD /i.test(request.toString('latin1', 0, 5));
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port) });
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (timedOut: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(quiet);
      socket.destroy();
      resolve(parseResponse(Buffer.concat(chunks), timedOut));
    };
    const timer = setTimeout(() => finish(true), opts.timeoutMs ?? 5_000);
    const quiet = setTimeout(() => socket.end(), opts.quietMs ?? 1_000);
    socket.on('connect', () => socket.write(request));
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      if (complete(Buffer.concat(chunks), head)) finish(false);
    });
    socket.on('error', () => finish(false)); // a reset: what arrived before it counts
    socket.on('close', () => finish(false));
  });
}

/** Whether `raw` holds one whole answer (interim 1xx answers skipped). */
function complete(raw: Buffer, head: boolean): boolean {
  let start = 0;
  for (;;) {
    const headEnd = raw.indexOf('\r\n\r\n', start);
    if (headEnd < 0) return false;
    const line = raw.toString('latin1', start, raw.indexOf('\r\n', start));
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(line)?.[1] ?? 0);
    if (status >= 100 && status < 200 && status !== 101) {
      start = headEnd + 4;
      continue;
    }
    const r = parseResponse(raw.subarray(start));
    if (r.status === 0) return false; // not HTTP: wait for the close
    if (head || r.status === 101 || r.status === 204 || r.status === 304) return true;
    const bodyBytes = raw.length - (headEnd + 4);
    if (r.headers['content-length'] !== undefined) return bodyBytes >= Number(r.headers['content-length']);
    if (r.headers['transfer-encoding']?.toLowerCase() === 'chunked') return raw.subarray(headEnd + 4).includes('0\r\n\r\n');
    return false;
  }
}

export function parseResponse(all: Buffer, timedOut = false): RawResponse {
  // Interim answers (100 Continue) come first: the final one follows them.
  let raw = all;
  while (/^HTTP\/1\.[01] 1(?!01)\d\d/.test(raw.toString('latin1', 0, 12)) && raw.indexOf('\r\n\r\n') >= 0) raw = raw.subarray(raw.indexOf('\r\n\r\n') + 4);
  const headEnd = raw.indexOf('\r\n\r\n');
  const head = (headEnd >= 0 ? raw.subarray(0, headEnd) : raw).toString('latin1');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = headEnd >= 0 ? raw.subarray(headEnd + 4) : Buffer.alloc(0);
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') body = dechunk(body);
  return { empty: all.length === 0, timedOut, statusLine, status: m ? Number(m[1]) : 0, headers, body, raw: all };
}

function dechunk(data: Buffer): Buffer {
  const out: Buffer[] = [];
  let i = 0;
  while (i < data.length) {
    const eol = data.indexOf('\r\n', i);
    if (eol < 0) break;
    const size = Number.parseInt(data.subarray(i, eol).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    out.push(data.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}
