import { invalidInput } from '../errors.js';
import { Rng } from '../util/rng.js';
import { ACTION_DIM, type Episode } from './episode.js';
import { actionChunk } from './chunking.js';
import { discretize } from './discretize.js';
import { normalizeActions, type ActionStats } from './normalize.js';

/**
 * Episode-level train/val split and seeded frame batches. The split is by episode (never by frame), so
 * no validation frame shares a rollout with a training frame. Every shuffle comes from the recorded seed.
 */
export function splitEpisodes<T>(items: T[], opts: { valFraction: number; seed: number }): { train: T[]; val: T[] } {
  if (!(opts.valFraction >= 0 && opts.valFraction < 1)) throw invalidInput(`valFraction must be in [0, 1), got ${opts.valFraction}`, { field: 'valFraction' });
  const order = new Rng(opts.seed).fork('split').shuffle(items.map((_, i) => i));
  let nVal = Math.round(items.length * opts.valFraction);
  if (opts.valFraction > 0 && items.length >= 2) nVal = Math.max(1, Math.min(items.length - 1, nVal));
  const valSet = new Set(order.slice(0, nVal));
  return { train: items.filter((_, i) => !valSet.has(i)), val: items.filter((_, i) => valSet.has(i)) };
}

export interface FrameRef {
  episode: number;
  frame: number;
}

/** Batches of frame references for one epoch; the order depends only on (seed, epoch). */
export function* frameBatches(lengths: number[], opts: { batchSize: number; seed: number; epoch: number; dropLast?: boolean }): Generator<FrameRef[]> {
  const refs: FrameRef[] = [];
  lengths.forEach((T, episode) => {
    for (let frame = 0; frame < T; frame++) refs.push({ episode, frame });
  });
  new Rng(opts.seed).fork(`epoch:${opts.epoch}`).shuffle(refs);
  for (let i = 0; i < refs.length; i += opts.batchSize) {
    const batch = refs.slice(i, i + opts.batchSize);
    if (opts.dropLast && batch.length < opts.batchSize) return;
    yield batch;
  }
}

export interface ActionBatch {
  size: number;
  chunk: number;
  /** B×K×7 normalized actions (q01/q99, gripper ±1). */
  actions: Float32Array;
  /** B×K×7 bin ids of `actions` (256 bins). */
  bins: Uint8Array;
  /** B×K: 1 where the chunk step is a real action, 0 for end-of-episode padding. */
  mask: Uint8Array;
  refs: FrameRef[];
}

/** Assemble normalized, discretized action chunks for a batch of frame refs. */
export function actionBatch(episodes: Pick<Episode, 'actions' | 'length'>[], refs: FrameRef[], stats: ActionStats, K: number): ActionBatch {
  const B = refs.length;
  const actions = new Float32Array(B * K * ACTION_DIM);
  const mask = new Uint8Array(B * K);
  refs.forEach((r, b) => {
    const ep = episodes[r.episode];
    const { chunk, mask: m } = actionChunk(ep.actions, ep.length, r.frame, K);
    actions.set(normalizeActions(chunk, stats), b * K * ACTION_DIM);
    mask.set(m, b * K);
  });
  return { size: B, chunk: K, actions, bins: discretize(actions), mask, refs };
}
