import { startServerChild } from './server-child.js';
import { rawRequest } from './raw-http.js';
const s = await startServerChild();
const host = new URL(s.origin).host;
for (const target of ['http://[', '//[::1', 'http://a b', '*', 'http://evil/x']) {
  const r = await rawRequest(s.origin, `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  console.log(JSON.stringify(target), r.status, r.empty, r.timedOut, JSON.stringify(r.raw.toString().slice(0, 300)));
}
console.log(s.exited(), s.stderr());
await s.stop();
