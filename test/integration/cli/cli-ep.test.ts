import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../../electron/cli/paths.js';
import { writeLiberoHdf5 } from '../../../electron/engine/data/libero-hdf5.js';
import { syntheticDataset } from '../../../electron/cli/bench/fixtures/synthetic-phases.js';
import { cudaReadiness } from '../../../electron/engine/graph/cuda-provider.js';
import { LabStore } from '../../../electron/engine/store/lab-store.js';
import { tempDir } from '../../helpers/tmp.js';

/**
 * `vla-ad job run train --param ep=cuda` and `npm run bench -- gpu` on a machine without CUDA, as a user
 * runs them: a non-zero exit, the typed error naming the missing pieces and how to install them, and
 * nothing written (no student folder; no docs/bench/gpu.json, no BENCHMARKS.md line). Skipped where CUDA is ready.
 */
const cudaReady = cudaReadiness().ready;
let t: ReturnType<typeof tempDir>;
beforeAll(() => (t = tempDir()));
afterAll(() => t.cleanup());

function vlaAd(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'vla-ad.js'), '--data-dir', path.join(t.dir, 'data'), ...args], { encoding: 'utf8', cwd: t.dir, timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const PIECES = ['ONNX Runtime CUDA provider library', 'libonnxruntime_providers_cuda.so', 'libcudart.so.12', 'libcudnn.so.9', 'npm run install:cuda', 'CUDA 12 + cuDNN 9 from NVIDIA'];

describe.skipIf(cudaReady)('ep cuda on a machine without CUDA, from the CLI', () => {
  it('vla-ad job run train --param ep=cuda: exit 1, the typed error naming the missing pieces', () => {
    const r = vlaAd('job', 'run', 'train', '--param', 'ep=cuda');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/job job_\w+ failed: error \[UNSUPPORTED\]: ep 'cuda': the CUDA execution provider cannot run on this machine\. Missing: /);
    for (const s of PIECES) expect(r.err).toContain(s);
  });

  it('in an experiment with a dataset: the same error, and nothing written into the student folder', async () => {
    const created = vlaAd('experiment', 'create', 'ep');
    expect(created.code, created.err).toBe(0);
    const id = created.out.split('\t')[0];
    const store = new LabStore(path.join(t.dir, 'data'));
    const expDir = store.experimentDir(id);
    store.close();
    await writeLiberoHdf5(path.join(expDir, 'data', 'synthetic', 'task_0.hdf5'), syntheticDataset(2, 3, { imageSize: 32 }).map((s) => s.episode));
    const r = vlaAd('job', 'run', 'train', '--experiment', id, '--param', 'ep=cuda', '--param', 'runId=gpu-run', '--param', 'descriptions="none"');
    expect(r.code).toBe(1);
    expect(r.err).toContain('error [UNSUPPORTED]');
    for (const s of PIECES) expect(r.err).toContain(s);
    expect(existsSync(path.join(expDir, 'students', 'gpu-run'))).toBe(false);
    expect(existsSync(path.join(expDir, 'students')) ? readdirSync(path.join(expDir, 'students')) : []).toEqual([]);
  });

  it('npm run bench -- gpu: exit 1, says there is no CUDA and what is missing, writes nothing', () => {
    const md = path.join(repoRoot, 'docs', 'BENCHMARKS.md');
    const before = readFileSync(md, 'utf8');
    const r = vlaAd('bench', 'gpu');
    expect(r.code).toBe(1);
    expect(r.err).toContain('error [UNSUPPORTED]: npm run bench -- gpu: no usable CUDA on this machine; nothing was measured and nothing written');
    for (const s of PIECES) expect(r.err).toContain(s);
    expect(existsSync(path.join(repoRoot, 'docs', 'bench', 'gpu.json'))).toBe(false);
    expect(readFileSync(md, 'utf8')).toBe(before);
  });
});
