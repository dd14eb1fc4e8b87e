import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { LabError, parseOr } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';

/**
 * safetensors (https://github.com/huggingface/safetensors): 8-byte little-endian header length N, N bytes
 * of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {str: str}}`, then the raw
 * little-endian data; offsets are relative to the end of the header. Header padded with spaces to 8 bytes.
 */
export type SafeDType = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';
const BYTES: Record<SafeDType, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

export type SafeArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array | Uint16Array;

export interface SafeTensor {
  dtype: SafeDType;
  shape: number[];
  /** Typed view (F16/BF16 as raw Uint16Array). */
  data: SafeArray;
}

const entrySchema = z.object({
  dtype: z.enum(['F32', 'F16', 'BF16', 'F64', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL']),
  shape: z.array(z.number().int().nonnegative()),
  data_offsets: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]),
});

function dtypeOf(a: SafeArray): SafeDType {
  if (a instanceof Float32Array) return 'F32';
  if (a instanceof Float64Array) return 'F64';
  if (a instanceof BigInt64Array) return 'I64';
  if (a instanceof Int32Array) return 'I32';
  if (a instanceof Int16Array) return 'I16';
  if (a instanceof Int8Array) return 'I8';
  if (a instanceof Uint16Array) return 'F16';
  return 'U8';
}

/** A tensor's values as float32 (F32 as is; F16, BF16 and F64 converted), for loading pretrained weights. */
export function toFloat32(t: SafeTensor, name = '<tensor>'): Float32Array {
  const d = t.data;
  if (t.dtype === 'F32') return d as Float32Array;
  if (t.dtype === 'F64') return Float32Array.from(d as Float64Array);
  if (t.dtype === 'BF16') {
    const u = new Uint32Array(d.length);
    const h = d as Uint16Array;
    for (let i = 0; i < h.length; i++) u[i] = h[i] << 16;
    return new Float32Array(u.buffer);
  }
  if (t.dtype === 'F16') {
    const h = d as Uint16Array;
    const out = new Float32Array(h.length);
    for (let i = 0; i < h.length; i++) {
      const s = h[i] & 0x8000 ? -1 : 1;
      const e = (h[i] >> 10) & 0x1f;
      const f = h[i] & 0x3ff;
      out[i] = e === 0 ? s * 2 ** -14 * (f / 1024) : e === 31 ? (f ? Number.NaN : s * Infinity) : s * 2 ** (e - 15) * (1 + f / 1024);
    }
    return out;
  }
  throw new LabError('UNSUPPORTED', `safetensors: ${name} is ${t.dtype}, not a float type`, { name, dtype: t.dtype });
}

export function encodeSafetensors(tensors: Record<string, { data: SafeArray; shape: number[]; dtype?: SafeDType }>, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let off = 0;
  const names = Object.keys(tensors).sort();
  for (const name of names) {
    const t = tensors[name];
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new LabError('SHAPE_MISMATCH', `safetensors: ${name} has ${t.data.length} values for shape [${t.shape}]`, { name });
    header[name] = { dtype: t.dtype ?? dtypeOf(t.data), shape: t.shape, data_offsets: [off, off + t.data.byteLength] };
    off += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const hlen = Buffer.byteLength(json);
  const out = Buffer.alloc(8 + hlen + off);
  out.writeBigUInt64LE(BigInt(hlen), 0);
  out.write(json, 8, 'utf8');
  let pos = 8 + hlen;
  for (const name of names) {
    const d = tensors[name].data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), pos);
    pos += d.byteLength;
  }
  return out;
}

export function decodeSafetensors(buf: Uint8Array, file = '<buffer>'): { tensors: Map<string, SafeTensor>; metadata: Record<string, string> } {
  const bad = (why: string, extra: Record<string, unknown> = {}) => new LabError('CORRUPT_FILE', `safetensors ${file}: ${why}`, { file, ...extra });
  if (buf.byteLength < 8) throw bad('shorter than its 8-byte header length');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const hlen = Number(view.getBigUint64(0, true));
  if (hlen > buf.byteLength - 8 || hlen > 100 * 2 ** 20) throw bad(`header length ${hlen} exceeds the file`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + 8, hlen).toString('utf8'));
  } catch (e) {
    throw bad(`header is not JSON (${(e as Error).message})`);
  }
  const dataStart = 8 + hlen;
  const dataLen = buf.byteLength - dataStart;
  const metadata = z.record(z.string(), z.string()).safeParse(header.__metadata__ ?? {});
  if (!metadata.success) throw bad('__metadata__ must map strings to strings');
  const tensors = new Map<string, SafeTensor>();
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: [b, end] } = parseOr(entrySchema, raw, `safetensors ${file}: entry ${name}`, 'CORRUPT_FILE', { file, tensor: name });
    const bytes = shape.reduce((p, q) => p * q, 1) * BYTES[dtype];
    if (end - b !== bytes || end > dataLen) throw bad(`entry ${name}: offsets [${b}, ${end}] do not fit shape [${shape}] ${dtype} in ${dataLen} data bytes`, { tensor: name });
    // copy when unaligned (a typed view needs its element alignment)
    const abs = buf.byteOffset + dataStart + b;
    const src = abs % BYTES[dtype] === 0 ? new Uint8Array(buf.buffer, abs, bytes) : new Uint8Array(buf.buffer, abs, bytes).slice();
    const ab = src.buffer;
    const o = src.byteOffset;
    const n = bytes / BYTES[dtype];
    const data: SafeArray =
      dtype === 'F32' ? new Float32Array(ab, o, n)
      : dtype === 'F64' ? new Float64Array(ab, o, n)
      : dtype === 'I64' ? new BigInt64Array(ab, o, n)
      : dtype === 'I32' ? new Int32Array(ab, o, n)
      : dtype === 'I16' ? new Int16Array(ab, o, n)
      : dtype === 'I8' ? new Int8Array(ab, o, n)
      : dtype === 'F16' || dtype === 'BF16' ? new Uint16Array(ab, o, n)
      : new Uint8Array(ab, o, n);
    tensors.set(name, { dtype, shape, data });
  }
  return { tensors, metadata: metadata.data };
}

export function readSafetensors(file: string) {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new LabError('NOT_FOUND', `cannot read ${file}: ${(e as Error).message}`, { file });
  }
  return decodeSafetensors(buf, file);
}

export async function writeSafetensors(file: string, tensors: Parameters<typeof encodeSafetensors>[0], metadata: Record<string, string> = {}) {
  await writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}
