import { z } from 'zod';
import { LabError, parseOr } from '../errors.js';

/**
 * json-numpy's wire form (the `json_numpy` package that OpenVLA's vla-scripts/deploy.py patches in):
 * an array is {"__numpy__": base64 of its C-order bytes, "dtype": numpy dtype descr like "|u1" or "<f4",
 * "shape": [...]}. Little-endian only (what x86/ARM numpy writes).
 */
export type NumericArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array | BigInt64Array | BigUint64Array;

const CTORS: Record<string, { new (buf: ArrayBuffer): NumericArray; BYTES_PER_ELEMENT: number }> = {
  u1: Uint8Array,
  i1: Int8Array,
  b1: Uint8Array,
  u2: Uint16Array,
  i2: Int16Array,
  u4: Uint32Array,
  i4: Int32Array,
  f4: Float32Array,
  f8: Float64Array,
  i8: BigInt64Array,
  u8: BigUint64Array,
};

export function numpyDescr(a: NumericArray): string {
  if (a instanceof Uint8Array) return '|u1';
  if (a instanceof Int8Array) return '|i1';
  if (a instanceof Uint16Array) return '<u2';
  if (a instanceof Int16Array) return '<i2';
  if (a instanceof Uint32Array) return '<u4';
  if (a instanceof Int32Array) return '<i4';
  if (a instanceof Float32Array) return '<f4';
  if (a instanceof Float64Array) return '<f8';
  if (a instanceof BigInt64Array) return '<i8';
  return '<u8';
}

/** Typed array from raw little-endian bytes with a numpy descr; null if the descr is unsupported. */
export function fromBytes(bytes: Uint8Array, descr: string): NumericArray | null {
  const m = /^([<|=])([a-z]\d)$/.exec(descr);
  const ctor = m ? CTORS[m[2]] : undefined;
  if (!ctor || bytes.length % ctor.BYTES_PER_ELEMENT !== 0) return null;
  const copy = new ArrayBuffer(bytes.length); // aligned copy
  new Uint8Array(copy).set(bytes);
  return new ctor(copy);
}

export function asNumbers(a: NumericArray): ArrayLike<number> {
  return a instanceof BigInt64Array || a instanceof BigUint64Array ? Array.from(a, Number) : a;
}

export function encodeJsonNumpy(data: NumericArray, shape: number[]): { __numpy__: string; dtype: string; shape: number[] } {
  return { __numpy__: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64'), dtype: numpyDescr(data), shape };
}

export const JsonNumpy = z.object({ __numpy__: z.string(), dtype: z.string(), shape: z.array(z.number().int().nonnegative()) });

/** Decode a json-numpy object; `field` names it in errors (REMOTE_ERROR: it came from a server). */
export function decodeJsonNumpy(value: unknown, source: string, field: string): { data: NumericArray; shape: number[] } {
  // details: the wire field in `array`, the field inside the json-numpy object in `field`.
  const a = parseOr(JsonNumpy, value, `${source}: ${field} is not a json-numpy array`, 'REMOTE_ERROR', { source, array: field });
  const data = fromBytes(Buffer.from(a.__numpy__, 'base64'), a.dtype);
  if (!data) throw new LabError('REMOTE_ERROR', `${source}: ${field} has unsupported dtype ${a.dtype} or a byte count that does not fit it`, { source, field, dtype: a.dtype });
  const n = a.shape.reduce((x, y) => x * y, 1);
  if (n !== data.length) throw new LabError('REMOTE_ERROR', `${source}: ${field} has ${data.length} elements, its shape [${a.shape.join(', ')}] says ${n}`, { source, field });
  return { data, shape: a.shape };
}
