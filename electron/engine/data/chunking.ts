import { ACTION_DIM } from './episode.js';

/**
 * K future actions from frame t: a[t], ..., a[t+K-1]. Past the episode's end the last action is
 * repeated and the mask is 0, so a loss can ignore the padding (mask 1 = a real future action).
 */
export function actionChunk(actions: ArrayLike<number>, length: number, t: number, K: number): { chunk: Float32Array; mask: Uint8Array } {
  if (!(t >= 0 && t < length)) throw new RangeError(`actionChunk: frame ${t} outside episode of ${length}`);
  const chunk = new Float32Array(K * ACTION_DIM);
  const mask = new Uint8Array(K);
  for (let k = 0; k < K; k++) {
    const src = Math.min(t + k, length - 1);
    mask[k] = t + k < length ? 1 : 0;
    for (let d = 0; d < ACTION_DIM; d++) chunk[k * ACTION_DIM + d] = actions[src * ACTION_DIM + d];
  }
  return { chunk, mask };
}
