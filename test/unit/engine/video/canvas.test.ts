import { describe, expect, it } from 'vitest';
import { Canvas } from '../../../../electron/engine/video/canvas.js';
import { CELL_W, glyph, hasGlyph, textWidth } from '../../../../electron/engine/video/font.js';

describe('video canvas and bitmap font', () => {
  it('has a 5×7 glyph for every character the layouts write, and draws them into the frame', () => {
    for (const ch of 'teacher student ✓ step 60/300 ✗ timeout T0 512px replay upscaled · λ=0.5 (no trial)') expect(hasGlyph(ch), ch).toBe(true);
    expect(glyph('€')).toEqual(glyph('?')); // outside the set: '?'
    const c = new Canvas(2 * CELL_W, 9, [255, 255, 255]);
    const end = c.text('I|', 0, 0, [0, 0, 0]);
    expect(end).toBe(textWidth('I|'));
    // 'I' row 0: .###. → columns 1..3 inked, drawn one pixel below the cell top
    const px = (x: number, y: number) => c.data[(y * c.width + x) * 3];
    expect([0, 1, 2, 3, 4].map((x) => px(x, 1))).toEqual([255, 0, 0, 0, 255]);
    expect(px(CELL_W + 2, 4)).toBe(0); // '|' is the middle column on every row
    expect(px(CELL_W + 1, 4)).toBe(255);
  });

  it('cuts text at its width and draws images scaled by nearest neighbour, rotated 180° and dimmed', () => {
    const c = new Canvas(30, 10);
    expect(c.text('abcdefgh', 0, 0, [0, 0, 0], 1, 14)).toBe(2 * CELL_W);
    // a 2×1 image red|blue, drawn 4×2 and rotated: blue|blue|red|red on both rows
    const img = Uint8Array.from([255, 0, 0, 0, 0, 255]);
    const d = new Canvas(4, 2);
    d.image(img, 2, 1, 0, 0, 4, 2, { rotate180: true });
    const row = (y: number) => Array.from({ length: 4 }, (_, x) => d.data[(y * 4 + x) * 3 + 2]);
    expect(row(0)).toEqual([255, 255, 0, 0]);
    expect(row(1)).toEqual([255, 255, 0, 0]);
    d.image(img, 2, 1, 0, 0, 4, 2, { dim: 0.5 });
    expect(d.data[0]).toBe(Math.round(255 * 0.5 + 128 * 0.5));
  });
});
