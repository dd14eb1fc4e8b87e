import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * Is ONNX Runtime's CUDA execution provider usable here, and if not, which piece is missing? The
 * onnxruntime-node binding lists 'cuda' among its backends whether or not the provider library was
 * installed, and ORT loads that library only from the folder of its own libonnxruntime (by absolute
 * path), so "installed" means: beside the binding. `cudaReadiness()` checks, without loading anything:
 * - the binding: this onnxruntime-node build has a CUDA backend (Linux x64, Windows x64);
 * - the provider library: libonnxruntime_providers_cuda.so + libonnxruntime_providers_shared.so beside
 *   the binding (`npm run install:cuda` puts them there, from NuGet, or links them from
 *   $VLA_AD_ORT_CUDA_DIR — a folder the user filled by hand);
 * - the NVIDIA driver (libcuda.so.1), the CUDA 12 runtime (libcudart.so.12), cuBLAS 12 and cuDNN 9, on
 *   the dynamic loader's path (ld.so cache, LD_LIBRARY_PATH, the system folders, the binding's folder);
 *   when the provider library is present, `ldd` on it names any other dependency that does not resolve.
 * Each piece says where it was looked for. A ready report still has to load: selectExecutionProvider
 * (runtime.ts) try-creates a CUDA session before it uses CUDA.
 */

/** How to get every piece (the message of an `ep: 'cuda'` that cannot run, doctor's hint, the README). */
export const CUDA_INSTALL_HINT =
  'npm run install:cuda (ONNX Runtime\'s CUDA provider, from NuGet; offline: VLA_AD_ORT_CUDA_DIR=<folder with the files> npm run install:cuda links them), ' +
  'and CUDA 12 + cuDNN 9 from NVIDIA (https://developer.nvidia.com/cuda-downloads, https://developer.nvidia.com/cudnn) on the loader path';

/** The environment variable naming a folder that holds the provider files (read by `npm run install:cuda` and by this check). */
export const CUDA_DIR_ENV = 'VLA_AD_ORT_CUDA_DIR';

export type CudaPieceId = 'binding' | 'provider' | 'driver' | 'cudart' | 'cublas' | 'cudnn';

export interface CudaPiece {
  id: CudaPieceId;
  /** What it is, for people: "ONNX Runtime CUDA provider library". */
  name: string;
  ok: boolean;
  /** Where it was found, or what was looked at and why it does not count. */
  detail: string;
  /** Files or folders looked at. */
  looked: string[];
  /** How to get it (absent when ok). */
  install?: string;
}

export interface CudaReadiness {
  /** Every piece present (CUDA may still fail to load: no device, a driver too old). */
  ready: boolean;
  pieces: CudaPiece[];
  missing: CudaPiece[];
  /** The provider library ORT would load, when it is where ORT loads it from. */
  providerLibrary: string | null;
  /** One line: "ready (provider at …)" or "missing: <name> (<detail>); …". */
  summary: string;
  /** Where NVIDIA's libraries were looked for, in the loader's order. */
  loaderPath: string[];
}

/** Everything cudaReadiness looks at, injectable for tests. */
export interface CudaProbes {
  platform: NodeJS.Platform;
  arch: string;
  env: Record<string, string | undefined>;
  /** onnxruntime-node's native folder (where ORT loads providers from); null when the package is missing. */
  bindingDir(): string | null;
  /** The backends the binding was built with (ort.listSupportedBackends). */
  backends(): string[];
  exists(file: string): boolean;
  /** `ldconfig -p` as soname → path; null when ldconfig cannot run. */
  loaderCache(): Map<string, string> | null;
  /** Sonames `ldd <file>` reports as "not found"; null when ldd cannot run. */
  unresolved(file: string): string[] | null;
}

const require = createRequire(import.meta.url);

function defaultBindingDir(): string | null {
  try {
    const pkg = path.dirname(require.resolve('onnxruntime-node/package.json'));
    return path.join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return null;
  }
}

function runText(cmd: string, args: string[]): string | null {
  try {
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000, maxBuffer: 32 << 20 });
    return r.status === 0 ? r.stdout : null;
  } catch {
    return null;
  }
}

/** Parses `ldconfig -p` ("\tlibcudart.so.12 (libc6,x86-64) => /usr/local/cuda/lib64/libcudart.so.12"); on a 64-bit machine 32-bit entries do not count. */
export function parseLdconfig(text: string, arch: string = process.arch): Map<string, string> {
  const want64 = arch === 'x64' || arch === 'arm64';
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*(\S+)\s+\(([^)]*)\)\s+=>\s+(\S+)/.exec(line);
    if (!m || out.has(m[1])) continue;
    if (want64 && !/x86-64|AArch64|64bit/i.test(m[2])) continue;
    out.set(m[1], m[3]);
  }
  return out;
}

export const defaultCudaProbes = (): CudaProbes => ({
  platform: process.platform,
  arch: process.arch,
  env: process.env,
  bindingDir: defaultBindingDir,
  backends() {
    try {
      return (require('onnxruntime-node') as { listSupportedBackends(): { name: string }[] }).listSupportedBackends().map((b) => b.name);
    } catch {
      return [];
    }
  },
  exists: (f) => existsSync(f),
  loaderCache() {
    for (const bin of ['/sbin/ldconfig', '/usr/sbin/ldconfig', 'ldconfig']) {
      const text = runText(bin, ['-p']);
      if (text !== null) return parseLdconfig(text, process.arch);
    }
    return null;
  },
  unresolved(file) {
    const text = runText('ldd', [file]);
    if (text === null) return null;
    return text
      .split('\n')
      .map((l) => /^\s*(\S+)\s+=>\s+not found/.exec(l)?.[1])
      .filter((s): s is string => Boolean(s));
  },
});

/** The provider's files on this platform (both are needed: the shared bridge loads the CUDA one). */
export function providerFiles(platform: NodeJS.Platform): string[] {
  return platform === 'win32' ? ['onnxruntime_providers_cuda.dll', 'onnxruntime_providers_shared.dll'] : ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so'];
}

/**
 * Folders under a user-given $VLA_AD_ORT_CUDA_DIR that may hold the files: itself, an unzipped NuGet
 * package's native folder, or a Python onnxruntime-gpu install's capi folder (same ORT version only).
 */
export function userProviderDirs(dir: string, platform: NodeJS.Platform, arch: string): string[] {
  const rid = `${platform === 'win32' ? 'win' : platform === 'darwin' ? 'osx' : 'linux'}-${arch}`;
  return [dir, path.join(dir, 'runtimes', rid, 'native'), path.join(dir, 'onnxruntime', 'capi')];
}

interface LibSpec {
  id: Exclude<CudaPieceId, 'binding' | 'provider'>;
  name: string;
  /** Sonames (Linux) or DLL names (Windows) that must all resolve. */
  files: string[];
  /** A soname family, to say "found another major version" (e.g. libcudart.so.13). */
  family?: RegExp;
  install: string;
}

function libSpecs(platform: NodeJS.Platform): LibSpec[] {
  const cudaInstall = 'the CUDA 12 toolkit or runtime from NVIDIA (https://developer.nvidia.com/cuda-downloads), its lib64 folder on the loader path (ldconfig or LD_LIBRARY_PATH)';
  if (platform === 'win32') {
    return [
      { id: 'driver', name: 'NVIDIA driver', files: ['nvcuda.dll'], install: 'the NVIDIA display driver' },
      { id: 'cudart', name: 'CUDA 12 runtime (cudart)', files: ['cudart64_12.dll'], install: cudaInstall },
      { id: 'cublas', name: 'cuBLAS 12', files: ['cublas64_12.dll', 'cublasLt64_12.dll'], install: cudaInstall },
      { id: 'cudnn', name: 'cuDNN 9', files: ['cudnn64_9.dll'], install: 'cuDNN 9 for CUDA 12 from NVIDIA (https://developer.nvidia.com/cudnn), its bin folder on PATH' },
    ];
  }
  return [
    { id: 'driver', name: 'NVIDIA driver (libcuda)', files: ['libcuda.so.1'], install: 'the NVIDIA driver (a GPU machine has it; in a container, the NVIDIA container toolkit mounts it)' },
    { id: 'cudart', name: 'CUDA 12 runtime (libcudart)', files: ['libcudart.so.12'], family: /^libcudart\.so\.(\d+)$/, install: cudaInstall },
    { id: 'cublas', name: 'cuBLAS 12', files: ['libcublas.so.12', 'libcublasLt.so.12'], family: /^libcublas\.so\.(\d+)$/, install: cudaInstall },
    { id: 'cudnn', name: 'cuDNN 9 (libcudnn)', files: ['libcudnn.so.9'], family: /^libcudnn\.so\.(\d+)$/, install: 'cuDNN 9 for CUDA 12 from NVIDIA (https://developer.nvidia.com/cudnn, or the libcudnn9-cuda-12 package of the NVIDIA apt repository), on the loader path' },
  ];
}

/** Folders the dynamic loader searches without the ld.so cache (LD_LIBRARY_PATH first). */
function loaderDirs(p: CudaProbes, bindingDir: string | null): string[] {
  const sep = p.platform === 'win32' ? ';' : ':';
  const fromEnv = (p.platform === 'win32' ? p.env.PATH ?? p.env.Path : p.env.LD_LIBRARY_PATH) ?? '';
  const triplet = p.arch === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu';
  const system = p.platform === 'win32' ? [] : [`/lib/${triplet}`, `/usr/lib/${triplet}`, '/lib64', '/usr/lib64', '/lib', '/usr/lib', '/usr/lib/wsl/lib'];
  return [...new Set([...fromEnv.split(sep).filter(Boolean), ...(bindingDir ? [bindingDir] : []), ...system])];
}

function describeLoaderPath(p: CudaProbes, bindingDir: string | null): string[] {
  const envName = p.platform === 'win32' ? 'PATH' : 'LD_LIBRARY_PATH';
  const envValue = p.platform === 'win32' ? p.env.PATH ?? p.env.Path : p.env.LD_LIBRARY_PATH;
  return [`${envName}${envValue ? `=${envValue}` : ' (unset)'}`, ...(p.platform === 'linux' ? ['the ld.so cache (ldconfig -p)'] : []), ...loaderDirs({ ...p, env: {} }, bindingDir)];
}

/** What ORT would need for `ep: 'cuda'`, piece by piece (see the file's comment). Never throws. */
export function cudaReadiness(probes: Partial<CudaProbes> = {}): CudaReadiness {
  const p: CudaProbes = { ...defaultCudaProbes(), ...probes };
  const pieces: CudaPiece[] = [];
  const bindingDir = p.bindingDir();
  const platformName = `${p.platform}/${p.arch}`;

  // 1. the binding
  const backends = p.backends();
  const hasBackend = backends.includes('cuda');
  pieces.push({
    id: 'binding',
    name: 'onnxruntime-node CUDA backend',
    ok: hasBackend,
    detail: hasBackend
      ? `onnxruntime-node at ${bindingDir ?? '(unknown folder)'} has a CUDA backend`
      : bindingDir === null
        ? 'onnxruntime-node is not installed'
        : `this onnxruntime-node build (${platformName}) has no CUDA backend (backends: ${backends.join(', ') || 'none'}); ONNX Runtime's CUDA provider exists for linux/x64 and win32/x64`,
    looked: bindingDir ? [bindingDir] : [],
    install: hasBackend ? undefined : bindingDir === null ? 'npm ci' : 'a Linux x64 or Windows x64 machine',
  });

  // 2. the provider library, beside the binding (where ORT loads it from)
  const files = providerFiles(p.platform);
  const beside = bindingDir ? [bindingDir, ...(bindingDir.includes(`app.asar${path.sep}`) ? [bindingDir.replace(`app.asar${path.sep}`, `app.asar.unpacked${path.sep}`)] : [])] : [];
  const userDir = p.env[CUDA_DIR_ENV];
  const userDirs = userDir ? userProviderDirs(userDir, p.platform, p.arch) : [];
  const hasAll = (dir: string) => files.every((f) => p.exists(path.join(dir, f)));
  const installedDir = beside.find(hasAll) ?? null;
  const userFound = userDirs.find(hasAll) ?? null;
  const providerLibrary = installedDir ? path.join(installedDir, files[0]) : null;
  const lookedProvider = [...beside, ...userDirs];
  let providerDetail: string;
  if (installedDir) providerDetail = `${files.join(' + ')} in ${installedDir}`;
  else if (userFound) providerDetail = `found in ${CUDA_DIR_ENV} (${userFound}), but ONNX Runtime loads providers only from beside its own library (${beside[0]}): run npm run install:cuda to link them there`;
  else {
    const partial = [...beside, ...userDirs].flatMap((d) => files.filter((f) => p.exists(path.join(d, f))).map((f) => path.join(d, f)));
    providerDetail = `${files.join(' + ')} not found; looked in ${lookedProvider.length ? lookedProvider.join(', ') : '(no onnxruntime-node folder)'}${userDir ? '' : ` (${CUDA_DIR_ENV} unset)`}${partial.length ? `; only ${partial.join(', ')} present` : ''}`;
  }
  pieces.push({
    id: 'provider',
    name: 'ONNX Runtime CUDA provider library',
    ok: installedDir !== null,
    detail: providerDetail,
    looked: lookedProvider,
    install: installedDir ? undefined : userFound ? 'npm run install:cuda (links the files found in $VLA_AD_ORT_CUDA_DIR)' : 'npm run install:cuda (from NuGet: Microsoft.ML.OnnxRuntime.Gpu.Linux, the version of onnxruntime-node; offline: VLA_AD_ORT_CUDA_DIR=<folder> npm run install:cuda)',
  });

  // 3. NVIDIA's libraries, on the loader path
  if (p.platform === 'linux' || p.platform === 'win32') {
    const cache = p.platform === 'linux' ? p.loaderCache() : null;
    const dirs = loaderDirs(p, bindingDir);
    const unresolved = providerLibrary && p.platform === 'linux' ? p.unresolved(providerLibrary) : null;
    const where = (soname: string): string | null => cache?.get(soname) ?? dirs.map((d) => path.join(d, soname)).find((f) => p.exists(f)) ?? null;
    for (const lib of libSpecs(p.platform)) {
      const found = lib.files.map((f) => [f, where(f)] as const);
      const missingFiles = found.filter(([, at]) => at === null).map(([f]) => f);
      // ldd on the provider is the loader's own answer: a soname it cannot resolve is missing whatever we found
      const lddMissing = unresolved?.filter((s) => lib.files.includes(s)) ?? [];
      const missing = [...new Set([...missingFiles, ...lddMissing])];
      const others = lib.family && cache ? [...cache.keys()].filter((k) => lib.family!.test(k) && !lib.files.includes(k)) : [];
      const looked = [...(cache ? ['ld.so cache (ldconfig -p)'] : []), ...dirs];
      pieces.push({
        id: lib.id,
        name: lib.name,
        ok: missing.length === 0,
        detail:
          missing.length === 0
            ? found.map(([f, at]) => `${f} → ${at}`).join(', ')
            : `${missing.join(', ')} not on the loader path${others.length ? `; found ${others.map((o) => `${o} (${cache!.get(o)})`).join(', ')}: another major version, the provider needs ${lib.files[0]}` : ''}${lddMissing.length ? '; ldd on the provider library: not found' : ''}`,
        looked,
        install: missing.length === 0 ? undefined : lib.install,
      });
    }
    // any other dependency ldd cannot resolve (cuFFT, cuRAND, …)
    const known = new Set(libSpecs(p.platform).flatMap((l) => l.files));
    const rest = unresolved?.filter((s) => !known.has(s)) ?? [];
    if (rest.length) {
      const cudart = pieces.find((x) => x.id === 'cudart')!;
      cudart.ok = false;
      cudart.detail += `; ldd on ${providerLibrary}: ${rest.join(', ')} not found`;
      cudart.install ??= libSpecs(p.platform).find((l) => l.id === 'cudart')!.install;
    }
  } else {
    for (const id of ['driver', 'cudart', 'cublas', 'cudnn'] as const) {
      pieces.push({ id, name: { driver: 'NVIDIA driver', cudart: 'CUDA 12 runtime', cublas: 'cuBLAS 12', cudnn: 'cuDNN 9' }[id], ok: false, detail: `no CUDA on ${platformName}`, looked: [], install: 'a Linux x64 or Windows x64 machine with an NVIDIA GPU' });
    }
  }

  const missing = pieces.filter((x) => !x.ok);
  const ready = missing.length === 0;
  return {
    ready,
    pieces,
    missing,
    providerLibrary,
    loaderPath: p.platform === 'linux' || p.platform === 'win32' ? describeLoaderPath(p, bindingDir) : [],
    summary: ready ? `ready (provider at ${providerLibrary})` : `missing: ${missing.map((m) => `${m.name} (${m.detail})`).join('; ')}`,
  };
}

/**
 * The message of an `ep: 'cuda'` that cannot run here: what is missing, where it was looked for, and the
 * commands that install it.
 */
export function cudaMissingMessage(r: CudaReadiness, what = "ep 'cuda'", alternative = "; or use ep 'cpu' (or 'auto', which falls back to the CPU)"): string {
  const libs = r.missing.some((m) => m.id !== 'binding' && m.id !== 'provider') && r.loaderPath.length ? ` (loader path searched: ${r.loaderPath.join(', ')})` : '';
  return `${what}: the CUDA execution provider cannot run on this machine. Missing: ${r.missing.map((m) => `${m.name} — ${m.detail}`).join('; ')}${libs}. Install: ${CUDA_INSTALL_HINT}${alternative}.`;
}

/** The provider library ORT would load (beside the binding), or null. */
export function cudaProviderLibrary(): string | null {
  return cudaReadiness().providerLibrary;
}
