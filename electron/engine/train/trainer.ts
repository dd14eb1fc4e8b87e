import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { ActionStats } from '../data/normalize.js';
import { frameBatches, splitEpisodes, type FrameRef } from '../data/batching.js';
import { canonicalJson } from '../util/canonical-json.js';
import { LabError } from '../errors.js';
import { InferSession, TrainSession, selectExecutionProvider } from '../graph/index.js';
import { type StudentConfig, countParams, studentConfig } from '../model/config.js';
import { type Weights, initialWeights } from '../model/network.js';
import { BpeSpec, ClipBpeTokenizer, type TextTokenizer, tokenizerFor } from '../model/tokenizer.js';
import { loadHfClip, mergeTrained, saveWeights } from '../model/weights.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { Rng } from '../util/rng.js';
import { type StudentEpisode, TextCache, assembleBatch, datasetTextLength, trainActionStats, validateEpisodes } from './dataset.js';
import { buildLossGraph, buildStudentTrainStep } from './loss.js';
import { AccuracyCounter } from './metrics.js';
import { type TrainOptions, type TrainOptionsInput, learningRate, parseTrainOptions } from './options.js';

export interface PathMetrics {
  loss: number;
  tokenAccuracy: { translation: number; rotation: number; gripper: number };
  gripperSignAccuracy: number;
}

export interface EpochMetrics {
  epoch: number;
  steps: number;
  lr: number;
  train: { loss: number; lossFull: number; lossImageOnly: number | null };
  val: { full: PathMetrics; imageOnly: PathMetrics } | null;
  seconds: number;
}

export interface TrainProgress {
  phase: 'train' | 'validate' | 'checkpoint' | 'done';
  epoch: number;
  epochs: number;
  step: number;
  totalSteps: number;
  loss?: number;
  lr?: number;
  metrics?: EpochMetrics;
}

export interface TrainResult {
  outDir: string;
  /** student.safetensors (torch layout) and student.json (config, stats, text length, options). */
  weightsFile: string;
  metaFile: string;
  history: EpochMetrics[];
  params: ReturnType<typeof countParams>;
  resumedFrom: number | null;
  /** The execution provider asked for, the one used, and why (also in metrics.json). */
  ep: { requested: 'auto' | 'cpu' | 'cuda'; used: 'cpu' | 'cuda'; reason: string };
}

/** What travels with trained weights (student.json; also embedded in policy.onnx). */
export const StudentMeta = z.object({
  format: z.literal('vla-ad-student/1'),
  runId: z.string(),
  config: z.unknown(),
  stats: z.object({ q01: z.array(z.number()), q99: z.array(z.number()), mean: z.array(z.number()), std: z.array(z.number()), min: z.array(z.number()), max: z.array(z.number()), count: z.number() }),
  textLength: z.number().int().positive(),
  rotate180: z.boolean(),
  options: z.unknown(),
  seed: z.number(),
  /** A CLIP BPE student's tokenizer (vocabulary + merges), so the folder is self-contained. */
  tokenizer: BpeSpec.optional(),
});
export type StudentMeta = z.infer<typeof StudentMeta>;

const LatestFile = z.object({ epoch: z.number().int().positive(), prefix: z.string() });
const CheckpointConfig = z.object({ epoch: z.number().int(), options: z.unknown(), stats: z.unknown(), textLength: z.number().int(), history: z.array(z.unknown()) });

function resolveConfig(o: TrainOptions): StudentConfig {
  return studentConfig(o.config, o.configOverrides as Parameters<typeof studentConfig>[1]);
}

/** Initial (base) weights: deterministic from the options, so a resume rebuilds the same frozen backbone. */
function baseWeights(c: StudentConfig, o: TrainOptions): Weights {
  if (o.init.kind === 'random') return initialWeights(c, { seed: o.init.seed });
  return loadHfClip(o.init.dir, c, { seed: o.init.seed, stretch: o.init.stretch }).weights;
}

/** The options that must not change across a resume (everything that shapes the run except epochs, threads and the execution provider). */
function resumeFields(o: TrainOptions): Record<string, unknown> {
  const { epochs: _e, threads: _t, keepCheckpoints: _k, ep: _ep, ...rest } = o;
  return rest;
}

const checkpointPrefix = (epoch: number) => `checkpoints/epoch-${String(epoch).padStart(4, '0')}`;

/**
 * Keep the latest `keep` epochs' full checkpoints (parameters + optimizer state: what a resume needs) and
 * remove the older ones. Called after the latest pointer moved, so the checkpoint a resume needs is never
 * among those removed. The best epoch is kept apart as weights alone (saveBest): a third of the size.
 */
function pruneCheckpoints(outDir: string, lastEpoch: number, keep: number): void {
  const dir = path.join(outDir, 'checkpoints');
  for (const name of readdirSync(dir)) {
    const m = /^epoch-(\d+)\.(json|safetensors)$/.exec(name);
    if (m && Number(m[1]) <= lastEpoch - keep) rmSync(path.join(dir, name), { force: true });
  }
}

/** The epoch with the lowest full-path validation loss so far (the first of equals), null without validation. */
const bestEpoch = (history: readonly EpochMetrics[]): EpochMetrics | null =>
  history.filter((m) => m.val !== null).reduce<EpochMetrics | null>((a, b) => (a === null || b.val!.full.loss < a.val!.full.loss ? b : a), null);

/** The options a resume would change, as `name saved → asked` (empty when the run may resume). */
export function resumeConflicts(saved: TrainOptions, asked: TrainOptions): string[] {
  const a = resumeFields(saved) as Record<string, unknown>;
  const b = resumeFields(asked) as Record<string, unknown>;
  return [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .filter((k) => canonicalJson(a[k]) !== canonicalJson(b[k]))
    .sort()
    .map((k) => `${k} ${canonicalJson(a[k]) ?? 'unset'} → ${canonicalJson(b[k]) ?? 'unset'}`);
}

/**
 * Train a student: dual-path loss, AdamW in the train-step graph, LR schedule computed here, validation
 * split by episode, metrics and a checkpoint every epoch. With `resume`, continues from `outDir`'s last
 * checkpoint; on CPU with one thread the result is bit-identical to an uninterrupted run (batches,
 * augmentations and LR depend only on (seed, epoch, step)). A failure or cancellation keeps the last
 * good checkpoint (checkpoints are written to new files, then `latest.json` is switched atomically).
 */
export async function trainStudent(
  dataset: StudentEpisode[],
  optsIn: TrainOptionsInput & { outDir: string; resume?: boolean },
  hooks: { onProgress?: (p: TrainProgress) => void; signal?: AbortSignal; log?: (m: string) => void } = {},
): Promise<TrainResult> {
  const { outDir, resume, ...rest } = optsIn;
  const o = parseTrainOptions(rest);
  const c = resolveConfig(o);
  validateEpisodes(dataset);
  const K = c.head.chunk;
  const chunkWeights = o.chunkWeights ?? new Array<number>(K).fill(1);
  if (chunkWeights.length !== K) throw new LabError('INVALID_INPUT', `chunkWeights has ${chunkWeights.length} entries, the chunk K is ${K}`, { field: 'chunkWeights' });
  // an HF folder usually carries its tokenizer (tokenizer.json or vocab.json + merges.txt)
  const tok: TextTokenizer = tokenizerFor(c, o.tokenizerDir ?? (o.init.kind === 'hf' ? o.init.dir : undefined));

  const { train, val } = splitEpisodes(dataset, { valFraction: o.valFraction, seed: o.seed });
  if (!train.length) throw new LabError('INVALID_INPUT', 'the training split is empty', { field: 'episodes' });
  if (o.valFraction > 0 && !val.length) throw new LabError('INVALID_INPUT', `the validation split is empty (${dataset.length} episode(s), valFraction ${o.valFraction}): give at least 2 episodes or valFraction 0`, { field: 'valFraction' });
  const stats: ActionStats = trainActionStats(train);
  const textLength = datasetTextLength(dataset, tok, c, o.useDescriptions);
  const text = new TextCache(tok, textLength);
  // the image-only path encodes each distinct instruction of a batch once
  const maskedLength = datasetTextLength(dataset, tok, c, o.useDescriptions, true);
  const nInstructions = new Set(dataset.map((e) => e.episode.instruction)).size;
  const masked = { cache: new TextCache(tok, maskedLength), rows: 0 };
  const trainLengths = train.map((e) => e.episode.length);
  const nTrainFrames = trainLengths.reduce((a, b) => a + b, 0);
  const B = Math.min(o.batchSize, nTrainFrames);
  masked.rows = Math.min(B, nInstructions);
  const stepsPerEpoch = Math.floor(nTrainFrames / B); // last partial batch dropped (static shapes)
  const totalSteps = stepsPerEpoch * o.epochs;

  const base = baseWeights(c, o);
  const graph = buildStudentTrainStep(c, base, { batch: B, textLength, maskedRows: masked.rows, maskedLength, lambda: o.lambda, weightDecay: o.weightDecay, clipNorm: o.clipNorm });
  // The EP is chosen once (and said in the log); the train and validation sessions use what was chosen.
  const epChoice = await selectExecutionProvider(o.ep, hooks.log);
  const ep = { requested: o.ep, used: epChoice.ep, reason: epChoice.reason };
  const session = await TrainSession.create(graph, { ep: epChoice.ep, threads: o.threads, seed: o.seed });
  hooks.log?.(`student ${c.name}: ${JSON.stringify(countParams(c))}; batch ${B}, ${stepsPerEpoch} steps/epoch, text length ${textLength}, ep ${session.ep}`);

  mkdirSync(path.join(outDir, 'checkpoints'), { recursive: true });
  const latestFile = path.join(outDir, 'latest.json');
  let history: EpochMetrics[] = [];
  let startEpoch = 1;
  let resumedFrom: number | null = null;
  if (resume && existsSync(latestFile)) {
    const latest = LatestFile.safeParse(JSON.parse(readFileSync(latestFile, 'utf8')));
    if (!latest.success) throw new LabError('CORRUPT_FILE', `${latestFile}: not a checkpoint pointer`, { file: latestFile });
    const loaded = await session.load(path.join(outDir, latest.data.prefix));
    // TrainSession.save wraps our run state as { adamw, user }
    const cc = CheckpointConfig.safeParse((loaded.config as { user?: unknown } | null)?.user);
    if (!cc.success) throw new LabError('CORRUPT_FILE', `${latest.data.prefix}: checkpoint without run state`, { file: latest.data.prefix });
    const conflicts = resumeConflicts(parseTrainOptions(cc.data.options), o);
    if (conflicts.length) {
      throw new LabError('CONFLICT', `resume: options differ from the checkpoint's: ${conflicts.join('; ')} (only epochs, threads and ep may change; use another run id to train with these)`, { field: 'options', differences: conflicts });
    }
    history = cc.data.history as EpochMetrics[];
    startEpoch = cc.data.epoch + 1;
    resumedFrom = cc.data.epoch;
  }

  const batchOpts = { rotate180: o.rotate180, useDescriptions: o.useDescriptions, chunkWeights, dimWeights: o.dimWeights };
  for (let epoch = startEpoch; epoch <= o.epochs; epoch++) {
    const t0 = Date.now();
    let sum = 0;
    let sumFull = 0;
    let sumImage = 0;
    let n = 0;
    let lr = 0;
    let bi = 0;
    for (const refs of frameBatches(trainLengths, { batchSize: B, seed: o.seed, epoch, dropLast: true })) {
      if (hooks.signal?.aborted) throw new LabError('CANCELLED', `training cancelled in epoch ${epoch}; last checkpoint kept`, { epoch });
      const aug = o.augment.shift || o.augment.colorJitter ? { ...o.augment, rng: new Rng(o.seed).fork(`augment:${epoch}:${bi}`) } : undefined;
      const b = assembleBatch(train, refs, B, c, stats, text, masked, { ...batchOpts, augment: aug });
      const step = session.stepCount + 1;
      lr = learningRate(o, step, totalSteps);
      const feeds: Record<string, { data: Float32Array | BigInt64Array; dims: number[] }> = {
        pixels: { data: b.pixels, dims: [B, 3, c.image.size, c.image.size] },
        tokens: { data: b.tokens, dims: [B, textLength] },
        targets: { data: b.targets, dims: [B, K, 7] },
        weights: { data: b.weights, dims: [B, K, 7] },
      };
      if (o.lambda > 0) {
        feeds.masked_tokens = { data: b.maskedTokens, dims: [masked.rows, maskedLength] };
        feeds.masked_index = { data: b.maskedIndex, dims: [B] };
      }
      const r = await session.step(feeds, lr);
      sum += r.loss;
      sumFull += (r.outputs.loss_full.data as Float32Array)[0];
      if (r.outputs.loss_image) sumImage += (r.outputs.loss_image.data as Float32Array)[0];
      n++;
      bi++;
      hooks.onProgress?.({ phase: 'train', epoch, epochs: o.epochs, step: session.stepCount, totalSteps, loss: r.loss, lr });
    }
    hooks.onProgress?.({ phase: 'validate', epoch, epochs: o.epochs, step: session.stepCount, totalSteps });
    const vB = Math.min(B, val.reduce((a, e) => a + e.episode.length, 0));
    const valMetrics = val.length ? await validate(c, base, session.paramValues(), val, stats, text, { cache: masked.cache, rows: Math.min(vB, nInstructions) }, batchOpts, { batch: vB, textLength, lambda: o.lambda, threads: o.threads, ep: epChoice.ep }) : null;
    const m: EpochMetrics = {
      epoch,
      steps: n,
      lr,
      train: { loss: sum / Math.max(1, n), lossFull: sumFull / Math.max(1, n), lossImageOnly: o.lambda > 0 ? sumImage / Math.max(1, n) : null },
      val: valMetrics,
      seconds: (Date.now() - t0) / 1000,
    };
    history.push(m);
    // checkpoint: new files first, then the pointer; the previous checkpoint stays until the next one lands
    const prefix = checkpointPrefix(epoch);
    await session.save(path.join(outDir, prefix), { epoch, options: o, stats, textLength, history });
    await writeJsonAtomic(latestFile, { epoch, prefix });
    pruneCheckpoints(outDir, epoch, o.keepCheckpoints);
    // The best epoch's weights (what a user would deploy by validation loss), apart from the resume state.
    if (bestEpoch(history)?.epoch === epoch) {
      await saveWeights(path.join(outDir, 'student-best.safetensors'), mergeTrained(c, base, session.paramValues()), c, { runId: o.runId });
      await writeJsonAtomic(path.join(outDir, 'best.json'), { epoch, valLoss: m.val!.full.loss, weights: 'student-best.safetensors' });
    }
    await writeJsonAtomic(path.join(outDir, 'metrics.json'), { runId: o.runId, options: o, ep, chunkWeights, dimWeights: o.dimWeights, history });
    hooks.onProgress?.({ phase: 'checkpoint', epoch, epochs: o.epochs, step: session.stepCount, totalSteps, metrics: m });
  }

  const weights = mergeTrained(c, base, session.paramValues());
  const weightsFile = path.join(outDir, 'student.safetensors');
  const metaFile = path.join(outDir, 'student.json');
  const meta: StudentMeta = { format: 'vla-ad-student/1', runId: o.runId, config: c, stats, textLength, rotate180: o.rotate180, options: o, seed: o.seed, ...(tok instanceof ClipBpeTokenizer ? { tokenizer: tok.spec() } : {}) };
  await saveWeights(weightsFile, weights, c, { runId: o.runId });
  await writeJsonAtomic(metaFile, meta);
  hooks.onProgress?.({ phase: 'done', epoch: o.epochs, epochs: o.epochs, step: session.stepCount, totalSteps });
  return { outDir, weightsFile, metaFile, history, params: countParams(c), resumedFrom, ep };
}

/** Both paths on the validation episodes, every frame once, in order. */
async function validate(
  c: StudentConfig,
  base: Weights,
  trained: ReadonlyMap<string, Float32Array>,
  val: StudentEpisode[],
  stats: ActionStats,
  text: TextCache,
  masked: { cache: TextCache; rows: number },
  batchOpts: { rotate180: boolean; useDescriptions: boolean; chunkWeights: number[]; dimWeights: number[] },
  o: { batch: number; textLength: number; lambda: number; threads?: number; ep: 'auto' | 'cpu' | 'cuda' },
): Promise<{ full: PathMetrics; imageOnly: PathMetrics }> {
  const K = c.head.chunk;
  const l = buildLossGraph(c, base, { batch: o.batch, textLength: o.textLength, maskedRows: masked.rows, maskedLength: masked.cache.length, lambda: o.lambda, dualPath: true, frozen: true });
  const sess = await InferSession.create(l.s.g, { logits: l.s.logits, logits_masked: l.s.logitsMasked!, loss_full: l.lossFull, loss_image: l.lossImage! }, { paramValues: trained, threads: o.threads, ep: o.ep });
  const refs: FrameRef[] = [];
  val.forEach((e, i) => {
    for (let f = 0; f < e.episode.length; f++) refs.push({ episode: i, frame: f });
  });
  const acc = { full: new AccuracyCounter(), imageOnly: new AccuracyCounter() };
  let lossFull = 0;
  let lossImage = 0;
  for (let i = 0; i < refs.length; i += o.batch) {
    const chunk = refs.slice(i, i + o.batch);
    const b = assembleBatch(val, chunk, o.batch, c, stats, text, masked, batchOpts);
    const out = await sess.run({
      pixels: { data: b.pixels, dims: [o.batch, 3, c.image.size, c.image.size] },
      tokens: { data: b.tokens, dims: [o.batch, o.textLength] },
      masked_tokens: { data: b.maskedTokens, dims: [masked.rows, masked.cache.length] },
      masked_index: { data: b.maskedIndex, dims: [o.batch] },
      targets: { data: b.targets, dims: [o.batch, K, 7] },
      weights: { data: b.weights, dims: [o.batch, K, 7] },
    });
    lossFull += (out.loss_full.data as Float32Array)[0] * chunk.length;
    lossImage += (out.loss_image.data as Float32Array)[0] * chunk.length;
    acc.full.add(out.logits.data as Float32Array, b.targets, chunk.length, K, c.head.bins);
    acc.imageOnly.add(out.logits_masked.data as Float32Array, b.targets, chunk.length, K, c.head.bins);
  }
  await sess.dispose();
  return {
    full: { loss: lossFull / refs.length, ...acc.full.result() },
    imageOnly: { loss: lossImage / refs.length, ...acc.imageOnly.result() },
  };
}
