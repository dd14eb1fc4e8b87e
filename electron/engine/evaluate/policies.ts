import path from 'node:path';
import { z } from 'zod';
import { ACTION_DIM } from '../data/episode.js';
import { invalidInput } from '../errors.js';
import { NoisyPolicy } from '../teacher/noise.js';
import { OpenVlaRestPolicy } from '../teacher/openvla-rest.js';
import type { Observation, Policy, PolicyContext } from '../teacher/policy.js';
import { ScriptedExpert } from '../teacher/scripted-expert.js';
import { WebsocketPolicy } from '../teacher/websocket-policy.js';
import { Rng } from '../util/rng.js';
import { StudentOnnxPolicy } from './student-policy.js';

/**
 * Policies under test, named by a spec string (docs/evaluate.md "Policies"):
 *   teacher:scripted          the scripted expert (built-in simulator only: it reads privileged state)
 *   teacher:scripted-noisy    the same through the teacher noise model (teacher/noise.ts, default noise),
 *                             noise seed = the protocol seed, re-forked per trial from the trial seed
 *   rest:<url>                an OpenVLA deploy.py server (json-numpy over HTTP)
 *   ws:<url> | ws://host:port an openpi websocket server (msgpack-numpy): ws:ws://127.0.0.1:8000 or ws://127.0.0.1:8000
 *   random                    uniform motion in [-1, 1]^6 and a random gripper sign, seeded by the trial seed
 *   noop                      no motion, gripper open
 *   student:<policy.onnx>     the exported student, test-time text `textMode` (masked | phase); a relative
 *                             path is resolved against `baseDir` (the experiment folder)
 * Every spec yields a policy whose randomness comes only from recorded seeds, so a trial is reproducible.
 */
export const PolicyEntrySchema = z
  .object({
    /** Folder name under eval/ and the policyId of the trial records. */
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._=-]*$/, 'letters, digits, . _ = - (it names a folder)'),
    spec: z.string().min(1),
    textMode: z.enum(['masked', 'phase']).default('masked'),
  })
  .strict();
export type PolicyEntry = z.infer<typeof PolicyEntrySchema>;

export type ParsedSpec =
  | { kind: 'scripted'; noisy: boolean }
  | { kind: 'rest'; url: string }
  | { kind: 'ws'; url: string }
  | { kind: 'random' }
  | { kind: 'noop' }
  | { kind: 'student'; file: string };

export function parsePolicySpec(spec: string): ParsedSpec {
  if (spec === 'teacher:scripted') return { kind: 'scripted', noisy: false };
  if (spec === 'teacher:scripted-noisy') return { kind: 'scripted', noisy: true };
  if (spec === 'random') return { kind: 'random' };
  if (spec === 'noop') return { kind: 'noop' };
  const m = /^(rest|ws|student):(.+)$/.exec(spec);
  if (m) {
    const rest = m[2];
    if (m[1] === 'rest') {
      if (!/^https?:\/\//.test(rest)) throw invalidInput(`policy spec '${spec}': a REST teacher url starts with http:// or https://`, { field: 'spec', value: spec });
      return { kind: 'rest', url: rest };
    }
    if (m[1] === 'ws') {
      if (rest.startsWith('//')) return { kind: 'ws', url: spec }; // 'ws://host:port' written directly
      if (!/^wss?:\/\//.test(rest)) throw invalidInput(`policy spec '${spec}': a websocket teacher url starts with ws:// or wss://`, { field: 'spec', value: spec });
      return { kind: 'ws', url: rest };
    }
    return { kind: 'student', file: rest };
  }
  throw invalidInput(`unknown policy spec '${spec}' (teacher:scripted, teacher:scripted-noisy, rest:<url>, ws:<url>, random, noop, student:<policy.onnx>)`, { field: 'spec', value: spec });
}

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

export interface CreatePolicyOptions {
  /** The protocol seed (the noisy teacher's noise seed). */
  seed: number;
  textMode?: 'masked' | 'phase';
  /** Resolves a relative student path. */
  baseDir?: string;
  tokenizerDir?: string;
  /** Server timeouts (ms). */
  timeoutMs?: number;
}

export async function createPolicy(spec: string, opts: CreatePolicyOptions): Promise<Policy> {
  const p = parsePolicySpec(spec);
  switch (p.kind) {
    case 'scripted':
      return p.noisy ? new NoisyPolicy(new ScriptedExpert(), { seed: opts.seed }) : new ScriptedExpert();
    case 'rest':
      return new OpenVlaRestPolicy({ url: p.url, ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}) });
    case 'ws':
      return new WebsocketPolicy({ url: p.url, ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}) });
    case 'random':
      return new RandomPolicy();
    case 'noop':
      return new NoopPolicy();
    case 'student':
      return StudentOnnxPolicy.create(path.resolve(opts.baseDir ?? process.cwd(), p.file), { textMode: opts.textMode ?? 'masked', tokenizerDir: opts.tokenizerDir });
  }
}
