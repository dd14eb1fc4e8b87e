import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LabError } from '../../../electron/engine/errors.js';
import type { JobContext } from '../../../electron/engine/jobs/context.js';
import { manifestPath, planPipeline, readManifest, runPipeline, type Stage } from '../../../electron/engine/jobs/recipes/pipeline.js';
import { tempDir } from '../../helpers/tmp.js';

interface Cfg {
  seed: number;
  taxonomy: number;
  lambda: number[];
}

let t: ReturnType<typeof tempDir>;
let calls: string[];
beforeEach(() => {
  t = tempDir();
  calls = [];
});
afterEach(() => t.cleanup());

const stage = (name: string, settings: (c: Cfg) => unknown, fail?: () => boolean): Stage<Cfg> => ({
  name,
  weight: 1,
  settings,
  async run(ctx) {
    calls.push(name);
    if (fail?.()) throw new Error(`${name} crashed`);
    return { from: name, upstream: Object.keys(ctx.outputs) };
  },
});

const stages = (failTrain?: () => boolean): Stage<Cfg>[] => [
  stage('collect', (c) => ({ seed: c.seed })),
  stage('phases', (c) => ({ taxonomy: c.taxonomy })),
  stage('train', (c) => ({ lambda: c.lambda }), failTrain),
  stage('evaluate', () => ({})),
];

function jobCtx(): JobContext & { fractions: number[] } {
  const fractions: number[] = [];
  return {
    jobId: 'job_test00000000',
    attempt: 1,
    params: {},
    dataDir: t.dir,
    jobDir: t.dir,
    experimentDir: t.dir,
    signal: new AbortController().signal,
    fractions,
    progress: (f) => fractions.push(f),
    log: () => undefined,
    artifact: () => undefined,
    record: () => undefined,
    loadCheckpoint: () => null,
    saveCheckpoint: async () => undefined,
    throwIfCancelled: () => undefined,
  };
}

const cfg: Cfg = { seed: 1, taxonomy: 9, lambda: [0, 0.5] };

describe('recipe pipeline', () => {
  it('runs every stage once, passes outputs forward, and skips everything on a re-run', async () => {
    const job = jobCtx();
    const first = await runPipeline(job, stages(), cfg);
    expect(first.ran).toEqual(['collect', 'phases', 'train', 'evaluate']);
    expect(first.outputs.evaluate).toEqual({ from: 'evaluate', upstream: ['collect', 'phases', 'train'] });
    expect(job.fractions.at(-1)).toBe(0.75); // progress of the last stage's start; stages report their own within
    calls = [];
    const again = await runPipeline(jobCtx(), stages(), cfg);
    expect(calls).toEqual([]);
    expect(again.skipped).toHaveLength(4);
    expect(again.outputs.train).toEqual(first.outputs.train);
  });

  it('a changed setting invalidates exactly its stage and the ones after it', async () => {
    await runPipeline(jobCtx(), stages(), cfg);
    calls = [];
    await runPipeline(jobCtx(), stages(), { ...cfg, taxonomy: 5 });
    expect(calls).toEqual(['phases', 'train', 'evaluate']);
    calls = [];
    // Key order does not matter; values do.
    const reordered = { lambda: [0, 0.5], taxonomy: 5, seed: 1 } as Cfg;
    expect(planPipeline(stages(), reordered, readManifest(t.dir)).run).toEqual([]);
    await runPipeline(jobCtx(), stages(), { ...cfg, taxonomy: 5, lambda: [0, 0.25] });
    expect(calls).toEqual(['train', 'evaluate']);
  });

  it('resumes after a crash at the stage that failed', async () => {
    let crash = true;
    await expect(runPipeline(jobCtx(), stages(() => crash), cfg)).rejects.toThrow('train crashed');
    expect(Object.keys(readManifest(t.dir).stages)).toEqual(['collect', 'phases']);
    crash = false;
    calls = [];
    await runPipeline(jobCtx(), stages(() => crash), cfg);
    expect(calls).toEqual(['train', 'evaluate']);
  });

  it('keeps a crashed stage\'s folder for its resume, and clears it when the settings changed', async () => {
    const { existsSync, writeFileSync } = await import('node:fs');
    let crash = true;
    const withCheckpoint: Stage<Cfg>[] = stages(() => crash).map((s) =>
      s.name === 'train'
        ? { ...s, run: async (ctx) => { writeFileSync(`${ctx.dir}/ckpt`, 'epoch 3'); return s.run(ctx); } }
        : s,
    );
    await expect(runPipeline(jobCtx(), withCheckpoint, cfg)).rejects.toThrow('train crashed');
    expect(existsSync(`${t.dir}/stages/train/ckpt`)).toBe(true);
    // Same settings: the folder (and its checkpoint) is still there when train runs again.
    let seen = false;
    const probe = withCheckpoint.map((s) => (s.name === 'train' ? { ...s, run: async (ctx: Parameters<typeof s.run>[0]) => { seen = existsSync(`${ctx.dir}/ckpt`); throw new Error('stop'); } } : s));
    await expect(runPipeline(jobCtx(), probe, cfg)).rejects.toThrow('stop');
    expect(seen).toBe(true);
    // Other settings for train: the stale folder is cleared first.
    await expect(runPipeline(jobCtx(), probe, { ...cfg, lambda: [1] })).rejects.toThrow('stop');
    expect(seen).toBe(false);
    crash = false;
  });

  it('a stage that names its dependencies branches off the chain: only its own upstream invalidates it', async () => {
    // ablation depends on train only; report on evaluate and ablation
    const branched = (): Stage<Cfg>[] => [
      ...stages(),
      { ...stage('ablation', (c) => ({ taxonomy: c.taxonomy })), after: ['train'] },
      { ...stage('report', () => ({})), after: ['evaluate', 'ablation'] },
    ];
    const first = await runPipeline(jobCtx(), branched(), cfg);
    expect(first.ran).toEqual(['collect', 'phases', 'train', 'evaluate', 'ablation', 'report']);
    // Same fingerprints as the plain chain for the stages that kept the default dependency.
    const plain = planPipeline(stages(), cfg, readManifest(t.dir));
    expect(plain.run).toEqual([]);
    // A changed evaluate setting would re-run evaluate and report, not ablation: simulate by dropping its record.
    const m = readManifest(t.dir);
    m.stages.evaluate.fingerprint = 'stale';
    (await import('node:fs')).writeFileSync(manifestPath(t.dir), JSON.stringify(m));
    calls = [];
    const again = await runPipeline(jobCtx(), branched(), cfg);
    expect(calls).toEqual(['evaluate', 'report']);
    expect(again.skipped).toEqual(['collect', 'phases', 'train', 'ablation']);
    // A setting of the ablation's own: ablation and report run again.
    calls = [];
    await runPipeline(jobCtx(), branched().map((s) => (s.name === 'ablation' ? { ...s, settings: () => ({ taxonomies: [3, 5] }) } : s)), cfg);
    expect(calls).toEqual(['ablation', 'report']);
    // Upstream of both: everything from there on.
    calls = [];
    await runPipeline(jobCtx(), branched(), { ...cfg, lambda: [1] });
    expect(calls).toEqual(['train', 'evaluate', 'ablation', 'report']);
    // A dependency on a later or unknown stage is a recipe bug.
    expect(() => planPipeline([{ ...stage('a', () => ({})), after: ['b'] }, stage('b', () => ({}))], cfg, readManifest(t.dir))).toThrow(/not an earlier stage/);
  });

  it('refuses a damaged manifest instead of redoing or trusting it', async () => {
    await runPipeline(jobCtx(), stages(), cfg);
    const file = manifestPath(t.dir);
    const text = readFileSync(file, 'utf8');
    (await import('node:fs')).writeFileSync(file, text.slice(0, 20));
    await expect(runPipeline(jobCtx(), stages(), cfg)).rejects.toSatisfy((e: unknown) => e instanceof LabError && e.code === 'CORRUPT_FILE');
  });
});
