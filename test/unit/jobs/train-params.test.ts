import { describe, expect, it } from 'vitest';
import { TrainParams } from '../../../electron/engine/jobs/kinds/train-params.js';

describe('train job parameters', () => {
  it('a run id names one folder under students/: no "..", ".", hidden names or separators', () => {
    for (const runId of ['..', '.', '.hidden', 'a/b', '../x', '']) expect(TrainParams.safeParse({ runId }).success, runId).toBe(false);
    for (const runId of ['lambda-0.5', 'no-vlm', 'taxonomy-3', 'r1']) expect(TrainParams.safeParse({ runId }).success, runId).toBe(true);
  });
});
