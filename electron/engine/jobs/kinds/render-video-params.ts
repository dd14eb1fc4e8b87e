import { z } from 'zod';

/** The `render-video` job's parameters (docs/video.md): a schema alone, light to load, checked by the shell before a worker starts. */
const policyId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._=-]*$/, 'a policy id: letters, digits, . _ = -');
const suite = z.string().regex(/^[a-z0-9_]+$/, 'a suite name: lower-case letters, digits, _');
const index = z.number().int().nonnegative();
const common = {
  /** Panel size in pixels; larger than the stored frames: re-rendered (built-in simulator) or upscaled. Default: the stored size. */
  size: z.number().int().min(16).max(1024).optional(),
  /** auto: re-render when `size` exceeds the stored frames and the trial can be replayed; always: re-render or fail; never: upscale. */
  rerender: z.enum(['auto', 'always', 'never']).default('auto'),
  formats: z.array(z.enum(['mp4', 'webm', 'gif'])).min(1).default(['mp4']),
  /** Frames per second; default the control rate (20 steps/s). */
  fps: z.number().int().min(1).max(60).default(20),
  /** Frames of the final state after the longest trial ended. */
  hold: z.number().int().min(0).max(600).default(20),
  /** The output's base name under videos/ (default from the layout and its trials). */
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$/, 'a file name: letters, digits, . _ -').optional(),
};
export const RenderVideoParams = z.discriminatedUnion('layout', [
  /** N policies from the same (suite, task, initial state), side by side. */
  z.object({ layout: z.literal('compare'), suite, taskIndex: index, initIndex: index, policies: z.array(policyId).min(1).optional(), ...common }).strict(),
  /** A suite's tasks × policies, one trial each (the same trial index). */
  z.object({ layout: z.literal('grid'), suite, tasks: z.array(index).min(1).optional(), policies: z.array(policyId).min(1).optional(), trialIndex: index.default(0), ...common }).strict(),
  /** One trial: both cameras and the action timeline. */
  z.object({ layout: z.literal('trial'), policyId, suite, taskIndex: index, trialIndex: index, ...common }).strict(),
]);
export type RenderVideoParams = z.output<typeof RenderVideoParams>;
