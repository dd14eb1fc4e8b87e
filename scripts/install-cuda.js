#!/usr/bin/env node
// `npm run install:cuda`: fetch onnxruntime-node's CUDA 12 execution provider (needs CUDA 12 + cuDNN 9 on
// the machine and access to the NuGet feed). The default install skips it (.npmrc), so an offline
// `npm ci` never fails; this is the explicit step.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const script = path.join(path.dirname(require.resolve('onnxruntime-node/package.json')), 'script', 'install.js');
const run = spawnSync(process.execPath, [script], { stdio: 'inherit', env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'cuda12', npm_config_onnxruntime_node_install: 'cuda12' } });
if (run.status !== 0) {
  console.error('CUDA provider download failed (is the NuGet feed reachable?). The CPU provider still works.');
  process.exit(run.status ?? 1);
}
const check = spawnSync('node', ['bin/vla-ad.js', 'doctor'], { stdio: 'inherit' });
process.exit(check.status ?? 0);
