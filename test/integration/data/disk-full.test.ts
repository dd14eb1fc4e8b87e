import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { appendLiberoHdf5, openLiberoHdf5, writeLiberoHdf5 } from '../../../electron/engine/data/libero-hdf5.js';
import { syntheticEpisode } from '../../../electron/engine/data/synthetic-episode.js';
import { readSidecar, sidecarPath } from '../../../electron/engine/data/sidecar.js';
import { collectJob } from '../../../electron/engine/jobs/kinds/collect.js';
import type { JobContext } from '../../../electron/engine/jobs/context.js';
import { LabError } from '../../../electron/engine/errors.js';
import { fillUntil, smallTmpfs } from '../../helpers/tmpfs.js';

/**
 * A full disk never damages what is saved (issue 19.1): on a real tmpfs that runs out of space, an append
 * fails with IO_ERROR naming the file, the file as it was still opens in h5py (Debian's python3-h5py, an
 * independent reader), and no temp file is left. Needs root for mount(2), which CI and the dev machines have.
 */
const made: Array<{ cleanup: () => void }> = [];
afterAll(() => made.forEach((m) => m.cleanup()));
const tmpfs = (mb: number) => {
  const t = smallTmpfs(mb);
  if (!t) throw new Error('this test needs root and mount(2) for a small tmpfs (CI runs as root)');
  made.push(t);
  return t.dir;
};
const h5pyDemos = (file: string): number =>
  Number(execFileSync('/usr/bin/python3', ['-c', "import h5py,sys; f=h5py.File(sys.argv[1],'r'); print(len(f['data']))", file], { encoding: 'utf8' }).trim());
const temps = (dir: string) => readdirSync(dir, { recursive: true }).map(String).filter((n) => n.endsWith('.tmp'));
const ep = (seed: number) => syntheticEpisode({ length: 40, imageSize: 32, seed });

describe('a full disk', () => {
  it('an append that does not fit fails with IO_ERROR and leaves the saved file intact', async () => {
    const dir = tmpfs(4);
    const file = path.join(dir, 'task_0.hdf5');
    await writeLiberoHdf5(file, [ep(0), ep(1), ep(2)]);
    const before = statSync(file).size;
    // Room for the copy of the file, not for the new demo as well: h5wasm's own write then fails.
    fillUntil(dir, before + 100_000);
    const err = await appendLiberoHdf5(file, [ep(9)]).catch((e) => e);
    expect(err).toBeInstanceOf(LabError);
    expect(err).toMatchObject({ code: 'IO_ERROR', details: { file } });
    expect(err.message).toMatch(/could not write .*task_0\.hdf5.*is the disk full\?.*kept/);
    expect(statSync(file).size).toBe(before);
    expect(h5pyDemos(file)).toBe(3);
    expect(temps(dir)).toEqual([]);
    // and the next append, once there is room, works
    execFileSync('rm', [path.join(dir, 'ballast')]);
    expect(await appendLiberoHdf5(file, [ep(9)])).toEqual(['demo_3']);
    expect(h5pyDemos(file)).toBe(4);
  });

  it('a new file that does not fit is not created', async () => {
    const dir = tmpfs(1);
    const file = path.join(dir, 'task_1.hdf5');
    const err = await writeLiberoHdf5(file, [ep(0), ep(1), ep(2), ep(3), ep(4)]).catch((e) => e);
    expect(err).toMatchObject({ code: 'IO_ERROR' });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('collect into a 20 MB volume: the job fails naming the file, every saved file opens with its sidecar complete', async () => {
    const dir = tmpfs(20);
    const ctrl = new AbortController();
    const logs: string[] = [];
    const ctx: JobContext = {
      jobId: 'job_disk_full',
      attempt: 1,
      params: { suite: 'goal', tasks: [7, 0], episodesPerTask: 20, flushEvery: 3, imageSize: 64, seed: 0, teacher: { kind: 'scripted' }, workers: 1 },
      dataDir: dir,
      jobDir: path.join(dir, 'job'),
      experimentDir: path.join(dir, 'exp'),
      signal: ctrl.signal,
      progress: () => {},
      log: (l) => logs.push(l),
      artifact: () => {},
      record: () => {},
      loadCheckpoint: () => null,
      saveCheckpoint: async () => undefined,
      throwIfCancelled: () => {},
    };
    const err = await collectJob(ctx).catch((e) => e);
    expect(err).toMatchObject({ code: 'IO_ERROR' });
    expect(err.message).toMatch(/could not write .*goal.*(task_\d+\.hdf5|collect-state|lab\.json)/);
    const data = path.join(dir, 'exp', 'data', 'goal');
    const files = readdirSync(data).filter((n) => n.endsWith('.hdf5'));
    expect(files.length).toBeGreaterThan(0);
    for (const name of files) {
      const file = path.join(data, name);
      const n = h5pyDemos(file);
      const reader = await openLiberoHdf5(file);
      const keys = reader.demoKeys;
      reader.close();
      expect(keys).toHaveLength(n);
      const side = readSidecar(file);
      for (const k of keys) expect(side.demos[k]?.frames.object_in_hand, `${sidecarPath(file)} ${k}`).toBeDefined();
    }
    expect(temps(dir)).toEqual([]);
  }, 180_000);
});
