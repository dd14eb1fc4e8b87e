import { describe, expect, it, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, statSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { appendLiberoHdf5, openLiberoHdf5, readLiberoHdf5, writeLiberoHdf5 } from '../../../../electron/engine/data/libero-hdf5.js';
import { syntheticEpisode } from '../../../../electron/engine/data/synthetic-episode.js';
import { LabError } from '../../../../electron/engine/errors.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'libero-hdf5-'));
});

async function expectLabError(p: Promise<unknown>, code: string, text: RegExp): Promise<LabError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LabError);
  expect((err as LabError).code).toBe(code);
  expect((err as LabError).message).toMatch(text);
  return err as LabError;
}

describe('LIBERO HDF5 round trip', () => {
  it('writes and reads back every field bit for bit', async () => {
    const eps = [syntheticEpisode({ length: 5, seed: 1, imageSize: 16, initIndex: 3 }), syntheticEpisode({ length: 3, seed: 2, imageSize: 16, initIndex: 4 })];
    const file = path.join(dir, 'rt.hdf5');
    expect(await writeLiberoHdf5(file, eps)).toEqual(['demo_0', 'demo_1']);
    const { episodes, meta, demoKeys } = await readLiberoHdf5(file);
    expect(demoKeys).toEqual(['demo_0', 'demo_1']);
    expect(meta.total).toBe(8);
    expect(meta.problemInfo?.language_instruction).toBe(eps[0].instruction);
    for (let i = 0; i < 2; i++) {
      const a = eps[i];
      const b = episodes[i];
      expect(b.length).toBe(a.length);
      expect(b.initIndex).toBe(a.initIndex);
      expect(b.seed).toBe(a.seed);
      expect(b.teacher).toBe('synthetic');
      expect(Array.from(b.actions)).toEqual(Array.from(a.actions));
      expect(Array.from(b.states)).toEqual(Array.from(a.states));
      expect(Array.from(b.obs.agentview_rgb)).toEqual(Array.from(a.obs.agentview_rgb));
      expect(Array.from(b.obs.eye_in_hand_rgb)).toEqual(Array.from(a.obs.eye_in_hand_rgb));
      expect(Array.from(b.obs.joint_states)).toEqual(Array.from(a.obs.joint_states));
      expect(Array.from(b.dones)).toEqual(Array.from(a.dones));
      expect(Array.from(b.rewards)).toEqual(Array.from(a.rewards));
    }
    // no temp files left behind
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('appends demos without touching the ones already saved', async () => {
    const file = path.join(dir, 'append.hdf5');
    await appendLiberoHdf5(file, [syntheticEpisode({ length: 4, seed: 3, imageSize: 8 })]);
    const names = await appendLiberoHdf5(file, [syntheticEpisode({ length: 6, seed: 4, imageSize: 8 }), syntheticEpisode({ length: 2, seed: 5, imageSize: 8 })]);
    expect(names).toEqual(['demo_1', 'demo_2']);
    const { episodes, meta } = await readLiberoHdf5(file);
    expect(episodes.map((e) => e.length)).toEqual([4, 6, 2]);
    expect(episodes.map((e) => e.seed)).toEqual([3, 4, 5]);
    expect(meta.total).toBe(12);
  });

  it('rejects an episode with a wrong-sized field, naming episode and field, and keeps the old file', async () => {
    const file = path.join(dir, 'keep.hdf5');
    await writeLiberoHdf5(file, [syntheticEpisode({ length: 3, seed: 6, imageSize: 8 })]);
    const before = readFileSync(file);
    const bad = syntheticEpisode({ length: 3, seed: 7, imageSize: 8 });
    bad.obs.ee_pos = new Float64Array(5);
    const err = await expectLabError(appendLiberoHdf5(file, [bad]), 'INVALID_INPUT', /episode 0.*obs\/ee_pos/);
    expect(err.details.field).toBe('obs/ee_pos');
    const nan = syntheticEpisode({ length: 3, seed: 8, imageSize: 8 });
    nan.actions[4] = Number.NaN;
    await expectLabError(appendLiberoHdf5(file, [nan]), 'NON_FINITE', /actions\[4\]/);
    expect(readFileSync(file).equals(before)).toBe(true);
    expect((await readLiberoHdf5(file)).episodes).toHaveLength(1);
  });

  it('names a foreign, a truncated and a missing file', async () => {
    const foreign = path.join(dir, 'foreign.hdf5');
    writeFileSync(foreign, '{"not": "hdf5"}');
    await expectLabError(openLiberoHdf5(foreign), 'CORRUPT_FILE', /not an HDF5 file/);
    const good = path.join(dir, 'good.hdf5');
    await writeLiberoHdf5(good, [syntheticEpisode({ length: 20, seed: 9, imageSize: 32 })]);
    const truncated = path.join(dir, 'truncated.hdf5');
    writeFileSync(truncated, readFileSync(good).subarray(0, Math.floor(statSync(good).size * 0.6)));
    await expectLabError(openLiberoHdf5(truncated), 'CORRUPT_FILE', /truncated/);
    await expectLabError(openLiberoHdf5(path.join(dir, 'nope.hdf5')), 'NOT_FOUND', /not found/);
  });
});

describe('dataset statistics from files', () => {
  it('reads actions only and aggregates across files', async () => {
    const { datasetStatsFromFiles } = await import('../../../../electron/engine/data/dataset-stats-file.js');
    const a = path.join(dir, 'stats-a.hdf5');
    const b = path.join(dir, 'stats-b.hdf5');
    await writeLiberoHdf5(a, [syntheticEpisode({ length: 10, seed: 1, imageSize: 4 }), syntheticEpisode({ length: 20, seed: 2, imageSize: 4 })]);
    await writeLiberoHdf5(b, [syntheticEpisode({ length: 30, seed: 3, imageSize: 4 })]);
    const s = await datasetStatsFromFiles([a, b]);
    expect([s.episodes, s.frames, s.lengths.min, s.lengths.max]).toEqual([3, 60, 10, 30]);
    expect(s.gripperFlips).toBe(0); // synthetic gripper: open, then one real grasp
    expect(s.actions.q01[6]).toBe(-1);
    expect(s.actions.q99[6]).toBe(1);
  });
});
