import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CudaProbes, cudaMissingMessage, cudaReadiness, parseLdconfig } from '../../../../electron/engine/graph/cuda-provider.js';
import { selectExecutionProvider } from '../../../../electron/engine/graph/runtime.js';
import { LabError } from '../../../../electron/engine/errors.js';

/**
 * cudaReadiness's report, piece by piece, with every probe injected (no file system, no ldconfig), and
 * selectExecutionProvider's choice from it: `cuda` fails at once naming the pieces, `auto` falls back to
 * the CPU and says why.
 */
const BIN = '/app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64';
const CUDA12 = '/usr/local/cuda-12.4/lib64';

function probes(o: { files?: string[]; cache?: Record<string, string> | null; env?: Record<string, string>; unresolved?: string[]; platform?: NodeJS.Platform; backends?: string[] } = {}): Partial<CudaProbes> {
  const files = new Set(o.files ?? []);
  return {
    platform: o.platform ?? 'linux',
    arch: 'x64',
    env: o.env ?? {},
    bindingDir: () => BIN,
    backends: () => o.backends ?? ['cpu', 'webgpu', 'cuda', 'tensorrt'],
    exists: (f) => files.has(f),
    loaderCache: () => (o.cache === null ? null : new Map(Object.entries(o.cache ?? {}))),
    unresolved: () => o.unresolved ?? [],
  };
}

const provider = [path.join(BIN, 'libonnxruntime_providers_cuda.so'), path.join(BIN, 'libonnxruntime_providers_shared.so')];
const nvidia = {
  'libcuda.so.1': '/usr/lib/x86_64-linux-gnu/libcuda.so.1',
  'libcudart.so.12': `${CUDA12}/libcudart.so.12`,
  'libcublas.so.12': `${CUDA12}/libcublas.so.12`,
  'libcublasLt.so.12': `${CUDA12}/libcublasLt.so.12`,
  'libcudnn.so.9': '/usr/lib/x86_64-linux-gnu/libcudnn.so.9',
};

describe('cudaReadiness', () => {
  it('a machine with nothing: each missing piece named, with where it was looked for', () => {
    const r = cudaReadiness(probes({ cache: { 'libcudart.so.13': '/usr/local/cuda-13.0/lib/libcudart.so.13' } }));
    expect(r.ready).toBe(false);
    expect(r.providerLibrary).toBeNull();
    const by = Object.fromEntries(r.pieces.map((p) => [p.id, p]));
    expect(Object.keys(by)).toEqual(['binding', 'provider', 'driver', 'cudart', 'cublas', 'cudnn']);
    expect(by.binding.ok).toBe(true);
    expect(r.missing.map((m) => m.id)).toEqual(['provider', 'driver', 'cudart', 'cublas', 'cudnn']);
    expect(by.provider.detail).toContain(`libonnxruntime_providers_cuda.so + libonnxruntime_providers_shared.so not found; looked in ${BIN}`);
    expect(by.provider.detail).toContain('VLA_AD_ORT_CUDA_DIR unset');
    expect(by.provider.looked).toEqual([BIN]);
    expect(by.provider.install).toContain('npm run install:cuda');
    // another CUDA major version is on the loader path: said so
    expect(by.cudart.detail).toBe('libcudart.so.12 not on the loader path; found libcudart.so.13 (/usr/local/cuda-13.0/lib/libcudart.so.13): another major version, the provider needs libcudart.so.12');
    expect(by.cudnn.detail).toBe('libcudnn.so.9 not on the loader path');
    expect(by.cudnn.install).toContain('cuDNN 9');
    expect(by.cudnn.looked).toContain('ld.so cache (ldconfig -p)');
    expect(by.cudnn.looked).toContain(BIN);
    expect(r.loaderPath[0]).toBe('LD_LIBRARY_PATH (unset)');

    const msg = cudaMissingMessage(r);
    for (const s of ['ONNX Runtime CUDA provider library', BIN, 'libcudart.so.12', 'libcudnn.so.9', 'cuDNN 9', 'npm run install:cuda', 'CUDA 12 + cuDNN 9 from NVIDIA', "ep 'cpu'"]) expect(msg).toContain(s);
  });

  it('every piece present: ready, the provider library beside the binding', () => {
    const r = cudaReadiness(probes({ files: provider, cache: nvidia }));
    expect(r.ready).toBe(true);
    expect(r.missing).toEqual([]);
    expect(r.providerLibrary).toBe(provider[0]);
    expect(r.summary).toBe(`ready (provider at ${provider[0]})`);
    expect(r.pieces.find((p) => p.id === 'cudart')!.detail).toBe(`libcudart.so.12 → ${CUDA12}/libcudart.so.12`);
  });

  it('libraries found through LD_LIBRARY_PATH (not in the ld.so cache) count', () => {
    const dir = '/opt/cudnn/lib';
    const r = cudaReadiness(probes({ files: [...provider, path.join(dir, 'libcudnn.so.9')], cache: Object.fromEntries(Object.entries(nvidia).filter(([k]) => k !== 'libcudnn.so.9')), env: { LD_LIBRARY_PATH: dir } }));
    const cudnn = r.pieces.find((p) => p.id === 'cudnn')!;
    expect(cudnn.ok).toBe(true);
    expect(cudnn.detail).toBe(`libcudnn.so.9 → ${dir}/libcudnn.so.9`);
    expect(r.loaderPath[0]).toBe(`LD_LIBRARY_PATH=${dir}`);
  });

  it('provider files in $VLA_AD_ORT_CUDA_DIR but not beside the binding: found, and the command that links them', () => {
    const user = '/data/ort-gpu';
    const native = path.join(user, 'runtimes', 'linux-x64', 'native');
    const r = cudaReadiness(probes({ files: [path.join(native, 'libonnxruntime_providers_cuda.so'), path.join(native, 'libonnxruntime_providers_shared.so')], cache: nvidia, env: { VLA_AD_ORT_CUDA_DIR: user } }));
    expect(r.ready).toBe(false);
    const p = r.pieces.find((x) => x.id === 'provider')!;
    expect(p.ok).toBe(false);
    expect(p.looked).toEqual([BIN, user, native, path.join(user, 'onnxruntime', 'capi')]);
    expect(p.detail).toBe(`found in VLA_AD_ORT_CUDA_DIR (${native}), but ONNX Runtime loads providers only from beside its own library (${BIN}): run npm run install:cuda to link them there`);
    expect(p.install).toContain('npm run install:cuda');
  });

  it('one provider file of the two is not enough; ldd names a dependency that does not resolve', () => {
    const half = cudaReadiness(probes({ files: [provider[0]], cache: nvidia }));
    expect(half.pieces.find((x) => x.id === 'provider')!.detail).toContain(`only ${provider[0]} present`);
    const r = cudaReadiness(probes({ files: provider, cache: nvidia, unresolved: ['libcufft.so.11', 'libcudnn.so.9'] }));
    expect(r.ready).toBe(false);
    expect(r.missing.map((m) => m.id)).toEqual(['cudart', 'cudnn']);
    expect(r.pieces.find((x) => x.id === 'cudart')!.detail).toContain('libcufft.so.11 not found');
    expect(r.pieces.find((x) => x.id === 'cudnn')!.detail).toContain('ldd on the provider library: not found');
  });

  it('macOS: no CUDA backend in the binding, nor any NVIDIA piece', () => {
    const r = cudaReadiness(probes({ platform: 'darwin', backends: ['cpu', 'webgpu'] }));
    expect(r.ready).toBe(false);
    expect(r.pieces.find((x) => x.id === 'binding')!.detail).toContain('has no CUDA backend (backends: cpu, webgpu)');
    expect(r.pieces.filter((x) => !x.ok).map((x) => x.id)).toEqual(['binding', 'provider', 'driver', 'cudart', 'cublas', 'cudnn']);
  });

  it('parseLdconfig keeps 64-bit entries on a 64-bit machine', () => {
    const text = '3 libs found in cache `/etc/ld.so.cache\'\n\tlibcuda.so.1 (libc6) => /usr/lib/i386-linux-gnu/libcuda.so.1\n\tlibcuda.so.1 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcuda.so.1\n\tlibcudnn.so.9 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcudnn.so.9\n';
    expect([...parseLdconfig(text, 'x64')]).toEqual([
      ['libcuda.so.1', '/usr/lib/x86_64-linux-gnu/libcuda.so.1'],
      ['libcudnn.so.9', '/usr/lib/x86_64-linux-gnu/libcudnn.so.9'],
    ]);
  });
});

describe('selectExecutionProvider from the readiness', () => {
  const missing = () => cudaReadiness(probes({ cache: {} }));
  const ready = () => cudaReadiness(probes({ files: provider, cache: nvidia }));

  it("ep 'cuda' where pieces are missing: a typed UNSUPPORTED at once, naming each piece and the install commands", async () => {
    let tried = false;
    const err = await selectExecutionProvider('cuda', undefined, { readiness: missing, tryCuda: async () => void (tried = true) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabError);
    const e = err as LabError;
    expect(e.code).toBe('UNSUPPORTED');
    for (const s of ['ONNX Runtime CUDA provider library', 'libcudart.so.12', 'libcudnn.so.9', 'npm run install:cuda', 'cuDNN 9']) expect(e.message).toContain(s);
    expect(e.details).toMatchObject({ field: 'ep', ep: 'cuda', missing: ['provider', 'driver', 'cudart', 'cublas', 'cudnn'] });
    expect(tried).toBe(false); // no session is tried when a piece is known missing
  });

  it("ep 'auto' where pieces are missing: the CPU, and a log line saying which and why", async () => {
    const log: string[] = [];
    const c = await selectExecutionProvider('auto', (m) => log.push(m), { readiness: missing });
    expect(c).toMatchObject({ ep: 'cpu', requested: 'auto' });
    expect(log).toHaveLength(1);
    expect(log[0]).toMatch(/^execution provider: cpu — ep auto: CUDA is not ready here \(missing: ONNX Runtime CUDA provider library, NVIDIA driver \(libcuda\), CUDA 12 runtime \(libcudart\), cuBLAS 12, cuDNN 9 \(libcudnn\); npm run install:cuda/);
    expect(log[0]).toContain('using the CPU');
  });

  it('every piece present: CUDA when a session creates; when it does not, auto falls back and cuda names the error', async () => {
    const log: string[] = [];
    expect(await selectExecutionProvider('auto', (m) => log.push(m), { readiness: ready, tryCuda: async () => {} })).toMatchObject({ ep: 'cuda', requested: 'auto' });
    expect(log[0]).toBe('execution provider: cuda — CUDA execution provider loaded (ep auto)');
    const broken = { readiness: ready, tryCuda: async () => Promise.reject(new Error('CUDA failure 100: no CUDA-capable device is detected')) };
    const auto = await selectExecutionProvider('auto', undefined, broken);
    expect(auto.ep).toBe('cpu');
    expect(auto.reason).toContain('no CUDA-capable device');
    const err = (await selectExecutionProvider('cuda', undefined, broken).catch((e: unknown) => e)) as LabError;
    expect(err.code).toBe('UNSUPPORTED');
    expect(err.message).toContain('could not create a CUDA session: CUDA failure 100: no CUDA-capable device is detected');
  });

  it("ep 'cpu' never probes", async () => {
    const c = await selectExecutionProvider('cpu', undefined, { readiness: () => { throw new Error('probed'); } });
    expect(c).toEqual({ ep: 'cpu', requested: 'cpu', reason: 'ep cpu requested' });
  });
});
