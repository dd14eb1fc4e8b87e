import { afterAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, rmSync, statfsSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../../electron/engine/util/atomic.js';
import { openLab } from '../../../electron/engine/lab-runtime.js';
import { forkSpawner } from '../../../electron/engine/jobs/fork-process.js';
import { workerEntry } from '../../../electron/cli/paths.js';
import { trainStudent } from '../../../electron/engine/train/trainer.js';
import { fillUntil, smallTmpfs } from '../../helpers/tmpfs.js';
import { tempDir } from '../../helpers/tmp.js';
import { MICRO, microDataset } from '../../unit/engine/train/helpers.js';

/**
 * Disk full for the other writers (issue 19): every JSON / binary artifact goes through writeFileAtomic, and
 * training's checkpoints and pointer through it too. On a real tmpfs that fills up: the write fails, the
 * previous file is intact, no temp is left, and a training run that hit the full disk resumes, once there is
 * room, to exactly the weights of an uninterrupted run. Needs root for mount(2) (CI runs as root).
 */
const made: Array<{ cleanup: () => void }> = [];
afterAll(() => made.forEach((m) => m.cleanup()));
const tmpfs = (mb: number) => {
  const t = smallTmpfs(mb);
  if (!t) throw new Error('this test needs root and mount(2) for a small tmpfs (CI runs as root)');
  made.push(t);
  return t.dir;
};
const temps = (dir: string) => readdirSync(dir, { recursive: true }).map(String).filter((n) => n.endsWith('.tmp'));
const free = (dir: string) => {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
};

describe('a full disk, for every atomic writer', () => {
  it('the lab database: the API answers IO_ERROR naming it, and what was saved stays', async () => {
    const dir = tmpfs(2);
    const lab = openLab({ dataDir: path.join(dir, 'data'), owner: 'disk-full test', spawn: forkSpawner(workerEntry) });
    try {
      expect((await lab.handle('experiments.create', { name: 'kept', config: {} })).ok).toBe(true);
      fillUntil(dir, 0);
      let answer: Awaited<ReturnType<typeof lab.handle>> = { ok: true, value: null };
      for (let i = 0; i < 500 && answer.ok; i++) answer = await lab.handle('experiments.create', { name: `experiment ${i} ${'x'.repeat(40)}`, config: {} });
      expect(answer).toMatchObject({ ok: false, error: { code: 'IO_ERROR', message: expect.stringMatching(/lab database in .*could not be written \(SQLITE_FULL/) } });
      const list = await lab.handle('experiments.list', {});
      expect(list.ok && (list.value as { name: string }[]).map((e) => e.name)).toContain('kept');
    } finally {
      lab.close();
    }
  });

  it('writeFileAtomic: the write fails, the old file stays, no temp is left', async () => {
    const dir = tmpfs(1);
    const file = path.join(dir, 'policy.json');
    await writeFileAtomic(file, 'old');
    fillUntil(dir, 64 * 1024);
    await expect(writeFileAtomic(file, Buffer.alloc(512 * 1024, 1))).rejects.toMatchObject({ code: 'IO_ERROR', details: { file, errno: 'ENOSPC' } });
    expect(readFileSync(file, 'utf8')).toBe('old');
    expect(temps(dir)).toEqual([]);
  });

  it('training that hits a full disk keeps its last checkpoint and resumes to the uninterrupted weights', async () => {
    const ref = tempDir('train-ref-');
    made.push(ref);
    const data = microDataset(4, 16);
    const opts = { ...MICRO, epochs: 4, batchSize: 8, lr: 1e-3, warmupSteps: 2, valFraction: 0.25, seed: 5, threads: 1, runId: 'full' };
    await trainStudent(data, { ...opts, outDir: ref.dir });

    const dir = tmpfs(64);
    const out = path.join(dir, 'student');
    // Stop the disk right after the first checkpoint: what is left cannot hold a second one.
    let filled = false;
    const err = await trainStudent(data, { ...opts, outDir: out }, {
      onProgress: (p) => {
        if (p.phase === 'checkpoint' && p.epoch === 1 && !filled) {
          filled = true;
          fillUntil(dir, 16 * 1024);
        }
      },
    }).catch((e) => e);
    expect(filled, String(err)).toBe(true);
    expect((err as NodeJS.ErrnoException).code ?? (err as { code?: string }).code).toMatch(/ENOSPC|IO_ERROR/);
    expect(JSON.parse(readFileSync(path.join(out, 'latest.json'), 'utf8')).epoch).toBe(1); // the pointer never moved past what was saved
    expect(temps(dir)).toEqual([]);
    rmSync(path.join(dir, 'ballast'));
    expect(free(dir)).toBeGreaterThan(1e6);
    const r = await trainStudent(data, { ...opts, outDir: out, resume: true });
    expect(r.resumedFrom).toBe(1);
    expect(readFileSync(path.join(out, 'student.safetensors')).equals(readFileSync(path.join(ref.dir, 'student.safetensors')))).toBe(true);
  }, 120_000);
});
