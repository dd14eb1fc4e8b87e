import { afterAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { trainStudent } from '../../../../electron/engine/train/trainer.js';
import { tempDir } from '../../../helpers/tmp.js';
import { MICRO, microDataset } from './helpers.js';

/** Training keeps the latest and the best checkpoint (keepCheckpoints), not one per epoch; resume still works. */
const tmp = tempDir('retention-');
afterAll(() => tmp.cleanup());
const base = { ...MICRO, batchSize: 8, lr: 1e-3, warmupSteps: 2, valFraction: 0.25, seed: 3, threads: 1, runId: 'r' };
const epochsIn = (dir: string) => [...new Set(readdirSync(path.join(dir, 'checkpoints')).map((n) => Number(/epoch-(\d+)/.exec(n)![1])))].sort((a, b) => a - b);

describe('checkpoint retention', () => {
  it('keeps the latest and the best epoch by default, and a resumed run equals an uninterrupted one', async () => {
    const data = microDataset(4, 16);
    const whole = path.join(tmp.dir, 'whole');
    const w = await trainStudent(data, { ...base, outDir: whole, epochs: 4 });
    const best = JSON.parse(readFileSync(path.join(whole, 'best.json'), 'utf8'));
    const losses = w.history.map((m) => m.val!.full.loss);
    expect(best.epoch).toBe(1 + losses.indexOf(Math.min(...losses)));
    expect(epochsIn(whole)).toEqual([...new Set([best.epoch, 4])].sort((a, b) => a - b));

    // Stopped right after the epoch-2 checkpoint (only its latest and best kept), then resumed to 4.
    const split = path.join(tmp.dir, 'split');
    const ac = new AbortController();
    await expect(trainStudent(data, { ...base, outDir: split, epochs: 4 }, { signal: ac.signal, onProgress: (p) => p.phase === 'checkpoint' && p.epoch === 2 && ac.abort() })).rejects.toThrow(/cancelled/);
    expect(epochsIn(split).length).toBeLessThanOrEqual(2);
    expect(epochsIn(split)).toContain(2);
    const r = await trainStudent(data, { ...base, outDir: split, epochs: 4, resume: true });
    expect(r.resumedFrom).toBe(2);
    expect(readFileSync(path.join(split, 'student.safetensors')).equals(readFileSync(path.join(whole, 'student.safetensors')))).toBe(true);
  });

  it('keeps more when asked', async () => {
    const dir = path.join(tmp.dir, 'three');
    await trainStudent(microDataset(4, 16), { ...base, outDir: dir, epochs: 4, keepCheckpoints: 3 });
    expect(epochsIn(dir)).toEqual(expect.arrayContaining([2, 3, 4]));
  });
});
