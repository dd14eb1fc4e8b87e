import { ACTION_DIM } from '../data/episode.js';
import { LabError } from '../errors.js';
import { z } from 'zod';

/** How an action chunk is turned into per-step actions (recorded with every trial). */
export const ChunkExecutionSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('whole') }),
  z.object({ mode: z.literal('replan'), n: z.number().int().positive() }),
  z.object({ mode: z.literal('ensemble'), k: z.number().nonnegative().default(0.01) }),
]);
export type ChunkExecution = z.infer<typeof ChunkExecutionSchema>;

/**
 * Turns a policy's action chunks (K×7, K ≥ 1) into one action per control step. Pure: no clock, no
 * policy, no simulator; the closed-loop runner asks `needsQuery()` before each step, pushes the chunk the
 * policy returned, then takes `next()`.
 *
 * Modes (docs/evaluate.md):
 * - `whole`: execute all K actions open-loop, then query again.
 * - `replan` (n): execute the first n actions of each chunk, then query again (n ≥ K behaves like whole).
 * - `ensemble` (k): query every step; the action for step t is the weighted mean of every stored chunk's
 *   prediction for t, weight exp(−k·i) with i = 0 for the OLDEST prediction (ACT, Zhao et al. 2023,
 *   `exp_weights = np.exp(-k * np.arange(n))`; k = 0.01 there). All 7 dimensions are averaged, the
 *   gripper too: its sign is what the controller acts on.
 */
export class ChunkExecutor {
  /** Control steps executed so far. */
  private t = 0;
  /** Policy queries so far. */
  queries = 0;
  // whole / replan: the rest of the current chunk and how many of it have run.
  private queue: Float32Array[] = [];
  private sinceQuery = 0;
  // ensemble: every chunk still covering a future step, oldest first.
  private live: { start: number; rows: Float32Array[] }[] = [];
  private pushedAt = -1;

  constructor(
    readonly execution: ChunkExecution,
    readonly actionDim = ACTION_DIM,
  ) {}

  get step(): number {
    return this.t;
  }

  /** Must the policy be queried before the next step? */
  needsQuery(): boolean {
    switch (this.execution.mode) {
      case 'whole':
        return this.queue.length === 0;
      case 'replan':
        return this.queue.length === 0 || this.sinceQuery >= this.execution.n;
      case 'ensemble':
        return this.pushedAt !== this.t;
    }
  }

  /** Hand over the chunk the policy returned at the current step. */
  push(chunk: ArrayLike<number>): void {
    const D = this.actionDim;
    if (chunk.length === 0 || chunk.length % D !== 0) {
      throw new LabError('SHAPE_MISMATCH', `action chunk has ${chunk.length} values, not K×${D}`, { field: 'chunk', length: chunk.length, actionDim: D });
    }
    const rows: Float32Array[] = [];
    for (let k = 0; k < chunk.length / D; k++) {
      const row = Float32Array.from({ length: D }, (_, d) => chunk[k * D + d]);
      for (let d = 0; d < D; d++) {
        if (!Number.isFinite(row[d])) throw new LabError('NON_FINITE', `action chunk row ${k} dim ${d} is ${row[d]}`, { field: 'chunk', row: k, dim: d });
      }
      rows.push(row);
    }
    this.queries++;
    this.pushedAt = this.t;
    if (this.execution.mode === 'ensemble') this.live.push({ start: this.t, rows });
    else {
      this.queue = rows;
      this.sinceQuery = 0;
    }
  }

  /** The action for the current step; advances the step. */
  next(): Float32Array {
    if (this.execution.mode !== 'ensemble') {
      const a = this.queue.shift();
      if (!a) throw new LabError('INTERNAL', `ChunkExecutor: no action left at step ${this.t}; query the policy first`, { step: this.t });
      this.sinceQuery++;
      this.t++;
      return a;
    }
    const t = this.t;
    this.live = this.live.filter((c) => c.start + c.rows.length > t);
    if (this.live.length === 0) throw new LabError('INTERNAL', `ChunkExecutor: no chunk covers step ${t}; query the policy first`, { step: t });
    const k = this.execution.k;
    const out = new Float32Array(this.actionDim);
    let total = 0;
    // Accumulate in float64 (plain numbers) and round once, so the result does not depend on chunk count.
    const acc = new Array<number>(this.actionDim).fill(0);
    this.live.forEach((c, i) => {
      const w = Math.exp(-k * i);
      total += w;
      const row = c.rows[t - c.start];
      for (let d = 0; d < this.actionDim; d++) acc[d] += w * row[d];
    });
    for (let d = 0; d < this.actionDim; d++) out[d] = acc[d] / total;
    this.t++;
    return out;
  }
}
