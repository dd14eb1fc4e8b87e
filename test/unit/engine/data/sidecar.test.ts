import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openLiberoHdf5, writeLiberoHdf5 } from '../../../../electron/engine/data/libero-hdf5.js';
import { checkSidecarAgainst, readSidecar, sidecarPath, updateSidecarDemo } from '../../../../electron/engine/data/sidecar.js';
import { syntheticEpisode } from '../../../../electron/engine/data/synthetic-episode.js';
import { LabError } from '../../../../electron/engine/errors.js';

describe('per-frame sidecar', () => {
  it('adds phase labels beside the HDF5 without rewriting it, and checks lengths', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sidecar-'));
    const file = path.join(dir, 'task.hdf5');
    await writeLiberoHdf5(file, [syntheticEpisode({ length: 4, seed: 1, imageSize: 8 })]);
    const before = readFileSync(file);
    await updateSidecarDemo(file, 'demo_0', { teacher: 'scripted', frames: { phase: ['idle', 'approaching', 'grasping', 'transporting'] } });
    await updateSidecarDemo(file, 'demo_0', { frames: { description: [null, 'move to the bowl', null, null] } });
    expect(readFileSync(file).equals(before)).toBe(true);
    const sc = readSidecar(file);
    expect(sc.demos.demo_0.teacher).toBe('scripted');
    expect(Object.keys(sc.demos.demo_0.frames).sort()).toEqual(['description', 'phase']);
    const reader = await openLiberoHdf5(file);
    try {
      checkSidecarAgainst(sc, reader);
      sc.demos.demo_0.frames.phase.pop();
      expect(() => checkSidecarAgainst(sc, reader)).toThrow(/demo_0\.frames\.phase has 3 entries, the demo has 4 frames/);
      sc.demos.demo_7 = { frames: {}, notes: {} };
      sc.demos.demo_0.frames.phase.push('x');
      expect(() => checkSidecarAgainst(sc, reader)).toThrow(/demo_7 is not in the HDF5/);
    } finally {
      reader.close();
    }
  });

  it('refuses a malformed sidecar with CORRUPT_FILE naming the field', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sidecar-'));
    const file = path.join(dir, 'x.hdf5');
    writeFileSync(sidecarPath(file), JSON.stringify({ version: 1, hdf5: 'x.hdf5', demos: { demo_0: { frames: { phase: [{}] } } } }));
    let err: unknown;
    try {
      readSidecar(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LabError);
    expect((err as LabError).code).toBe('CORRUPT_FILE');
    expect((err as LabError).details.field).toBe('demos.demo_0.frames.phase.0');
  });
});
