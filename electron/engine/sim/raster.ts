import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { LabError } from '../errors.js';
import { rasterizerAddon } from '../util/runtime-paths.js';

/**
 * The camera renderer: a C++ N-API rasterizer in native/ (z-buffer, Lambert + ambient, flat per-geom
 * colour, optional supersampling), loaded once. Geoms use MuJoCo's mjvGeom conventions so a scene from
 * `mjv_updateScene` (or our own geom list) packs straight in.
 *
 * Build: `npx node-gyp rebuild -C native` (writes native/build/Release/rasterizer.node).
 */

/** MuJoCo's mjtGeom numbering. */
export const GeomType = { plane: 0, sphere: 2, capsule: 3, ellipsoid: 4, cylinder: 5, box: 6, mesh: 7 } as const;
export type GeomTypeName = keyof typeof GeomType;

export const GEOM_STRIDE = 21; // type, size[3], pos[3], mat[9] row-major, rgba[4], mesh id

export interface RasterGeom {
  type: GeomTypeName;
  size: ArrayLike<number>; // MuJoCo half-sizes / radii
  pos: ArrayLike<number>;
  mat: ArrayLike<number>; // 3×3 row-major rotation, local → world
  rgba: ArrayLike<number>;
  meshId?: number;
}

export interface RasterCamera {
  pos: ArrayLike<number>;
  /** 3×3 row-major; columns are the camera's x (right), y (up) and z (backwards) axes in the world. */
  mat: ArrayLike<number>;
  fovy: number; // degrees
  width: number;
  height: number;
  supersample?: number; // 1 (none) .. 4; 2 = 2×2 anti-aliasing
}

export interface RasterMesh {
  vertices: Float64Array; // xyz triples, geom-local
  faces: Int32Array; // index triples
}

interface NativeRasterizer {
  render(geoms: Float64Array, camera: Float64Array, meshes?: [Float64Array, Int32Array][], background?: Float64Array): Buffer;
  version: number;
}

let native: NativeRasterizer | null = null;

/** Where the addon is (util/runtime-paths.ts: the checkout's native/build/Release, or app.asar.unpacked's). */
export function nativeAddonPath(): string {
  return rasterizerAddon();
}

export function loadRasterizer(): NativeRasterizer {
  if (native) return native;
  const file = nativeAddonPath();
  if (!existsSync(file)) {
    throw new LabError('UNSUPPORTED', `the native rasterizer is not built (missing ${file}); run \`npx node-gyp rebuild -C native\``, {
      file,
    });
  }
  const require = createRequire(import.meta.url);
  try {
    native = require(file) as NativeRasterizer;
  } catch (err) {
    throw new LabError('UNSUPPORTED', `the native rasterizer at ${file} failed to load: ${(err as Error).message}`, { file }, { cause: err });
  }
  return native;
}

/** Pack geoms into the flat layout the addon reads. */
export function packGeoms(geoms: RasterGeom[], out?: Float64Array): Float64Array {
  const buf = out && out.length >= geoms.length * GEOM_STRIDE ? out.subarray(0, geoms.length * GEOM_STRIDE) : new Float64Array(geoms.length * GEOM_STRIDE);
  geoms.forEach((g, i) => {
    const o = i * GEOM_STRIDE;
    buf[o] = GeomType[g.type];
    for (let k = 0; k < 3; k++) buf[o + 1 + k] = g.size[k] ?? 0;
    for (let k = 0; k < 3; k++) buf[o + 4 + k] = g.pos[k];
    for (let k = 0; k < 9; k++) buf[o + 7 + k] = g.mat[k];
    for (let k = 0; k < 4; k++) buf[o + 16 + k] = g.rgba[k] ?? 1;
    buf[o + 20] = g.meshId ?? -1;
  });
  return buf;
}

export function packCamera(cam: RasterCamera): Float64Array {
  const c = new Float64Array(16);
  c.set(Array.from(cam.pos).slice(0, 3), 0);
  c.set(Array.from(cam.mat).slice(0, 9), 3);
  c[12] = cam.fovy;
  c[13] = cam.width;
  c[14] = cam.height;
  c[15] = cam.supersample ?? 1;
  return c;
}

export const DEFAULT_BACKGROUND = new Float64Array([0.55, 0.6, 0.68]);

/** Render to an H×W×3 RGB uint8 image (row 0 at the top). */
export function rasterize(
  geoms: Float64Array | RasterGeom[],
  camera: RasterCamera,
  meshes: RasterMesh[] = [],
  background: Float64Array = DEFAULT_BACKGROUND,
): Uint8Array {
  const packed = geoms instanceof Float64Array ? geoms : packGeoms(geoms);
  if (packed.length % GEOM_STRIDE !== 0) {
    throw new LabError('INVALID_INPUT', `packed geoms length ${packed.length} is not a multiple of ${GEOM_STRIDE}`, { length: packed.length });
  }
  try {
    const img = loadRasterizer().render(
      packed,
      packCamera(camera),
      meshes.map((m) => [m.vertices, m.faces]),
      background,
    );
    return new Uint8Array(img.buffer, img.byteOffset, img.byteLength);
  } catch (err) {
    if (err instanceof LabError) throw err;
    const code = (err as { code?: string }).code === 'NON_FINITE' ? 'NON_FINITE' : 'INVALID_INPUT';
    throw new LabError(code, `rasterizer: ${(err as Error).message}`, { camera: { ...camera, pos: Array.from(camera.pos) } });
  }
}

/** Camera rotation (row-major, columns = camera axes) looking from `eye` at `target` with world +z up. */
export function lookAt(eye: ArrayLike<number>, target: ArrayLike<number>, up: ArrayLike<number> = [0, 0, 1]): number[] {
  const z = norm([eye[0] - target[0], eye[1] - target[1], eye[2] - target[2]]); // camera looks down -z
  let x = cross([up[0], up[1], up[2]], z);
  if (Math.hypot(x[0], x[1], x[2]) < 1e-9) x = cross([0, 1, 0], z);
  x = norm(x);
  const y = cross(z, x);
  return [x[0], y[0], z[0], x[1], y[1], z[1], x[2], y[2], z[2]];
}

function cross(a: number[], b: number[]): number[] {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}
function norm(a: number[]): number[] {
  const n = Math.hypot(a[0], a[1], a[2]);
  return [a[0] / n, a[1] / n, a[2] / n];
}
