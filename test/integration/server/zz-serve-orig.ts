/**
 * A web-mode server in a process of its own, for tests that must see whether a request can stop it: a real
 * lab (testLab, with forked job workers) and a fake renderer. Prints one JSON line
 * `{ origin, token, dir, dataDir }` when listening; SIGTERM closes it and exits 0. Anything that stops it
 * otherwise (an uncaught error) is an exit the test sees.
 *
 *   node --import tsx test/integration/server/serve-child.ts
 */
import { startWebServer } from '../../../electron/server/zz-orig.js';
import { fakeRenderer, testLab } from '../../helpers/lab.js';

const env = testLab('web server (test child)');
const server = await startWebServer({ lab: env.lab, rendererDir: fakeRenderer(env.dir), port: 0 });
console.log(JSON.stringify({ origin: server.origin, token: server.token, dir: env.dir, dataDir: env.lab.dataDir }));
process.on('SIGTERM', () => {
  void server.close().then(() => {
    env.cleanup();
    process.exit(0);
  });
});
