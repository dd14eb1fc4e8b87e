import { CELL_H, CELL_W, GLYPH_H, GLYPH_W, glyph, textWidth } from './font.js';

/**
 * An RGB frame (H×W×3 uint8) the video layouts draw into: rectangles, scaled images and bitmap text.
 * Everything is integer pixels, so a frame is the same bytes on every machine.
 */
export type Rgb = readonly [number, number, number];

export class Canvas {
  readonly data: Uint8Array;
  constructor(readonly width: number, readonly height: number, background: Rgb = [255, 255, 255]) {
    this.data = new Uint8Array(width * height * 3);
    this.fill(0, 0, width, height, background);
  }

  fill(x: number, y: number, w: number, h: number, c: Rgb): void {
    const x0 = Math.max(0, Math.floor(x));
    const y0 = Math.max(0, Math.floor(y));
    const x1 = Math.min(this.width, Math.floor(x + w));
    const y1 = Math.min(this.height, Math.floor(y + h));
    for (let yy = y0; yy < y1; yy++) {
      let o = (yy * this.width + x0) * 3;
      for (let xx = x0; xx < x1; xx++, o += 3) {
        this.data[o] = c[0];
        this.data[o + 1] = c[1];
        this.data[o + 2] = c[2];
      }
    }
  }

  /**
   * An RGB image drawn at (x, y) scaled to w×h by nearest neighbour (labels and stored frames stay crisp),
   * optionally rotated 180° (LIBERO-oriented frames shown upright) and dimmed towards grey (an ended panel).
   */
  image(src: Uint8Array, sw: number, sh: number, x: number, y: number, w: number, h: number, opts: { rotate180?: boolean; dim?: number } = {}): void {
    const dim = opts.dim ?? 0;
    for (let yy = 0; yy < h; yy++) {
      const ty = y + yy;
      if (ty < 0 || ty >= this.height) continue;
      let sy = Math.floor((yy * sh) / h);
      if (opts.rotate180) sy = sh - 1 - sy;
      for (let xx = 0; xx < w; xx++) {
        const tx = x + xx;
        if (tx < 0 || tx >= this.width) continue;
        let sx = Math.floor((xx * sw) / w);
        if (opts.rotate180) sx = sw - 1 - sx;
        const s = (sy * sw + sx) * 3;
        const o = (ty * this.width + tx) * 3;
        for (let k = 0; k < 3; k++) this.data[o + k] = dim ? Math.round(src[s + k] * (1 - dim) + 128 * dim) : src[s + k];
      }
    }
  }

  /** One line of bitmap text with its top-left at (x, y), cut at `maxWidth` pixels; returns the x after it. */
  text(s: string, x: number, y: number, c: Rgb, scale = 1, maxWidth = Infinity): number {
    let cx = x;
    for (const ch of s) {
      if (cx + CELL_W * scale - x > maxWidth) break;
      const rows = glyph(ch);
      for (let r = 0; r < GLYPH_H; r++) {
        for (let col = 0; col < GLYPH_W; col++) {
          if (rows[r] & (1 << (GLYPH_W - 1 - col))) this.fill(cx + col * scale, y + (r + 1) * scale, scale, scale, c);
        }
      }
      cx += CELL_W * scale;
    }
    return cx;
  }

  /** Text on a filled box (a label or a badge), padded by one scaled pixel. */
  label(s: string, x: number, y: number, fg: Rgb, bg: Rgb, scale = 1): number {
    this.fill(x, y, textWidth(s, scale) + 2 * scale, CELL_H * scale, bg);
    return this.text(s, x + scale, y, fg, scale) + scale;
  }
}

export const LINE_H = CELL_H;
