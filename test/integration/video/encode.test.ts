import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeMp4, sideBySide } from '../../../electron/engine/video/encode.js';
import { locateFfmpeg } from '../../../electron/engine/video/ffmpeg.js';
import { LabError } from '../../../electron/engine/errors.js';
import { tempDir } from '../../helpers/tmp.js';

let t: ReturnType<typeof tempDir>;
beforeEach(() => (t = tempDir()));
afterEach(() => t.cleanup());

function frame(w: number, h: number, rgb: [number, number, number]): Uint8Array {
  const f = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) f.set(rgb, i * 3);
  return f;
}

describe('video encoding through ffmpeg', () => {
  it('writes an H.264 MP4 that decodes back to the frames (odd sizes padded)', async () => {
    const ff = locateFfmpeg();
    expect(ff, 'ffmpeg must be installed (apt-get install ffmpeg)').not.toBeNull();
    const target = path.join(t.dir, 'out', 'clip.mp4');
    const frames = Array.from({ length: 12 }, (_, i) => frame(33, 20, i < 6 ? [200, 30, 30] : [30, 30, 200]));
    const r = await encodeMp4(target, frames, { width: 33, height: 20, fps: 20 });
    expect(r.frames).toBe(12);
    // Decode with ffmpeg itself: 12 frames of 34×20 (padded), red then blue.
    const dec = spawnSync(ff!.path, ['-loglevel', 'error', '-i', target, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { maxBuffer: 1 << 24 });
    expect(dec.status).toBe(0);
    const bytes = dec.stdout as Buffer;
    expect(bytes.length).toBe(12 * 34 * 20 * 3);
    const px = (f: number) => [...bytes.subarray(f * 34 * 20 * 3 + (10 * 34 + 10) * 3, f * 34 * 20 * 3 + (10 * 34 + 10) * 3 + 3)];
    expect(px(0)[0]).toBeGreaterThan(150);
    expect(px(11)[2]).toBeGreaterThan(150);
    expect(readdirSync(path.dirname(target))).toEqual(['clip.mp4']);
  });

  it('rejects a frame of the wrong size and leaves no partial file', async () => {
    const target = path.join(t.dir, 'bad.mp4');
    await expect(encodeMp4(target, [frame(8, 8, [0, 0, 0]), new Uint8Array(10)], { width: 8, height: 8, fps: 10 })).rejects.toSatisfy(
      (e: unknown) => e instanceof LabError && e.code === 'INVALID_INPUT' && e.message.includes('frame 1'),
    );
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(t.dir)).toEqual([]);
  });

  it('places frames side by side with a white gap', () => {
    const a = { data: frame(2, 2, [1, 2, 3]), width: 2, height: 2 };
    const b = { data: frame(3, 2, [9, 9, 9]), width: 3, height: 2 };
    const s = sideBySide([a, b], 1);
    expect(s.width).toBe(6);
    expect([...s.data.subarray(0, 3)]).toEqual([1, 2, 3]);
    expect([...s.data.subarray(2 * 3, 3 * 3)]).toEqual([255, 255, 255]);
    expect([...s.data.subarray(3 * 3, 4 * 3)]).toEqual([9, 9, 9]);
  });
});
