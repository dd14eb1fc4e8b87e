import { LabError } from '../errors.js';

/**
 * The IR: symbolic tensors with a dtype and a shape whose dims are numbers or symbol names ('B' for a
 * batch size known only at run time). Every tensor is made by one node of the op table (ops.ts) or is a
 * graph input, a parameter or a constant. Nodes remember where in the caller's code they were built, so
 * a shape error names the line that made the bad tensor.
 */
export type DType = 'float32' | 'int64' | 'int32' | 'bool';
export type Dim = number | string;
export type Shape = readonly Dim[];
export type Attrs = Record<string, unknown>;
export type TensorKind = 'input' | 'param' | 'const' | 'op' | 'dropout';

export interface Node {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  readonly attrs: Attrs;
  readonly outputs: Tensor[];
  /** First stack frame outside engine/graph: the caller's line that built this node. */
  readonly where: string;
}

export class Tensor {
  constructor(
    readonly id: number,
    readonly name: string,
    readonly dtype: DType,
    readonly shape: Shape,
    readonly kind: TensorKind,
    /** The node that computes it (kind 'op'), or null for inputs, params and constants. */
    readonly node: Node | null,
  ) {}
  get rank(): number {
    return this.shape.length;
  }
  toString(): string {
    return `${this.name}:${this.dtype}[${this.shape.join(',')}]`;
  }
}

/** A named parameter: its initial value, and whether the optimizer updates it. */
export interface Param {
  readonly name: string;
  readonly tensor: Tensor;
  readonly shape: number[];
  readonly init: Float32Array;
  readonly trainable: boolean;
  /** AdamW weight decay applies (false for biases and norms by convention). */
  readonly decay: boolean;
}

export function fmtShape(s: Shape): string {
  return `[${s.join(', ')}]`;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function isStatic(shape: Shape): shape is readonly number[] {
  return shape.every((d) => typeof d === 'number');
}

/** The caller's line: the first stack frame that is not in this folder nor in node internals. */
export function callerLine(): string {
  const stack = new Error().stack?.split('\n').slice(1) ?? [];
  const frame = stack.find((l) => !/engine[\\/]graph[\\/](ir|ops|builder|autodiff|nn|optim)\.[tj]s/.test(l) && !l.includes('node:'));
  return (frame ?? stack[0] ?? '').trim().replace(/^at /, '');
}

/** Anything with a name and a shape (a tensor, or a target shape being checked). */
export interface ShapeLike {
  readonly name: string;
  readonly shape: Shape;
}

export function shapeError(op: string, message: string, inputs: readonly ShapeLike[], where = callerLine()): LabError {
  const shapes = inputs.map((t) => `${t.name}${fmtShape(t.shape)}`).join(', ');
  return new LabError('SHAPE_MISMATCH', `${op}: ${message} (inputs ${shapes}; built at ${where})`, {
    op,
    shapes: inputs.map((t) => [...t.shape]),
    where,
  });
}

/** Numpy broadcasting of two shapes; symbolic dims broadcast against 1 or the same symbol. */
export function broadcastShapes(op: string, a: ShapeLike, b: ShapeLike): Dim[] {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const n = Math.max(ra, rb);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const da = i - (n - ra) >= 0 ? a.shape[i - (n - ra)] : 1;
    const db = i - (n - rb) >= 0 ? b.shape[i - (n - rb)] : 1;
    if (da === db || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else throw shapeError(op, `dims ${da} and ${db} do not broadcast at axis ${i}`, [a, b]);
  }
  return out;
}

export function normAxis(op: string, axis: number, rank: number, inputs: readonly ShapeLike[]): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw shapeError(op, `axis ${axis} out of range for rank ${rank}`, inputs);
  return a;
}
