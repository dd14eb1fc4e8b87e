import path from 'node:path';
import { NoopPolicy, RandomPolicy } from './baselines.js';
import { NoisyPolicy } from './noise.js';
import { OpenVlaRestPolicy } from './openvla-rest.js';
import { ScriptedExpert } from './scripted-expert.js';
import type { PolicySpec } from './spec.js';
import { StudentOnnxPolicy } from './student-onnx.js';
import type { Policy } from './types.js';
import { WebsocketPolicy } from './websocket-policy.js';

/** The one place a PolicySpec (spec.ts) becomes a Policy. */
export interface MakePolicyOptions {
  /** The rollout seed root (the noisy teacher's noise seed). */
  seed: number;
  /** Resolves a student's relative `file` (the experiment folder). */
  baseDir?: string;
  tokenizerDir?: string;
  /** Server timeouts (ms), where the spec sets none. */
  timeoutMs?: number;
  /** Where a policy says what it chose at load (a student's EP and precision). */
  log?: (line: string) => void;
}

export async function makePolicy(spec: PolicySpec, opts: MakePolicyOptions): Promise<Policy> {
  const timeout = (t?: number) => ((t ?? opts.timeoutMs) !== undefined ? { timeoutMs: t ?? opts.timeoutMs } : {});
  switch (spec.kind) {
    case 'scripted':
      return new ScriptedExpert(spec.expert);
    case 'scripted-noisy':
      return new NoisyPolicy(new ScriptedExpert(spec.expert), { ...spec.noise, seed: opts.seed });
    case 'openvla-rest':
      return new OpenVlaRestPolicy({ url: spec.url, unnormKey: spec.unnormKey, doubleEncode: spec.doubleEncode, gripper: spec.gripper, ...timeout(spec.timeoutMs) });
    case 'websocket':
      return new WebsocketPolicy({ url: spec.url, replanSteps: spec.replanSteps, ...timeout(spec.timeoutMs) });
    case 'student':
      return StudentOnnxPolicy.create(path.resolve(opts.baseDir ?? process.cwd(), spec.file), { textMode: spec.textMode, ep: spec.ep, precision: spec.precision, threads: spec.threads, tokenizerDir: opts.tokenizerDir, log: opts.log });
    case 'random':
      return new RandomPolicy();
    case 'noop':
      return new NoopPolicy();
  }
}
