import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { collectRollouts, demoFile } from '../../../electron/engine/teacher/collect.js';
import { BuiltinSimEnv } from '../../../electron/engine/envs/builtin-sim.js';
import { makePolicy } from '../../../electron/engine/policies/make-policy.js';
import { sidecarPath } from '../../../electron/engine/data/sidecar.js';
import { tempDir } from '../../helpers/tmp.js';

/**
 * Resume counts an episode as done only with its ground truth (issue 19.4): a file whose sidecar lacks a
 * demo's privileged frames (what a kill between the two files left, before they were one commit) is
 * refused by name instead of being resumed as complete.
 */
const tmp = tempDir('collect-truth-');
let env: BuiltinSimEnv;
beforeAll(async () => {
  env = await BuiltinSimEnv.create({ imageSize: 16 });
});
afterAll(async () => {
  await env.close();
  tmp.cleanup();
});

describe('collect resume and ground truth', () => {
  it('refuses demos whose sidecar entries are missing, naming them', async () => {
    const opts = { suite: 'goal', tasks: [7], episodesPerTask: 2, seed: 0, outDir: tmp.dir, flushEvery: 1 };
    const first = await collectRollouts(env, await makePolicy({ kind: 'scripted' }, { seed: 0 }), opts);
    expect(first.successes).toBe(2);
    const file = demoFile(tmp.dir, 'goal', 7);
    const side = JSON.parse(readFileSync(sidecarPath(file), 'utf8'));
    delete side.demos.demo_1;
    writeFileSync(sidecarPath(file), JSON.stringify(side));
    const again = collectRollouts(env, await makePolicy({ kind: 'scripted' }, { seed: 0 }), { ...opts, episodesPerTask: 3 });
    await expect(again).rejects.toMatchObject({ code: 'CORRUPT_FILE', details: { file, demos: ['demo_1'] } });
    await expect(collectRollouts(env, await makePolicy({ kind: 'scripted' }, { seed: 0 }), { ...opts, episodesPerTask: 3 })).rejects.toThrow(/demo_1 has no simulator ground truth/);
  }, 60_000);

  it('does not count another teacher\'s episodes as done: CONFLICT naming both', async () => {
    const dir = `${tmp.dir}/other-teacher`;
    const opts = { suite: 'goal', tasks: [7], episodesPerTask: 1, seed: 0, outDir: dir, flushEvery: 1 };
    expect((await collectRollouts(env, await makePolicy({ kind: 'scripted' }, { seed: 0 }), opts)).successes).toBe(1);
    const noisy = await makePolicy({ kind: 'scripted-noisy', noise: {} }, { seed: 0 });
    await expect(collectRollouts(env, noisy, { ...opts, episodesPerTask: 2 })).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringMatching(/holds episodes of teacher scripted-expert.*not scripted-expert\+noise/),
    });
  }, 60_000);
});
