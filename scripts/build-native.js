#!/usr/bin/env node
// postinstall: build the N-API addons in native/ (the observation rasterizer) against Node's headers.
// N-API is ABI-stable, so the same binary loads in Electron. A failed build does not fail the install:
// the simulator then says exactly what is missing (LabError UNSUPPORTED with this command).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
if (!existsSync(path.join(root, 'native', 'binding.gyp'))) process.exit(0);
const r = spawnSync('npx', ['node-gyp', 'rebuild', '-C', 'native'], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  console.warn('\nvla-ad: building native/ failed (needs python3, make and g++). The simulator will not render until it is built: npx node-gyp rebuild -C native\n');
}
