import os from 'node:os';
import { LabError } from '../errors.js';
import type { ConstValues, GraphBuilder } from './builder.js';
import { type Attrs, type Dim, type Shape, type Tensor, numel } from './ir.js';
import { ATTR, ONNX_DTYPE, encodeModel } from './onnx-proto.js';
import { type EmitCtx, opDef } from './ops.js';

export const OPSET = 17;
/** Total initializer bytes above which weights go to an external data file (a ModelProto over 2 GB does not parse). */
export const EXTERNAL_DATA_THRESHOLD = 1.5 * 2 ** 30;

export interface EmitOptions {
  /** Graph outputs by name. */
  outputs: Record<string, Tensor>;
  /** Params fed as graph inputs (the trainable ones in a train step); every other reachable param is an initializer. */
  paramInputs?: ReadonlySet<string>;
  /** Current values for params emitted as initializers (default: their initial values). */
  paramValues?: ReadonlyMap<string, Float32Array>;
  /** Allow com.microsoft fused ops (default true; ORT CPU and CUDA both have them). */
  contrib?: boolean;
  externalDataThreshold?: number;
  /** File name written in the model for external weights (next to the model file). */
  externalDataName?: string;
  graphName?: string;
}

export interface EmittedModel {
  bytes: Uint8Array;
  /** Weights stored outside the ModelProto, to write next to the model or pass as the `externalData` session option. */
  externalData?: { path: string; data: Uint8Array };
  inputs: { name: string; dtype: string; shape: Dim[] }[];
  outputs: string[];
  nodeCount: number;
}

type OnnxAttr = Record<string, unknown>;

function attrProto(name: string, v: unknown): OnnxAttr {
  if (typeof v === 'number') return Number.isInteger(v) && name !== 'alpha' && name !== 'epsilon' ? { name, type: ATTR.INT, i: v } : { name, type: ATTR.FLOAT, f: v };
  if (typeof v === 'string') return { name, type: ATTR.STRING, s: Buffer.from(v) };
  if (Array.isArray(v) && v.every((x) => Number.isInteger(x))) return { name, type: ATTR.INTS, ints: v };
  if (Array.isArray(v)) return { name, type: ATTR.FLOATS, floats: v };
  throw new LabError('INTERNAL', `attribute ${name}: unsupported value ${JSON.stringify(v)}`);
}

function valueInfo(name: string, dtype: keyof typeof ONNX_DTYPE, shape: Shape) {
  return {
    name,
    type: { tensorType: { elemType: ONNX_DTYPE[dtype], shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

function rawBytes(v: ConstValues): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** Compile the part of the builder's graph that the outputs need into an ONNX ModelProto (opset 17). */
export function emitOnnx(g: GraphBuilder, opts: EmitOptions): EmittedModel {
  if (os.endianness() !== 'LE') throw new LabError('UNSUPPORTED', 'ONNX raw_data is little-endian; big-endian hosts are not supported');
  const contrib = opts.contrib ?? true;
  const paramInputs = opts.paramInputs ?? new Set<string>();
  const onnxName = (t: Tensor) => (t.kind === 'op' ? `%${t.name}` : t.name);

  // reachable nodes from the outputs, in builder (topological) order
  const live = new Set<Tensor>();
  const stack = Object.values(opts.outputs);
  while (stack.length) {
    const t = stack.pop()!;
    if (live.has(t)) continue;
    live.add(t);
    if (t.node) stack.push(...t.node.inputs);
  }

  const nodes: Record<string, unknown>[] = [];
  const initializers: Record<string, unknown>[] = [];
  const constCache = new Map<string, string>();
  let fresh = 0;
  let usesContrib = false;
  const addInit = (name: string, dtype: keyof typeof ONNX_DTYPE, dims: number[], data: Uint8Array) =>
    initializers.push({ name, dataType: ONNX_DTYPE[dtype], dims, rawData: data });
  const ctx: EmitCtx = {
    contrib,
    node(opType, inputs, outputs, attrs: Attrs = {}, domain) {
      if (domain) usesContrib = true;
      const attribute = Object.entries(attrs).filter(([, v]) => v !== undefined).map(([k, v]) => attrProto(k, v));
      nodes.push({ opType, input: inputs, output: outputs, name: `${opType}_${nodes.length}`, attribute, ...(domain ? { domain } : {}) });
    },
    i64(values) {
      const key = `i64:${values.join(',')}`;
      let name = constCache.get(key);
      if (!name) {
        name = `#i64_${constCache.size}`;
        addInit(name, 'int64', [values.length], rawBytes(BigInt64Array.from(values.map(BigInt))));
        constCache.set(key, name);
      }
      return name;
    },
    f32(value) {
      const key = `f32:${value}`;
      let name = constCache.get(key);
      if (!name) {
        name = `#f32_${constCache.size}`;
        addInit(name, 'float32', [], rawBytes(Float32Array.of(value)));
        constCache.set(key, name);
      }
      return name;
    },
    f32s(values) {
      const key = `f32s:${values.join(',')}`;
      let name = constCache.get(key);
      if (!name) {
        name = `#f32s_${constCache.size}`;
        addInit(name, 'float32', [values.length], rawBytes(Float32Array.from(values)));
        constCache.set(key, name);
      }
      return name;
    },
    fresh: (hint) => `%${hint}_${fresh++}`,
  };

  // graph inputs: data inputs, dropout masks and fed params that the outputs use
  const inputs: EmittedModel['inputs'] = [];
  for (const t of g.inputs) if (live.has(t)) inputs.push({ name: t.name, dtype: t.dtype, shape: [...t.shape] });
  for (const d of g.dropouts) if (live.has(d.tensor)) inputs.push({ name: d.name, dtype: 'float32', shape: [...d.tensor.shape] });
  const bigParams: { name: string; data: Uint8Array; dims: number[] }[] = [];
  for (const p of g.params) {
    if (!live.has(p.tensor)) continue;
    if (paramInputs.has(p.name)) inputs.push({ name: p.name, dtype: 'float32', shape: p.shape });
    else {
      const v = opts.paramValues?.get(p.name) ?? p.init;
      if (v.length !== numel(p.shape)) throw new LabError('SHAPE_MISMATCH', `param ${p.name}: ${v.length} values for [${p.shape}]`, { name: p.name });
      bigParams.push({ name: p.name, data: rawBytes(v), dims: p.shape });
    }
  }
  for (const c of g.consts) if (live.has(c.tensor)) addInit(c.tensor.name, c.tensor.dtype, c.tensor.shape as number[], rawBytes(c.values));

  // frozen weights: inline, or in one external file when they are too big for a 2 GB ModelProto
  const total = bigParams.reduce((s, p) => s + p.data.byteLength, 0);
  let externalData: EmittedModel['externalData'];
  if (total > (opts.externalDataThreshold ?? EXTERNAL_DATA_THRESHOLD)) {
    const path = opts.externalDataName ?? 'weights.bin';
    const data = new Uint8Array(total);
    let off = 0;
    for (const p of bigParams) {
      data.set(p.data, off);
      initializers.push({
        name: p.name, dataType: ONNX_DTYPE.float32, dims: p.dims, dataLocation: 1,
        externalData: [{ key: 'location', value: path }, { key: 'offset', value: String(off) }, { key: 'length', value: String(p.data.byteLength) }],
      });
      off += p.data.byteLength;
    }
    externalData = { path, data };
  } else for (const p of bigParams) addInit(p.name, 'float32', p.dims, p.data);

  for (const n of g.nodes) {
    if (!live.has(n.outputs[0])) continue;
    opDef(n.op, n.where).emit(ctx, n.inputs.map(onnxName), onnxName(n.outputs[0]), n.attrs, n);
  }

  const outputs: Record<string, unknown>[] = [];
  for (const [name, t] of Object.entries(opts.outputs)) {
    ctx.node('Identity', [onnxName(t)], [name]);
    outputs.push(valueInfo(name, t.dtype, t.shape));
  }

  const model = {
    irVersion: 8,
    producerName: 'vla-ad-lab graph',
    producerVersion: '1',
    opsetImport: [{ domain: '', version: OPSET }, ...(usesContrib ? [{ domain: 'com.microsoft', version: 1 }] : [])],
    graph: {
      name: opts.graphName ?? 'graph',
      node: nodes,
      initializer: initializers,
      input: inputs.map((i) => valueInfo(i.name, i.dtype as keyof typeof ONNX_DTYPE, i.shape)),
      output: outputs,
    },
  };
  return { bytes: encodeModel(model), externalData, inputs, outputs: Object.keys(opts.outputs), nodeCount: nodes.length };
}
