/**
 * The renderer's Content-Security-Policy, one constant for both shells: Electron's main process sets it
 * on every response, the web server on every HTML page. Scripts only from the app itself; artifact videos
 * and images through lab-file: (Electron) or same-origin /files/ (web); job events over a loopback
 * WebSocket.
 */
export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob: lab-file:; " +
  "media-src 'self' blob: lab-file:; connect-src 'self' ws://127.0.0.1:* ws://localhost:*; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";
