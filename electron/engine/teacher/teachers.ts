import { z } from 'zod';
import { NoiseOptions, NoisyPolicy } from './noise.js';
import { OpenVlaRestPolicy } from './openvla-rest.js';
import { ScriptedExpert } from './scripted-expert.js';
import { WebsocketPolicy } from './websocket-policy.js';
import type { Policy } from './policy.js';

/**
 * Teacher specs as data (job parameters, worker messages) and the policy each one builds: the scripted
 * expert, the same with the noise model, or a remote policy server.
 */
/** The scripted expert's persistence: grasp retries and passes over the goal (fewer → misses are fatal). */
export const ExpertSpec = z.object({ retries: z.number().int().min(0).max(10), rounds: z.number().int().min(1).max(10) }).partial().strict();

export const TeacherSpec = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('scripted'), expert: ExpertSpec.optional() }).strict(),
  z.object({ kind: z.literal('scripted-noisy'), noise: NoiseOptions.omit({ seed: true }).partial().default({}), expert: ExpertSpec.optional() }).strict(),
  z
    .object({
      kind: z.literal('openvla-rest'),
      url: z.url(),
      timeoutMs: z.number().int().positive().optional(),
      unnormKey: z.string().optional(),
      doubleEncode: z.boolean().optional(),
      gripper: z.enum(['openvla', 'libero']).optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('websocket'),
      url: z.string().regex(/^wss?:\/\//, 'must start with ws:// or wss://'),
      timeoutMs: z.number().int().positive().optional(),
      replanSteps: z.number().int().min(1).optional(),
    })
    .strict(),
]);
export type TeacherSpec = z.output<typeof TeacherSpec>;

/** The policy for a (parsed) teacher spec; the noise model is seeded with `seed`. */
export function makeTeacher(t: TeacherSpec, seed: number): Policy {
  switch (t.kind) {
    case 'scripted':
      return new ScriptedExpert(t.expert);
    case 'scripted-noisy':
      return new NoisyPolicy(new ScriptedExpert(t.expert), { ...t.noise, seed });
    case 'openvla-rest':
      return new OpenVlaRestPolicy({ url: t.url, timeoutMs: t.timeoutMs, unnormKey: t.unnormKey, doubleEncode: t.doubleEncode, gripper: t.gripper });
    case 'websocket':
      return new WebsocketPolicy({ url: t.url, timeoutMs: t.timeoutMs, replanSteps: t.replanSteps });
  }
}
