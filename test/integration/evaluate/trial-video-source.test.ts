import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluatePolicy } from '../../../electron/engine/evaluate/evaluation.js';
import { parseProtocol } from '../../../electron/engine/evaluate/protocol.js';
import { loadTrialPanel, SimPool } from '../../../electron/engine/evaluate/trial-video-source.js';
import { tempDir } from '../../helpers/tmp.js';

/**
 * Re-rendering: every stored trial of the noisy scripted teacher (2 tasks × 2 trials of each built-in
 * suite, 32 px) replayed at 64 px from its recorded actions reproduces its success, step count and
 * end-effector path; at the stored size, or with rerender 'never', the stored frames are used.
 */
const tmp = tempDir('trial-video-');
const SUITES = ['spatial', 'object', 'goal'] as const;
beforeAll(async () => {
  for (const suite of SUITES) {
    const protocol = parseProtocol({ suites: [suite], tasks: [0, 3], trialsPerTask: 2, seed: 3 });
    await evaluatePolicy({ entry: { id: 'teacher', spec: 'teacher:scripted-noisy' }, protocol, evalDir: path.join(tmp.dir, 'eval', 'teacher'), baseDir: tmp.dir, workers: 1, imageSize: 32 });
  }
}, 120_000);
afterAll(() => tmp.cleanup());

describe('trials as video panels', () => {
  it('re-renders trials of every suite at 64 px by replay, reproducing each recorded trial', async () => {
    const sims = new SimPool();
    const logs: string[] = [];
    try {
      for (const suite of SUITES) {
        for (const taskIndex of [0, 3]) {
          for (const trialIndex of [0, 1]) {
            const p = await loadTrialPanel('exp_test', tmp.dir, { policyId: 'teacher', suite, taskIndex, trialIndex }, sims, { size: 64, rerender: 'auto', cacheDir: path.join(tmp.dir, 'cache'), log: (l) => logs.push(l) });
            expect(p.size, `${suite}/${taskIndex}/${trialIndex}`).toEqual({ width: 64, height: 64 });
            expect(p.frames).toHaveLength(p.steps + 1);
            expect(p.wrist).toHaveLength(p.steps + 1);
            expect(p.note).toBe('64px replay');
          }
        }
      }
    } finally {
      await sims.close();
    }
    expect(logs.filter((l) => /reproduces the recorded trial/.test(l))).toHaveLength(12);
  });

  it('re-renders a trial of each suite at 512 px, the paper size, reproducing it', async () => {
    const sims = new SimPool();
    try {
      for (const suite of SUITES) {
        const p = await loadTrialPanel('exp_test', tmp.dir, { policyId: 'teacher', suite, taskIndex: 3, trialIndex: 1 }, sims, { size: 512, rerender: 'always', cacheDir: path.join(tmp.dir, 'cache512') });
        expect(p.size).toEqual({ width: 512, height: 512 });
        expect(p.frames[0]).toHaveLength(512 * 512 * 3);
        expect(p.frames).toHaveLength(p.steps + 1);
      }
    } finally {
      await sims.close();
    }
  }, 120_000);

  it('uses the stored frames at their own size, and upscales them when re-rendering is turned off', async () => {
    const sims = new SimPool();
    try {
      const stored = await loadTrialPanel('exp_test', tmp.dir, { policyId: 'teacher', suite: 'goal', taskIndex: 0, trialIndex: 0 }, sims, { rerender: 'auto', cacheDir: path.join(tmp.dir, 'cache2') });
      expect(stored.size).toEqual({ width: 32, height: 32 });
      expect(stored.note).toBeUndefined();
      const up = await loadTrialPanel('exp_test', tmp.dir, { policyId: 'teacher', suite: 'goal', taskIndex: 0, trialIndex: 0 }, sims, { size: 128, rerender: 'never', cacheDir: path.join(tmp.dir, 'cache2') });
      expect(up.size).toEqual({ width: 32, height: 32 });
      expect(up.note).toBe('32px upscaled');
      await expect(loadTrialPanel('exp_test', tmp.dir, { policyId: 'teacher', suite: 'goal', taskIndex: 0, trialIndex: 9 }, sims, { rerender: 'auto', cacheDir: tmp.dir })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    } finally {
      await sims.close();
    }
  });
});
