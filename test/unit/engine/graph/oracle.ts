import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import type { GraphBuilder } from '../../../../electron/engine/graph/builder.js';
import type { Dim, Tensor } from '../../../../electron/engine/graph/ir.js';

/** Helpers for the parity tests: serialize graphs and data for test/python/graph_oracle.py and run it. */
export const PYTHON = '/usr/bin/python3';
export const ORACLE = fileURLToPath(new URL('../../../python/graph_oracle.py', import.meta.url));

export type Arr = Float32Array | BigInt64Array | Int32Array | Uint8Array;
export interface Enc { dtype: string; shape: number[]; data: string }

export function enc(data: Arr, shape: number[]): Enc {
  const dtype = data instanceof Float32Array ? 'float32' : data instanceof BigInt64Array ? 'int64' : data instanceof Int32Array ? 'int32' : 'bool';
  return { dtype, shape, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64') };
}

export function dec(e: Enc): Float32Array {
  const b = Buffer.from(e.data, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function resolveDim(d: Dim, b: Record<string, number>): number {
  if (typeof d === 'number') return d;
  return d.split('*').reduce((p, s) => p * (/^\d+$/.test(s) ? Number(s) : b[s]), 1);
}

/** A builder graph as the oracle's `graph` case: params, consts, given inputs, every node in order. */
export function graphCase(g: GraphBuilder, output: Tensor, inputs: Record<string, { data: Arr; shape: number[] }>, cot: Float32Array, bind: Record<string, number> = {}) {
  const name = (t: Tensor) => (t.kind === 'op' ? `%${t.name}` : t.name);
  return {
    kind: 'graph',
    inputs: Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, enc(v.data, v.shape)])),
    consts: Object.fromEntries(g.consts.map((c) => [c.tensor.name, enc(c.values, c.tensor.shape as number[])])),
    params: Object.fromEntries(g.params.map((p) => [p.name, { ...enc(p.init, p.shape), trainable: p.trainable }])),
    nodes: g.nodes.map((n) => ({ op: n.op, inputs: n.inputs.map(name), attrs: n.attrs, output: name(n.outputs[0]), shape: n.outputs[0].shape.map((d) => resolveDim(d, bind)) })),
    output: name(output),
    cotangent: enc(cot, output.shape.map((d) => resolveDim(d, bind))),
  };
}

export interface OracleResult {
  output?: Enc;
  grads?: Record<string, Enc>;
  params?: Record<string, Enc>;
  losses?: number[];
}

/** Runs the oracle on many cases in one python process. Fails loudly (never skips) when python3/torch is missing. */
export function runOracle(cases: unknown[]): OracleResult[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'graph-oracle-'));
  const spec = path.join(dir, 'spec.json');
  writeFileSync(spec, JSON.stringify({ cases }));
  const r = spawnSync(PYTHON, [ORACLE, spec], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.error) throw new Error(`gradient parity needs ${PYTHON} with torch 1.13 (Debian python3-torch, python3-numpy): ${r.error.message}`);
  if (r.status !== 0) throw new Error(`graph_oracle.py failed (status ${r.status}); is python3-torch installed? stderr:\n${r.stderr.slice(-3000)}`);
  return (JSON.parse(r.stdout) as { results: OracleResult[] }).results;
}

/** Norm-wise relative error ‖a−b‖ / max(‖b‖, tiny). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return a.length === b.length ? m : Infinity;
}

export function ortFeed(data: Arr, shape: number[]): ort.Tensor {
  const type = data instanceof Float32Array ? 'float32' : data instanceof BigInt64Array ? 'int64' : data instanceof Int32Array ? 'int32' : 'bool';
  return new ort.Tensor(type, data, shape);
}
