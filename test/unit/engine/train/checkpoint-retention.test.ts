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
    expect(best.valLoss).toBe(Math.min(...losses));
    expect(epochsIn(whole)).toEqual([4]); // the latest full checkpoint only; the best as weights alone
    const bestWeights = readFileSync(path.join(whole, 'student-best.safetensors'));
    expect(bestWeights.length).toBe(readFileSync(path.join(whole, 'student.safetensors')).length);
    if (best.epoch === 4) expect(bestWeights.equals(readFileSync(path.join(whole, 'student.safetensors')))).toBe(true);

    // Stopped right after the epoch-2 checkpoint (only its latest and best kept), then resumed to 4.
    const split = path.join(tmp.dir, 'split');
    const ac = new AbortController();
    await expect(trainStudent(data, { ...base, outDir: split, epochs: 4 }, { signal: ac.signal, onProgress: (p) => p.phase === 'checkpoint' && p.epoch === 2 && ac.abort() })).rejects.toThrow(/cancelled/);
    expect(epochsIn(split)).toEqual([2]);
    const r = await trainStudent(data, { ...base, outDir: split, epochs: 4, resume: true });
    expect(r.resumedFrom).toBe(2);
    expect(readFileSync(path.join(split, 'student.safetensors')).equals(readFileSync(path.join(whole, 'student.safetensors')))).toBe(true);
    expect(readFileSync(path.join(split, 'student-best.safetensors')).equals(bestWeights)).toBe(true);
    expect(JSON.parse(readFileSync(path.join(split, 'best.json'), 'utf8'))).toEqual(best);
  });

  it('keeps more when asked', async () => {
    const dir = path.join(tmp.dir, 'three');
    await trainStudent(microDataset(4, 16), { ...base, outDir: dir, epochs: 4, keepCheckpoints: 3 });
    expect(epochsIn(dir)).toEqual([2, 3, 4]);
  });
});
