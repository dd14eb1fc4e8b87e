import { GraphBuilder } from '../../../../electron/engine/graph/builder.js';
import type { Tensor } from '../../../../electron/engine/graph/ir.js';
import * as nn from '../../../../electron/engine/graph/nn.js';
import { Rng } from '../../../../electron/engine/util/rng.js';

/** Small models shared by the training-parity and runtime tests (names match test/python/graph_oracle.py). */
export function uniformInit(rng: Rng, fanIn: number) {
  const b = 1 / Math.sqrt(fanIn);
  return () => rng.uniform(-b, b);
}

export function buildMlp(seed: number, opts: { batch?: number | string; dIn?: number; hidden?: number; classes?: number; training?: boolean } = {}) {
  const rng = new Rng(seed);
  const { dIn = 8, hidden = 32, classes = 4 } = opts;
  const B = opts.batch ?? 'B';
  const g = new GraphBuilder({ training: opts.training });
  const x = g.input('x', 'float32', [B, dIn]);
  const y = g.input('y', 'int64', [B]);
  const w = g.input('w', 'float32', [B]);
  const h = g.gelu(nn.linear(g, x, g.param('fc1.weight', [dIn, hidden], uniformInit(rng, dIn)), g.param('fc1.bias', [hidden], uniformInit(rng, dIn))));
  const logits = nn.linear(g, h, g.param('fc2.weight', [hidden, classes], uniformInit(rng, hidden)), g.param('fc2.bias', [classes], uniformInit(rng, hidden)));
  return { g, logits, loss: nn.crossEntropy(g, logits, y, w) };
}

export interface TransformerOpts {
  vocab: number;
  seq: number;
  width: number;
  heads: number;
  layers: number;
  classes: number;
  mlpRatio?: number;
  batch?: number | string;
  dropout?: number;
  training?: boolean;
}

/** Token classifier: embeddings + positions, pre-norm blocks (QuickGELU), final LN, mean pool, linear head. */
export function buildTransformer(seed: number, o: TransformerOpts) {
  const rng = new Rng(seed);
  const g = new GraphBuilder({ training: o.training });
  const B = o.batch ?? 'B';
  const tokens = g.input('tokens', 'int64', [B, o.seq]);
  const y = g.input('y', 'int64', [B]);
  const w = g.input('w', 'float32', [B]);
  const tok = g.param('tok_emb', [o.vocab, o.width], () => rng.normal(0, 0.5));
  const pos = g.param('pos_emb', [o.seq, o.width], () => rng.normal(0, 0.1));
  let x: Tensor = g.add(g.gather(tok, tokens), pos);
  for (let i = 0; i < o.layers; i++) {
    const p = nn.blockParams(g, `layers.${i}`, { width: o.width, heads: o.heads, mlpRatio: o.mlpRatio ?? 2 }, rng);
    x = nn.preNormBlock(g, x, p, { heads: o.heads, act: 'quick_gelu', dropout: o.dropout, name: `layers.${i}` });
  }
  const lnW = g.param('ln_f.weight', [o.width], () => 1);
  const lnB = g.param('ln_f.bias', [o.width], () => 0);
  const pooled = g.reduceMean(g.layerNorm(x, lnW, lnB), [1]);
  const logits = nn.linear(g, pooled, g.param('head.weight', [o.width, o.classes], uniformInit(rng, o.width)), g.param('head.bias', [o.classes], uniformInit(rng, o.width)));
  return { g, logits, loss: nn.crossEntropy(g, logits, y, w) };
}
