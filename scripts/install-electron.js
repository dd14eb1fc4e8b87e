#!/usr/bin/env node
// `npm run install:electron`: download Electron's binary (Electron >= 42 has no install script). The
// store uses node:sqlite inside Electron, so no native module needs rebuilding for Electron's ABI.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const script = path.join(path.dirname(require.resolve('electron/package.json')), 'install.js');
const run = spawnSync(process.execPath, [script], { stdio: 'inherit' });
if (run.status !== 0) {
  console.error('Electron download failed (is GitHub reachable?). Web mode works without it: npm run serve');
}
process.exit(run.status ?? 1);
