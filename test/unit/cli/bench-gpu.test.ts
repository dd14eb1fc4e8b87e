import { describe, expect, it } from 'vitest';
import { compareLogits, gpuBench } from '../../../electron/cli/bench/gpu.js';
import { benchSuites } from '../../../electron/cli/bench/index.js';
import { LabError } from '../../../electron/engine/errors.js';
import { type CudaReadiness, cudaReadiness } from '../../../electron/engine/graph/cuda-provider.js';

/**
 * `npm run bench -- gpu` without CUDA: the typed error naming what is missing, nothing measured (so the
 * CLI writes nothing); with CUDA stood in by the CPU EP, every step of the suite runs (so the lent GPU
 * finds no bug in the script itself).
 */
const none = (): CudaReadiness =>
  cudaReadiness({ platform: 'linux', arch: 'x64', env: {}, bindingDir: () => '/ort/bin', backends: () => ['cpu', 'cuda'], exists: () => false, loaderCache: () => new Map(), unresolved: () => [] });
const ready = (): CudaReadiness => ({ ready: true, pieces: [], missing: [], providerLibrary: '/ort/bin/libonnxruntime_providers_cuda.so', summary: 'ready', loaderPath: [] });

describe('bench gpu', () => {
  it('is a registered suite', () => {
    expect(Object.keys(benchSuites)).toContain('gpu');
  });

  it('without CUDA: UNSUPPORTED naming the missing pieces and that nothing is written; no session is tried', async () => {
    let selected = false;
    const err = (await gpuBench([], { readiness: none, select: async () => ((selected = true), { ep: 'cuda', requested: 'cuda', reason: '' }) }).catch((e: unknown) => e)) as LabError;
    expect(err).toBeInstanceOf(LabError);
    expect(err.code).toBe('UNSUPPORTED');
    for (const s of ['nothing was measured and nothing written', 'ONNX Runtime CUDA provider library', 'libcudart.so.12', 'libcudnn.so.9', 'npm run install:cuda']) expect(err.message).toContain(s);
    expect(err.details.missing).toEqual(['provider', 'driver', 'cudart', 'cublas', 'cudnn']);
    expect(selected).toBe(false);
  });

  it('every piece present but no CUDA session: the same typed error, nothing written', async () => {
    const err = (await gpuBench([], { readiness: ready, select: async () => Promise.reject(new LabError('UNSUPPORTED', "ep 'cuda': could not create a CUDA session")) }).catch((e: unknown) => e)) as LabError;
    expect(err.code).toBe('UNSUPPORTED');
    expect(err.message).toMatch(/^npm run bench -- gpu: nothing was measured and nothing written .*could not create a CUDA session/);
  });

  it('compareLogits: max |Δ| and argmax agreement per action token', () => {
    const bins = 3;
    // 2 tokens per frame: the first argmax agrees (bin 2), the second does not (bin 0 vs bin 1)
    const a = [Float32Array.of(0, 1, 2, 5, 1, 0)];
    const b = [Float32Array.of(0, 1, 2.5, 1, 2, 0)];
    expect(compareLogits(a, b, bins)).toEqual({ frames: 1, maxAbsLogitDiff: 4, tokenAgreement: 0.5, nextActionTokenAgreement: 0.5 });
  });

  it('runs every step with the CPU standing in for CUDA (--quick): parity rows and timings', async () => {
    const r = await gpuBench(['--quick', '--frames', '1', '--no-train', '--threads', '1'], { readiness: ready, select: async () => ({ ep: 'cuda', requested: 'cuda', reason: 'stand-in' }), gpuEp: 'cpu' });
    expect(r.suite).toBe('gpu');
    expect(r.command).toBe('npm run bench -- gpu --quick --frames 1 --no-train --threads 1');
    const byName = Object.fromEntries(r.rows.map((x) => [x.name, x]));
    const parity = r.rows.find((x) => x.name.startsWith('tiny CPU vs CPU: max |Δ logit|'))!;
    expect(parity.ours).toBeLessThan(1e-3);
    expect(r.rows.find((x) => x.name.startsWith('tiny CPU vs CPU: action token agreement'))!.ours).toBe(100);
    expect(byName['tiny inference b1, text features cached, CPU EP'].ours).toBeGreaterThan(0);
    expect(r.rows.map((x) => x.name)).toContain('tiny inference b1, text tower included (248 tokens), CPU EP');
  }, 120_000);
});
