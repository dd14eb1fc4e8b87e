import http from 'node:http';
import { createReadStream, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { LabError, serializeError } from '../engine/errors.js';
import type { Lab } from '../engine/lab-runtime.js';
import { ARTIFACT_MIME, resolveArtifactFile } from '../engine/store/artifact-files.js';
import { CSP } from '../api/csp.js';

/**
 * Web mode: the same renderer over HTTP on loopback, and the same `lab` API as Electron's IPC —
 * `POST /api/<method>` with a JSON body, job events over a WebSocket at `/api/events`. Every API call
 * carries the per-launch token (Authorization: Bearer, or ?token= for the WebSocket); the Host header
 * must name the bound loopback address, which stops DNS-rebinding pages from reaching the API.
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
const MAX_BODY = 1 << 20;
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

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
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
      let body: unknown;
      try {
        body = await readJsonBody(req);
      } catch (err) {
        return sendJson(res, 400, { ok: false, error: serializeError(err) });
      }
      const result = await opts.lab.handle(decodeURIComponent(url.pathname.slice('/api/'.length)), body);
      const status = result.ok ? 200 : (HTTP_STATUS[result.error.code] ?? 500);
      return sendJson(res, status, result);
    }
    serveStatic(opts.rendererDir, url.pathname, res);
  });

  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://local');
    if (url.pathname !== '/api/events' || !hostOk(req.headers.host) || !tokenOk(url.searchParams.get('token'))) {
      socket.write('HTTP/1.1 401 Unauthorized\r\n\r\n');
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const unsubscribe = opts.lab.supervisor.subscribe((event) => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(event));
      });
      ws.on('close', unsubscribe);
    });
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

function readJsonBody(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new LabError('INVALID_INPUT', `Request body over ${MAX_BODY} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve({});
      try {
        resolve(JSON.parse(text));
      } catch (err) {
        reject(new LabError('INVALID_INPUT', `Request body is not JSON: ${(err as Error).message}`));
      }
    });
    req.on('error', reject);
  });
}

/** `<experimentId>/<relative path>` of a registered artifact, with Range support so videos can seek. */
function serveArtifact(lab: Lab, rest: string, req: http.IncomingMessage, res: http.ServerResponse): void {
  let file: string;
  try {
    file = resolveArtifactFile(lab.store, decodeURIComponent(rest));
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
    createReadStream(file, { start, end }).pipe(res);
    return;
  }
  res.writeHead(200, { 'content-type': type, 'content-length': size, 'accept-ranges': 'bytes', 'x-content-type-options': 'nosniff' });
  createReadStream(file).pipe(res);
}

function serveStatic(root: string, pathname: string, res: http.ServerResponse): void {
  const rel = decodeURIComponent(pathname === '/' ? '/index.html' : pathname);
  let file = path.normalize(path.join(root, rel));
  if (!file.startsWith(path.resolve(root) + path.sep)) {
    res.writeHead(403).end();
    return;
  }
  // History-mode routes (/experiments/…) fall back to the app shell.
  if (!existsSync(file) || !statSync(file).isFile()) file = path.join(root, 'index.html');
  const type = MIME[path.extname(file)] ?? 'application/octet-stream';
  const headers: Record<string, string> = { 'content-type': type, 'x-content-type-options': 'nosniff' };
  if (type.startsWith('text/html')) Object.assign(headers, { 'content-security-policy': CSP, 'cache-control': 'no-store' });
  res.writeHead(200, headers);
  createReadStream(file).pipe(res);
}
