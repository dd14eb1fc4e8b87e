#!/usr/bin/env node
// `npm run install:cuda`: put onnxruntime-node's CUDA 12 execution provider where ONNX Runtime loads it
// from — beside its own libonnxruntime, in node_modules/onnxruntime-node/bin/napi-v6/<platform>/<arch>/
// (ORT opens providers by absolute path from there; LD_LIBRARY_PATH does not help). Two ways:
// - online (default): onnxruntime-node's own install script downloads the provider from NuGet
//   (Microsoft.ML.OnnxRuntime.Gpu.Linux / .Windows, the same version as onnxruntime-node);
// - offline: VLA_AD_ORT_CUDA_DIR=<folder> npm run install:cuda (or `npm run install:cuda -- --from <folder>`)
//   links (else copies) the provider files from a folder you filled yourself: the files themselves, or an
//   unzipped .nupkg (its runtimes/<rid>/native/ is searched too), or a Python onnxruntime-gpu of the same
//   version (its onnxruntime/capi/).
// The provider also needs CUDA 12 and cuDNN 9 from NVIDIA on the loader path; `vla-ad doctor` (run at the
// end) lists each piece. The default install skips the provider (.npmrc), so an offline `npm ci` never fails.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const pkgDir = path.dirname(require.resolve('onnxruntime-node/package.json'));
const binDir = path.join(pkgDir, 'bin', 'napi-v6', process.platform, process.arch);
const files = process.platform === 'win32' ? ['onnxruntime_providers_cuda.dll', 'onnxruntime_providers_shared.dll'] : ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so'];
const optional = process.platform === 'win32' ? [] : ['libonnxruntime_providers_tensorrt.so'];

const fromFlag = process.argv.indexOf('--from');
const from = fromFlag >= 0 ? process.argv[fromFlag + 1] : process.env.VLA_AD_ORT_CUDA_DIR;

if (from) {
  const rid = `${process.platform === 'win32' ? 'win' : 'linux'}-${process.arch}`;
  const candidates = [from, path.join(from, 'runtimes', rid, 'native'), path.join(from, 'onnxruntime', 'capi')];
  const dir = candidates.find((d) => files.every((f) => existsSync(path.join(d, f))));
  if (!dir) {
    console.error(`${files.join(' + ')} not found in ${candidates.join(', ')}.`);
    console.error(`Get them from the NuGet package Microsoft.ML.OnnxRuntime.Gpu.${process.platform === 'win32' ? 'Windows' : 'Linux'} ${require('onnxruntime-node/package.json').version} (a zip: unzip it and point VLA_AD_ORT_CUDA_DIR at it).`);
    process.exit(1);
  }
  for (const f of [...files, ...optional]) {
    const src = path.resolve(dir, f);
    if (!existsSync(src)) continue;
    const dst = path.join(binDir, f);
    rmSync(dst, { force: true }); // an older file or link
    try {
      symlinkSync(src, dst);
      console.log(`linked ${dst} → ${src}`);
    } catch {
      copyFileSync(src, dst);
      console.log(`copied ${src} → ${dst}`);
    }
  }
} else {
  const script = path.join(pkgDir, 'script', 'install.js');
  const run = spawnSync(process.execPath, [script], { stdio: 'inherit', env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'cuda12', npm_config_onnxruntime_node_install: 'cuda12' } });
  if (run.status !== 0) {
    console.error('CUDA provider download failed (is the NuGet feed, api.nuget.org, reachable?). The CPU provider still works.');
    console.error('Offline: download the NuGet package elsewhere, unzip it, then VLA_AD_ORT_CUDA_DIR=<that folder> npm run install:cuda.');
    process.exit(run.status ?? 1);
  }
}
console.log('The provider also needs CUDA 12 and cuDNN 9 from NVIDIA on the loader path. What is present:');
const check = spawnSync(process.execPath, [fileURLToPath(new URL('../bin/vla-ad.js', import.meta.url)), 'doctor'], { stdio: 'inherit' });
process.exit(check.status ?? 0);
