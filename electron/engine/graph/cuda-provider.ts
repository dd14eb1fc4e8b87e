import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * The onnxruntime-node binding lists 'cuda' among its backends whether or not the CUDA provider library
 * was installed (`npm run install:cuda`); this finds the library itself, so callers neither try (and
 * print ORT's load error) nor report CUDA when it cannot load.
 */
export function cudaProviderLibrary(): string | null {
  try {
    const pkg = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
    const binDir = path.join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
    const found = ['libonnxruntime_providers_cuda.so', 'onnxruntime_providers_cuda.dll'].map((f) => path.join(binDir, f)).find((f) => existsSync(f));
    return found ?? null;
  } catch {
    return null;
  }
}
