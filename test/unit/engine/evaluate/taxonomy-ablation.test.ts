import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bestValidationEpoch, readTrainingHistory, taxonomyAblationTable } from '../../../../electron/engine/evaluate/taxonomy-ablation.js';
import { toCsv } from '../../../../electron/engine/evaluate/tables.js';
import { tempDir } from '../../../helpers/tmp.js';

const tmp = tempDir('ablation-');
afterAll(() => tmp.cleanup());

const val = (loss: number | null, t: number | null, r: number, g: number) => ({ full: { loss, tokenAccuracy: { translation: t, rotation: r, gripper: g } }, imageOnly: { loss: 9, tokenAccuracy: { translation: 0, rotation: 0, gripper: 0 } } });

describe('taxonomy ablation table', () => {
  it('picks the full path at the lowest validation loss (earliest on ties), skipping epochs without validation', () => {
    const history = [
      { epoch: 1, val: val(3.0, 0.1, 0.2, 0.5) },
      { epoch: 2, val: val(2.0, 0.3, 0.15, 0.6) },
      { epoch: 3, val: null },
      { epoch: 4, val: val(2.0, 0.9, 0.9, 0.9) }, // tie: the earlier epoch stands
      { epoch: 5, val: val(null, 0.99, 0.99, 0.99) }, // NaN loss, stored as null
    ];
    expect(bestValidationEpoch(history)).toEqual({ epoch: 2, valLoss: 2.0, translation: 0.3, rotation: 0.15, gripper: 0.6, mean: (0.3 + 0.15 + 0.6) / 3 });
    expect(bestValidationEpoch([{ epoch: 1, val: null }])).toBeNull();
    // a group without frames (NaN → null in JSON) leaves the mean undefined
    expect(bestValidationEpoch([{ epoch: 1, val: val(1, null, 0.5, 0.5) }])?.mean).toBeNull();
  });

  it('one row per taxonomy in the order given, percentages with the fraction behind them, – for a student without validation', () => {
    const t = taxonomyAblationTable(
      [
        { taxonomy: 9, runId: 'lambda-0.5', point: { epoch: 2, valLoss: 1.23456, translation: 0.5, rotation: 0.25, gripper: 1, mean: 0.5833333 } },
        { taxonomy: 3, runId: 'taxonomy-3', point: null },
      ],
      { lambda: 0.5, epochs: 30, reused: { taxonomy: 9, runId: 'lambda-0.5' } },
    );
    expect(t.id).toBe('taxonomy-ablation');
    expect(toCsv(t).split('\r\n').slice(0, 3)).toEqual(['# phases,Translation,Rotation,Gripper,Mean,Val loss,Epoch,Student', '9,50.0,25.0,100.0,58.3,1.2346,2,lambda-0.5', '3,–,–,–,–,–,–,taxonomy-3']);
    expect(t.rows[0][1].value).toBe(0.5);
    expect(t.notes.join(' ')).toMatch(/lowest full-path validation loss.*λ = 0\.5, 30 epoch/);
    expect(t.notes.join(' ')).toContain('lambda-0.5 (same settings), not trained twice');
  });

  it('names the file and field of a damaged metrics.json', () => {
    const file = path.join(tmp.dir, 'metrics.json');
    writeFileSync(file, JSON.stringify({ runId: 'x', history: [{ epoch: 'one', val: null }] }));
    expect(() => readTrainingHistory(file)).toThrow(expect.objectContaining({ code: 'CORRUPT_FILE', message: expect.stringContaining('history.0.epoch') }));
    expect(() => readTrainingHistory(path.join(tmp.dir, 'none.json'))).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });
});
