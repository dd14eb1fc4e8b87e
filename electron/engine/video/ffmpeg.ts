import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';

export interface FfmpegLocation {
  path: string;
  source: 'FFMPEG_BIN' | 'ffmpeg-static' | 'PATH';
  version: string;
}

/**
 * Where ffmpeg comes from, in order: `FFMPEG_BIN`; the optional ffmpeg-static package (its binary is
 * absent where its install could not download it; inside a packaged app it lives in app.asar.unpacked);
 * `ffmpeg` on PATH. Returns null when none runs.
 */
export function locateFfmpeg(): FfmpegLocation | null {
  const candidates: Array<{ path: string; source: FfmpegLocation['source'] }> = [];
  if (process.env.FFMPEG_BIN) candidates.push({ path: process.env.FFMPEG_BIN, source: 'FFMPEG_BIN' });
  try {
    const staticPath = createRequire(import.meta.url)('ffmpeg-static') as string | null;
    if (staticPath) candidates.push({ path: staticPath.replace(`app.asar${'/'}`, 'app.asar.unpacked/'), source: 'ffmpeg-static' });
  } catch {
    /* optional dependency not installed */
  }
  candidates.push({ path: 'ffmpeg', source: 'PATH' });
  for (const c of candidates) {
    if (c.source !== 'PATH' && !existsSync(c.path)) continue;
    const run = spawnSync(c.path, ['-hide_banner', '-version'], { encoding: 'utf8', timeout: 10_000 });
    if (run.status === 0) return { ...c, version: (run.stdout.split('\n')[0] ?? '').trim() };
  }
  return null;
}
