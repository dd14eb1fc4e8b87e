import { type ActionStats, computeActionStats } from '../data/normalize.js';
import { ACTION_DIM, type Episode } from '../data/episode.js';
import { type FrameRef, actionBatch } from '../data/batching.js';
import { LabError } from '../errors.js';
import { Rng } from '../util/rng.js';
import type { StudentConfig } from '../model/config.js';
import { framePixels, videoFrame } from '../model/preprocess.js';
import { type TextTokenizer, studentText, tokenizeRow } from '../model/tokenizer.js';

/**
 * What the student trains on: episodes, and per frame an optional description (phase label, VLM text,
 * operating tuple — already composed, see model/tokenizer.ts `describe`). Validated up front so a bad
 * episode fails before any step runs.
 */
export interface StudentEpisode {
  episode: Episode;
  /** One entry per frame (null/undefined: no description for that frame). */
  descriptions?: (string | null | undefined)[];
}

export function validateEpisodes(eps: StudentEpisode[]): void {
  if (!eps.length) throw new LabError('INVALID_INPUT', 'training needs at least one episode', { field: 'episodes' });
  eps.forEach(({ episode: e, descriptions }, i) => {
    const where = `episode ${i} (${e.suite}/${e.taskIndex}, init ${e.initIndex})`;
    if (!e.instruction || !e.instruction.trim()) throw new LabError('INVALID_INPUT', `${where} has no instruction`, { field: 'instruction', episode: i });
    if (!(e.length > 0)) throw new LabError('INVALID_INPUT', `${where} has no frames`, { field: 'length', episode: i });
    if (e.actions.length !== e.length * ACTION_DIM) throw new LabError('SHAPE_MISMATCH', `${where}: actions hold ${e.actions.length} values for ${e.length} frames; expected width ${ACTION_DIM}`, { field: 'actions', episode: i, width: e.actions.length / e.length });
    for (let k = 0; k < e.actions.length; k++) {
      if (!Number.isFinite(e.actions[k])) throw new LabError('NON_FINITE', `${where}: action ${Math.floor(k / ACTION_DIM)} dim ${k % ACTION_DIM} is ${e.actions[k]}`, { field: 'actions', episode: i, frame: Math.floor(k / ACTION_DIM), dim: k % ACTION_DIM });
    }
    const { height: H, width: W } = e.imageSize;
    if (e.obs.agentview_rgb.length !== e.length * H * W * 3) throw new LabError('SHAPE_MISMATCH', `${where}: agentview_rgb has ${e.obs.agentview_rgb.length} bytes, expected ${e.length}×${H}×${W}×3`, { field: 'obs.agentview_rgb', episode: i });
    if (descriptions && descriptions.length !== e.length) throw new LabError('SHAPE_MISMATCH', `${where}: ${descriptions.length} descriptions for ${e.length} frames`, { field: 'descriptions', episode: i });
  });
}

export const trainActionStats = (eps: StudentEpisode[]): ActionStats => computeActionStats(eps.map((e) => e.episode.actions));

/** Token rows cached by text (an instruction repeats on every frame). */
export class TextCache {
  private readonly rows = new Map<string, BigInt64Array>();
  constructor(readonly tok: TextTokenizer, readonly length: number) {}
  row(text: string): BigInt64Array {
    let r = this.rows.get(text);
    if (!r) {
      r = tokenizeRow(this.tok, text, this.length);
      this.rows.set(text, r);
    }
    return r;
  }
}

/**
 * The shortest text length (a multiple of 8) that holds every text of the dataset (causal attention:
 * shorter padding changes nothing before EOT). `instructionsOnly`: the image-only path's texts.
 */
export function datasetTextLength(eps: StudentEpisode[], tok: TextTokenizer, c: StudentConfig, useDescriptions: boolean, instructionsOnly = false): number {
  let max = 2;
  const seen = new Set<string>();
  for (const { episode, descriptions } of eps) {
    const texts = [episode.instruction, ...(!instructionsOnly && useDescriptions && descriptions ? descriptions.map((d) => studentText(episode.instruction, d ?? undefined)) : [])];
    for (const t of texts) {
      if (seen.has(t)) continue;
      seen.add(t);
      max = Math.max(max, tok.encode(t).length + 2);
    }
  }
  return Math.min(c.text.contextLength, Math.ceil(max / 8) * 8);
}

export interface BatchOptions {
  rotate180: boolean;
  useDescriptions: boolean;
  chunkWeights: number[];
  dimWeights: number[];
  augment?: { shift: number; colorJitter: number; rng: Rng };
}

export interface StudentBatch {
  pixels: Float32Array;
  tokens: BigInt64Array;
  /** The distinct instructions of the batch, `maskedRows` rows (unused rows repeat the first). */
  maskedTokens: BigInt64Array;
  /** Per frame, its row in maskedTokens. */
  maskedIndex: BigInt64Array;
  /** B×K×7 bin ids. */
  targets: BigInt64Array;
  /** B×K×7 loss weights: mask_k · c_k · w_d / B (rows of padding frames are 0). */
  weights: Float32Array;
  bins: Uint8Array;
}

/**
 * Assemble one batch of B = refs.length frames, padded to `size` rows with zero-weight copies of the
 * first frame (static graph shapes).
 */
export function assembleBatch(eps: StudentEpisode[], refs: FrameRef[], size: number, c: StudentConfig, stats: ActionStats, text: TextCache, masked: { cache: TextCache; rows: number }, o: BatchOptions): StudentBatch {
  const K = c.head.chunk;
  const S = c.image.size;
  const px = 3 * S * S;
  const T = text.length;
  const real = refs.length;
  const padded = [...refs];
  while (padded.length < size) padded.push(refs[0]);
  const ab = actionBatch(eps.map((e) => e.episode), padded, stats, K);
  const pixels = new Float32Array(size * px);
  const tokens = new BigInt64Array(size * T);
  const Tm = masked.cache.length;
  const maskedTokens = new BigInt64Array(masked.rows * Tm);
  const maskedIndex = new BigInt64Array(size);
  const rowOf = new Map<string, number>();
  const targets = new BigInt64Array(size * K * ACTION_DIM);
  const weights = new Float32Array(size * K * ACTION_DIM);
  padded.forEach((r, b) => {
    const { episode: e, descriptions } = eps[r.episode];
    const { height: H, width: W } = e.imageSize;
    framePixels(videoFrame(e.obs.agentview_rgb, r.frame, H, W), c, { rotate180: o.rotate180 }, pixels, b * px);
    if (o.augment && (o.augment.shift || o.augment.colorJitter)) augmentInPlace(pixels.subarray(b * px, (b + 1) * px), S, o.augment);
    const d = o.useDescriptions ? descriptions?.[r.frame] ?? undefined : undefined;
    tokens.set(text.row(studentText(e.instruction, d)), b * T);
    let mr = rowOf.get(e.instruction);
    if (mr === undefined) {
      mr = rowOf.size;
      if (mr >= masked.rows) throw new LabError('INTERNAL', `batch has more than ${masked.rows} distinct instructions`, {});
      rowOf.set(e.instruction, mr);
      maskedTokens.set(masked.cache.row(e.instruction), mr * Tm);
    }
    maskedIndex[b] = BigInt(mr);
    for (let k = 0; k < K; k++) {
      for (let j = 0; j < ACTION_DIM; j++) {
        const i = (b * K + k) * ACTION_DIM + j;
        targets[i] = BigInt(ab.bins[i]);
        weights[i] = b < real ? (ab.mask[b * K + k] * o.chunkWeights[k] * o.dimWeights[j]) / real : 0;
      }
    }
  });
  for (let r = rowOf.size; r < masked.rows; r++) maskedTokens.copyWithin(r * Tm, 0, Tm);
  return { pixels, tokens, maskedTokens, maskedIndex, targets, weights, bins: ab.bins };
}

/** Seeded random shift (edge-replicated) and brightness/contrast jitter on one CHW 0…255 image. */
function augmentInPlace(img: Float32Array, S: number, a: { shift: number; colorJitter: number; rng: Rng }): void {
  const n = S * S;
  if (a.shift) {
    const dx = a.rng.int(2 * a.shift + 1) - a.shift;
    const dy = a.rng.int(2 * a.shift + 1) - a.shift;
    const src = Float32Array.from(img);
    for (let ch = 0; ch < 3; ch++)
      for (let y = 0; y < S; y++)
        for (let x = 0; x < S; x++) {
          const sy = Math.min(S - 1, Math.max(0, y + dy));
          const sx = Math.min(S - 1, Math.max(0, x + dx));
          img[ch * n + y * S + x] = src[ch * n + sy * S + sx];
        }
  }
  if (a.colorJitter) {
    const bright = 1 + a.rng.uniform(-a.colorJitter, a.colorJitter);
    const contrast = 1 + a.rng.uniform(-a.colorJitter, a.colorJitter);
    let mean = 0;
    for (let i = 0; i < img.length; i++) mean += img[i];
    mean /= img.length;
    for (let i = 0; i < img.length; i++) img[i] = Math.min(255, Math.max(0, ((img[i] - mean) * contrast + mean) * bright));
  }
}
