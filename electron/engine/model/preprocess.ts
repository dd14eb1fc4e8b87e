import { type Image, resize, rotate180 } from '../data/image.js';
import { LabError } from '../errors.js';
import type { StudentConfig } from './config.js';

/**
 * The one image preprocessing of the student, shared by training, validation and the deployed policy:
 * optional 180° rotation (LIBERO-origin agentview frames are upside down; OpenVLA rotates them), resize
 * to the model's size (lanczos3, like OpenVLA, skipped when already there), HWC uint8 → CHW float 0…255.
 * CLIP's mean/std normalization is inside the network graph (network.ts: visionTower), so the exported
 * policy.onnx takes these raw-scale pixels.
 */
export interface PreprocessOptions {
  rotate180: boolean;
}

export function framePixels(img: Image, c: StudentConfig, o: PreprocessOptions, out?: Float32Array, offset = 0): Float32Array {
  if (img.channels !== 3) throw new LabError('SHAPE_MISMATCH', `image has ${img.channels} channels, expected 3 (RGB)`, { field: 'image' });
  let im = o.rotate180 ? rotate180(img) : img;
  const S = c.image.size;
  if (im.height !== S || im.width !== S) im = resize(im, S, S, 'lanczos3');
  const n = S * S;
  const dst = out ?? new Float32Array(3 * n);
  const d = im.data;
  for (let i = 0; i < n; i++) {
    dst[offset + i] = d[i * 3];
    dst[offset + n + i] = d[i * 3 + 1];
    dst[offset + 2 * n + i] = d[i * 3 + 2];
  }
  return dst;
}

/** Frame t of a T×H×W×3 uint8 video (a view, no copy). */
export function videoFrame(video: Uint8Array, t: number, height: number, width: number): Image {
  const n = height * width * 3;
  return { data: video.subarray(t * n, (t + 1) * n), height, width, channels: 3 };
}
