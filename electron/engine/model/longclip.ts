import { LabError } from '../errors.js';

/**
 * Long-CLIP's positional-embedding stretch (Zhang et al. 2024, `load_from_clip`): from a table of L
 * positions (77 in CLIP) to 4L − 3·keep (248 for keep = 20):
 *   - positions 0 … keep−1 are kept as they are (they are well trained);
 *   - each position i in keep … L−2 becomes four rows, linearly interpolated towards i+1
 *     (weights 4/4, 3/4, 2/4, 1/4 of row i);
 *   - the last position L−1 is extrapolated into the final four rows: p[L−1] + j·(p[L−1] − p[L−2])/4, j = 0…3.
 * `table` is row-major [L, D]; the result is [4L − 3·keep, D].
 */
export function stretchPositions(table: Float32Array, length: number, dim: number, keep = 20): Float32Array {
  if (table.length !== length * dim) throw new LabError('SHAPE_MISMATCH', `position table has ${table.length} values, expected ${length}×${dim}`, { field: 'position_embedding' });
  if (!(keep >= 0 && keep < length - 1)) throw new LabError('INVALID_INPUT', `keep ${keep} must be in [0, ${length - 1})`, { field: 'keep' });
  const out = new Float32Array((4 * length - 3 * keep) * dim);
  const row = (i: number) => table.subarray(i * dim, (i + 1) * dim);
  for (let i = 0; i < keep; i++) out.set(row(i), i * dim);
  for (let i = 0; i < length - 1 - keep; i++) {
    const a = row(i + keep);
    const b = row(i + 1 + keep);
    for (let j = 0; j < 4; j++) {
      const o = (4 * i + j + keep) * dim;
      for (let d = 0; d < dim; d++) out[o + d] = ((4 - j) * a[d]) / 4 + (j * b[d]) / 4;
    }
  }
  const last = row(length - 1);
  const prev = row(length - 2);
  const base = 4 * length - 3 * keep - 4;
  for (let j = 0; j < 4; j++) for (let d = 0; d < dim; d++) out[(base + j) * dim + d] = last[d] + (j * (last[d] - prev[d])) / 4;
  return out;
}

/** The stretched length for a table of `length` positions. */
export const stretchedLength = (length: number, keep = 20) => 4 * length - 3 * keep;
