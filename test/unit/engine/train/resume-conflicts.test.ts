import { describe, expect, it } from 'vitest';
import { resumeConflicts } from '../../../../electron/engine/train/trainer.js';
import { parseTrainOptions } from '../../../../electron/engine/train/options.js';

describe('resume conflicts', () => {
  it('names each option that differs from the checkpoint, old → new; epochs and threads may change', () => {
    const saved = parseTrainOptions({ lr: 1e-3, seed: 0, epochs: 10, threads: 1 });
    expect(resumeConflicts(saved, parseTrainOptions({ lr: 1e-3, seed: 0, epochs: 30, threads: 2 }))).toEqual([]);
    // the execution provider may change too (a run started on the CPU resumes on a GPU)
    expect(resumeConflicts(saved, parseTrainOptions({ lr: 1e-3, seed: 0, epochs: 10, threads: 1, ep: 'auto' }))).toEqual([]);
    expect(resumeConflicts(saved, parseTrainOptions({ lr: 3e-4, seed: 1, epochs: 10 }))).toEqual(['lr 0.001 → 0.0003', 'seed 0 → 1']);
    expect(resumeConflicts(saved, parseTrainOptions({ lr: 1e-3, seed: 0, augment: { shift: 4 } }))[0]).toMatch(/^augment \{.*"shift":0.*→ \{.*"shift":4/);
  });
});
