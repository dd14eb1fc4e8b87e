import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { resize } from '../../../electron/engine/data/image.js';
import { Rng } from '../../../electron/engine/util/rng.js';

describe('resize matches torch antialiased bilinear', () => {
  for (const [h, w, oh, ow] of [
    [16, 16, 28, 28],
    [32, 24, 14, 10],
  ]) {
    it(`${h}×${w} → ${oh}×${ow} within 1 grey level`, () => {
      const rng = new Rng(h * 1000 + ow);
      const data = Uint8Array.from({ length: h * w * 3 }, () => rng.int(256));
      const ref: number[] = JSON.parse(
        execFileSync('/usr/bin/python3', [path.join(import.meta.dirname, '../../python/resize_reference.py')], {
          input: JSON.stringify({ h, w, oh, ow, data: Array.from(data) }),
          encoding: 'utf8',
        }),
      );
      const ours = resize({ data, height: h, width: w, channels: 3 }, oh, ow, 'bilinear').data;
      let maxDiff = 0;
      ours.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - ref[i]))));
      expect(maxDiff).toBeLessThanOrEqual(1);
    });
  }
});
