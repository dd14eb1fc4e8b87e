import { decode } from '@msgpack/msgpack';
import { LabError } from '../errors.js';
import { asNumbers, fromBytes, numpyDescr, type NumericArray } from './json-numpy.js';

/**
 * openpi's msgpack-numpy (openpi-client/msgpack_numpy.py): an ndarray travels as a map with *bytes* keys
 * {b"__ndarray__": True, b"data": raw bytes, b"dtype": dtype.str, b"shape": shape}, a numpy scalar as
 * {b"__npgeneric__": True, b"data": item, b"dtype": ...}. Python's msgpack packs bytes as the bin type,
 * so those keys must be bin on the wire: @msgpack/msgpack's encoder only writes string keys, hence the
 * small encoder below. Decoding uses @msgpack/msgpack with bin keys turned into strings.
 */
export class NdArray {
  constructor(
    readonly data: NumericArray,
    readonly shape: number[],
  ) {}
}

const utf8 = new TextEncoder();

class Writer {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  length = 0;
  private ensure(n: number) {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number) { this.ensure(1); this.view.setUint8(this.length, v); this.length += 1; }
  u16(v: number) { this.ensure(2); this.view.setUint16(this.length, v); this.length += 2; }
  u32(v: number) { this.ensure(4); this.view.setUint32(this.length, v); this.length += 4; }
  i64(v: number) { this.ensure(8); this.view.setBigInt64(this.length, BigInt(v)); this.length += 8; }
  f64(v: number) { this.ensure(8); this.view.setFloat64(this.length, v); this.length += 8; }
  bytes(b: Uint8Array) { this.ensure(b.length); this.buf.set(b, this.length); this.length += b.length; }
  result() { return this.buf.slice(0, this.length); }
}

function writeStr(w: Writer, s: string) {
  const b = utf8.encode(s);
  if (b.length < 32) w.u8(0xa0 | b.length);
  else if (b.length < 0x100) { w.u8(0xd9); w.u8(b.length); }
  else if (b.length < 0x10000) { w.u8(0xda); w.u16(b.length); }
  else { w.u8(0xdb); w.u32(b.length); }
  w.bytes(b);
}

function writeBin(w: Writer, b: Uint8Array) {
  if (b.length < 0x100) { w.u8(0xc4); w.u8(b.length); }
  else if (b.length < 0x10000) { w.u8(0xc5); w.u16(b.length); }
  else { w.u8(0xc6); w.u32(b.length); }
  w.bytes(b);
}

function writeMapHeader(w: Writer, n: number) {
  if (n < 16) w.u8(0x80 | n);
  else if (n < 0x10000) { w.u8(0xde); w.u16(n); }
  else { w.u8(0xdf); w.u32(n); }
}

function writeArrayHeader(w: Writer, n: number) {
  if (n < 16) w.u8(0x90 | n);
  else if (n < 0x10000) { w.u8(0xdc); w.u16(n); }
  else { w.u8(0xdd); w.u32(n); }
}

function writeNumber(w: Writer, v: number) {
  if (Number.isSafeInteger(v)) {
    if (v >= 0 && v < 128) w.u8(v);
    else if (v < 0 && v >= -32) w.u8(0x100 + v);
    else { w.u8(0xd3); w.i64(v); }
  } else {
    w.u8(0xcb);
    w.f64(v);
  }
}

const binKey = (s: string) => utf8.encode(s);

function write(w: Writer, v: unknown): void {
  if (v === null || v === undefined) w.u8(0xc0);
  else if (typeof v === 'boolean') w.u8(v ? 0xc3 : 0xc2);
  else if (typeof v === 'number') writeNumber(w, v);
  else if (typeof v === 'string') writeStr(w, v);
  else if (v instanceof NdArray) {
    const d = v.data;
    writeMapHeader(w, 4);
    writeBin(w, binKey('__ndarray__'));
    w.u8(0xc3);
    writeBin(w, binKey('data'));
    writeBin(w, new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    writeBin(w, binKey('dtype'));
    writeStr(w, numpyDescr(d));
    writeBin(w, binKey('shape'));
    writeArrayHeader(w, v.shape.length);
    for (const s of v.shape) writeNumber(w, s);
  } else if (v instanceof Uint8Array) writeBin(w, v);
  else if (Array.isArray(v)) {
    writeArrayHeader(w, v.length);
    for (const x of v) write(w, x);
  } else if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    writeMapHeader(w, entries.length);
    for (const [k, x] of entries) {
      writeStr(w, k);
      write(w, x);
    }
  } else throw new Error(`msgpack-numpy: cannot encode ${typeof v}`);
}

export function packb(value: unknown): Uint8Array {
  const w = new Writer();
  write(w, value);
  return w.result();
}

const utf8d = new TextDecoder();
const keyConverter = (key: unknown): string | number => {
  if (typeof key === 'string' || typeof key === 'number') return key;
  if (key instanceof Uint8Array) return utf8d.decode(key);
  throw new Error(`unsupported map key type ${typeof key}`);
};

function revive(v: unknown, source: string): unknown {
  if (Array.isArray(v)) return v.map((x) => revive(x, source));
  if (v && typeof v === 'object' && !(v instanceof Uint8Array)) {
    const o = v as Record<string, unknown>;
    if (o.__ndarray__ === true) {
      const shape = o.shape;
      if (!(o.data instanceof Uint8Array) || typeof o.dtype !== 'string' || !Array.isArray(shape)) {
        throw new LabError('REMOTE_ERROR', `${source}: malformed ndarray (needs bytes data, str dtype, shape list)`, { source });
      }
      const data = fromBytes(o.data, o.dtype);
      const n = (shape as number[]).reduce((a, b) => a * b, 1);
      if (!data || data.length !== n) throw new LabError('REMOTE_ERROR', `${source}: ndarray dtype ${o.dtype} / shape [${shape.join(', ')}] does not match its ${o.data.length} bytes`, { source });
      return new NdArray(data, shape as number[]);
    }
    if (o.__npgeneric__ === true) return o.data;
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, revive(x, source)]));
  }
  return v;
}

export function unpackb(bytes: Uint8Array, source = 'msgpack'): unknown {
  let raw: unknown;
  try {
    raw = decode(bytes, { mapKeyConverter: keyConverter });
  } catch (err) {
    throw new LabError('REMOTE_ERROR', `${source}: undecodable msgpack (${(err as Error).message})`, { source });
  }
  return revive(raw, source);
}

export { asNumbers };
