import { ACTION_DIM } from '../data/episode.js';
import { Rng } from '../util/rng.js';
import type { Observation, Policy, PolicyContext } from './types.js';

/** Uniform random actions, a fresh stream per trial from the trial seed. */
export class RandomPolicy implements Policy {
  readonly name = 'random';
  private rng = new Rng(0);
  async reset(ctx: PolicyContext): Promise<void> {
    this.rng = new Rng(ctx.seed).fork('random-policy');
  }
  async act(_obs: Observation): Promise<Float32Array> {
    const a = new Float32Array(ACTION_DIM);
    for (let d = 0; d < ACTION_DIM - 1; d++) a[d] = this.rng.uniform(-1, 1);
    a[ACTION_DIM - 1] = this.rng.next() < 0.5 ? -1 : 1;
    return a;
  }
}

/** Stands still with the gripper open: the floor of every table. */
export class NoopPolicy implements Policy {
  readonly name = 'noop';
  async reset(): Promise<void> {}
  async act(): Promise<Float32Array> {
    return Float32Array.of(0, 0, 0, 0, 0, 0, -1);
  }
}
