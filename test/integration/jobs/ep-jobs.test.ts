import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeLiberoHdf5 } from '../../../electron/engine/data/libero-hdf5.js';
import { syntheticDataset } from '../../../electron/cli/bench/fixtures/synthetic-phases.js';
import { cudaReadiness } from '../../../electron/engine/graph/cuda-provider.js';
import { ResultTableSchema } from '../../../electron/api/schemas.js';
import { efficiencyFromTrials } from '../../../electron/engine/evaluate/report.js';
import { readTrials } from '../../../electron/engine/evaluate/trial-log.js';
import { MICRO } from '../../unit/engine/train/helpers.js';
import { testLab } from '../../helpers/lab.js';

/**
 * The execution provider through the train and evaluate jobs (forked workers, as the app runs them):
 * `ep: cuda` where CUDA cannot run fails at once with the typed error naming the missing pieces, before
 * anything is written under students/ or eval/; `ep: auto` falls back to the CPU, says so in the job log,
 * and the EP used is recorded in metrics.json, evaluation.json, each trial record and the latency tables.
 * On a machine where CUDA is ready the cuda/fallback cases do not apply and are skipped.
 */
const cudaReady = cudaReadiness().ready;
let env: ReturnType<typeof testLab>;
let expId: string;
let expDir: string;

beforeAll(async () => {
  env = testLab();
  const exp = env.lab.store.createExperiment({ name: 'ep', recipe: 'distill', config: {} });
  expId = exp.id;
  expDir = env.lab.store.experimentDir(exp.id);
  await writeLiberoHdf5(path.join(expDir, 'data', 'synthetic', 'task_0.hdf5'), syntheticDataset(4, 3, { imageSize: 32 }).map((s) => s.episode));
});
afterAll(() => env.cleanup());

const trainParams = (runId: string, extra: Record<string, unknown> = {}) => ({ runId, config: MICRO.config, configOverrides: MICRO.configOverrides, epochs: 1, batchSize: 16, valFraction: 0.25, threads: 1, descriptions: 'none', lambda: 0, ...extra });
const run = async (kind: 'train' | 'evaluate', params: Record<string, unknown>) => env.lab.supervisor.waitFor(env.lab.supervisor.start(kind, expId, params).id);
const logs = (jobId: string) => env.lab.store.jobLogs(jobId).map((l) => l.line);

describe('execution provider per job', () => {
  it.skipIf(cudaReady)("train with ep 'cuda' here: fails at once, UNSUPPORTED naming the missing pieces; nothing in students/<run>", async () => {
    const job = await run('train', trainParams('on-cuda', { ep: 'cuda' }));
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('UNSUPPORTED');
    for (const s of ['ONNX Runtime CUDA provider library', 'libonnxruntime_providers_cuda.so', 'libcudart.so.12', 'libcudnn.so.9', 'npm run install:cuda', 'CUDA 12 + cuDNN 9 from NVIDIA']) expect(job.error?.message).toContain(s);
    expect(job.error?.details).toMatchObject({ field: 'ep', ep: 'cuda' });
    expect(existsSync(path.join(expDir, 'students', 'on-cuda'))).toBe(false);
    expect(existsSync(path.join(expDir, 'students')) ? readdirSync(path.join(expDir, 'students')) : []).toEqual([]);
    expect(env.lab.store.listArtifacts(expId)).toEqual([]);
  });

  it("train with ep 'auto': the job log says which EP and why; metrics.json and the result record the EP used", async () => {
    const job = await run('train', trainParams('auto', { ep: 'auto' }));
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    const used = cudaReady ? 'cuda' : 'cpu';
    const line = logs(job.id).find((l) => l.startsWith('execution provider: '));
    expect(line).toBeDefined();
    if (!cudaReady) expect(line).toMatch(/^execution provider: cpu — ep auto: CUDA is not ready here \(missing: .*cuDNN 9.*\); using the CPU$/);
    const metrics = JSON.parse(readFileSync(path.join(expDir, 'students', 'auto', 'metrics.json'), 'utf8')) as { ep: unknown; options: { ep: string } };
    expect(metrics.ep).toMatchObject({ requested: 'auto', used });
    expect(metrics.options.ep).toBe('auto');
    expect((job.result as { ep: unknown }).ep).toMatchObject({ requested: 'auto', used });
  });

  it.skipIf(cudaReady)("evaluate with ep 'cuda' here: fails before anything is written under eval/", async () => {
    const job = await run('evaluate', { policies: [{ id: 'teacher', spec: 'teacher:scripted' }, { id: 'student', spec: 'student:students/auto/policy.onnx' }], suites: ['object'], tasks: [0], trials: 1, maxSteps: { object: 8 }, workers: 1, ep: 'cuda' });
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('UNSUPPORTED');
    expect(job.error?.message).toContain('libcudnn.so.9');
    expect(existsSync(path.join(expDir, 'eval'))).toBe(false);
  });

  it("evaluate with ep 'auto': the EP used in evaluation.json, in each student trial, in the latency table and Table 3's caption", async () => {
    const used = cudaReady ? 'cuda' : 'cpu';
    const job = await run('evaluate', { policies: [{ id: 'teacher', spec: 'teacher:scripted' }, { id: 'student', spec: 'student:students/auto/policy.onnx' }], suites: ['object'], tasks: [0], trials: 2, maxSteps: { object: 12 }, workers: 1, keepFrames: false, ep: 'auto' });
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    expect(logs(job.id).some((l) => l.startsWith(`student: execution provider: ${used} — `))).toBe(true);
    const evaluation = JSON.parse(readFileSync(path.join(expDir, 'eval', 'student', 'evaluation.json'), 'utf8')) as { ep?: unknown; policy: { spec: { ep: string } } };
    expect(evaluation.ep).toMatchObject({ requested: 'auto', used });
    expect(JSON.parse(readFileSync(path.join(expDir, 'eval', 'teacher', 'evaluation.json'), 'utf8'))).not.toHaveProperty('ep');
    const result = job.result as { policies: { id: string; ep: unknown }[] };
    expect(result.policies.map((p) => p.ep)).toEqual([null, expect.objectContaining({ requested: 'auto', used })]);

    const student = readTrials(path.join(expDir, 'eval', 'student', 'trials.jsonl')).records;
    const teacher = readTrials(path.join(expDir, 'eval', 'teacher', 'trials.jsonl')).records;
    expect(student).toHaveLength(2);
    expect(student.every((r) => r.ep === used)).toBe(true);
    expect(teacher.every((r) => r.ep === undefined)).toBe(true);

    const latency = env.lab.store.listResults(expId, 'table').map((r) => ResultTableSchema.parse(r.value)).find((t) => t.id === 'latency')!;
    expect(latency.notes).toContain(`Execution provider: student on the ${used} execution provider (onnxruntime-node).`);
    // Table 3 as the distill report builds it, from these trial records
    const t3 = efficiencyFromTrials([...teacher, ...student], [{ id: 'teacher', params: null, provider: 'plain JavaScript' }, { id: 'student', label: 'student λ=0', params: 1 }], { reference: 'teacher', provider: 'the cpu execution provider (onnxruntime-node)' });
    expect(t3.notes[0]).toContain(`on plain JavaScript for teacher; the ${used} execution provider (onnxruntime-node) for student λ=0`);
  });
});
