import { z } from 'zod';
import { parseOr } from '../errors.js';
import type { Env } from '../envs/env.js';
import { EnvSpec } from '../envs/spec.js';
import { makeEnv } from '../envs/make-env.js';
import { makePolicy } from '../policies/make-policy.js';
import { StudentOnnxPolicy } from '../policies/student-onnx.js';
import type { Policy } from '../policies/types.js';
import { PolicyEntrySchema } from './policy-entry.js';
import type { TrialSpec } from './protocol.js';
import { runTrial, trialFramesFile } from './runner.js';
import type { TrialRecord } from './trial.js';

/**
 * What one worker (a process, or the caller itself when serial) holds across trials: one simulator and
 * one policy, built once from a plain-data config (it crosses the process boundary), reset per trial.
 * Trial results depend only on the trial spec (task, initial state, seed), never on which trials the
 * session ran before: that is what makes a parallel run equal to a serial one (tested).
 */
export const TrialSessionConfigSchema = z.object({
  policy: PolicyEntrySchema,
  /** Protocol seed: the noisy teacher's noise seed. */
  seed: z.number().int(),
  /** Folder relative student paths are resolved against (the experiment folder). */
  baseDir: z.string(),
  /** The policy's eval folder: frame packs go to `<evalDir>/frames/`. */
  evalDir: z.string(),
  imageSize: z.number().int().positive().default(128),
  /** The environment; default the built-in simulator at `imageSize`. */
  env: EnvSpec.optional(),
  frames: z.object({ keep: z.boolean(), stride: z.number().int().positive() }).default({ keep: true, stride: 1 }),
  tokenizerDir: z.string().optional(),
  timeoutMs: z.number().int().positive().optional(),
  /** A student policy's execution provider, as the job resolved it (it wins over the spec's `ep`). */
  ep: z.enum(['cpu', 'cuda']).optional(),
});
export type TrialSessionConfig = z.input<typeof TrialSessionConfigSchema>;

export class TrialSession {
  private readonly instructions = new Map<string, string>();
  private constructor(
    readonly config: z.output<typeof TrialSessionConfigSchema>,
    readonly env: Env,
    readonly policy: Policy,
  ) {}

  static async create(input: TrialSessionConfig, deps: { env?: Env; policy?: Policy } = {}): Promise<TrialSession> {
    const c = parseOr(TrialSessionConfigSchema, input, 'trial session config');
    const spec = c.ep && c.policy.spec.kind === 'student' ? { ...c.policy.spec, ep: c.ep } : c.policy.spec;
    const policy = deps.policy ?? (await makePolicy(spec, { seed: c.seed, baseDir: c.baseDir, tokenizerDir: c.tokenizerDir, timeoutMs: c.timeoutMs }));
    const env = deps.env ?? (await makeEnv(c.env ?? { kind: 'builtin', imageSize: c.imageSize, renderImages: true }));
    return new TrialSession(c, env, policy);
  }

  private async instruction(suite: string, taskIndex: number): Promise<string | undefined> {
    const key = `${suite}/${taskIndex}`;
    if (!this.instructions.has(key)) for (const t of await this.env.listTasks(suite)) this.instructions.set(`${suite}/${t.index}`, t.instruction);
    return this.instructions.get(key);
  }

  /** The execution provider the policy runs on: a student's ONNX Runtime EP; undefined for the others. */
  get ep(): 'cpu' | 'cuda' | undefined {
    return this.policy instanceof StudentOnnxPolicy ? this.policy.runtime.ep : undefined;
  }

  /** One trial; `signal` stops it at the next step (the pool's parent is gone). The record names the EP a student ran on. */
  async run(spec: TrialSpec, signal?: AbortSignal): Promise<TrialRecord> {
    const { frames, evalDir } = this.config;
    const record = await runTrial(this.env, this.policy, spec, {
      instruction: await this.instruction(spec.suite, spec.taskIndex),
      frames: frames.keep ? { dir: evalDir, file: trialFramesFile(spec), stride: frames.stride } : null,
      signal,
    });
    const ep = this.ep;
    return ep && this.policy instanceof StudentOnnxPolicy ? { ...record, ep, precision: this.policy.runtime.precision } : record;
  }

  async close(): Promise<void> {
    await this.policy.close?.();
    await this.env.close();
  }
}
