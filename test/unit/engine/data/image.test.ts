import { describe, expect, it } from 'vitest';
import { openVlaImage, resize, rotate180, type Image } from '../../../../electron/engine/data/image.js';

const ramp = (h: number, w: number): Image => ({
  data: Uint8Array.from({ length: h * w * 3 }, (_, i) => (Math.floor(i / 3) * 5 + (i % 3) * 40) & 255),
  height: h,
  width: w,
  channels: 3,
});

describe('image preprocessing', () => {
  it('rotate180 moves the top-left pixel to the bottom-right and is its own inverse', () => {
    const img = ramp(4, 5);
    const r = rotate180(img);
    expect(Array.from(r.data.subarray((4 * 5 - 1) * 3, 4 * 5 * 3))).toEqual(Array.from(img.data.subarray(0, 3)));
    expect(Array.from(rotate180(r).data)).toEqual(Array.from(img.data));
  });

  it('resize keeps a constant image constant, is the identity at the same size, and gives 224×224', () => {
    const flat: Image = { data: new Uint8Array(8 * 8 * 3).fill(77), height: 8, width: 8, channels: 3 };
    for (const f of ['bilinear', 'lanczos3'] as const) {
      expect(resize(flat, 13, 5, f).data.every((v) => v === 77)).toBe(true);
      const img = ramp(6, 6);
      expect(Array.from(resize(img, 6, 6, f).data)).toEqual(Array.from(img.data));
    }
    const out = openVlaImage(ramp(128, 128));
    expect([out.height, out.width, out.data.length]).toEqual([224, 224, 224 * 224 * 3]);
  });
});
