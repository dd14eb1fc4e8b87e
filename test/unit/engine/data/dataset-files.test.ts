import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { hdf5Files } from '../../../../electron/engine/data/dataset-files.js';
import { tempDir } from '../../../helpers/tmp.js';

const tmp = tempDir('dataset-files-');
afterAll(() => tmp.cleanup());

describe('dataset files', () => {
  it('reads each file once through symlinked folders, and names a symlink loop', () => {
    const root = path.join(tmp.dir, 'data');
    mkdirSync(path.join(root, 'goal'), { recursive: true });
    writeFileSync(path.join(root, 'goal', 'task_0.hdf5'), '');
    writeFileSync(path.join(root, 'goal', 'notes.txt'), '');
    symlinkSync(path.join(root, 'goal'), path.join(root, 'goal-link'));
    expect(hdf5Files(root)).toEqual([path.join(root, 'goal', 'task_0.hdf5')]);
    symlinkSync(path.join(root, 'loop-b'), path.join(root, 'loop-a'));
    symlinkSync(path.join(root, 'loop-a'), path.join(root, 'loop-b'));
    expect(() => hdf5Files(root)).toThrow(expect.objectContaining({ code: 'CORRUPT_FILE', message: expect.stringMatching(/loop-a is a symlink loop/) }));
  });
});
