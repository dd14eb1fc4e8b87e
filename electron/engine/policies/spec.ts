import { z } from 'zod';
import { invalidInput } from '../errors.js';
import { NoiseOptions } from './noise.js';

/**
 * Every policy as data: one `PolicySpec` (job parameters, worker messages, the recipe's teacher, the
 * evaluate job's policies, the CLI, the UI's forms); `makePolicy(spec)` (make-policy.ts) builds it. This
 * file holds only the schemas, so validating a spec loads no policy code. A teacher collects and is
 * evaluated with the very same spec, so the settings it collected with are the ones it is evaluated with.
 * Every spec yields a policy whose randomness comes only from recorded seeds, so a rollout is reproducible.
 */

/** The scripted expert's persistence: grasp retries and passes over the goal (fewer → misses are fatal). */
export const ExpertSpec = z.object({ retries: z.number().int().min(0).max(10), rounds: z.number().int().min(1).max(10) }).partial().strict();

const Scripted = z.object({ kind: z.literal('scripted'), expert: ExpertSpec.optional() }).strict();
/**
 * The noise model's settings as a spec holds them: only what was set (NoisyPolicy fills its own defaults),
 * so a spec parses to the same value however often it is stored and read back.
 */
const NoiseSettings = z
  .object(Object.fromEntries(Object.entries(NoiseOptions.omit({ seed: true }).shape).map(([k, v]) => [k, (v as z.ZodDefault<z.ZodNumber>).unwrap().optional()])) as { [K in keyof Omit<NoiseOptions, 'seed'>]-?: z.ZodOptional<z.ZodNumber> })
  .strict();
/** The scripted expert through the teacher noise model (policies/noise.ts); the noise seed is the rollout's seed. */
const ScriptedNoisy = z.object({ kind: z.literal('scripted-noisy'), noise: NoiseSettings.default({}), expert: ExpertSpec.optional() }).strict();
const OpenVlaRest = z
  .object({
    kind: z.literal('openvla-rest'),
    url: z.url(),
    timeoutMs: z.number().int().positive().optional(),
    unnormKey: z.string().optional(),
    doubleEncode: z.boolean().optional(),
    gripper: z.enum(['openvla', 'libero']).optional(),
  })
  .strict();
/** An openpi websocket policy server (msgpack-numpy). */
const Websocket = z
  .object({
    kind: z.literal('websocket'),
    url: z.string().regex(/^wss?:\/\//, 'must start with ws:// or wss://'),
    timeoutMs: z.number().int().positive().optional(),
    replanSteps: z.number().int().min(1).optional(),
  })
  .strict();
/** An exported student policy.onnx; a relative `file` is resolved against the experiment folder. */
const Student = z
  .object({
    kind: z.literal('student'),
    file: z.string().min(1),
    textMode: z.enum(['masked', 'phase']).default('masked'),
    ep: z.enum(['auto', 'cpu', 'cuda']).default('cpu'),
    /** Matmul precision at load (policies/student-onnx.ts): fp32 (default), int8, or auto = the faster on this CPU, measured at load. */
    precision: z.enum(['fp32', 'int8', 'auto']).default('fp32'),
    threads: z.number().int().positive().optional(),
  })
  .strict();
const Random = z.object({ kind: z.literal('random') }).strict();
const Noop = z.object({ kind: z.literal('noop') }).strict();

const PolicySpecObject = z.discriminatedUnion('kind', [Scripted, ScriptedNoisy, OpenVlaRest, Websocket, Student, Random, Noop]);

/**
 * The short string forms older evaluate parameters and experiment settings used, turned into specs:
 *   teacher:scripted | scripted, teacher:scripted-noisy | scripted-noisy, rest:<url>, ws:<url> | ws://…,
 *   student:<policy.onnx>, random, noop.
 * Stored records with a string spec therefore still load and compare equal to their object form.
 */
export function policySpecFromString(spec: string): z.input<typeof PolicySpecObject> {
  if (spec === 'teacher:scripted' || spec === 'scripted') return { kind: 'scripted' };
  if (spec === 'teacher:scripted-noisy' || spec === 'scripted-noisy') return { kind: 'scripted-noisy' };
  if (spec === 'random' || spec === 'noop') return { kind: spec };
  if (/^wss?:\/\//.test(spec)) return { kind: 'websocket', url: spec };
  const m = /^(rest|ws|student):(.+)$/.exec(spec);
  if (m) {
    const rest = m[2];
    if (m[1] === 'rest') {
      if (!/^https?:\/\//.test(rest)) throw invalidInput(`policy spec '${spec}': a REST teacher url starts with http:// or https://`, { field: 'spec', value: spec });
      return { kind: 'openvla-rest', url: rest };
    }
    if (m[1] === 'ws') {
      if (!/^wss?:\/\//.test(rest)) throw invalidInput(`policy spec '${spec}': a websocket teacher url starts with ws:// or wss://`, { field: 'spec', value: spec });
      return { kind: 'websocket', url: rest };
    }
    return { kind: 'student', file: rest };
  }
  throw invalidInput(`unknown policy spec '${spec}' (teacher:scripted, teacher:scripted-noisy, rest:<url>, ws:<url>, random, noop, student:<policy.onnx>, or a {"kind": …} object)`, { field: 'spec', value: spec });
}

/** A policy spec: an object `{kind, …}`, or one of the legacy strings (policySpecFromString). */
export type PolicySpec = z.output<typeof PolicySpecObject>;
export type PolicySpecInput = z.input<typeof PolicySpecObject> | string;
export const PolicySpec = z.preprocess((v) => (typeof v === 'string' ? policySpecFromString(v) : v), PolicySpecObject) as z.ZodType<PolicySpec, PolicySpecInput>;
export type PolicyKind = PolicySpec['kind'];

/** The kinds that are teachers (what collect and the recipe's teacher accept). */
export const TEACHER_KINDS = ['scripted', 'scripted-noisy', 'openvla-rest', 'websocket'] as const satisfies readonly PolicyKind[];
export const TeacherSpec = PolicySpec.refine((s) => (TEACHER_KINDS as readonly string[]).includes(s.kind), { message: `a teacher is one of ${TEACHER_KINDS.join(', ')}` });

/** Does this policy read the simulator's privileged state (so it runs only on the built-in simulator)? */
export const needsPrivileged = (s: PolicySpec) => s.kind === 'scripted' || s.kind === 'scripted-noisy';
