import path from 'node:path';
import { z } from 'zod';
import { LabError, parseOr } from '../../errors.js';
import { writeJsonAtomic } from '../../util/atomic.js';
import { readLiberoHdf5 } from '../../data/libero-hdf5.js';
import { updateSidecarDemo } from '../../data/sidecar.js';
import { classifyEpisode, granularity, TAXONOMY_SIZES } from '../../phases/index.js';
import { annotateDataset, planAnnotation, sidecarAnnotationNotes, studentText } from '../../annotate/index.js';
import type { Episode } from '../../data/episode.js';
import type { JobContext } from '../context.js';
import { AnnotateParams } from './annotate-params.js';
import { hdf5Files } from '../../data/dataset-files.js';

/**
 * The `annotate` job: phases then descriptions for a dataset of the experiment. Every frame gets its
 * 9-phase label (rule classifier), the label in the chosen taxonomy, and the student's text (VLM or
 * offline annotator), written into the sidecar next to each HDF5 — the teacher's data is not touched.
 * The VLM answers go through the experiment's content-addressed cache, so a killed or repeated run
 * pays nothing twice. The granularity statistics of all taxonomies are written as an artifact.
 */

/** The `annotate` job's handler: its params checked, then the typed run. */
export const annotateJob = async (ctx: JobContext) => runAnnotate(parseOr(AnnotateParams, ctx.params, 'annotate: parameter'), ctx);

/** Phases then descriptions for a dataset of the experiment (the typed run: the distill recipe calls it per stage). */
export async function runAnnotate(p: AnnotateParams, ctx: JobContext) {
  if (!ctx.experimentDir) throw new LabError('INVALID_INPUT', 'annotate runs inside an experiment', {});
  const files = hdf5Files(path.resolve(ctx.experimentDir, p.dataset));
  if (files.length === 0) throw new LabError('NOT_FOUND', `no .hdf5 files under ${p.dataset}`, { field: 'dataset' });

  ctx.progress(0.01, 'read dataset');
  const perFile: { file: string; demoKeys: string[]; episodes: Episode[] }[] = [];
  for (const file of files) {
    ctx.throwIfCancelled();
    const { demoKeys, episodes } = await readLiberoHdf5(file);
    perFile.push({ file, demoKeys, episodes });
  }
  const episodes = perFile.flatMap((f) => f.episodes);
  if (episodes.length === 0) throw new LabError('INVALID_INPUT', `the dataset ${p.dataset} has no demos`, { field: 'dataset' });

  ctx.progress(0.05, 'phases');
  const labelings = episodes.map((e) => classifyEpisode(e));
  const baseUrl = process.env.VLA_AD_VLM_BASE_URL;
  const useVlm = p.annotator === 'vlm' || (p.annotator === 'auto' && Boolean(baseUrl));
  if (p.annotator === 'vlm' && !baseUrl) {
    throw new LabError('INVALID_INPUT', 'annotator "vlm" needs a VLM endpoint: set it in Settings or VLA_AD_VLM_BASE_URL', { field: 'annotator' });
  }
  const options = {
    annotator: useVlm ? ('vlm' as const) : ('offline' as const),
    endpoint: useVlm ? { baseUrl: baseUrl!, model: process.env.VLA_AD_VLM_MODEL ?? 'qwen2.5-vl-7b-instruct', concurrency: p.concurrency, seed: p.seed } : undefined,
    mode: p.mode,
    taxonomySize: p.taxonomy,
    keyframesPerSegment: p.keyframesPerSegment,
    fallback: p.fallback,
    cacheDir: path.join(ctx.experimentDir, 'cache', 'vlm'),
    labelings,
  };
  const plan = planAnnotation(episodes, options);
  ctx.log(
    `annotation plan: ${plan.frames} frames, ${plan.singleCalls + plan.multiCalls} calls in ${plan.mode} mode (frame mode would need ${plan.callsFrameMode})` +
      (plan.estimate.usd !== null ? `, estimated ${plan.estimate.usd.toFixed(2)} USD with ${plan.estimate.model}` : ''),
  );
  if (p.dryRun) return { dryRun: true, plan };

  const result = await annotateDataset(episodes, options, {
    signal: ctx.signal,
    onProgress: (pr) => ctx.progress(0.1 + 0.8 * pr.fraction, `annotate: ${pr.stage} ${pr.done}/${pr.total}`),
    onWarning: (message) => ctx.log(message, 'warn'),
  });
  ctx.throwIfCancelled();

  ctx.progress(0.92, 'write sidecars');
  let index = 0;
  for (const f of perFile) {
    for (const demo of f.demoKeys) {
      const labeling = labelings[index];
      const frames = result.episodes[index].frames;
      await updateSidecarDemo(f.file, demo, {
        frames: {
          phase9: labeling.phases,
          phase: frames.map((r) => r.phase),
          text: frames.map((r) => studentText(r)),
          annotator: frames.map((r) => r.annotator),
          annotation_status: frames.map((r) => r.status),
        },
        notes: { taxonomy: p.taxonomy, ...sidecarAnnotationNotes(result, index), mode: p.mode, usedPrivileged: labeling.usedPrivileged, job: ctx.jobId },
      });
      index++;
    }
    if (f.file.startsWith(ctx.experimentDir + path.sep)) ctx.artifact('annotations', path.relative(ctx.experimentDir, f.file) + '.lab.json', { taxonomy: p.taxonomy });
  }

  let report: ReturnType<typeof granularity> | null = null;
  if (p.granularity) {
    ctx.progress(0.96, 'granularity');
    report = granularity(labelings, { seed: p.seed, bootstrap: 200 });
    await writeJsonAtomic(path.join(ctx.experimentDir, 'annotations', 'granularity.json'), report);
    ctx.artifact('granularity', 'annotations/granularity.json', { episodes: report.episodes });
    ctx.record('granularity', report);
  }
  const { summary } = result;
  ctx.log(`annotated ${summary.frames} frames with ${summary.annotator}: ${summary.status.ok} ok, ${summary.status.fallback} fallback, ${summary.status.failed} failed; ${summary.paidCalls} paid calls, ${summary.cachedCalls} cached`);
  ctx.progress(1, 'done');
  return {
    files: perFile.map((f) => path.relative(ctx.experimentDir!, f.file)),
    episodes: episodes.length,
    annotator: summary.annotator,
    mode: summary.mode,
    frames: summary.frames,
    status: summary.status,
    paidCalls: summary.paidCalls,
    cachedCalls: summary.cachedCalls,
    callsSavedBySegmentMode: summary.callsSavedBySegmentMode,
    failures: summary.failures.length,
    fallback: p.fallback,
    annotation: summary.counts,
    costUsd: summary.ledger?.usd ?? null,
    granularity: report?.taxonomies.map((t) => ({ size: t.size, cv: t.cv.value, modifiedCv: t.modifiedCv.value })) ?? null,
  };
}
