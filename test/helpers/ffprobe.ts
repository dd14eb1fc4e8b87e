import { execFileSync } from 'node:child_process';

/** What ffprobe says of a video's first stream (the real ffprobe on PATH or FFPROBE_BIN). */
export interface Probe { codec: string; pixFmt: string; width: number; height: number; frames: number; formatName: string }
const bin = (name: 'ffprobe' | 'ffmpeg') => process.env[name === 'ffprobe' ? 'FFPROBE_BIN' : 'FFMPEG_BIN'] ?? name;

export function probe(file: string): Probe {
  const out = JSON.parse(
    execFileSync(bin('ffprobe'), ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,pix_fmt,width,height,nb_read_frames:format=format_name', '-of', 'json', file], { encoding: 'utf8' }),
  ) as { streams: { codec_name: string; pix_fmt: string; width: number; height: number; nb_read_frames: string }[]; format: { format_name: string } };
  const s = out.streams[0];
  return { codec: s.codec_name, pixFmt: s.pix_fmt, width: s.width, height: s.height, frames: Number(s.nb_read_frames), formatName: out.format.format_name };
}

/** Every decoded frame as RGB24 (width × height × 3 each). */
export function decodeRgb(file: string, width: number, height: number): Uint8Array[] {
  const raw = execFileSync(bin('ffmpeg'), ['-v', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { maxBuffer: 1 << 30 });
  const size = width * height * 3;
  return Array.from({ length: raw.length / size }, (_, i) => new Uint8Array(raw.buffer, raw.byteOffset + i * size, size));
}

/** ffmpeg's per-frame MD5s of the decoded video (the same decoded frames ⇔ the same list). */
export const frameMd5 = (file: string) =>
  execFileSync(bin('ffmpeg'), ['-v', 'error', '-i', file, '-f', 'framemd5', '-'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(',').at(-1)!.trim());
