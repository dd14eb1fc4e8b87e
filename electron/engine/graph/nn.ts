import type { Rng } from '../util/rng.js';
import type { GraphBuilder } from './builder.js';
import type { Tensor } from './ir.js';

/**
 * Layers built from the op table (compositions: their gradients come from the primitives). Weight
 * layout is [in, out] (y = x·W + b); a torch Linear weight is the transpose.
 */

export function linear(g: GraphBuilder, x: Tensor, w: Tensor, b?: Tensor): Tensor {
  const y = g.matmul(x, w);
  return b ? g.add(y, b) : y;
}

/** A frozen base projection plus a trainable low-rank update: x·W + scale·(x·A)·B (LoRA). */
export function loraLinear(g: GraphBuilder, x: Tensor, w: Tensor, b: Tensor | undefined, a: Tensor, bUp: Tensor, scale: number): Tensor {
  return g.add(linear(g, x, w, b), g.mul(g.matmul(g.matmul(x, a), bUp), scale));
}

/** Scaled dot-product attention: softmax(q·kᵀ·scale + mask)·v; q [..,T,d], k,v [..,S,d], mask additive, broadcastable to [..,T,S]. */
export function attention(g: GraphBuilder, q: Tensor, k: Tensor, v: Tensor, opts: { mask?: Tensor; scale?: number } = {}): Tensor {
  const d = q.shape[q.rank - 1] as number;
  let s = g.mul(g.matmul(q, k, { transB: true }), opts.scale ?? 1 / Math.sqrt(d));
  if (opts.mask) s = g.add(s, opts.mask);
  return g.matmul(g.softmax(s, -1), v);
}

/** Additive causal mask [T, T]: 0 on and below the diagonal, −1e9 above (finite, so rows never go NaN). */
export function causalMask(g: GraphBuilder, t: number): Tensor {
  return g.constant(Float32Array.from({ length: t * t }, (_, i) => (i % t > Math.floor(i / t) ? -1e9 : 0)), [t, t]);
}

/** Additive key-padding mask from a float [B, S] of 1 (keep) / 0 (pad): [B, 1, 1, S] of 0 / −1e9. */
export function paddingMask(g: GraphBuilder, keep: Tensor): Tensor {
  return g.unsqueeze(g.mul(g.sub(1, keep), 1e9 * -1), [1, 2]);
}

/** [B, T, H·d] → [B, H, T, d] */
export function splitHeads(g: GraphBuilder, x: Tensor, heads: number): Tensor {
  const [b, t, w] = x.shape;
  return g.transpose(g.reshape(x, [b, t, heads, (w as number) / heads]), [0, 2, 1, 3]);
}

/** [B, H, T, d] → [B, T, H·d] */
export function mergeHeads(g: GraphBuilder, x: Tensor): Tensor {
  const [b, h, t, d] = x.shape;
  return g.reshape(g.transpose(x, [0, 2, 1, 3]), [b, t, (h as number) * (d as number)]);
}

/**
 * Cross-entropy over the last axis with per-element weights: Σ w·nll / Σ w (the student weights
 * action dimensions and chunk steps). logits [.., C], targets int64 [..], weights float [..] or none (mean).
 */
export function crossEntropy(g: GraphBuilder, logits: Tensor, targets: Tensor, weights?: Tensor): Tensor {
  const c = logits.shape[logits.rank - 1] as number;
  const nll = g.neg(g.reduceSum(g.mul(g.logSoftmax(logits, -1), g.oneHot(targets, c)), [-1], false));
  if (!weights) return g.reduceMean(nll);
  return g.div(g.reduceSum(g.mul(nll, weights)), g.reduceSum(weights));
}

export function mseLoss(g: GraphBuilder, pred: Tensor, target: Tensor): Tensor {
  const d = g.sub(pred, target);
  return g.reduceMean(g.mul(d, d));
}

// ---- a pre-norm transformer block (CLIP-style), with optional LoRA on the q and v projections --------

export interface BlockParams {
  ln1: [Tensor, Tensor];
  wq: Tensor; bq: Tensor; wk: Tensor; bk: Tensor; wv: Tensor; bv: Tensor; wo: Tensor; bo: Tensor;
  ln2: [Tensor, Tensor];
  w1: Tensor; b1: Tensor; w2: Tensor; b2: Tensor;
  lora?: { rank: number; scale: number; aq: Tensor; bq: Tensor; av: Tensor; bv: Tensor };
}

export interface BlockOptions {
  width: number;
  heads: number;
  mlpRatio?: number;
  /** LoRA rank on q and v (0: none). With LoRA the base weights are frozen. */
  loraRank?: number;
  loraAlpha?: number;
  /** Base weights trainable (default: true without LoRA, false with it). */
  trainBase?: boolean;
}

/** Parameters named `${prefix}.…`, initialised like torch (uniform ±1/√fan_in for linears, LoRA B = 0 unless told). */
export function blockParams(g: GraphBuilder, prefix: string, o: BlockOptions, rng: Rng, loraBInit = 0): BlockParams {
  const w = o.width;
  const h = w * (o.mlpRatio ?? 4);
  const trainable = o.trainBase ?? !o.loraRank;
  const lin = (name: string, i: number, out: number) => {
    const bound = 1 / Math.sqrt(i);
    return [
      g.param(`${prefix}.${name}.weight`, [i, out], () => rng.uniform(-bound, bound), { trainable }),
      g.param(`${prefix}.${name}.bias`, [out], () => rng.uniform(-bound, bound), { trainable }),
    ] as const;
  };
  const ln = (name: string): [Tensor, Tensor] => [
    g.param(`${prefix}.${name}.weight`, [w], () => 1 + rng.uniform(-0.1, 0.1), { trainable }),
    g.param(`${prefix}.${name}.bias`, [w], () => rng.uniform(-0.1, 0.1), { trainable }),
  ];
  const ln1 = ln('ln_1');
  const [wq, bq] = lin('q_proj', w, w);
  const [wk, bk] = lin('k_proj', w, w);
  const [wv, bv] = lin('v_proj', w, w);
  const [wo, bo] = lin('out_proj', w, w);
  const ln2 = ln('ln_2');
  const [w1, b1] = lin('fc1', w, h);
  const [w2, b2] = lin('fc2', h, w);
  const p: BlockParams = { ln1, wq, bq, wk, bk, wv, bv, wo, bo, ln2, w1, b1, w2, b2 };
  if (o.loraRank) {
    const r = o.loraRank;
    const a = (name: string) => g.param(`${prefix}.${name}`, [w, r], () => rng.normal(0, 1 / Math.sqrt(w)));
    const bz = (name: string) => g.param(`${prefix}.${name}`, [r, w], () => (loraBInit ? rng.normal(0, loraBInit) : 0));
    p.lora = { rank: r, scale: (o.loraAlpha ?? r) / r, aq: a('lora_q.A'), bq: bz('lora_q.B'), av: a('lora_v.A'), bv: bz('lora_v.B') };
  }
  return p;
}

/** x + Attn(LN1(x)); x + MLP(LN2(x)), MLP = fc2(act(fc1)). x [B, T, W]. */
export function preNormBlock(
  g: GraphBuilder,
  x: Tensor,
  p: BlockParams,
  o: { heads: number; mask?: Tensor; act?: 'gelu' | 'quick_gelu'; dropout?: number; name?: string },
): Tensor {
  const h = g.layerNorm(x, p.ln1[0], p.ln1[1]);
  const q = p.lora ? loraLinear(g, h, p.wq, p.bq, p.lora.aq, p.lora.bq, p.lora.scale) : linear(g, h, p.wq, p.bq);
  const k = linear(g, h, p.wk, p.bk);
  const v = p.lora ? loraLinear(g, h, p.wv, p.bv, p.lora.av, p.lora.bv, p.lora.scale) : linear(g, h, p.wv, p.bv);
  const a = attention(g, splitHeads(g, q, o.heads), splitHeads(g, k, o.heads), splitHeads(g, v, o.heads), { mask: o.mask });
  let y = linear(g, mergeHeads(g, a), p.wo, p.bo);
  if (o.dropout) y = g.dropout(y, o.dropout, `${o.name ?? 'block'}.attn`);
  const x1 = g.add(x, y);
  const h2 = g.layerNorm(x1, p.ln2[0], p.ln2[1]);
  const f = linear(g, h2, p.w1, p.b1);
  let z = linear(g, o.act === 'gelu' ? g.gelu(f) : g.quickGelu(f), p.w2, p.b2);
  if (o.dropout) z = g.dropout(z, o.dropout, `${o.name ?? 'block'}.mlp`);
  return g.add(x1, z);
}
