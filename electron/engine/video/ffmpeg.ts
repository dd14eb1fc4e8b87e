import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { ffmpegStaticBinary } from '../util/runtime-paths.js';

export interface FfmpegLocation {
  path: string;
  source: 'FFMPEG_BIN' | 'ffmpeg-static' | 'PATH';
  version: string;
}

/**
 * Where ffmpeg comes from, in order: `FFMPEG_BIN`; the optional ffmpeg-static package's binary
 * (util/runtime-paths.ts: the checkout's node_modules, or app.asar.unpacked in a packaged app; absent
 * where its install could not download it); `ffmpeg` on PATH. Returns null when none runs.
 */
export function locateFfmpeg(): FfmpegLocation | null {
  const candidates: Array<{ path: string; source: FfmpegLocation['source'] }> = [];
  if (process.env.FFMPEG_BIN) candidates.push({ path: process.env.FFMPEG_BIN, source: 'FFMPEG_BIN' });
  const staticPath = ffmpegStaticBinary();
  if (staticPath) candidates.push({ path: staticPath, source: 'ffmpeg-static' });
  candidates.push({ path: 'ffmpeg', source: 'PATH' });
  for (const c of candidates) {
    if (c.source !== 'PATH' && !existsSync(c.path)) continue;
    const run = spawnSync(c.path, ['-hide_banner', '-version'], { encoding: 'utf8', timeout: 10_000 });
    if (run.status === 0) return { ...c, version: (run.stdout.split('\n')[0] ?? '').trim() };
  }
  return null;
}
