/** An H×W×C uint8 image, row-major, channels last. */
export interface Image {
  data: Uint8Array;
  height: number;
  width: number;
  channels: number;
}

/** Rotate 180° (`img[::-1, ::-1]`): LIBERO renders agentview upside down and OpenVLA turns it back. */
export function rotate180(img: Image): Image {
  const { height: H, width: W, channels: C } = img;
  const out = new Uint8Array(img.data.length);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const src = (y * W + x) * C;
      const dst = ((H - 1 - y) * W + (W - 1 - x)) * C;
      for (let c = 0; c < C; c++) out[dst + c] = img.data[src + c];
    }
  }
  return { ...img, data: out };
}
