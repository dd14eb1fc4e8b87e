/**
 * The renderer's Content-Security-Policy, one list of directives for both shells: the web server sends it
 * as a header on every HTML page, and the build writes it into renderer/index.html as a <meta> (Electron
 * loads the page from a file, where no response header exists). Scripts only from the app itself;
 * artifact videos, images and trial frame packs (fetched) through lab-file: (Electron) or same-origin /files/ (web); job events over a
 * loopback WebSocket.
 */
const DIRECTIVES: readonly (readonly [string, string])[] = [
  ['default-src', "'self'"],
  ['script-src', "'self'"],
  ['style-src', "'self' 'unsafe-inline'"],
  ['img-src', "'self' data: blob: lab-file:"],
  ['media-src', "'self' blob: lab-file:"],
  ['connect-src', "'self' lab-file: ws://127.0.0.1:* ws://localhost:*"],
  ['object-src', "'none'"],
  ['base-uri', "'none'"],
  ['frame-ancestors', "'none'"],
];
/** Directives a browser ignores (and warns about) in a <meta> policy: only a header can carry them. */
const HEADER_ONLY = new Set(['frame-ancestors', 'report-uri', 'sandbox']);

const render = (keep: (name: string) => boolean) =>
  DIRECTIVES.filter(([name]) => keep(name))
    .map(([name, value]) => `${name} ${value}`)
    .join('; ');

/** The policy as a response header (web mode). */
export const CSP = render(() => true);
/** The same policy as the page's own <meta http-equiv="Content-Security-Policy"> (the header-only directives left out). */
export const CSP_META = render((name) => !HEADER_ONLY.has(name));
