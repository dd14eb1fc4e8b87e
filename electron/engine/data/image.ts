/**
 * Image preprocessing as pure functions on H×W×C uint8 (row-major, channels last).
 * OpenVLA's LIBERO pipeline (experiments/robot/libero/libero_utils.py): the agentview image is rotated
 * 180° (`img[::-1, ::-1]`, LIBERO renders upside down) and resized to 224×224 with TF's lanczos3,
 * antialiased, then rounded and clipped to uint8. (OpenVLA also JPEG-encodes and decodes before resizing
 * to match its RLDS training data; that step is not reproduced here.)
 */
import { rotate180, type Image } from '../util/image.js';

// The image type and the 180° rotation live in util/ (the PNG encoder needs them too).
export { rotate180, type Image };

export type ResizeFilter = 'bilinear' | 'lanczos3';

const KERNELS: Record<ResizeFilter, { support: number; f: (x: number) => number }> = {
  bilinear: { support: 1, f: (x) => Math.max(0, 1 - Math.abs(x)) },
  lanczos3: {
    support: 3,
    f: (x) => {
      x = Math.abs(x);
      if (x < 1e-12) return 1;
      if (x >= 3) return 0;
      const px = Math.PI * x;
      return (3 * Math.sin(px) * Math.sin(px / 3)) / (px * px);
    },
  },
};

/** Per output index: first input index and normalized weights (pixel centres aligned, antialiased). */
function weights(inSize: number, outSize: number, filter: ResizeFilter): { start: Int32Array; w: Float64Array[] } {
  const { support, f } = KERNELS[filter];
  const scale = inSize / outSize;
  const stretch = Math.max(1, scale); // widen the kernel when shrinking (antialias)
  const start = new Int32Array(outSize);
  const w: Float64Array[] = [];
  for (let o = 0; o < outSize; o++) {
    const centre = (o + 0.5) * scale;
    const lo = Math.max(0, Math.floor(centre - support * stretch));
    const hi = Math.min(inSize, Math.ceil(centre + support * stretch));
    const ws = new Float64Array(hi - lo);
    let sum = 0;
    for (let i = lo; i < hi; i++) sum += ws[i - lo] = f((i + 0.5 - centre) / stretch);
    for (let k = 0; k < ws.length; k++) ws[k] /= sum;
    start[o] = lo;
    w.push(ws);
  }
  return { start, w };
}

/** Separable resize (rows, then columns); float intermediate, rounded and clipped to uint8 at the end. */
export function resize(img: Image, height: number, width: number, filter: ResizeFilter = 'lanczos3'): Image {
  const { height: H, width: W, channels: C } = img;
  const wx = weights(W, width, filter);
  const wy = weights(H, height, filter);
  const tmp = new Float64Array(H * width * C);
  for (let y = 0; y < H; y++) {
    for (let o = 0; o < width; o++) {
      const ws = wx.w[o];
      const s = wx.start[o];
      for (let c = 0; c < C; c++) {
        let acc = 0;
        for (let k = 0; k < ws.length; k++) acc += ws[k] * img.data[(y * W + s + k) * C + c];
        tmp[(y * width + o) * C + c] = acc;
      }
    }
  }
  const out = new Uint8Array(height * width * C);
  for (let o = 0; o < height; o++) {
    const ws = wy.w[o];
    const s = wy.start[o];
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < C; c++) {
        let acc = 0;
        for (let k = 0; k < ws.length; k++) acc += ws[k] * tmp[((s + k) * width + x) * C + c];
        out[(o * width + x) * C + c] = Math.max(0, Math.min(255, Math.round(acc)));
      }
    }
  }
  return { data: out, height, width, channels: C };
}

/** OpenVLA's agentview preprocessing for LIBERO: rotate 180°, resize to 224 with lanczos3. */
export function openVlaImage(img: Image, size = 224): Image {
  return resize(rotate180(img), size, size, 'lanczos3');
}
