import { LabError } from '../errors.js';
import { type Attrs, type DType, type Dim, type Node, type Param, type Shape, Tensor, callerLine, fmtShape, numel, shapeError } from './ir.js';
import { opDef } from './ops.js';

export interface ParamOptions {
  /** Updated by the optimizer (default true). Frozen params become initializers and get no gradient. */
  trainable?: boolean;
  /** AdamW weight decay applies (default: true for rank ≥ 2, false for biases and norm scales). */
  decay?: boolean;
}

export type ConstValues = Float32Array | BigInt64Array | Int32Array | Uint8Array;

export interface ConstInfo {
  tensor: Tensor;
  values: ConstValues;
}

/** A dropout site: the runtime feeds a mask (0 or 1/(1−p)) drawn from the seeded Rng at each step. */
export interface DropoutSite {
  name: string;
  tensor: Tensor;
  p: number;
}

/**
 * Builds a graph: `input`, `param`, `constant`, then ops. Every op goes through `apply`, which looks the
 * op up in the table, infers the output shape (throwing SHAPE_MISMATCH with the caller's line) and
 * records the node. `training: false` makes dropout the identity (inference graphs).
 */
export class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly inputs: Tensor[] = [];
  readonly params: Param[] = [];
  readonly consts: ConstInfo[] = [];
  readonly dropouts: DropoutSite[] = [];
  readonly training: boolean;
  private nextId = 0;
  private readonly names = new Set<string>();
  private readonly scalarCache = new Map<number, Tensor>();

  constructor(opts: { training?: boolean } = {}) {
    this.training = opts.training ?? true;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new LabError('INVALID_INPUT', `graph name '${name}' is used twice`, { name, where: callerLine() });
    this.names.add(name);
    return name;
  }

  input(name: string, dtype: DType, shape: Shape): Tensor {
    const t = new Tensor(this.nextId++, this.claim(name), dtype, [...shape], 'input', null);
    this.inputs.push(t);
    return t;
  }

  /** A named parameter with its initial value (a Float32Array of the shape's size, or a function of the flat index). */
  param(name: string, shape: number[], init: Float32Array | ((i: number) => number), opts: ParamOptions = {}): Tensor {
    const n = numel(shape);
    let values: Float32Array;
    if (typeof init === 'function') {
      values = new Float32Array(n);
      for (let i = 0; i < n; i++) values[i] = init(i);
    } else values = init;
    if (values.length !== n) throw new LabError('SHAPE_MISMATCH', `param ${name}: ${values.length} initial values for shape ${fmtShape(shape)} (${n})`, { name, shape, where: callerLine() });
    const t = new Tensor(this.nextId++, this.claim(name), 'float32', [...shape], 'param', null);
    this.params.push({ name, tensor: t, shape: [...shape], init: values, trainable: opts.trainable ?? true, decay: opts.decay ?? shape.length >= 2 });
    return t;
  }

  constant(values: ConstValues | number[], shape: number[], dtype: DType = 'float32', name?: string): Tensor {
    const v: ConstValues = Array.isArray(values)
      ? dtype === 'float32' ? Float32Array.from(values) : dtype === 'int64' ? BigInt64Array.from(values.map(BigInt)) : dtype === 'int32' ? Int32Array.from(values) : Uint8Array.from(values)
      : values;
    if (v.length !== numel(shape)) throw new LabError('SHAPE_MISMATCH', `constant: ${v.length} values for shape ${fmtShape(shape)}`, { where: callerLine() });
    const t = new Tensor(this.nextId++, this.claim(name ?? `const_${this.nextId}`), dtype, [...shape], 'const', null);
    this.consts.push({ tensor: t, values: v });
    return t;
  }

  /** A float32 scalar constant (rank 0, broadcasts everywhere); deduplicated by value. */
  scalar(value: number): Tensor {
    let t = this.scalarCache.get(value);
    if (!t) {
      t = this.constant([value], [], 'float32');
      this.scalarCache.set(value, t);
    }
    return t;
  }

  /** The single entry point for ops: table lookup, shape inference, node recording. */
  apply(op: string, inputs: Tensor[], attrs: Attrs = {}): Tensor {
    const where = callerLine();
    const def = opDef(op, where);
    const out: { dtype: DType; shape: Dim[] } = def.infer(inputs, attrs, op);
    const outputs: Tensor[] = [];
    const node: Node = { op, inputs, attrs, outputs, where };
    outputs.push(new Tensor(this.nextId, `${op.toLowerCase()}_${this.nextId++}`, out.dtype, out.shape, 'op', node));
    this.nodes.push(node);
    return outputs[0];
  }

  /** Generic form: `g.op('Tanh', [x])`; an unknown op name is an UNSUPPORTED error. */
  op(name: string, inputs: Tensor[], attrs: Attrs = {}): Tensor {
    return this.apply(name, inputs, attrs);
  }

  private lift(x: Tensor | number): Tensor {
    return typeof x === 'number' ? this.scalar(x) : x;
  }

  // elementwise
  add(a: Tensor | number, b: Tensor | number) { return this.apply('Add', [this.lift(a), this.lift(b)]); }
  sub(a: Tensor | number, b: Tensor | number) { return this.apply('Sub', [this.lift(a), this.lift(b)]); }
  mul(a: Tensor | number, b: Tensor | number) { return this.apply('Mul', [this.lift(a), this.lift(b)]); }
  div(a: Tensor | number, b: Tensor | number) { return this.apply('Div', [this.lift(a), this.lift(b)]); }
  pow(a: Tensor | number, b: Tensor | number) { return this.apply('Pow', [this.lift(a), this.lift(b)]); }
  min(a: Tensor | number, b: Tensor | number) { return this.apply('Min', [this.lift(a), this.lift(b)]); }
  max(a: Tensor | number, b: Tensor | number) { return this.apply('Max', [this.lift(a), this.lift(b)]); }
  equal(a: Tensor, b: Tensor | number) { return this.apply('Equal', [a, this.lift(b)]); }
  greater(a: Tensor, b: Tensor | number) { return this.apply('Greater', [a, this.lift(b)]); }
  neg(x: Tensor) { return this.apply('Neg', [x]); }
  exp(x: Tensor) { return this.apply('Exp', [x]); }
  log(x: Tensor) { return this.apply('Log', [x]); }
  sqrt(x: Tensor) { return this.apply('Sqrt', [x]); }
  reciprocal(x: Tensor) { return this.apply('Reciprocal', [x]); }
  tanh(x: Tensor) { return this.apply('Tanh', [x]); }
  sigmoid(x: Tensor) { return this.apply('Sigmoid', [x]); }
  relu(x: Tensor) { return this.apply('Relu', [x]); }
  erf(x: Tensor) { return this.apply('Erf', [x]); }
  /** GELU with erf (exact). */
  gelu(x: Tensor) { return this.apply('Gelu', [x]); }
  /** CLIP's QuickGELU, x·σ(1.702x). */
  quickGelu(x: Tensor) { return this.apply('QuickGelu', [x]); }
  where(cond: Tensor, a: Tensor | number, b: Tensor | number) { return this.apply('Where', [cond, this.lift(a), this.lift(b)]); }
  cast(x: Tensor, to: DType) { return x.dtype === to ? x : this.apply('Cast', [x], { to }); }

  // products and normalizations
  /** Batched matmul with numpy broadcasting of batch dims; transA/transB transpose the last two dims. */
  matmul(a: Tensor, b: Tensor, opts: { transA?: boolean; transB?: boolean } = {}) {
    return this.apply('MatMul', [a, b], { transA: !!opts.transA, transB: !!opts.transB });
  }
  /** ONNX Gemm semantics as a composition: alpha·op(A)·op(B) + beta·C (C broadcast). */
  gemm(a: Tensor, b: Tensor, c?: Tensor, opts: { transA?: boolean; transB?: boolean; alpha?: number; beta?: number } = {}) {
    let y = this.matmul(a, b, opts);
    if (opts.alpha !== undefined && opts.alpha !== 1) y = this.mul(y, opts.alpha);
    if (!c) return y;
    return this.add(y, opts.beta !== undefined && opts.beta !== 1 ? this.mul(c, opts.beta) : c);
  }
  softmax(x: Tensor, axis = -1) { return this.apply('Softmax', [x], { axis }); }
  logSoftmax(x: Tensor, axis = -1) { return this.apply('LogSoftmax', [x], { axis }); }
  layerNorm(x: Tensor, scale: Tensor, bias: Tensor, epsilon = 1e-5) { return this.apply('LayerNorm', [x, scale, bias], { epsilon }); }

  // reductions
  reduceSum(x: Tensor, axes?: number[], keepdims = false) { return this.apply('ReduceSum', [x], { axes, keepdims }); }
  reduceMean(x: Tensor, axes?: number[], keepdims = false) { return this.apply('ReduceMean', [x], { axes, keepdims }); }
  reduceMax(x: Tensor, axes?: number[], keepdims = false) { return this.apply('ReduceMax', [x], { axes, keepdims }); }

  // shapes
  reshape(x: Tensor, shape: Dim[]) { return this.apply('Reshape', [x], { shape }); }
  reshapeAs(x: Tensor, like: Tensor) { return this.apply('ReshapeAs', [x, like]); }
  expand(x: Tensor, shape: Dim[]) { return this.apply('Expand', [x], { shape }); }
  expandAs(x: Tensor, like: Tensor) { return this.apply('ExpandAs', [x, like]); }
  unsqueeze(x: Tensor, axes: number[]) { return this.apply('Unsqueeze', [x], { axes }); }
  transpose(x: Tensor, perm: number[]) { return this.apply('Transpose', [x], { perm }); }
  concat(xs: Tensor[], axis: number) { return xs.length === 1 ? xs[0] : this.apply('Concat', xs, { axis }); }
  slice(x: Tensor, axis: number, start: number, end: number) { return this.apply('Slice', [x], { axis, start, end }); }
  pad(x: Tensor, axis: number, before: number, after: number) { return this.apply('Pad', [x], { axis, before, after }); }
  /** Split along `axis` into pieces of the given sizes (slices; their gradients pad back). */
  split(x: Tensor, axis: number, sizes: number[]): Tensor[] {
    const ax = axis < 0 ? axis + x.rank : axis;
    if (sizes.reduce((p, q) => p + q, 0) !== x.shape[ax]) throw shapeError('Split', `sizes [${sizes}] do not sum to dim ${x.shape[ax]}`, [x]);
    let s = 0;
    return sizes.map((n) => this.slice(x, ax, s, (s += n)));
  }
  /** Rows of `table` [V, D] at int64 `indices` (embedding lookup). */
  gather(table: Tensor, indices: Tensor) { return this.apply('Gather', [table, indices]); }
  oneHot(indices: Tensor, depth: number) { return this.apply('OneHot', [indices], { depth }); }
  /** Conv2d with stride = kernel and no padding (patch embedding); x [N,C,H,W], w [D,C,k,k], b [D]. */
  conv2d(x: Tensor, w: Tensor, b?: Tensor) { return this.apply('Conv', b ? [x, w, b] : [x, w]); }

  /**
   * Inverted dropout: x·mask, where mask (0 or 1/(1−p)) is a graph input that the runtime draws from its
   * seeded Rng each step. Computing the mask in JS keeps runs deterministic and identical across EPs.
   */
  dropout(x: Tensor, p: number, name?: string): Tensor {
    if (!this.training || p === 0) return x;
    if (!(p > 0 && p < 1)) throw new LabError('INVALID_INPUT', `dropout p must be in [0, 1), got ${p}`, { p, where: callerLine() });
    const mask = new Tensor(this.nextId++, this.claim(`dropout_mask:${name ?? this.dropouts.length}`), 'float32', [...x.shape], 'dropout', null);
    this.dropouts.push({ name: mask.name, tensor: mask, p });
    return this.mul(x, mask);
  }

  /** Sum `dy` (a broadcast result) back to the shape of `like`: leading axes dropped, size-1 axes kept. */
  unbroadcast(dy: Tensor, like: Tensor): Tensor {
    let r = dy;
    const extra = dy.rank - like.rank;
    if (extra > 0) r = this.reduceSum(r, [...Array(extra).keys()], false);
    const axes = like.shape.flatMap((d, i) => (d === 1 && r.shape[i] !== 1 ? [i] : []));
    if (axes.length) r = this.reduceSum(r, axes, true);
    return r;
  }

  getParam(name: string): Param {
    const p = this.params.find((q) => q.name === name);
    if (!p) throw new LabError('NOT_FOUND', `no param '${name}'`, { name });
    return p;
  }
}
