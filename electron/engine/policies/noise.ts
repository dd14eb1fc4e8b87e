import { z } from 'zod';
import { parseOr } from '../errors.js';
import { Rng } from '../util/rng.js';
import { ACTION_DIM } from '../data/episode.js';
import { DEFAULT_FLIP_WINDOW } from '../data/stats.js';
import type { Observation, Policy, PolicyContext } from './types.js';

/**
 * The teacher noise model (issue 6): wraps any policy and reproduces what the paper measures in OpenVLA
 * rollouts: spurious, self-revoking gripper flips (default 3 % of frames), Gaussian jitter on the six
 * motion dimensions, and occasional grasp misses (a commanded close is held back for a few frames, so a
 * scripted grasp can close on nothing). The executed, recorded action is the noisy one.
 *
 * Flips: at a frame outside a blip, with probability p the gripper sign is inverted for L frames
 * (L uniform in 1..maxBlip, maxBlip < the flip window W), then restored: one spurious flip as counted by
 * data/stats.ts countGripperFlips. No blip starts inside another or within W frames after one ends
 * (else the return would itself count as a flip), so with a mean cycle of 1/p + (E[L] − 1) + (W + 1) frames (the return at r must be followed by no change
 * up to r + W), p = f / (1 − f·(E[L] + W)) gives f flips per frame; each episode starts in that cycle's
 * stationary state (busy with probability f·(E[L] + W)).
 * No blip starts within W frames after a real grasp/release (that would revoke it); a blip within W
 * frames before one still adds a flip (the policy cannot see the future): a small upward bias, about
 * f·W/2 flips per real transition. The frames a real transition makes ineligible are owed: their start
 * probability is added (at most p more per frame) to the next eligible frames, so short episodes with a
 * grasp and a release keep the configured rate too. Every random draw comes from Rng(seed).fork(episode seed): episodes are reproducible.
 */
export const NoiseOptions = z.object({
  seed: z.number().int(),
  flipRate: z.number().min(0).max(0.2).default(0.03),
  maxBlip: z.number().int().min(1).max(DEFAULT_FLIP_WINDOW - 1).default(3),
  jitterStd: z.number().min(0).max(1).default(0.02),
  graspMissProb: z.number().min(0).max(1).default(0),
  graspMissFrames: z.number().int().min(1).default(8),
});
export type NoiseOptions = z.input<typeof NoiseOptions>;

export class NoisyPolicy implements Policy {
  readonly name: string;
  private readonly opts: z.output<typeof NoiseOptions>;
  private rng: Rng;
  private blipLeft = 0;
  private refractory = 0;
  private holdOpen = 0;
  private lastClean = 0; // 0: no command seen yet this episode
  /** Blip starts owed for frames a real grasp/release made ineligible (repaid at later eligible frames). */
  private debt = 0;
  private realHold = 0; // frames of the refractory that a real transition imposed

  constructor(private readonly inner: Policy, options: NoiseOptions) {
    this.opts = parseOr(NoiseOptions, options, 'noise options');
    this.rng = new Rng(this.opts.seed);
    this.name = `${inner.name}+noise(flip=${this.opts.flipRate},jitter=${this.opts.jitterStd},miss=${this.opts.graspMissProb})`;
  }

  /** Per-frame blip start probability for the target flip rate. */
  get startProbability(): number {
    const meanBlip = (1 + this.opts.maxBlip) / 2;
    return this.opts.flipRate / (1 - this.opts.flipRate * (meanBlip + DEFAULT_FLIP_WINDOW));
  }

  async reset(ctx: PolicyContext): Promise<void> {
    this.rng = new Rng(this.opts.seed).fork(`episode:${ctx.seed}:${ctx.taskIndex}:${ctx.initIndex}`);
    this.blipLeft = 0;
    const busy = this.opts.flipRate * ((1 + this.opts.maxBlip) / 2 + DEFAULT_FLIP_WINDOW);
    this.refractory = this.rng.next() < busy ? 1 + this.rng.int(DEFAULT_FLIP_WINDOW + 1) : 0;
    this.holdOpen = 0;
    this.lastClean = 0;
    this.debt = 0;
    this.realHold = 0;
    await this.inner.reset(ctx);
  }

  private perturb(a: Float32Array): void {
    for (let d = 0; d < ACTION_DIM - 1; d++) a[d] = Math.max(-1, Math.min(1, a[d] + this.rng.normal(0, this.opts.jitterStd)));
    const g = ACTION_DIM - 1;
    const clean = a[g] > 0 ? 1 : -1;
    // Grasp miss: when the clean command switches open → close, sometimes keep it open a while.
    if (clean === 1 && this.lastClean === -1 && this.rng.next() < this.opts.graspMissProb) this.holdOpen = this.opts.graspMissFrames;
    // No blip within W frames after a real grasp/release either: it would make that transition self-revoking.
    if (this.lastClean !== 0 && clean !== this.lastClean && this.blipLeft === 0) {
      // frames that would have been eligible for a blip, were it not for this real transition
      this.realHold = Math.max(0, DEFAULT_FLIP_WINDOW + 1 - this.refractory);
      this.refractory = Math.max(this.refractory, DEFAULT_FLIP_WINDOW + 1);
    }
    this.lastClean = clean;
    let cmd = clean;
    if (this.holdOpen > 0) {
      this.holdOpen--;
      cmd = -1;
    }
    const draw = this.rng.next(); // drawn every frame, so the stream does not depend on the blip state
    if (this.blipLeft > 0) {
      this.blipLeft--;
      cmd = -cmd;
      if (this.blipLeft === 0) this.refractory = DEFAULT_FLIP_WINDOW + 1;
    } else if (this.refractory > 0) {
      // Frames a real transition blocked would have started a blip with probability p: owe it, so
      // the kept data (many short episodes, two real transitions each) keeps the configured rate.
      if (this.realHold > 0 && this.refractory <= this.realHold) {
        this.debt += this.startProbability;
        this.realHold--;
      }
      this.refractory--;
    } else if (draw < this.startProbability + this.repay()) {
      const L = 1 + this.rng.int(this.opts.maxBlip);
      this.blipLeft = L - 1; // this frame is the first of L
      if (this.blipLeft === 0) this.refractory = DEFAULT_FLIP_WINDOW + 1;
      cmd = -cmd;
    }
    a[g] = cmd;
  }

  /** Extra start probability this eligible frame (at most p again), paid from the debt. */
  private repay(): number {
    const extra = Math.min(this.debt, this.startProbability);
    this.debt -= extra;
    return extra;
  }

  async act(obs: Observation): Promise<Float32Array> {
    const chunk = Float32Array.from(await this.inner.act(obs));
    for (let k = 0; k < chunk.length; k += ACTION_DIM) this.perturb(chunk.subarray(k, k + ACTION_DIM));
    return chunk;
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }

  /** The wrapped teacher's stage (noise does not change the plan it is executing). */
  get teacherStage(): string | undefined {
    return this.inner.teacherStage;
  }
}
