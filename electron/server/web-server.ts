import http from 'node:http';
import { createReadStream, existsSync, realpathSync, statSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import path from 'node:path';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { LabError, serializeError } from '../engine/errors.js';
import type { Lab } from '../engine/lab-runtime.js';
import { ARTIFACT_MIME } from '../engine/store/artifact-files.js';
import { resolveLabFile } from '../engine/lab-files.js';
import { CSP } from '../api/csp.js';

/**
 * Web mode: the same renderer over HTTP on loopback, and the same `lab` API as Electron's IPC —
 * `POST /api/<method>` with a JSON body, job events over a WebSocket at `/api/events`. Every API call
 * carries the per-launch token (Authorization: Bearer, or ?token= for the WebSocket); the Host header
 * must name the bound loopback address, which stops DNS-rebinding pages from reaching the API.
 *
 * No request can stop the server (any web page can send one to 127.0.0.1): a malformed URL, header or
 * body is answered 400 with a JSON error; an API body over 1 MiB (MAX_BODY) is read to its end (up to
 * 16 MiB more, discarded) and answered 400 INVALID_INPUT "Request body over 1048576 bytes", so the client
 * sees the answer rather than a reset. A fault of the server itself is a 500 with the error's message and
 * code (never a stack), logged to stderr.
 */
export interface WebServerOptions {
  lab: Lab;
  rendererDir: string;
  host?: string;
  port?: number;
  allowRemote?: boolean;
  token?: string;
}

export interface WebServer {
  url: string; // includes the token, for opening in a browser
  origin: string;
  token: string;
  close(): Promise<void>;
}

const HTTP_STATUS: Record<string, number> = { NOT_FOUND: 404, INVALID_INPUT: 400, CONFLICT: 409, UNSUPPORTED: 422, CORRUPT_FILE: 422 };
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const MAX_BODY = 1 << 20; // 1 MiB: a larger API body is answered 400 INVALID_INPUT
const MAX_DISCARD = 16 << 20; // past MAX_BODY, read (and drop) this much more so the 400 is seen, then close
const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

export async function startWebServer(opts: WebServerOptions): Promise<WebServer> {
  const host = opts.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host) && !opts.allowRemote) {
    throw new LabError('INVALID_INPUT', `Refusing to bind web mode to ${host}: only loopback unless --allow-remote is given (use an SSH tunnel instead)`, { host });
  }
  if (!existsSync(path.join(opts.rendererDir, 'index.html'))) {
    throw new LabError('NOT_FOUND', `The renderer is not built (${opts.rendererDir}/index.html missing): run npm run build`, { rendererDir: opts.rendererDir });
  }
  const token = opts.token ?? randomBytes(24).toString('hex');
  const tokenBuf = Buffer.from(token);
  const tokenOk = (candidate: string | null | undefined) => {
    if (!candidate) return false;
    const c = Buffer.from(candidate);
    return c.length === tokenBuf.length && timingSafeEqual(c, tokenBuf);
  };
  let allowedHosts = new Set<string>();
  const hostOk = (h: string | undefined) => opts.allowRemote || (h !== undefined && allowedHosts.has(h));

  const route = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = parseRequestUrl(req.url);
    if (!hostOk(req.headers.host)) return sendJson(res, 421, { ok: false, error: { name: 'LabError', code: 'INVALID_INPUT', message: `Host ${req.headers.host} not allowed` } });
    if (url.pathname.startsWith('/files/')) {
      // Artifact files (videos, images) for <video>/<img>, which cannot send headers: the token rides in the query.
      if (!tokenOk(url.searchParams.get('token'))) return sendJson(res, 401, { ok: false, error: { name: 'LabError', code: 'INVALID_INPUT', message: 'Missing or wrong token' } });
      return serveArtifact(opts.lab, url.pathname.slice('/files/'.length), req, res);
    }
    if (url.pathname.startsWith('/api/')) {
      if (req.method !== 'POST') return sendJson(res, 405, { ok: false, error: { name: 'LabError', code: 'INVALID_INPUT', message: 'API calls are POST' } });
      const auth = req.headers.authorization;
      if (!tokenOk(auth?.startsWith('Bearer ') ? auth.slice(7) : undefined)) {
        return sendJson(res, 401, { ok: false, error: { name: 'LabError', code: 'INVALID_INPUT', message: 'Missing or wrong token' } });
      }
      const method = decodePath(url.pathname.slice('/api/'.length), 'API method');
      let body: unknown;
      try {
        body = await readJsonBody(req);
      } catch (err) {
        if (err instanceof BodyTooLarge) {
          res.setHeader('connection', 'close');
          return sendJson(res, 400, { ok: false, error: serializeError(err.error) });
        }
        return sendJson(res, 400, { ok: false, error: serializeError(err) });
      }
      const result = await opts.lab.handle(method, body);
      const status = result.ok ? 200 : (HTTP_STATUS[result.error.code] ?? 500);
      return sendJson(res, status, result);
    }
    return serveStatic(opts.rendererDir, url.pathname, req, res);
  };

  // A missing Host is refused by hostOk with a JSON answer (Node's own check would answer an empty 400).
  const server = http.createServer({ requireHostHeader: false }, (req, res) => {
    route(req, res).catch((err: unknown) => answerFault(req, res, err));
  });
  server.on('checkExpectation', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    res.setHeader('connection', 'close');
    sendJson(res, 417, { ok: false, error: { name: 'LabError', code: 'INVALID_INPUT', message: 'Only "Expect: 100-continue" is understood' } });
  });
  // A request the parser rejects (bad request line, header or framing) gets a 400 JSON answer — or, where
  // an answer to it has already begun, that answer is finished first — and the connection is closed.
  const faulted = new WeakSet<Duplex>();
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (faulted.has(socket)) return;
    faulted.add(socket);
    const inFlight = (socket as Duplex & { _httpMessage?: http.ServerResponse | null })._httpMessage; // as Node's own handler checks
    if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    if (inFlight?.headersSent) {
      const done = () => socket.destroy();
      inFlight.once('finish', done).once('close', done);
      setTimeout(done, 10_000).unref();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const text = JSON.stringify({ ok: false, error: { name: 'LabError', code: 'INVALID_INPUT', message: `Malformed request (${err.code ?? 'parse error'})` } });
    socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`, () => socket.destroy());
  });

  // CONNECT (a proxy request) would otherwise take the socket with it, unanswered.
  server.on('connect', (_req: http.IncomingMessage, socket: Duplex) => {
    socket.on('error', () => socket.destroy());
    const text = JSON.stringify({ ok: false, error: { name: 'LabError', code: 'INVALID_INPUT', message: 'CONNECT is not served here' } });
    socket.end(`HTTP/1.1 405 Method Not Allowed\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`, () => socket.destroy());
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_BODY });
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy()); // a reset during the handshake must not become an uncaught error
    let ok = false;
    try {
      const url = parseRequestUrl(req.url);
      ok = url.pathname === '/api/events' && hostOk(req.headers.host) && tokenOk(url.searchParams.get('token'));
    } catch {
      ok = false; // malformed URL: refused like a wrong token
    }
    if (!ok) {
      socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nconnection: close\r\n\r\n', () => socket.destroy());
      return;
    }
    try {
      wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
        // Events only go out; whatever a client sends (bad frames included) closes just that socket.
        ws.on('error', () => ws.terminate());
        const unsubscribe = opts.lab.supervisor.subscribe((event) => {
          if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(event));
        });
        ws.on('close', unsubscribe);
      });
    } catch (err) {
      console.error(`web mode: WebSocket upgrade failed: ${(err as Error).message}`);
      socket.destroy();
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new LabError('CONFLICT', `Cannot listen on ${host}:${opts.port ?? 0}: ${err.message}`, { host, port: opts.port })));
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const hostForUrl = host.includes(':') ? `[${host}]` : host;
  allowedHosts = new Set([`${hostForUrl}:${port}`, `localhost:${port}`, `127.0.0.1:${port}`]);
  const origin = `http://${hostForUrl}:${port}`;
  return {
    origin,
    token,
    url: `${origin}/?token=${token}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The request target as a URL; a malformed one is a 400. Only the path and query are used. */
function parseRequestUrl(raw: string | undefined): URL {
  const target = raw ?? '/';
  try {
    // Origin-form ("/a/b?c") is read as a path even when it starts with "//" (which new URL would take for a host).
    return target.startsWith('/') ? new URL(`http://local${target}`) : new URL(target, 'http://local');
  } catch {
    throw new LabError('INVALID_INPUT', 'Malformed request URL', { url: target.slice(0, 200) });
  }
}

/** decodeURIComponent that answers a malformed escape (or a NUL) with a 400 instead of throwing URIError. */
function decodePath(raw: string, what: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    throw new LabError('INVALID_INPUT', `Malformed percent-encoding in the ${what}`, { path: raw.slice(0, 200) });
  }
  if (decoded.includes('\0')) throw new LabError('INVALID_INPUT', `NUL byte in the ${what}`, { path: raw.slice(0, 200) });
  return decoded;
}

/** A request whose handling failed: a typed error keeps its status; anything else is a 500 without a stack. */
function answerFault(req: http.IncomingMessage, res: http.ServerResponse, err: unknown): void {
  const e = serializeError(err);
  const status = err instanceof LabError ? (HTTP_STATUS[e.code] ?? 500) : 500;
  if (status === 500) console.error(`web mode: ${req.method} ${String(req.url).slice(0, 200)} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, { ok: false, error: e });
}

class BodyTooLarge extends Error {
  constructor(readonly error: LabError) {
    super(error.message);
  }
}

function readJsonBody(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const tooLarge = () => new BodyTooLarge(new LabError('INVALID_INPUT', `Request body over ${MAX_BODY} bytes`, { limit: MAX_BODY }));
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > MAX_BODY + MAX_DISCARD) {
      // Not worth reading: answer at once and close (the client may see a reset while it still sends).
      settled = true;
      req.resume();
      return reject(tooLarge());
    }
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
      else if (size > MAX_BODY + MAX_DISCARD && !settled) {
        settled = true;
        reject(tooLarge());
      }
      // Over MAX_BODY: read on and drop, so the 400 is answered after the body (a client still sending
      // when the connection closes sees a reset, not the answer).
    });
    req.on('end', () => {
      if (settled) return;
      settled = true;
      if (size > MAX_BODY) return reject(tooLarge());
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve({});
      try {
        resolve(JSON.parse(text));
      } catch (err) {
        reject(new LabError('INVALID_INPUT', `Request body is not JSON: ${(err as Error).message}`));
      }
    });
    const aborted = () => {
      if (settled) return;
      settled = true;
      reject(new LabError('INVALID_INPUT', 'Request body ended early (the client closed the connection)'));
    };
    req.on('error', aborted);
    req.on('close', aborted);
  });
}

/** `<experimentId>/<relative path>` of a registered artifact, with Range support so videos can seek. */
function serveArtifact(lab: Lab, rest: string, req: http.IncomingMessage, res: http.ServerResponse): void {
  let file: string;
  try {
    file = resolveLabFile(lab.store, decodePath(rest, 'file path'));
  } catch (err) {
    const e = serializeError(err);
    return sendJson(res, HTTP_STATUS[e.code] ?? 500, { ok: false, error: e });
  }
  const size = statSync(file).size;
  const type = ARTIFACT_MIME[path.extname(file)] ?? 'application/octet-stream';
  const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
  if (range && (range[1] || range[2])) {
    const start = range[1] ? Number(range[1]) : Math.max(0, size - Number(range[2]));
    const end = range[1] && range[2] ? Math.min(size - 1, Number(range[2])) : size - 1;
    if (start > end || start >= size) {
      res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
      return;
    }
    res.writeHead(206, { 'content-type': type, 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${size}`, 'accept-ranges': 'bytes' });
    return streamFile(file, res, { start, end });
  }
  res.writeHead(200, { 'content-type': type, 'content-length': size, 'accept-ranges': 'bytes', 'x-content-type-options': 'nosniff' });
  streamFile(file, res);
}

/** Pipe a file into a response whose headers are written; a read error (file gone) ends just that response. */
function streamFile(file: string, res: http.ServerResponse, range?: { start: number; end: number }): void {
  const stream = createReadStream(file, range);
  stream.on('error', (err) => {
    console.error(`web mode: reading ${file} failed: ${err.message}`);
    res.destroy();
  });
  res.on('close', () => stream.destroy());
  stream.pipe(res);
}

function serveStatic(root: string, pathname: string, req: http.IncomingMessage, res: http.ServerResponse): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return sendJson(res, 405, { ok: false, error: { name: 'LabError', code: 'INVALID_INPUT', message: `${req.method} is not served here (the API is POST /api/<method>)` } });
  }
  const rel = decodePath(pathname === '/' ? '/index.html' : pathname, 'path');
  const base = path.resolve(root);
  let file = path.normalize(path.join(base, rel));
  if (!file.startsWith(base + path.sep)) {
    return sendJson(res, 403, { ok: false, error: { name: 'LabError', code: 'INVALID_INPUT', message: 'Path leaves the app folder' } });
  }
  // History-mode routes (/experiments/…) fall back to the app shell.
  if (!isFile(file)) file = path.join(base, 'index.html');
  else if (!insideReal(base, file)) {
    return sendJson(res, 403, { ok: false, error: { name: 'LabError', code: 'INVALID_INPUT', message: 'Path leaves the app folder' } });
  }
  const type = MIME[path.extname(file)] ?? 'application/octet-stream';
  const headers: Record<string, string> = { 'content-type': type, 'x-content-type-options': 'nosniff' };
  if (type.startsWith('text/html')) Object.assign(headers, { 'content-security-policy': CSP, 'cache-control': 'no-store' });
  res.writeHead(200, headers);
  if (req.method === 'HEAD') return void res.end();
  streamFile(file, res);
}

/** Whether `file`, symlinks resolved, lies inside `root` (symlinks resolved). */
function insideReal(root: string, file: string): boolean {
  try {
    return realpathSync(file).startsWith(realpathSync(root) + path.sep);
  } catch {
    return false;
  }
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
