import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../../electron/cli/paths.js';
import { parseDistillConfig } from '../../../electron/engine/jobs/recipes/distill-config.js';
import { LabStore } from '../../../electron/engine/store/lab-store.js';
import { tempDir } from '../../helpers/tmp.js';

/** The `vla-ad` command as a user runs it: bin/vla-ad.js in a child process, on a scratch data directory. */
let t: ReturnType<typeof tempDir>;
beforeAll(() => (t = tempDir()));
afterAll(() => t.cleanup());

function vlaAd(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'vla-ad.js'), '--data-dir', path.join(t.dir, 'data'), ...args], {
    encoding: 'utf8',
    cwd: t.dir,
    timeout: 120_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('vla-ad CLI', () => {
  it('doctor --json reports the checks, ONNX Runtime CPU present', () => {
    const r = vlaAd('doctor', '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as { checks: { name: string; ok: boolean }[] };
    expect(report.checks.find((c) => c.name === 'ONNX Runtime CPU')?.ok).toBe(true);
    expect(report.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['Electron binary', 'ffmpeg', 'VLM endpoint', 'LIBERO bridge']));
  });

  it('creates and lists experiments, runs a job with a result, and names a bad parameter', () => {
    const created = vlaAd('experiment', 'create', 'cli experiment');
    expect(created.code).toBe(0);
    const id = created.out.split('\t')[0];
    expect(id).toMatch(/^exp_/);
    expect(vlaAd('experiment', 'list').out).toContain('cli experiment');
    const job = vlaAd('job', 'run', 'selftest', '--experiment', id, '--param', 'steps=30', '--param', 'seed=4');
    expect(job.code).toBe(0);
    expect(JSON.parse(job.out).seed).toBe(4);
    expect(job.err).toContain('matches the JS reference');
    const bad = vlaAd('job', 'run', 'selftest', '--param', 'steps="many"');
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('steps');
    const unknown = vlaAd('job', 'run', 'teleport');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('Unknown job kind');
  });

  it('experiment create goes through the lab API: it stores the full, defaulted distill config, as IPC and web mode do', () => {
    const created = vlaAd('experiment', 'create', 'cli defaults');
    expect(created.code, created.err).toBe(0);
    const id = created.out.split('\t')[0];
    const store = new LabStore(path.join(t.dir, 'data')); // the CLI has exited and released the data directory
    try {
      const config = store.getExperiment(id).config as Record<string, unknown>;
      expect(config).toMatchObject({ teacher: { kind: 'scripted-noisy', noise: {} }, lambdas: [0.5], epochs: 30, batchSize: 32, lr: 3e-4 });
      expect(config).toEqual(JSON.parse(JSON.stringify(parseDistillConfig({}))));
    } finally {
      store.close();
    }
    const badName = vlaAd('experiment', 'create', '  ');
    expect(badName.code).toBe(1);
    expect(badName.err).toContain('error [INVALID_INPUT]: experiments.create: name: name must not be empty');
  });

  it('renders a scene of the built-in simulator to PNG', () => {
    const r = vlaAd('sim', 'view', 'spatial', '2', '--size', '96', '--out', 'scene.png');
    expect(r.code, r.err).toBe(0);
    expect(readFileSync(path.join(t.dir, 'scene.png')).subarray(1, 4).toString()).toBe('PNG');
    const bad = vlaAd('sim', 'view', 'kitchen', '0');
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('kitchen');
  });
});
