#!/usr/bin/env node
// `npm start`: build, then launch Electron — or say clearly why not and point to web mode.
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
let binary = null;
try {
  const dir = path.dirname(require.resolve('electron/package.json'));
  const pathTxt = path.join(dir, 'path.txt');
  if (existsSync(pathTxt)) {
    const candidate = path.join(dir, 'dist', readFileSync(pathTxt, 'utf8').trim());
    if (existsSync(candidate)) binary = candidate;
  }
} catch {
  /* electron package missing */
}
if (!binary) {
  console.error(
    'The Electron binary is not installed (Electron >= 42 downloads it on first use, and this machine could not).\n' +
      '  - get it where GitHub is reachable: npm run install:electron\n' +
      '  - or use web mode, the same app in a browser: npm run serve',
  );
  process.exit(1);
}
const build = spawnSync('npx', ['electron-vite', 'build'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const run = spawnSync(binary, ['.', ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(run.status ?? 0);
