import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GEOM_STRIDE, lookAt, nativeAddonPath, packCamera, packGeoms, rasterize, type RasterCamera, type RasterGeom } from '../../../../electron/engine/sim/raster.js';
import { LabError } from '../../../../electron/engine/errors.js';

const I = [1, 0, 0, 0, 1, 0, 0, 0, 1];
const BLACK = new Float64Array([0, 0, 0]);
const W = 128;
// Camera 2 m above the origin looking straight down, image +y = world +y.
const topCam = (size = W, supersample = 1): RasterCamera => ({ pos: [0, 0, 2], mat: lookAt([0, 0, 2], [0, 0, 0], [0, 1, 0]), fovy: 45, width: size, height: size, supersample });
const focal = (size: number, fovy = 45) => (0.5 * size) / Math.tan(((fovy / 2) * Math.PI) / 180);

function mask(img: Uint8Array, n: number): boolean[] {
  const m: boolean[] = [];
  for (let i = 0; i < n * n; i++) m.push(img[3 * i] + img[3 * i + 1] + img[3 * i + 2] > 0);
  return m;
}
const count = (m: boolean[]) => m.filter(Boolean).length;
function bbox(m: boolean[], n: number) {
  let x0 = n, x1 = -1, y0 = n, y1 = -1;
  m.forEach((v, i) => {
    if (!v) return;
    const x = i % n, y = Math.floor(i / n);
    x0 = Math.min(x0, x), x1 = Math.max(x1, x), y0 = Math.min(y0, y), y1 = Math.max(y1, y);
  });
  return { x0, x1, y0, y1 };
}

describe('native rasterizer: analytic silhouettes', () => {
  it('a sphere covers π r² pixels (r = f·R/√(d²−R²)) within 3%', () => {
    const R = 0.3, d = 2;
    const img = rasterize([{ type: 'sphere', size: [R, 0, 0], pos: [0, 0, 0], mat: I, rgba: [1, 0, 0, 1] }], topCam(), [], BLACK);
    const rp = (focal(W) * R) / Math.sqrt(d * d - R * R);
    const expected = Math.PI * rp * rp;
    expect(Math.abs(count(mask(img, W)) - expected) / expected).toBeLessThan(0.03);
  });

  it("a box's top face projects to a square with edges at W/2 ± f·s/(d − h), within a pixel", () => {
    const s = 0.2, h = 0.1, d = 2;
    const img = rasterize([{ type: 'box', size: [s, s, h], pos: [0, 0, 0], mat: I, rgba: [0, 1, 0, 1] }], topCam(), [], BLACK);
    const half = (focal(W) * s) / (d - h);
    const b = bbox(mask(img, W), W);
    expect(Math.abs(b.x0 - (W / 2 - half))).toBeLessThanOrEqual(1);
    expect(Math.abs(b.x1 + 1 - (W / 2 + half))).toBeLessThanOrEqual(1);
    expect(Math.abs(b.y0 - (W / 2 - half))).toBeLessThanOrEqual(1);
    expect(Math.abs(b.y1 + 1 - (W / 2 + half))).toBeLessThanOrEqual(1);
    // full square: exactly the pixels whose centres fall inside it (± one boundary row/column)
    let side = 0;
    for (let x = 0; x < W; x++) if (Math.abs(x + 0.5 - W / 2) <= half) side++;
    expect(Math.abs(count(mask(img, W)) - side * side)).toBeLessThanOrEqual(2 * side + 1);
  });

  it('a cylinder seen from the side is a rectangle; a capsule adds round caps', () => {
    const side: RasterCamera = { pos: [2, 0, 0], mat: lookAt([2, 0, 0], [0, 0, 0]), fovy: 45, width: W, height: W };
    const cyl = mask(rasterize([{ type: 'cylinder', size: [0.1, 0.3, 0], pos: [0, 0, 0], mat: I, rgba: [0, 0, 1, 1] }], side, [], BLACK), W);
    const b = bbox(cyl, W);
    const f = focal(W);
    // height: the near rim (distance 1.9) bounds the projection
    expect(Math.abs(b.y1 + 1 - b.y0 - (2 * f * 0.3) / 1.9)).toBeLessThanOrEqual(2);
    expect(Math.abs(b.x1 + 1 - b.x0 - (2 * f * 0.1) / Math.sqrt(4 - 0.01))).toBeLessThanOrEqual(2);
    const cap = mask(rasterize([{ type: 'capsule', size: [0.1, 0.3, 0], pos: [0, 0, 0], mat: I, rgba: [0, 0, 1, 1] }], side, [], BLACK), W);
    const bc = bbox(cap, W);
    expect(bc.y1 - bc.y0).toBeGreaterThan(b.y1 - b.y0 + 6); // caps add ≈ 2·f·0.1/2 px
    expect(count(cap)).toBeGreaterThan(count(cyl));
  });

  it('an ellipsoid with equal radii matches the sphere; stretching it stretches the silhouette', () => {
    const sph = rasterize([{ type: 'sphere', size: [0.2, 0, 0], pos: [0, 0, 0], mat: I, rgba: [1, 1, 1, 1] }], topCam(), [], BLACK);
    const ell = rasterize([{ type: 'ellipsoid', size: [0.2, 0.2, 0.2], pos: [0, 0, 0], mat: I, rgba: [1, 1, 1, 1] }], topCam(), [], BLACK);
    expect(Buffer.from(ell).equals(Buffer.from(sph))).toBe(true);
    const wide = bbox(mask(rasterize([{ type: 'ellipsoid', size: [0.4, 0.1, 0.1], pos: [0, 0, 0], mat: I, rgba: [1, 1, 1, 1] }], topCam(), [], BLACK), W), W);
    expect(wide.x1 - wide.x0).toBeGreaterThan(3 * (wide.y1 - wide.y0));
  });

  it('a plane below a level camera fills exactly the lower half of the image (horizon through the centre)', () => {
    const cam: RasterCamera = { pos: [0, 0, 1], mat: lookAt([0, 0, 1], [1, 0, 1]), fovy: 60, width: 64, height: 64 };
    const m = mask(rasterize([{ type: 'plane', size: [0, 0, 1], pos: [0, 0, 0], mat: I, rgba: [1, 1, 1, 1] }], cam, [], BLACK), 64);
    for (let y = 0; y < 64; y++) {
      const row = m.slice(y * 64, y * 64 + 64).filter(Boolean).length;
      if (y < 31) expect(row, `row ${y}`).toBe(0); // above the horizon (the 50 m plane edge is just below it)
      if (y >= 33) expect(row, `row ${y}`).toBe(64);
    }
  });

  it('the z-buffer shows the nearer geom whatever the draw order', () => {
    const near: RasterGeom = { type: 'box', size: [0.1, 0.1, 0.1], pos: [0, 0, 0.5], mat: I, rgba: [1, 0, 0, 1] };
    const far: RasterGeom = { type: 'box', size: [0.3, 0.3, 0.1], pos: [0, 0, 0], mat: I, rgba: [0, 0, 1, 1] };
    const a = rasterize([near, far], topCam(), [], BLACK), b = rasterize([far, near], topCam(), [], BLACK);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    const c = 3 * (64 * W + 64);
    expect(a[c]).toBeGreaterThan(0); // red in the centre
    expect(a[c + 2]).toBe(0);
  });

  it('Lambert shading: a face turned away from the light is darker than one facing it', () => {
    const tilt = (deg: number) => {
      const t = (deg * Math.PI) / 180;
      return [Math.cos(t), 0, Math.sin(t), 0, 1, 0, -Math.sin(t), 0, Math.cos(t)];
    };
    const centre = (mat: number[]) => rasterize([{ type: 'box', size: [0.2, 0.2, 0.01], pos: [0, 0, 0], mat, rgba: [1, 1, 1, 1] }], topCam(), [], BLACK)[3 * (64 * W + 64)];
    expect(centre(I)).toBeGreaterThan(centre(tilt(60)));
  });

  it('a mesh geom draws like the equivalent primitive', () => {
    const s = 0.15;
    const v = new Float64Array(24);
    for (let i = 0; i < 8; i++) v.set([i & 1 ? s : -s, i & 2 ? s : -s, i & 4 ? s : -s], 3 * i);
    const faces = new Int32Array([0, 2, 3, 0, 3, 1, 4, 5, 7, 4, 7, 6, 0, 1, 5, 0, 5, 4, 2, 6, 7, 2, 7, 3, 0, 4, 6, 0, 6, 2, 1, 3, 7, 1, 7, 5]);
    const mesh = rasterize([{ type: 'mesh', size: [0, 0, 0], pos: [0.1, 0, 0], mat: I, rgba: [1, 1, 0, 1], meshId: 0 }], topCam(), [{ vertices: v, faces }], BLACK);
    const box = rasterize([{ type: 'box', size: [s, s, s], pos: [0.1, 0, 0], mat: I, rgba: [1, 1, 0, 1] }], topCam(), [], BLACK);
    expect(count(mask(mesh, W))).toBe(count(mask(box, W)));
  });

  it('2×2 supersampling softens edges and keeps the interior colour', () => {
    const g: RasterGeom[] = [{ type: 'sphere', size: [0.3, 0, 0], pos: [0, 0, 0], mat: I, rgba: [1, 0, 0, 1] }];
    const plain = rasterize(g, topCam(W, 1), [], BLACK), aa = rasterize(g, topCam(W, 2), [], BLACK);
    const c = 3 * (64 * W + 64);
    expect(Math.abs(aa[c] - plain[c])).toBeLessThanOrEqual(2);
    const partial = (img: Uint8Array) => mask(img, W).filter((_, i) => img[3 * i] > 0 && img[3 * i] < plain[c] - 40).length;
    expect(partial(aa)).toBeGreaterThan(partial(plain));
  });
});

describe('native rasterizer: determinism and bad input', () => {
  it('gives identical bytes in two separate processes', () => {
    const geoms = packGeoms([
      { type: 'sphere', size: [0.13, 0, 0], pos: [0.1, -0.05, 0.02], mat: I, rgba: [0.9, 0.2, 0.1, 1] },
      { type: 'capsule', size: [0.05, 0.2, 0], pos: [-0.2, 0.1, 0], mat: [0.8, -0.6, 0, 0.6, 0.8, 0, 0, 0, 1], rgba: [0.1, 0.7, 0.3, 1] },
      { type: 'box', size: [0.4, 0.4, 0.01], pos: [0, 0, -0.1], mat: I, rgba: [0.7, 0.7, 0.6, 1] },
    ]);
    const cam = packCamera({ pos: [0.9, 0.3, 0.8], mat: lookAt([0.9, 0.3, 0.8], [0, 0, 0]), fovy: 50, width: 96, height: 96, supersample: 2 });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'raster-'));
    const script = path.join(dir, 'hash.cjs');
    writeFileSync(
      script,
      `const r = require(${JSON.stringify(nativeAddonPath())});
const g = new Float64Array(${JSON.stringify(Array.from(geoms))});
const c = new Float64Array(${JSON.stringify(Array.from(cam))});
const img = r.render(g, c, [], new Float64Array([0.5, 0.5, 0.5]));
process.stdout.write(require('crypto').createHash('sha256').update(img).digest('hex'));`,
    );
    const h1 = execFileSync(process.execPath, [script]).toString();
    const h2 = execFileSync(process.execPath, [script]).toString();
    const local = createHash('sha256').update(rasterize(geoms, { pos: [0.9, 0.3, 0.8], mat: lookAt([0.9, 0.3, 0.8], [0, 0, 0]), fovy: 50, width: 96, height: 96, supersample: 2 }, [], new Float64Array([0.5, 0.5, 0.5]))).digest('hex');
    expect(h1).toMatch(/^[0-9a-f]{64}$/);
    expect(h2).toBe(h1);
    expect(local).toBe(h1);
  });

  it('rejects malformed input with typed errors', () => {
    const g = [{ type: 'sphere' as const, size: [0.1, 0, 0], pos: [0, 0, 0], mat: I, rgba: [1, 0, 0, 1] }];
    expect(() => rasterize(new Float64Array(GEOM_STRIDE + 1), topCam())).toThrow(LabError);
    expect(() => rasterize(g, { ...topCam(), width: 0 })).toThrow(/width/);
    const bad = packGeoms(g);
    bad[4] = Number.NaN;
    try {
      rasterize(bad, topCam());
      expect.unreachable();
    } catch (err) {
      expect((err as LabError).code).toBe('NON_FINITE');
    }
  });
});
