import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { studentConfig } from '../../../../electron/engine/model/config.js';
import { readWeights } from '../../../../electron/engine/model/weights.js';
import { learningRate } from '../../../../electron/engine/train/options.js';
import { type TrainProgress, trainStudent } from '../../../../electron/engine/train/trainer.js';
import { MICRO, microDataset } from './helpers.js';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'student-train-'));
const common = { ...MICRO, batchSize: 8, lr: 3e-3, warmupSteps: 2, valFraction: 0.25, threads: 1, seed: 7, lambda: 0.5, augment: { shift: 2, colorJitter: 0.1 } };

describe('trainStudent (dual-path loss, AdamW graph, per-epoch checkpoints)', () => {
  it('learns, reports both path losses and accuracies each epoch, and writes checkpoints and weights', async () => {
    const out = tmp();
    const progress: TrainProgress[] = [];
    const r = await trainStudent(microDataset(), { ...common, lr: 1e-2, epochs: 6, augment: { shift: 0, colorJitter: 0 }, outDir: out }, { onProgress: (p) => progress.push(p) });
    expect(r.history).toHaveLength(6);
    const first = r.history[0];
    const last = r.history[5];
    expect(last.train.loss).toBeLessThan(first.train.loss * 0.85);
    expect(last.train.lossImageOnly).not.toBeNull();
    // total = full + λ·image-only (per step, so also in the epoch mean)
    expect(last.train.loss).toBeCloseTo(last.train.lossFull + 0.5 * last.train.lossImageOnly!, 3);
    for (const p of [last.val!.full, last.val!.imageOnly]) {
      expect(Number.isFinite(p.loss)).toBe(true);
      for (const a of [p.tokenAccuracy.translation, p.tokenAccuracy.rotation, p.tokenAccuracy.gripper, p.gripperSignAccuracy]) {
        expect(a).toBeGreaterThanOrEqual(0);
        expect(a).toBeLessThanOrEqual(1);
      }
    }
    // the gripper closes halfway in every synthetic episode: after 6 epochs the sign is mostly right
    expect(last.val!.full.gripperSignAccuracy).toBeGreaterThan(0.8);
    expect(progress.filter((p) => p.phase === 'checkpoint')).toHaveLength(6);
    expect(existsSync(path.join(out, 'checkpoints', 'epoch-0006.safetensors'))).toBe(true);
    const metrics = JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8'));
    expect(metrics.dimWeights).toEqual([1, 1, 1, 2, 2, 2, 1]);
    expect(metrics.chunkWeights).toEqual([1, 1, 1, 1]);
    const c = studentConfig('tiny', MICRO.configOverrides as never);
    expect(readWeights(r.weightsFile, c).get('head.gripper.fc2.bias')!.length).toBe(4 * 256);
  }, 120_000);

  it('a run killed after epoch 1 resumes bit-identically to an uninterrupted run (CPU, 1 thread)', async () => {
    const a = tmp();
    const b = tmp();
    const ds = microDataset();
    await trainStudent(ds, { ...common, epochs: 2, outDir: a });
    // stopped right after the epoch-1 checkpoint (a cancel here, a kill in real life: same files on disk)
    const ac = new AbortController();
    await expect(
      trainStudent(ds, { ...common, epochs: 2, outDir: b }, { signal: ac.signal, onProgress: (p) => p.phase === 'checkpoint' && p.epoch === 1 && ac.abort() }),
    ).rejects.toThrow(/cancelled in epoch 2; last checkpoint kept/);
    expect(JSON.parse(readFileSync(path.join(b, 'latest.json'), 'utf8')).epoch).toBe(1);
    expect(existsSync(path.join(b, 'student.safetensors'))).toBe(false);
    const r = await trainStudent(ds, { ...common, epochs: 2, outDir: b, resume: true });
    expect(r.resumedFrom).toBe(1);
    expect(readFileSync(path.join(b, 'student.safetensors')).equals(readFileSync(path.join(a, 'student.safetensors')))).toBe(true);
    const ha = JSON.parse(readFileSync(path.join(a, 'metrics.json'), 'utf8')).history;
    const hb = JSON.parse(readFileSync(path.join(b, 'metrics.json'), 'utf8')).history;
    const strip = (h: { seconds?: number }[]) => h.map(({ seconds: _s, ...rest }) => rest);
    expect(strip(hb)).toEqual(strip(ha));
  }, 120_000);

  it('λ = 0 without descriptions is the no-VLM baseline: one path only', async () => {
    const r = await trainStudent(microDataset(3, 16), { ...common, epochs: 1, lambda: 0, useDescriptions: false, outDir: tmp() });
    expect(r.history[0].train.lossImageOnly).toBeNull();
    expect(r.history[0].train.loss).toBeCloseTo(r.history[0].train.lossFull, 6);
    // without descriptions both paths see the same text: validation losses agree
    expect(r.history[0].val!.full.loss).toBeCloseTo(r.history[0].val!.imageOnly.loss, 5);
  }, 60_000);

});

describe('bad input is refused before any step', () => {
  const out = tmp();
  it('episodes without instruction, with wrong action width, with NaN actions; an empty validation split', async () => {
    const noInstr = microDataset(2, 8);
    noInstr[1].episode.instruction = ' ';
    await expect(trainStudent(noInstr, { ...common, outDir: out })).rejects.toThrow(/episode 1 .* has no instruction/);
    const wide = microDataset(2, 8);
    wide[0].episode.actions = new Float32Array(8 * 6);
    await expect(trainStudent(wide, { ...common, outDir: out })).rejects.toThrow(/expected width 7/);
    const nan = microDataset(2, 8);
    nan[1].episode.actions[3 * 7 + 4] = Number.NaN;
    await expect(trainStudent(nan, { ...common, outDir: out })).rejects.toThrow(/action 3 dim 4 is NaN/);
    await expect(trainStudent(microDataset(1, 8), { ...common, outDir: out })).rejects.toThrow(/validation split is empty/);
    await expect(trainStudent(microDataset(2, 8), { ...common, chunkWeights: [1, 1], outDir: out })).rejects.toThrow(/chunkWeights has 2 entries/);
  });
});

describe('learning-rate schedule', () => {
  const o = { lr: 1, warmupSteps: 10, minLrFraction: 0.1, schedule: 'cosine' as const };
  it('warms up linearly, then follows the cosine down to minLrFraction', () => {
    expect(learningRate(o, 5, 110)).toBeCloseTo(0.5);
    expect(learningRate(o, 10, 110)).toBeCloseTo(1);
    expect(learningRate(o, 60, 110)).toBeCloseTo(0.55);
    expect(learningRate(o, 110, 110)).toBeCloseTo(0.1);
    expect(learningRate({ ...o, schedule: 'constant' }, 80, 110)).toBe(1);
  });
});
