import { type GraphBuilder, type Tensor, type TrainGraph, buildTrainStep } from '../graph/index.js';
import type { StudentConfig } from '../model/config.js';
import { type StudentGraph, type Weights, buildStudent } from '../model/network.js';

/**
 * The dual-path loss (paper eq. 1–2): per path Σ_{b,k,d} W[b,k,d] · CE(logits[b,k,d], target[b,k,d]),
 * with W = mask_k · c_k · w_d / B computed in JS (train/dataset.ts), so the chunk and dimension weights
 * are data, recorded with the run. L = L_full + λ · L_image_only.
 */
export function weightedCrossEntropy(g: GraphBuilder, logits: Tensor, targets: Tensor, weights: Tensor): Tensor {
  const bins = logits.shape[logits.rank - 1] as number;
  const nll = g.neg(g.reduceSum(g.mul(g.logSoftmax(logits, -1), g.oneHot(targets, bins)), [-1], false));
  return g.reduceSum(g.mul(nll, weights));
}

export interface LossGraph {
  s: StudentGraph;
  loss: Tensor;
  lossFull: Tensor;
  lossImage?: Tensor;
}

/** Student + loss for B frames. With `dualPath` the image-only path is built (always for validation, for training when λ > 0). */
export function buildLossGraph(c: StudentConfig, weights: Weights, o: { batch: number; textLength: number; maskedRows: number; maskedLength: number; lambda: number; dualPath: boolean; frozen?: boolean }): LossGraph {
  const s = buildStudent(c, weights, { batch: o.batch, textLength: o.textLength, maskedRows: o.maskedRows, maskedLength: o.maskedLength, dualPath: o.dualPath, frozen: o.frozen });
  const { g } = s;
  const targets = g.input('targets', 'int64', [o.batch, c.head.chunk, 7]);
  const w = g.input('weights', 'float32', [o.batch, c.head.chunk, 7]);
  const lossFull = weightedCrossEntropy(g, s.logits, targets, w);
  if (!s.logitsMasked) return { s, loss: lossFull, lossFull };
  const lossImage = weightedCrossEntropy(g, s.logitsMasked, targets, w);
  return { s, loss: o.lambda > 0 ? g.add(lossFull, g.mul(lossImage, o.lambda)) : lossFull, lossFull, lossImage };
}

export function buildStudentTrainStep(c: StudentConfig, weights: Weights, o: { batch: number; textLength: number; maskedRows: number; maskedLength: number; lambda: number; weightDecay: number; clipNorm: number }): TrainGraph {
  const l = buildLossGraph(c, weights, { ...o, dualPath: o.lambda > 0 });
  const extra: Record<string, Tensor> = { loss_full: l.lossFull };
  if (l.lossImage) extra.loss_image = l.lossImage;
  return buildTrainStep(l.s.g, l.loss, { weightDecay: o.weightDecay, clipNorm: o.clipNorm }, extra);
}
