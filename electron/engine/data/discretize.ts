/**
 * 256-bin uniform action discretization over [-1, 1], exactly OpenVLA's ActionTokenizer
 * (prismatic/vla/action_tokenizer.py):
 *   bins = linspace(-1, 1, 256)            (256 edges)
 *   bin_centers = (bins[:-1] + bins[1:]) / 2  (255 centers)
 *   encode: d = digitize(clip(a, -1, 1), bins)  ∈ 1..256;  token = vocab_size - d
 *   decode: d = vocab_size - token;  a = bin_centers[clip(d - 1, 0, 254)]
 * Here a bin id is d - 1 ∈ 0..255 (255 only for a == 1 exactly, decoded like 254, as in OpenVLA).
 */
export const N_BINS = 256;

/** numpy.linspace(-1, 1, 256): start + i·step, with the last edge set to stop exactly. */
export const BIN_EDGES: Float64Array = (() => {
  const e = new Float64Array(N_BINS);
  const step = 2 / (N_BINS - 1);
  for (let i = 0; i < N_BINS; i++) e[i] = -1 + i * step;
  e[N_BINS - 1] = 1;
  return e;
})();

export const BIN_CENTERS: Float64Array = Float64Array.from({ length: N_BINS - 1 }, (_, i) => (BIN_EDGES[i] + BIN_EDGES[i + 1]) / 2);

/** numpy.digitize(x, BIN_EDGES) for increasing edges: the i with edges[i-1] <= x < edges[i]. */
function digitize(x: number): number {
  let lo = 0;
  let hi = N_BINS; // answer in [0, 256]
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (BIN_EDGES[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Bin ids (0..255) of normalized actions; NaN is refused by the caller's validation, clipped here to -1. */
export function discretize(actions: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(actions.length);
  for (let i = 0; i < actions.length; i++) {
    const a = Math.max(-1, Math.min(1, Number.isNaN(actions[i]) ? -1 : actions[i]));
    out[i] = digitize(a) - 1;
  }
  return out;
}

/** Bin ids back to bin centers. */
export function undiscretize(bins: ArrayLike<number>): Float32Array {
  const out = new Float32Array(bins.length);
  for (let i = 0; i < bins.length; i++) out[i] = BIN_CENTERS[Math.max(0, Math.min(N_BINS - 2, bins[i]))];
  return out;
}

/** OpenVLA token ids (vocab_size - digitize), for a Llama-2 vocabulary of 32000 by default. */
export function toTokenIds(actions: ArrayLike<number>, vocabSize = 32000): Int32Array {
  const bins = discretize(actions);
  return Int32Array.from(bins, (b) => vocabSize - (b + 1));
}

export function fromTokenIds(tokens: ArrayLike<number>, vocabSize = 32000): Float32Array {
  return undiscretize(Array.from(tokens as ArrayLike<number>, (t) => vocabSize - t - 1));
}
