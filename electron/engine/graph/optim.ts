import { LabError } from '../errors.js';
import { gradients } from './autodiff.js';
import type { GraphBuilder } from './builder.js';
import type { Param, Tensor } from './ir.js';

/** AdamW as in torch.optim.AdamW (decoupled decay, bias correction), plus optional global-norm clipping. */
export interface AdamWConfig {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Clip the global L2 norm of all gradients to this (torch.nn.utils.clip_grad_norm_); none when absent. */
  clipNorm?: number;
}

export const ADAMW_DEFAULTS: AdamWConfig = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };

/** Names of the state tensors that cross the graph boundary at each step. */
export const stateName = {
  m: (p: string) => `adam_m:${p}`,
  v: (p: string) => `adam_v:${p}`,
  next: (s: string) => `next:${s}`,
};

export interface TrainGraph {
  builder: GraphBuilder;
  config: AdamWConfig;
  /** Trainable params in order; their values, m and v are graph inputs and `next:` outputs. */
  trainable: Param[];
  /** Graph outputs: loss, grad_norm, user extras, next:<state>. */
  outputs: Record<string, Tensor>;
}

/**
 * Appends backward + AdamW to the builder: inputs `lr` and `step` (scalars; step counts from 1 and
 * drives the bias correction), and for each trainable param p the inputs `adam_m:p`, `adam_v:p`.
 * Outputs `loss`, `grad_norm` (before clipping) and `next:p`, `next:adam_m:p`, `next:adam_v:p`.
 */
export function buildTrainStep(g: GraphBuilder, loss: Tensor, cfg: Partial<AdamWConfig> = {}, extraOutputs: Record<string, Tensor> = {}): TrainGraph {
  const config = { ...ADAMW_DEFAULTS, ...cfg };
  const trainable = g.params.filter((p) => p.trainable);
  if (!trainable.length) throw new LabError('INVALID_INPUT', 'buildTrainStep: no trainable parameter');
  const grads = gradients(g, loss, trainable.map((p) => p.tensor));

  const lr = g.input('lr', 'float32', []);
  const step = g.input('step', 'float32', []);
  // global norm over all gradients, and the clip coefficient min(1, max/(norm+1e-6)) like torch
  let sq: Tensor | null = null;
  for (const p of trainable) {
    const gp = grads.get(p.tensor)!;
    const s = g.reduceSum(g.mul(gp, gp));
    sq = sq ? g.add(sq, s) : s;
  }
  const gradNorm = g.sqrt(sq!);
  const coef = config.clipNorm !== undefined ? g.min(g.div(config.clipNorm, g.add(gradNorm, 1e-6)), 1) : null;

  const bc1 = g.sub(1, g.pow(config.beta1, step));
  const bc2sqrt = g.sqrt(g.sub(1, g.pow(config.beta2, step)));
  const stepSize = g.div(lr, bc1);
  const outputs: Record<string, Tensor> = { loss, grad_norm: gradNorm, ...extraOutputs };
  for (const p of trainable) {
    let gp = grads.get(p.tensor)!;
    if (coef) gp = g.mul(gp, coef);
    const m = g.input(stateName.m(p.name), 'float32', p.shape);
    const v = g.input(stateName.v(p.name), 'float32', p.shape);
    const decayed = p.decay && config.weightDecay ? g.mul(p.tensor, g.sub(1, g.mul(lr, config.weightDecay))) : p.tensor;
    const m1 = g.add(g.mul(m, config.beta1), g.mul(gp, 1 - config.beta1));
    const v1 = g.add(g.mul(v, config.beta2), g.mul(g.mul(gp, gp), 1 - config.beta2));
    const denom = g.add(g.div(g.sqrt(v1), bc2sqrt), config.eps);
    outputs[stateName.next(p.name)] = g.sub(decayed, g.mul(stepSize, g.div(m1, denom)));
    outputs[stateName.next(stateName.m(p.name))] = m1;
    outputs[stateName.next(stateName.v(p.name))] = v1;
  }
  return { builder: g, config, trainable, outputs };
}
