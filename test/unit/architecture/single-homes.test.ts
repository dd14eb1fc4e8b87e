import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Grep-level facts of the renovation (issue 12) that must stay true: the domain's central things have
 * one definition each, and the warm-up + step loop is written once (rollout/loop.ts).
 */
const root = path.resolve(__dirname, '..', '..', '..');
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : /\.(ts|vue)$/.test(name) ? [p] : [];
  });
}
const files = [...sources(path.join(root, 'electron')), ...sources(path.join(root, 'renderer'))];
const where = (re: RegExp) => files.filter((f) => re.test(readFileSync(f, 'utf8'))).map((f) => path.relative(root, f));

describe('one home per concept', () => {
  it('defines Observation, StepResult and Policy once', () => {
    expect(where(/export (interface|type) Observation\b/)).toEqual(['electron/engine/policies/types.ts']);
    expect(where(/export (interface|type) StepResult\b/)).toEqual(['electron/engine/envs/env.ts']);
    expect(where(/export (interface|type) Policy\b/)).toEqual(['electron/engine/policies/types.ts']);
    expect(where(/export (interface|type) Env\b/)).toEqual(['electron/engine/envs/env.ts']);
  });

  it('writes the warm-up loop once, in the rollout loop', () => {
    // The warm-up is the only place that steps an env with the no-op action.
    expect(where(/\.step\((NOOP_ACTION|warm|Float32Array\.from\(WARMUP_ACTION\))\)/)).toEqual(['electron/engine/rollout/loop.ts']);
    expect(where(/export (async )?function runRollout\b/)).toEqual(['electron/engine/rollout/loop.ts']);
  });

  it('builds policies from specs in one place', () => {
    expect(where(/new (ScriptedExpert|NoisyPolicy|OpenVlaRestPolicy|WebsocketPolicy|RandomPolicy|NoopPolicy)\(/).filter((f) => f.startsWith('electron/engine/'))).toEqual(['electron/engine/policies/make-policy.ts']);
  });
});
