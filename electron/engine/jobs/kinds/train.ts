import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { LabError, parseOr } from '../../errors.js';
import { readLiberoHdf5 } from '../../data/libero-hdf5.js';
import { readSidecar } from '../../data/sidecar.js';
import { trainStudent } from '../../train/trainer.js';
import { selectExecutionProvider } from '../../graph/index.js';
import { TrainOptions } from '../../train/options.js';
import type { StudentEpisode } from '../../train/dataset.js';
import { exportPolicy, readTrainedStudent } from '../../model/policy.js';
import type { TrainedOn } from '../../model/policy-meta.js';
import type { JobContext } from '../context.js';
import { TrainParams, type TrainParamsInput } from './train-params.js';
import { hdf5Files } from '../../data/dataset-files.js';

/**
 * The `train` job: one student on an experiment's dataset. Descriptions come from the annotate job's
 * sidecars (`text` per frame); `descriptions: "none"` trains the no-VLM baseline on instructions alone.
 * Checkpoints every epoch in students/<runId>/; a killed or failed run resumes from the last one. The
 * result is exported as the deployable policy.onnx.
 */

export async function loadStudentEpisodes(root: string, withDescriptions: boolean): Promise<StudentEpisode[]> {
  const out: StudentEpisode[] = [];
  for (const file of hdf5Files(root)) {
    const { demoKeys, episodes } = await readLiberoHdf5(file);
    const side = withDescriptions ? readSidecar(file) : null;
    demoKeys.forEach((demo, i) => {
      const text = side?.demos[demo]?.frames.text;
      if (withDescriptions && !text) {
        throw new LabError('NOT_FOUND', `${file} ${demo} has no descriptions: run the annotate job first, or train with descriptions "none"`, { file, demo, field: 'descriptions' });
      }
      out.push({ episode: episodes[i], descriptions: text?.map((t) => (t === null ? null : String(t))) });
    });
  }
  return out;
}

/** The suites and tasks of a dataset (recorded in the exported policy, so an evaluation elsewhere can warn). */
export function trainedOnOf(episodes: readonly StudentEpisode[]): TrainedOn {
  const count = new Map<string, { suite: string; taskIndex: number; episodes: number }>();
  for (const { episode: e } of episodes) {
    const k = `${e.suite}\u0000${e.taskIndex}`;
    const c = count.get(k) ?? { suite: e.suite, taskIndex: e.taskIndex, episodes: 0 };
    c.episodes++;
    count.set(k, c);
  }
  const tasks = [...count.values()].sort((a, b) => (a.suite === b.suite ? a.taskIndex - b.taskIndex : a.suite < b.suite ? -1 : 1));
  return { suites: [...new Set(tasks.map((t) => t.suite))], tasks };
}

/** The `train` job's handler: its params checked, then the typed run. */
export const trainJob = async (ctx: JobContext) => runTrain(parseOr(TrainParams, ctx.params, 'train: parameter'), ctx);

/** One student on the experiment's dataset (the typed run: the distill recipe calls it per stage). */
export async function runTrain(p: TrainParams, ctx: JobContext) {
  // The execution provider first: `ep: cuda` where CUDA cannot run fails here, a typed UNSUPPORTED naming
  // the missing pieces, before the dataset is read or anything is written under students/ (the trainer
  // logs the choice when it starts).
  await selectExecutionProvider(p.ep);
  if (!ctx.experimentDir) throw new LabError('INVALID_INPUT', 'train runs inside an experiment', {});
  ctx.progress(0.01, 'read dataset');
  const episodes = await loadStudentEpisodes(path.resolve(ctx.experimentDir, p.dataset), p.descriptions === 'sidecar');
  const outDir = path.join(ctx.experimentDir, 'students', p.runId);
  const resume = existsSync(path.join(outDir, 'latest.json'));
  if (resume) ctx.log(`resuming ${p.runId} from its last checkpoint`);

  const result = await trainStudent(
    episodes,
    {
      outDir,
      resume,
      runId: p.runId,
      config: p.config,
      configOverrides: p.configOverrides,
      init: p.init,
      tokenizerDir: p.tokenizerDir,
      epochs: p.epochs,
      batchSize: p.batchSize,
      lr: p.lr,
      warmupSteps: p.warmupSteps,
      lambda: p.lambda,
      useDescriptions: p.descriptions === 'sidecar',
      valFraction: p.valFraction,
      seed: p.seed,
      threads: p.threads,
      ep: p.ep,
    },
    {
      signal: ctx.signal,
      log: (m) => ctx.log(m),
      onProgress: (pr) => {
        ctx.progress(0.02 + 0.9 * (pr.totalSteps ? pr.step / pr.totalSteps : 0), `${pr.phase} epoch ${pr.epoch}/${pr.epochs}${pr.loss !== undefined ? ` loss ${pr.loss.toFixed(3)}` : ''}`);
        if (pr.metrics) {
          const v = pr.metrics.val;
          ctx.log(`epoch ${pr.metrics.epoch}: train loss ${pr.metrics.train.loss.toFixed(4)}${v ? `, val full ${v.full.loss.toFixed(4)}, gripper sign acc ${(100 * v.full.gripperSignAccuracy).toFixed(1)}%` : ''}`);
        }
      },
    },
  );
  const rel = (f: string) => path.relative(ctx.experimentDir!, f);
  ctx.artifact('student-weights', rel(result.weightsFile), { runId: p.runId });
  ctx.artifact('student-meta', rel(result.metaFile), { runId: p.runId });
  if (existsSync(path.join(outDir, 'metrics.json'))) ctx.artifact('training-metrics', rel(path.join(outDir, 'metrics.json')), { runId: p.runId });
  ctx.record('training', { runId: p.runId, lambda: p.lambda, descriptions: p.descriptions, history: result.history, params: result.params, ep: result.ep });

  let policyFile: string | null = null;
  if (p.exportPolicy) {
    ctx.progress(0.95, 'export policy.onnx');
    policyFile = path.join(outDir, 'policy.onnx');
    await exportPolicy({ ...readTrainedStudent(outDir), trainedOn: trainedOnOf(episodes) }, policyFile);
    ctx.artifact('policy', rel(policyFile), { runId: p.runId, lambda: p.lambda, descriptions: p.descriptions });
  }
  ctx.progress(1, 'done');
  const last = result.history.at(-1);
  return {
    runId: p.runId,
    lambda: p.lambda,
    descriptions: p.descriptions,
    episodes: episodes.length,
    epochs: result.history.length,
    resumedFrom: result.resumedFrom,
    params: result.params,
    ep: result.ep,
    lastEpoch: last ?? null,
    policy: policyFile ? rel(policyFile) : null,
  };
}
