import { LabError } from '../errors.js';
import type { GraphBuilder } from './builder.js';
import type { Node, Tensor } from './ir.js';
import { opDef } from './ops.js';

/**
 * Reverse-mode autodiff over the builder's node list (already in topological order). Gradients are
 * built with the same builder, so they are ordinary graph nodes. Only tensors that depend on `wrt` get a
 * gradient: frozen params, inputs and constants never do, and no node is built for them.
 */
export function gradients(g: GraphBuilder, loss: Tensor, wrt: Tensor[], seed?: Tensor): Map<Tensor, Tensor> {
  if (!seed && loss.rank !== 0) throw new LabError('SHAPE_MISMATCH', `gradients: loss must be a scalar, got [${loss.shape}] (or pass a seed)`, { loss: loss.name });
  // forward: which tensors depend on a wrt tensor
  const needs = new Set<Tensor>(wrt);
  // (index and comparison results are not differentiable: only float outputs carry a gradient)
  for (const n of g.nodes) if (n.inputs.some((t) => needs.has(t) && t.dtype === 'float32')) n.outputs.forEach((o) => o.dtype === 'float32' && needs.add(o));
  // backward reachability: nodes the loss depends on
  const relevant = new Set<Node>();
  const stack: Tensor[] = [loss];
  const seen = new Set<Tensor>();
  while (stack.length) {
    const t = stack.pop()!;
    if (seen.has(t)) continue;
    seen.add(t);
    if (t.node && !relevant.has(t.node)) {
      relevant.add(t.node);
      stack.push(...t.node.inputs);
    }
  }
  const grads = new Map<Tensor, Tensor>();
  grads.set(loss, seed ?? g.scalar(1));
  const forward = g.nodes.filter((n) => relevant.has(n) && needs.has(n.outputs[0]));
  for (let i = forward.length - 1; i >= 0; i--) {
    const node = forward[i];
    const dy = grads.get(node.outputs[0]);
    if (!dy) continue;
    const need = node.inputs.map((t) => needs.has(t) && t.dtype === 'float32');
    const def = opDef(node.op, node.where);
    if (!def.grad) throw new LabError('UNSUPPORTED', `no gradient for op ${node.op} (built at ${node.where})`, { op: node.op, where: node.where });
    const gs = def.grad(g, node, dy, need);
    gs.forEach((gi, k) => {
      if (!gi || !need[k]) return;
      const t = node.inputs[k];
      const prev = grads.get(t);
      grads.set(t, prev ? g.add(prev, gi) : gi);
    });
  }
  const out = new Map<Tensor, Tensor>();
  for (const t of wrt) {
    const gt = grads.get(t);
    // a parameter the loss does not depend on has a zero gradient
    out.set(t, gt ?? g.expand(g.scalar(0), [...t.shape]));
  }
  return out;
}
