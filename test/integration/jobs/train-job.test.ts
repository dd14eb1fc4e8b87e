import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { writeLiberoHdf5 } from '../../../electron/engine/data/libero-hdf5.js';
import { syntheticDataset } from '../../../electron/cli/bench/fixtures/synthetic-phases.js';
import { MICRO } from '../../unit/engine/train/helpers.js';
import { testLab } from '../../helpers/lab.js';

/**
 * annotate → train through forked workers, on an experiment's LIBERO-layout dataset: the student with
 * descriptions from the sidecar and the no-VLM baseline, each exported as a policy.onnx that loads.
 */
let env: ReturnType<typeof testLab>;
let expId: string;
let expDir: string;

beforeAll(async () => {
  env = testLab();
  const exp = env.lab.store.createExperiment({ name: 'train', recipe: 'distill', config: {} });
  expId = exp.id;
  expDir = env.lab.store.experimentDir(exp.id);
  await writeLiberoHdf5(path.join(expDir, 'data', 'synthetic', 'task_0.hdf5'), syntheticDataset(4, 3, { imageSize: 32 }).map((s) => s.episode));
});
afterAll(() => env.cleanup());

const trainParams = (runId: string, extra: Record<string, unknown> = {}) => ({
  runId,
  config: MICRO.config,
  configOverrides: MICRO.configOverrides,
  epochs: 2,
  batchSize: 16,
  valFraction: 0.25,
  threads: 1,
  ...extra,
});

describe('train job', () => {
  it('refuses to train with descriptions before the data is annotated, naming the demo', async () => {
    const job = await env.lab.supervisor.waitFor(env.lab.supervisor.start('train', expId, trainParams('too-early')).id);
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('NOT_FOUND');
    expect(job.error?.message).toContain('demo_0');
  });

  it('trains a dual-path student on annotated data and the no-VLM baseline, each exported as policy.onnx', async () => {
    const annotated = await env.lab.supervisor.waitFor(env.lab.supervisor.start('annotate', expId, { annotator: 'offline' }).id);
    expect(annotated.status).toBe('succeeded');

    const withVlm = await env.lab.supervisor.waitFor(env.lab.supervisor.start('train', expId, trainParams('lambda-0.5', { lambda: 0.5 })).id);
    expect(withVlm.status, JSON.stringify(withVlm.error)).toBe('succeeded');
    const r = withVlm.result as { epochs: number; policy: string; lastEpoch: { train: { lossImageOnly: number | null }; val: unknown } };
    expect(r.epochs).toBe(2);
    expect(r.lastEpoch.train.lossImageOnly).not.toBeNull();
    expect(r.lastEpoch.val).not.toBeNull();
    const onnx = path.join(expDir, r.policy);
    expect(existsSync(onnx)).toBe(true);
    const session = await ort.InferenceSession.create(onnx);
    expect(session.outputNames.length).toBeGreaterThan(0);

    const baseline = await env.lab.supervisor.waitFor(env.lab.supervisor.start('train', expId, trainParams('no-vlm', { descriptions: 'none', lambda: 0 })).id);
    expect(baseline.status, JSON.stringify(baseline.error)).toBe('succeeded');
    expect((baseline.result as { lastEpoch: { train: { lossImageOnly: number | null } } }).lastEpoch.train.lossImageOnly).toBeNull();

    const kinds = env.lab.store.listArtifacts(expId).map((a) => a.kind);
    expect(kinds.filter((k) => k === 'policy')).toHaveLength(2);
    expect(env.lab.store.listResults(expId, 'training')).toHaveLength(2);
  });
});
