import { deflateSync } from 'node:zlib';
import { invalidInput } from '../errors.js';
import { rotate180 as rotateImage180 } from './image.js';

/**
 * A tiny PNG encoder for 8-bit RGB frames (VLM images, video thumbnails, sim snapshots): signature,
 * IHDR, one zlib IDAT of filter-0 scanlines, IEND, each chunk with its CRC-32. Deterministic: the same
 * pixels always give the same bytes, so PNG bytes can be hashed for the annotation cache.
 */

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ISO-HDLC, the one PNG and zlib use). */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

/** Encode H×W×3 row-major RGB bytes as a PNG file. */
export function encodePngRgb(rgb: Uint8Array, width: number, height: number, level = 6): Uint8Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw invalidInput(`png: bad size ${width}×${height}`, { width, height });
  }
  if (rgb.length !== width * height * 3) {
    throw invalidInput(`png: ${rgb.length} bytes for a ${width}×${height} RGB image (expected ${width * height * 3})`, { length: rgb.length, width, height });
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8); // bit depth 8, colour type 2 (RGB), deflate, filter set 0, no interlace
  const stride = width * 3;
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y++) raw.set(rgb.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1); // filter byte 0
  const idat = deflateSync(raw, { level });
  const parts = [SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** One frame of a T×H×W×3 video array, optionally rotated 180° (OpenVLA's agentview convention). */
export function frameRgb(video: Uint8Array, frame: number, height: number, width: number, rotate180 = false): Uint8Array {
  const size = height * width * 3;
  if ((frame + 1) * size > video.length || frame < 0) throw invalidInput(`frame ${frame} is outside a video of ${video.length / size} frames`, { frame });
  const src = video.subarray(frame * size, (frame + 1) * size);
  if (!rotate180) return src.slice();
  return rotateImage180({ data: src, height, width, channels: 3 }).data;
}

/** Halve an RGB image (nearest neighbour): used when a server rejects an image as too large. */
export function halveRgb(rgb: Uint8Array, width: number, height: number): { rgb: Uint8Array; width: number; height: number } {
  const w = Math.max(1, Math.floor(width / 2));
  const h = Math.max(1, Math.floor(height / 2));
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const s = ((2 * y) * width + 2 * x) * 3;
      out.set(rgb.subarray(s, s + 3), (y * w + x) * 3);
    }
  return { rgb: out, width: w, height: h };
}

export const pngDataUrl = (png: Uint8Array) => `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
