import { LabError } from '../errors.js';
import { ONNX_DTYPE } from './onnx-proto.js';
import { type Attrs, type DType, type Dim, type Node, type Shape, type Tensor, broadcastShapes, normAxis, shapeError } from './ir.js';
import type { GraphBuilder } from './builder.js';

/**
 * The op table, tinygrad-style: for each op, side by side, its shape inference, its ONNX emission and
 * its gradient (written with the builder's own ops, so gradients are graph nodes like any other and the
 * backward pass is emitted by this same table). Ops without `grad` are used only where no gradient
 * flows (index math, the backward and optimizer parts); asking for their gradient is an error.
 */
export interface EmitCtx {
  /** Append an ONNX node. */
  node(opType: string, inputs: string[], outputs: string[], attrs?: Attrs, domain?: string): void;
  /** Name of an int64 1-D constant (an initializer). */
  i64(values: number[]): string;
  /** Name of a float32 scalar constant. */
  f32(value: number): string;
  /** Name of a float32 1-D constant. */
  f32s(values: number[]): string;
  fresh(hint: string): string;
  /** Whether com.microsoft fused ops (FusedMatMul, Gelu, QuickGelu) may be emitted. */
  readonly contrib: boolean;
}

export interface OpDef {
  infer(inputs: readonly Tensor[], attrs: Attrs, op: string): { dtype: DType; shape: Dim[] };
  emit(ctx: EmitCtx, inputs: string[], output: string, attrs: Attrs, node: Node): void;
  /** Gradients of each input from the output gradient `dy`; null where `needs[i]` is false. */
  grad?(g: GraphBuilder, node: Node, dy: Tensor, needs: boolean[]): (Tensor | null)[];
}

// ---- helpers -------------------------------------------------------------------------------------

const same = (inputs: readonly Tensor[]) => ({ dtype: inputs[0].dtype, shape: [...inputs[0].shape] });
const simple = (opType: string, domain?: string) => (ctx: EmitCtx, ins: string[], out: string, attrs: Attrs) =>
  ctx.node(opType, ins, [out], attrs, domain);

function requireFloat(op: string, inputs: readonly Tensor[]) {
  for (const t of inputs) if (t.dtype !== 'float32') throw shapeError(op, `expects float32, got ${t.dtype} for ${t.name}`, inputs);
}

/** Elementwise binary op with numpy broadcasting. */
function binary(opType: string, grad: OpDef['grad']): OpDef {
  return {
    infer: (ins, _a, op) => {
      if (ins[0].dtype !== ins[1].dtype) throw shapeError(op, `dtypes differ (${ins[0].dtype} vs ${ins[1].dtype})`, ins);
      return { dtype: ins[0].dtype, shape: broadcastShapes(op, ins[0], ins[1]) };
    },
    emit: simple(opType),
    grad,
  };
}

/** Elementwise unary float op whose gradient is dy * f'(x, y). */
function unary(opType: string, deriv?: (g: GraphBuilder, x: Tensor, y: Tensor) => Tensor, domain?: string): OpDef {
  return {
    infer: (ins, _a, op) => {
      requireFloat(op, ins);
      return same(ins);
    },
    emit: simple(opType, domain),
    grad: deriv ? (g, n, dy) => [g.mul(dy, deriv(g, n.inputs[0], n.outputs[0]))] : undefined,
  };
}

function pickGrad(g: GraphBuilder, n: Node, dy: Tensor, need: boolean[], aWins: (a: Tensor, b: Tensor) => Tensor): (Tensor | null)[] {
  const [a, b] = n.inputs;
  const wa = g.where(aWins(a, b), 1, g.where(g.equal(a, b), 0.5, 0));
  return [need[0] ? g.unbroadcast(g.mul(dy, wa), a) : null, need[1] ? g.unbroadcast(g.mul(dy, g.sub(1, wa)), b) : null];
}

function swapLast(s: Shape, trans: boolean): Dim[] {
  const r = [...s];
  if (trans) [r[r.length - 2], r[r.length - 1]] = [r[r.length - 1], r[r.length - 2]];
  return r;
}

function invertPerm(perm: number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

function reduceAxes(x: Tensor, attrs: Attrs, op: string): number[] {
  const axes = (attrs.axes as number[] | undefined) ?? x.shape.map((_, i) => i);
  return [...new Set(axes.map((a) => normAxis(op, a, x.rank, [x])))].sort((a, b) => a - b);
}

function reduceInfer(ins: readonly Tensor[], attrs: Attrs, op: string) {
  const axes = reduceAxes(ins[0], attrs, op);
  const keep = attrs.keepdims !== false;
  const shape = ins[0].shape.flatMap((d, i) => (axes.includes(i) ? (keep ? [1] : []) : [d]));
  return { dtype: ins[0].dtype, shape };
}

/** dy of a reduction, brought back to x's shape (unsqueezed where keepdims was false, then expanded). */
function unreduce(g: GraphBuilder, node: Node, dy: Tensor): Tensor {
  const x = node.inputs[0];
  const axes = reduceAxes(x, node.attrs, node.op);
  const kept = node.attrs.keepdims !== false ? dy : g.unsqueeze(dy, axes);
  return g.expandAs(kept, x);
}

/** 1 / (number of reduced elements): a constant when the reduced dims are static, else read from Shape at run time. */
function invCount(g: GraphBuilder, node: Node): Tensor {
  const x = node.inputs[0];
  const axes = reduceAxes(x, node.attrs, node.op);
  const dims = axes.map((a) => x.shape[a]);
  if (dims.every((d) => typeof d === 'number')) return g.scalar(1 / (dims as number[]).reduce((p, q) => p * q, 1));
  return g.reciprocal(g.apply('CountOf', [x], { axes }));
}

/** Reshape target: numbers, symbols, or one -1 (inferred; symbolic when the input is). */
function reshapeInfer(x: Tensor, target: Dim[], op: string): Dim[] {
  const inNum = x.shape.reduce<number>((p, d) => (typeof d === 'number' ? p * d : p), 1);
  const inSyms = x.shape.filter((d): d is string => typeof d === 'string');
  const tSyms = target.filter((d): d is string => typeof d === 'string');
  const tNum = target.reduce<number>((p, d) => (typeof d === 'number' && d !== -1 ? p * d : p), 1);
  const free = target.filter((d) => d === -1).length;
  if (free > 1) throw shapeError(op, `at most one -1 in target ${JSON.stringify(target)}`, [x]);
  const leftSyms = [...inSyms];
  for (const s of tSyms) {
    const i = leftSyms.indexOf(s);
    if (i < 0) throw shapeError(op, `target dim '${s}' is not a dim of the input`, [x]);
    leftSyms.splice(i, 1);
  }
  if (free === 0) {
    if (leftSyms.length || inNum !== tNum) throw shapeError(op, `cannot reshape to ${JSON.stringify(target)} (element counts differ)`, [x]);
    return [...target];
  }
  if (inNum % tNum !== 0) throw shapeError(op, `cannot reshape to ${JSON.stringify(target)} (${inNum} not divisible by ${tNum})`, [x]);
  const q = inNum / tNum;
  const inferred: Dim = leftSyms.length ? [...leftSyms.sort(), ...(q !== 1 ? [String(q)] : [])].join('*') : q;
  return target.map((d) => (d === -1 ? inferred : d));
}

/** ONNX Reshape wants numbers: each symbolic dim becomes -1 (only one unknown can be resolved). */
function reshapeTargetForOnnx(shape: Shape, op: string, x: Tensor): number[] {
  const unknown = shape.filter((d) => typeof d === 'string').length;
  if (unknown > 1) throw new LabError('UNSUPPORTED', `${op}: more than one symbolic dim in reshape target [${shape.join(',')}]; use reshapeAs`, { op, input: x.name });
  return shape.map((d) => (typeof d === 'string' ? -1 : d));
}

function dimsEqual(a: Dim, b: Dim) {
  return a === b;
}

// ---- the table -----------------------------------------------------------------------------------

export const OPS: Record<string, OpDef> = {
  // -- elementwise binary, gradients reduced back over broadcast axes
  Add: binary('Add', (g, n, dy, need) => [need[0] ? g.unbroadcast(dy, n.inputs[0]) : null, need[1] ? g.unbroadcast(dy, n.inputs[1]) : null]),
  Sub: binary('Sub', (g, n, dy, need) => [need[0] ? g.unbroadcast(dy, n.inputs[0]) : null, need[1] ? g.unbroadcast(g.neg(dy), n.inputs[1]) : null]),
  Mul: binary('Mul', (g, n, dy, need) => {
    const [a, b] = n.inputs;
    return [need[0] ? g.unbroadcast(g.mul(dy, b), a) : null, need[1] ? g.unbroadcast(g.mul(dy, a), b) : null];
  }),
  Div: binary('Div', (g, n, dy, need) => {
    const [a, b] = n.inputs;
    const y = n.outputs[0];
    return [need[0] ? g.unbroadcast(g.div(dy, b), a) : null, need[1] ? g.unbroadcast(g.neg(g.div(g.mul(dy, y), b)), b) : null];
  }),
  Pow: binary('Pow', (g, n, dy, need) => {
    const [x, e] = n.inputs;
    const y = n.outputs[0];
    return [
      need[0] ? g.unbroadcast(g.mul(dy, g.mul(e, g.pow(x, g.sub(e, g.scalar(1))))), x) : null,
      need[1] ? g.unbroadcast(g.mul(dy, g.mul(y, g.log(x))), e) : null,
    ];
  }),
  // like torch.minimum/maximum: the gradient goes to the chosen input, split in half on ties
  Min: binary('Min', (g, n, dy, need) => pickGrad(g, n, dy, need, (a, b) => g.greater(b, a))),
  Max: binary('Max', (g, n, dy, need) => pickGrad(g, n, dy, need, (a, b) => g.greater(a, b))),
  Equal: {
    infer: (ins, _a, op) => ({ dtype: 'bool', shape: broadcastShapes(op, ins[0], ins[1]) }),
    emit: simple('Equal'),
  },

  // -- elementwise unary: dy * f'
  Neg: { infer: (ins) => same(ins), emit: simple('Neg'), grad: (g, _n, dy) => [g.neg(dy)] },
  Exp: unary('Exp', (_g, _x, y) => y),
  Log: unary('Log', (g, x) => g.reciprocal(x)),
  Sqrt: unary('Sqrt', (g, _x, y) => g.div(g.scalar(0.5), y)),
  Reciprocal: unary('Reciprocal', (g, _x, y) => g.neg(g.mul(y, y))),
  Tanh: unary('Tanh', (g, _x, y) => g.sub(g.scalar(1), g.mul(y, y))),
  Sigmoid: unary('Sigmoid', (g, _x, y) => g.mul(y, g.sub(g.scalar(1), y))),
  Relu: unary('Relu', (g, x) => g.cast(g.greater(x, g.scalar(0)), 'float32')),
  Erf: unary('Erf', (g, x) => g.mul(g.scalar(2 / Math.sqrt(Math.PI)), g.exp(g.neg(g.mul(x, x))))),
  // GELU with erf: 0.5·x·(1+erf(x/√2)); d/dx = Φ(x) + x·φ(x)
  Gelu: {
    ...unary('Gelu', (g, x) => {
      const cdf = g.mul(g.scalar(0.5), g.add(g.scalar(1), g.erf(g.mul(x, g.scalar(Math.SQRT1_2)))));
      const pdf = g.mul(g.scalar(1 / Math.sqrt(2 * Math.PI)), g.exp(g.mul(g.scalar(-0.5), g.mul(x, x))));
      return g.add(cdf, g.mul(x, pdf));
    }),
    emit: (ctx, [x], out) => {
      if (ctx.contrib) return ctx.node('Gelu', [x], [out], {}, 'com.microsoft');
      const e = ctx.fresh('gelu_erf');
      const s = ctx.fresh('gelu_scaled');
      const p = ctx.fresh('gelu_1p');
      const h = ctx.fresh('gelu_half');
      ctx.node('Mul', [x, ctx.f32(Math.SQRT1_2)], [s]);
      ctx.node('Erf', [s], [e]);
      ctx.node('Add', [e, ctx.f32(1)], [p]);
      ctx.node('Mul', [x, ctx.f32(0.5)], [h]);
      ctx.node('Mul', [h, p], [out]);
    },
  },
  // CLIP's QuickGELU: x·σ(1.702x); d/dx = s + 1.702·x·s·(1−s)
  QuickGelu: {
    ...unary('QuickGelu', (g, x) => {
      const s = g.sigmoid(g.mul(x, g.scalar(1.702)));
      return g.add(s, g.mul(g.mul(g.scalar(1.702), x), g.mul(s, g.sub(g.scalar(1), s))));
    }),
    emit: (ctx, [x], out) => {
      if (ctx.contrib) return ctx.node('QuickGelu', [x], [out], { alpha: 1.702 }, 'com.microsoft');
      const s = ctx.fresh('qgelu_scaled');
      const sg = ctx.fresh('qgelu_sigmoid');
      ctx.node('Mul', [x, ctx.f32(1.702)], [s]);
      ctx.node('Sigmoid', [s], [sg]);
      ctx.node('Mul', [x, sg], [out]);
    },
  },
  Greater: { infer: (ins, _a, op) => ({ dtype: 'bool', shape: broadcastShapes(op, ins[0], ins[1]) }), emit: simple('Greater') },
  Cast: {
    infer: (ins, a) => ({ dtype: a.to as DType, shape: [...ins[0].shape] }),
    emit: (ctx, [x], out, a) => ctx.node('Cast', [x], [out], { to: ONNX_DTYPE[a.to as DType] }),
    grad: (g, n, dy) => {
      if (n.inputs[0].dtype !== 'float32') throw new LabError('UNSUPPORTED', `Cast: no gradient into ${n.inputs[0].dtype} input`, { where: n.where });
      return [dy];
    },
  },
  Where: {
    infer: (ins, _a, op) => {
      const [c, a, b] = ins;
      if (c.dtype !== 'bool') throw shapeError(op, `condition must be bool, got ${c.dtype}`, ins);
      const ab = broadcastShapes(op, a, b);
      return { dtype: a.dtype, shape: broadcastShapes(op, c, { shape: ab, name: 'a⊕b' }) };
    },
    emit: simple('Where'),
    grad: (g, n, dy, need) => {
      const [c, a, b] = n.inputs;
      const zero = g.scalar(0);
      return [null, need[1] ? g.unbroadcast(g.where(c, dy, zero), a) : null, need[2] ? g.unbroadcast(g.where(c, zero, dy), b) : null];
    },
  },

  // -- matrix products: Y = op(A)·op(B), op = optional transpose of the last two dims
  MatMul: {
    infer: (ins, a, op) => {
      const [x, w] = ins;
      requireFloat(op, ins);
      if (x.rank < 2 || w.rank < 2) throw shapeError(op, 'both operands need rank ≥ 2', ins);
      const xs = swapLast(x.shape, !!a.transA);
      const ws = swapLast(w.shape, !!a.transB);
      if (!dimsEqual(xs[xs.length - 1], ws[ws.length - 2]))
        throw shapeError(op, `inner dims differ: ${xs[xs.length - 1]} vs ${ws[ws.length - 2]}`, ins);
      const bx = { shape: xs.slice(0, -2), name: x.name };
      const bw = { shape: ws.slice(0, -2), name: w.name };
      return { dtype: 'float32', shape: [...broadcastShapes(op, bx, bw), xs[xs.length - 2], ws[ws.length - 1]] };
    },
    emit: (ctx, [x, w], out, a, node) => {
      const tA = !!a.transA;
      const tB = !!a.transB;
      if (!tA && !tB) return ctx.node('MatMul', [x, w], [out]);
      if (ctx.contrib) return ctx.node('FusedMatMul', [x, w], [out], { alpha: 1.0, transA: tA ? 1 : 0, transB: tB ? 1 : 0 }, 'com.microsoft');
      const swap = (name: string, rank: number) => {
        const t = ctx.fresh('T');
        const perm = [...Array(rank).keys()];
        [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
        ctx.node('Transpose', [name], [t], { perm });
        return t;
      };
      ctx.node('MatMul', [tA ? swap(x, node.inputs[0].rank) : x, tB ? swap(w, node.inputs[1].rank) : w], [out]);
    },
    grad: (g, n, dy, need) => {
      const [a, b] = n.inputs;
      const tA = !!n.attrs.transA;
      const tB = !!n.attrs.transB;
      let da: Tensor | null = null;
      let db: Tensor | null = null;
      if (need[0]) da = g.unbroadcast(tA ? g.matmul(b, dy, { transA: tB, transB: true }) : g.matmul(dy, b, { transB: !tB }), a);
      if (need[1]) {
        if (b.rank === 2 && a.rank > 2 && !tA) {
          // a weight shared over batch dims: fold them into rows instead of a batched product + ReduceSum
          const a2 = g.reshape(a, [-1, a.shape[a.rank - 1]]);
          const d2 = g.reshape(dy, [-1, dy.shape[dy.rank - 1]]);
          db = tB ? g.matmul(d2, a2, { transA: true }) : g.matmul(a2, d2, { transA: true });
        } else {
          db = g.unbroadcast(tB ? g.matmul(dy, a, { transA: true, transB: tA }) : g.matmul(a, dy, { transA: !tA }), b);
        }
      }
      return [da, db];
    },
  },

  // -- normalizations over the last axis
  Softmax: {
    infer: (ins, a, op) => (normAxis(op, a.axis as number, ins[0].rank, ins), same(ins)),
    emit: simple('Softmax'),
    grad: (g, n, dy) => {
      const y = n.outputs[0];
      const axis = n.attrs.axis as number;
      return [g.mul(y, g.sub(dy, g.reduceSum(g.mul(dy, y), [axis], true)))];
    },
  },
  LogSoftmax: {
    infer: (ins, a, op) => (normAxis(op, a.axis as number, ins[0].rank, ins), same(ins)),
    emit: simple('LogSoftmax'),
    grad: (g, n, dy) => {
      const axis = n.attrs.axis as number;
      return [g.sub(dy, g.mul(g.exp(n.outputs[0]), g.reduceSum(dy, [axis], true)))];
    },
  },
  // LayerNormalization (opset 17) over the last axis, with scale and bias
  LayerNorm: {
    infer: (ins, _a, op) => {
      const [x, s, b] = ins;
      requireFloat(op, ins);
      const d = x.shape[x.rank - 1];
      if (s.rank !== 1 || b.rank !== 1 || s.shape[0] !== d || b.shape[0] !== d)
        throw shapeError(op, `scale and bias must be [${d}]`, ins);
      return same(ins);
    },
    emit: (ctx, ins, out, a) => ctx.node('LayerNormalization', ins, [out], { axis: -1, epsilon: a.epsilon as number }),
    grad: (g, n, dy, need) => {
      // recompute the normalized input (cheap) rather than keeping LayerNormalization's extra outputs
      const [x, scale, bias] = n.inputs;
      const eps = n.attrs.epsilon as number;
      const xc = g.sub(x, g.reduceMean(x, [-1], true));
      const rstd = g.reciprocal(g.sqrt(g.add(g.reduceMean(g.mul(xc, xc), [-1], true), g.scalar(eps))));
      const xhat = g.mul(xc, rstd);
      let dx: Tensor | null = null;
      if (need[0]) {
        const dxhat = g.mul(dy, scale);
        const m1 = g.reduceMean(dxhat, [-1], true);
        const m2 = g.reduceMean(g.mul(dxhat, xhat), [-1], true);
        dx = g.mul(rstd, g.sub(g.sub(dxhat, m1), g.mul(xhat, m2)));
      }
      return [dx, need[1] ? g.unbroadcast(g.mul(dy, xhat), scale) : null, need[2] ? g.unbroadcast(dy, bias) : null];
    },
  },

  // -- reductions
  ReduceSum: {
    infer: reduceInfer,
    emit: (ctx, [x], out, a, n) => ctx.node('ReduceSum', [x, ctx.i64(reduceAxes(n.inputs[0], a, 'ReduceSum'))], [out], { keepdims: a.keepdims !== false ? 1 : 0 }),
    grad: (g, n, dy) => [unreduce(g, n, dy)],
  },
  ReduceMean: {
    infer: reduceInfer,
    emit: (ctx, [x], out, a, n) => ctx.node('ReduceMean', [x], [out], { axes: reduceAxes(n.inputs[0], a, 'ReduceMean'), keepdims: a.keepdims !== false ? 1 : 0 }),
    grad: (g, n, dy) => [g.mul(unreduce(g, n, dy), invCount(g, n))],
  },
  ReduceMax: {
    infer: reduceInfer,
    emit: (ctx, [x], out, a, n) => ctx.node('ReduceMax', [x], [out], { axes: reduceAxes(n.inputs[0], a, 'ReduceMax'), keepdims: a.keepdims !== false ? 1 : 0 }),
    grad: (g, n, dy) => {
      // like torch.amax: the gradient is shared evenly between tied maxima
      const x = n.inputs[0];
      const axes = reduceAxes(x, n.attrs, n.op);
      const keep = n.attrs.keepdims !== false;
      const yk = keep ? n.outputs[0] : g.unsqueeze(n.outputs[0], axes);
      const mask = g.cast(g.equal(x, yk), 'float32');
      const count = g.reduceSum(mask, axes, true);
      return [g.mul(g.div(mask, count), unreduce(g, n, dy))];
    },
  },

  /** Number of elements of x over `axes`, as a float32 scalar, from its run-time shape. */
  CountOf: {
    infer: () => ({ dtype: 'float32', shape: [] }),
    emit: (ctx, [x], out, a) => {
      const s = ctx.fresh('shape');
      const d = ctx.fresh('dims');
      const p = ctx.fresh('count');
      ctx.node('Shape', [x], [s]);
      ctx.node('Gather', [s, ctx.i64(a.axes as number[])], [d], { axis: 0 });
      ctx.node('ReduceProd', [d], [p], { keepdims: 0 });
      ctx.node('Cast', [p], [out], { to: ONNX_DTYPE.float32 });
    },
  },

  // -- shape ops
  Reshape: {
    infer: (ins, a, op) => ({ dtype: ins[0].dtype, shape: reshapeInfer(ins[0], a.shape as Dim[], op) }),
    emit: (ctx, [x], out, _a, n) => ctx.node('Reshape', [x, ctx.i64(reshapeTargetForOnnx(n.outputs[0].shape, 'Reshape', n.inputs[0]))], [out]),
    grad: (g, n, dy) => [g.reshapeAs(dy, n.inputs[0])],
  },
  /** Reshape `a` to the run-time shape of `like` (Shape + Reshape): for symbolic dims in backward. */
  ReshapeAs: {
    infer: (ins) => ({ dtype: ins[0].dtype, shape: [...ins[1].shape] }),
    emit: (ctx, [x, like], out) => {
      const s = ctx.fresh('shape');
      ctx.node('Shape', [like], [s]);
      ctx.node('Reshape', [x, s], [out]);
    },
    grad: (g, n, dy, need) => [need[0] ? g.reshapeAs(dy, n.inputs[0]) : null, null],
  },
  /** Broadcast `a` to the run-time shape of `like` (Shape + Expand). */
  ExpandAs: {
    infer: (ins, _a, op) => ({ dtype: ins[0].dtype, shape: broadcastShapes(op, ins[0], ins[1]) }),
    emit: (ctx, [x, like], out) => {
      const s = ctx.fresh('shape');
      ctx.node('Shape', [like], [s]);
      ctx.node('Expand', [x, s], [out]);
    },
    grad: (g, n, dy, need) => [need[0] ? g.unbroadcast(dy, n.inputs[0]) : null, null],
  },
  Expand: {
    infer: (ins, a, op) => {
      const t = a.shape as Dim[];
      return { dtype: ins[0].dtype, shape: broadcastShapes(op, ins[0], { shape: t, name: 'target' }) };
    },
    emit: (ctx, [x], out, a, n) => {
      // a symbolic target dim must be the input's own (aligned) dim: Expand keeps it when asked for 1
      const t = a.shape as Dim[];
      const xs = n.inputs[0].shape;
      const off = t.length - xs.length;
      const onnx = t.map((d, i) => {
        if (typeof d === 'number') return d;
        if (xs[i - off] === d) return 1;
        throw new LabError('UNSUPPORTED', `Expand: symbolic target dim ${d} not present in input; use expandAs`, { where: n.where });
      });
      ctx.node('Expand', [x, ctx.i64(onnx)], [out]);
    },
    grad: (g, n, dy) => [g.unbroadcast(dy, n.inputs[0])],
  },
  Unsqueeze: {
    infer: (ins, a) => {
      const axes = [...(a.axes as number[])].sort((p, q) => p - q);
      const s: Dim[] = [...ins[0].shape];
      for (const ax of axes) s.splice(ax, 0, 1);
      return { dtype: ins[0].dtype, shape: s };
    },
    emit: (ctx, [x], out, a) => ctx.node('Unsqueeze', [x, ctx.i64(a.axes as number[])], [out]),
    grad: (g, n, dy) => [g.reshapeAs(dy, n.inputs[0])],
  },
  Transpose: {
    infer: (ins, a, op) => {
      const perm = a.perm as number[];
      if (perm.length !== ins[0].rank || [...perm].sort().some((p, i) => p !== i)) throw shapeError(op, `bad perm [${perm}]`, ins);
      return { dtype: ins[0].dtype, shape: perm.map((p) => ins[0].shape[p]) };
    },
    emit: simple('Transpose'),
    grad: (g, n, dy) => [g.transpose(dy, invertPerm(n.attrs.perm as number[]))],
  },
  Concat: {
    infer: (ins, a, op) => {
      const axis = normAxis(op, a.axis as number, ins[0].rank, ins);
      let total: Dim = 0;
      for (const t of ins) {
        if (t.rank !== ins[0].rank || t.shape.some((d, i) => i !== axis && d !== ins[0].shape[i]))
          throw shapeError(op, `shapes differ outside axis ${axis}`, ins);
        const d = t.shape[axis];
        if (typeof d !== 'number' || typeof total !== 'number') throw shapeError(op, 'concat along a symbolic dim', ins);
        total += d;
      }
      const shape = [...ins[0].shape];
      shape[axis] = total;
      return { dtype: ins[0].dtype, shape };
    },
    emit: (ctx, ins, out, a) => ctx.node('Concat', ins, [out], { axis: a.axis as number }),
    grad: (g, n, dy, need) => {
      const axis = normAxis('Concat', n.attrs.axis as number, dy.rank, [dy]);
      let start = 0;
      return n.inputs.map((t, i) => {
        const len = t.shape[axis] as number;
        const r = need[i] ? g.slice(dy, axis, start, start + len) : null;
        start += len;
        return r;
      });
    },
  },
  Slice: {
    infer: (ins, a, op) => {
      const x = ins[0];
      const axis = normAxis(op, a.axis as number, x.rank, ins);
      const d = x.shape[axis];
      const { start, end } = a as { start: number; end: number };
      if (typeof d !== 'number' || start < 0 || end > d || start >= end) throw shapeError(op, `slice [${start}, ${end}) of axis ${axis} (dim ${d})`, ins);
      const shape = [...x.shape];
      shape[axis] = end - start;
      return { dtype: x.dtype, shape };
    },
    emit: (ctx, [x], out, a) => ctx.node('Slice', [x, ctx.i64([a.start as number]), ctx.i64([a.end as number]), ctx.i64([a.axis as number])], [out]),
    grad: (g, n, dy) => {
      const x = n.inputs[0];
      const axis = normAxis('Slice', n.attrs.axis as number, x.rank, [x]);
      const d = x.shape[axis] as number;
      return [g.pad(dy, axis, n.attrs.start as number, d - (n.attrs.end as number))];
    },
  },
  /** Zero padding along one axis (the gradient of Slice). */
  Pad: {
    infer: (ins, a, op) => {
      const x = ins[0];
      const axis = normAxis(op, a.axis as number, x.rank, ins);
      const shape = [...x.shape];
      const d = shape[axis];
      if (typeof d !== 'number') throw shapeError(op, 'pad along a symbolic dim', ins);
      shape[axis] = d + (a.before as number) + (a.after as number);
      return { dtype: x.dtype, shape };
    },
    emit: (ctx, [x], out, a, n) => {
      const r = n.inputs[0].rank;
      const axis = normAxis('Pad', a.axis as number, r, n.inputs);
      const pads = new Array<number>(2 * r).fill(0);
      pads[axis] = a.before as number;
      pads[r + axis] = a.after as number;
      ctx.node('Pad', [x, ctx.i64(pads)], [out]);
    },
    grad: (g, n, dy) => {
      const x = n.inputs[0];
      const axis = normAxis('Pad', n.attrs.axis as number, x.rank, [x]);
      const b = n.attrs.before as number;
      return [g.slice(dy, axis, b, b + (x.shape[axis] as number))];
    },
  },
  // -- embeddings: rows of a table [V, D...] picked by int64 indices
  Gather: {
    infer: (ins, _a, op) => {
      const [table, idx] = ins;
      if (idx.dtype !== 'int64') throw shapeError(op, `indices must be int64, got ${idx.dtype}`, ins);
      return { dtype: table.dtype, shape: [...idx.shape, ...table.shape.slice(1)] };
    },
    emit: (ctx, ins, out) => ctx.node('Gather', ins, [out], { axis: 0 }),
    grad: (g, n, dy) => [g.apply('ScatterAddRows', [n.inputs[1], dy], { rows: n.inputs[0].shape }), null],
  },
  /** zeros[rows] with dy's rows added at the indices (ScatterND, reduction add: the Gather gradient). */
  ScatterAddRows: {
    infer: (ins, a) => ({ dtype: 'float32', shape: [...(a.rows as Dim[])] }),
    emit: (ctx, [idx, upd], out, a) => {
      const i2 = ctx.fresh('idx');
      const z = ctx.fresh('zeros');
      ctx.node('Unsqueeze', [idx, ctx.i64([-1])], [i2]);
      ctx.node('ConstantOfShape', [ctx.i64(a.rows as number[])], [z]);
      ctx.node('ScatterND', [z, i2, upd], [out], { reduction: 'add' });
    },
  },
  OneHot: {
    infer: (ins, a) => ({ dtype: 'float32', shape: [...ins[0].shape, a.depth as number] }),
    emit: (ctx, [idx], out, a) => {
      ctx.node('OneHot', [idx, ctx.i64([a.depth as number]), ctx.f32s([0, 1])], [out], { axis: -1 });
    },
  },

  // -- patch embedding: Conv2d with stride = kernel, no padding (ViT/CLIP), gradient by patch matmuls
  Conv: {
    infer: (ins, _a, op) => {
      const [x, w, b] = ins;
      requireFloat(op, ins);
      if (x.rank !== 4 || w.rank !== 4) throw shapeError(op, 'expects x [N,C,H,W] and w [D,C,k,k]', ins);
      const [, c, h, wd] = x.shape;
      const [d, c2, k, k2] = w.shape as number[];
      if (c !== c2 || k !== k2) throw shapeError(op, `channels ${c} vs ${c2} or non-square kernel`, ins);
      if (typeof h !== 'number' || typeof wd !== 'number' || h % k || wd % k) throw shapeError(op, `H, W must be multiples of the kernel ${k}`, ins);
      if (b && (b.rank !== 1 || b.shape[0] !== d)) throw shapeError(op, `bias must be [${d}]`, ins);
      return { dtype: 'float32', shape: [x.shape[0], d, h / k, wd / k] };
    },
    emit: (ctx, ins, out, _a, n) => {
      const k = n.inputs[1].shape[2] as number;
      ctx.node('Conv', ins, [out], { kernel_shape: [k, k], strides: [k, k] });
    },
    grad: (g, n, dy, need) => {
      const [x, w] = n.inputs;
      const [N, C, H, W] = x.shape as [Dim, number, number, number];
      const [D, , k] = w.shape as number[];
      const hp = H / k;
      const wp = W / k;
      const dy2 = g.reshape(g.transpose(dy, [0, 2, 3, 1]), [-1, D]); // [N·hp·wp, D]
      const res: (Tensor | null)[] = [null, null, null];
      if (need[1]) {
        const patches = g.reshape(g.transpose(g.reshape(x, [N, C, hp, k, wp, k]), [0, 2, 4, 1, 3, 5]), [-1, C * k * k]);
        res[1] = g.reshape(g.matmul(dy2, patches, { transA: true }), [D, C, k, k]);
      }
      if (need[0]) {
        const dp = g.matmul(dy2, g.reshape(w, [D, C * k * k])); // [N·hp·wp, C·k·k]
        res[0] = g.reshape(g.transpose(g.reshape(dp, [N, hp, wp, C, k, k]), [0, 3, 1, 4, 2, 5]), [N, C, H, W]);
      }
      if (n.inputs[2] && need[2]) res[2] = g.reduceSum(dy, [0, 2, 3], false);
      return res;
    },
  },
};

export function opDef(op: string, where: string): OpDef {
  const def = OPS[op];
  if (!def) throw new LabError('UNSUPPORTED', `unknown op '${op}' (built at ${where}); known: ${Object.keys(OPS).join(', ')}`, { op, where });
  return def;
}
