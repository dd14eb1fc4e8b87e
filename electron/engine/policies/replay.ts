import { ACTION_DIM } from '../data/episode.js';
import { LabError } from '../errors.js';
import type { ActionChunk, Policy } from './types.js';

/**
 * A policy that plays back a recorded trial's executed actions, one per query (the video job re-renders a
 * trial at a higher resolution this way: the built-in simulator is deterministic, so the same initial
 * state and the same actions give the same episode). Asked for more steps than were recorded, it fails.
 */
export class ReplayPolicy implements Policy {
  readonly name = 'replay';
  private t = 0;
  constructor(private readonly actions: readonly number[]) {
    if (actions.length % ACTION_DIM !== 0) throw new LabError('INVALID_INPUT', `replay: ${actions.length} action values are not steps × ${ACTION_DIM}`, { field: 'actions' });
  }
  get steps(): number {
    return this.actions.length / ACTION_DIM;
  }
  async reset(): Promise<void> {
    this.t = 0;
  }
  async act(): Promise<ActionChunk> {
    if (this.t >= this.steps) throw new LabError('CONFLICT', `replay: the recorded trial has ${this.steps} steps; the simulator asked for step ${this.t + 1}`, { steps: this.steps });
    const a = Float32Array.from(this.actions.slice(this.t * ACTION_DIM, (this.t + 1) * ACTION_DIM));
    this.t++;
    return a;
  }
}
