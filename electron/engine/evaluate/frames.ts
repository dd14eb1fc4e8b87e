import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { LabError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { encodeMp4 } from '../video/encode.js';
import { rotate180 } from '../data/image.js';
import type { TrialRecord } from './trial.js';

/**
 * Compact, lossless storage of a trial's agentview frames (docs/evaluate.md "Frame storage").
 *
 * Format `frames-u8.gz`: the frames as raw H×W×3 uint8 (LIBERO orientation, exactly what the policy
 * saw), concatenated frame after frame, gzip-compressed as one stream. The record carries count, height,
 * width and stride, so the file needs no header: `zcat f | ffmpeg -f rawvideo -pix_fmt rgb24 -s WxH -i -`
 * plays it. Rendered scenes are flat and mostly static, so gzip alone gives ≈ 28× (a 128×128 frame is
 * ≈ 1.7 kB instead of 49 kB); a full protocol of 600 trials × ≤ 300 frames stays in the hundreds of MB.
 * We keep frames lossless rather than MP4 so a trial can be replayed bit-exactly (e.g. a student re-run
 * on recorded frames), and MP4 is derived on demand (`trialVideo`), because spawning ffmpeg per trial
 * would cost more than the trial in the parallel workers.
 */
export const FRAME_FORMAT = 'frames-u8.gz' as const;

export function writeFramePack(file: string, frames: readonly Uint8Array[]): Promise<void> {
  const total = frames.reduce((s, f) => s + f.length, 0);
  const raw = new Uint8Array(total);
  let off = 0;
  for (const f of frames) {
    raw.set(f, off);
    off += f.length;
  }
  return writeFileAtomic(file, gzipSync(raw, { level: 6 }));
}

/** The frames of a stored pack, each H×W×3 uint8, checked against the record's count and size. */
export function readFramePack(file: string, meta: { count: number; height: number; width: number }): Uint8Array[] {
  let raw: Uint8Array;
  try {
    raw = gunzipSync(readFileSync(file));
  } catch (e) {
    throw new LabError('CORRUPT_FILE', `frame pack ${file}: ${(e as Error).message}`, { file });
  }
  const F = meta.height * meta.width * 3;
  if (raw.length !== meta.count * F) {
    throw new LabError('CORRUPT_FILE', `frame pack ${file} has ${raw.length} bytes, expected ${meta.count} frames × ${meta.height}×${meta.width}×3 = ${meta.count * F}`, { file, bytes: raw.length, count: meta.count });
  }
  return Array.from({ length: meta.count }, (_, i) => raw.subarray(i * F, (i + 1) * F));
}

/**
 * An MP4 of a stored trial, upright (the stored frames are in LIBERO's 180°-rotated orientation), at
 * 20 fps / stride. `dir` is the folder the record's frame path is relative to (the trial log's folder).
 */
export async function trialVideo(record: Pick<TrialRecord, 'frames'>, dir: string, target: string): Promise<{ frames: number }> {
  const f = record.frames;
  if (!f) throw new LabError('NOT_FOUND', 'this trial kept no frames', { field: 'frames' });
  if (f.format !== FRAME_FORMAT) throw new LabError('UNSUPPORTED', `frame format ${f.format} cannot be replayed here`, { field: 'frames.format', value: f.format });
  const frames = readFramePack(`${dir}/${f.path}`, f).map((data) => rotate180({ data, height: f.height, width: f.width, channels: 3 }).data);
  const r = await encodeMp4(target, frames, { width: f.width, height: f.height, fps: Math.max(1, Math.round(20 / f.stride)) });
  return { frames: r.frames };
}
