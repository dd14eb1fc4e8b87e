import type { TrialDetail } from '../../../electron/api/schemas';

/**
 * A trial's stored camera frames in the page: the `frames-u8.gz` pack (evaluate/frames.ts: gzip of raw
 * H×W×3 uint8 frames, one after another) fetched from the lab's file URL, inflated with the browser's own
 * DecompressionStream, and turned upright (packs keep LIBERO's 180°-rotated orientation, exactly what the
 * policy saw). Lossless, so the replay shows the very pixels the policy acted on.
 */
export interface FramePack {
  count: number;
  width: number;
  height: number;
  /** Steps between two kept frames (1 = every step). */
  stride: number;
  /** Frame i as RGBA, upright, ready for putImageData. */
  frame(i: number): ImageData;
}

type Meta = NonNullable<TrialDetail['frames']>;

export class FramePackError extends Error {
  constructor(message: string, readonly url: string) {
    super(message);
    this.name = 'FramePackError';
  }
}

export async function loadFramePack(url: string, meta: Meta): Promise<FramePack> {
  if (meta.format !== 'frames-u8.gz') throw new FramePackError(`frames in format ${meta.format} cannot be replayed in the page`, url);
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new FramePackError(`frames could not be loaded (HTTP ${res.status})`, url);
  const raw = new Uint8Array(await new Response(res.body.pipeThrough(new DecompressionStream('gzip'))).arrayBuffer());
  return framePackFromRaw(raw, meta, url);
}

/** The pack over already-inflated bytes, checked against the record's count and size. */
export function framePackFromRaw(raw: Uint8Array, meta: Meta, url = ''): FramePack {
  const { count, width, height } = meta;
  const size = width * height * 3;
  if (raw.length !== count * size) throw new FramePackError(`frame pack has ${raw.length} bytes, the record says ${count} frames of ${width}×${height}×3`, url);
  const cache = new Map<number, ImageData>();
  return {
    count,
    width,
    height,
    stride: meta.stride ?? 1,
    frame(i: number): ImageData {
      const k = Math.max(0, Math.min(count - 1, Math.round(i)));
      let img = cache.get(k);
      if (!img) {
        img = new ImageData(width, height);
        uprightRgba(raw.subarray(k * size, (k + 1) * size), img.data, width * height);
        cache.set(k, img);
      }
      return img;
    },
  };
}

/** RGB in LIBERO's orientation (rotated 180°) → upright RGBA: pixel p goes to n-1-p. */
export function uprightRgba(rgb: Uint8Array, rgba: Uint8ClampedArray, n: number): void {
  for (let p = 0; p < n; p++) {
    const s = 3 * p;
    const d = 4 * (n - 1 - p);
    rgba[d] = rgb[s];
    rgba[d + 1] = rgb[s + 1];
    rgba[d + 2] = rgb[s + 2];
    rgba[d + 3] = 255;
  }
}
