import { spawn } from 'node:child_process';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { LabError } from '../errors.js';
import { locateFfmpeg } from './ffmpeg.js';

export interface VideoOptions {
  width: number;
  height: number;
  fps: number;
  /** H.264 quality (CRF, lower is better; 18 is visually lossless for these renders). */
  crf?: number;
}

/**
 * Encode RGB frames (H×W×3 uint8 each) to an H.264 MP4 through ffmpeg's stdin. The file appears
 * atomically (written to a temp name, renamed on success). Sizes are padded to even numbers, which
 * yuv420p needs.
 */
export async function encodeMp4(target: string, frames: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, opts: VideoOptions): Promise<{ frames: number; ffmpeg: string }> {
  const ff = locateFfmpeg();
  if (!ff) throw new LabError('NOT_FOUND', 'ffmpeg not found: set FFMPEG_BIN, install ffmpeg-static, or put ffmpeg on PATH (vla-ad doctor)', {});
  const frameBytes = opts.width * opts.height * 3;
  mkdirSync(path.dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}.partial.mp4`;
  const args = [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${opts.width}x${opts.height}`, '-r', String(opts.fps), '-i', 'pipe:0',
    '-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2',
    '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-crf', String(opts.crf ?? 18), '-movflags', '+faststart',
    tmp,
  ];
  const child = spawn(ff.path, args, { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  let count = 0;
  try {
    for await (const frame of frames as AsyncIterable<Uint8Array>) {
      if (frame.length !== frameBytes) {
        throw new LabError('INVALID_INPUT', `video frame ${count} has ${frame.length} bytes, expected ${opts.width}×${opts.height}×3 = ${frameBytes}`, { frame: count });
      }
      if (!child.stdin.write(frame)) await new Promise((r) => child.stdin.once('drain', r));
      count++;
    }
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    rmSync(tmp, { force: true });
    throw err;
  }
  child.stdin.end();
  const code = await exited;
  if (code !== 0 || count === 0) {
    rmSync(tmp, { force: true });
    throw new LabError('REMOTE_ERROR', count === 0 ? 'no frames to encode' : `ffmpeg failed (exit ${code}): ${stderr.trim().slice(0, 500)}`, { target });
  }
  renameSync(tmp, target);
  return { frames: count, ffmpeg: ff.path };
}

/** Frames side by side (same height), with a gap of `gap` white pixels: teacher | student comparisons. */
export function sideBySide(frames: { data: Uint8Array; width: number; height: number }[], gap = 4): { data: Uint8Array; width: number; height: number } {
  const height = frames[0].height;
  if (frames.some((f) => f.height !== height)) throw new LabError('INVALID_INPUT', 'side-by-side frames must share a height', {});
  const width = frames.reduce((a, f) => a + f.width, 0) + gap * (frames.length - 1);
  const data = new Uint8Array(width * height * 3).fill(255);
  let x0 = 0;
  for (const f of frames) {
    for (let y = 0; y < height; y++) data.set(f.data.subarray(y * f.width * 3, (y + 1) * f.width * 3), (y * width + x0) * 3);
    x0 += f.width + gap;
  }
  return { data, width, height };
}

/**
 * A WebM (VP9) or GIF made from an encoded MP4 (the MP4 is H.264 at CRF 18, visually lossless for these
 * renders, so one pass of frame composition serves every format). Atomic like encodeMp4.
 */
export async function transcode(source: string, target: string, format: 'webm' | 'gif', fps: number): Promise<void> {
  const ff = locateFfmpeg();
  if (!ff) throw new LabError('NOT_FOUND', 'ffmpeg not found: set FFMPEG_BIN, install ffmpeg-static, or put ffmpeg on PATH (vla-ad doctor)', {});
  const tmp = `${target}.${process.pid}.partial.${format}`;
  const codec =
    format === 'webm'
      ? ['-c:v', 'libvpx-vp9', '-pix_fmt', 'yuv420p', '-b:v', '0', '-crf', '32', '-row-mt', '1', '-deadline', 'good', '-cpu-used', '4']
      : ['-filter_complex', `[0:v]fps=${fps},split[a][b];[a]palettegen=stats_mode=diff[p];[b][p]paletteuse=dither=none`, '-loop', '0'];
  const args = ['-hide_banner', '-loglevel', 'error', '-y', '-i', source, ...codec, '-f', format, tmp];
  const child = spawn(ff.path, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) {
    rmSync(tmp, { force: true });
    throw new LabError('REMOTE_ERROR', `ffmpeg failed making ${path.basename(target)} (exit ${code}): ${stderr.trim().slice(0, 500)}`, { target });
  }
  renameSync(tmp, target);
}
