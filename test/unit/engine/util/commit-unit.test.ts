import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stageFile } from '../../../../electron/engine/util/atomic.js';
import { commitUnit, recoverUnit, sweepTemps } from '../../../../electron/engine/util/commit-unit.js';
import { tempDir } from '../../../helpers/tmp.js';

const tmp = tempDir('commit-unit-');
afterAll(() => tmp.cleanup());
let k = 0;
const folder = () => {
  const d = path.join(tmp.dir, `u${k++}`);
  execFileSync('mkdir', ['-p', d]);
  return d;
};

describe('a multi-file commit unit', () => {
  it('replaces every file together and leaves no temp or intent', async () => {
    const d = folder();
    for (const n of ['a', 'b', 'c']) writeFileSync(path.join(d, n), 'old');
    const staged = await Promise.all(['a', 'b', 'c'].map((n) => stageFile(path.join(d, n), `new ${n}`)));
    expect(['a', 'b', 'c'].map((n) => readFileSync(path.join(d, n), 'utf8'))).toEqual(['old', 'old', 'old']); // staging replaces nothing
    await commitUnit(path.join(d, 'unit.commit'), staged);
    expect(['a', 'b', 'c'].map((n) => readFileSync(path.join(d, n), 'utf8'))).toEqual(['new a', 'new b', 'new c']);
    expect(readdirSync(d).sort()).toEqual(['a', 'b', 'c']);
  });

  it('a kill after the intent is written: the next start completes every rename', async () => {
    const d = folder();
    for (const n of ['a', 'b']) writeFileSync(path.join(d, n), 'old');
    const staged = await Promise.all(['a', 'b'].map((n) => stageFile(path.join(d, n), `new ${n}`)));
    // As commitUnit leaves it when killed after its first rename: the intent and one staged file remain.
    writeFileSync(path.join(d, 'unit.commit'), JSON.stringify({ version: 1, renames: staged.map((s) => [path.basename(s.tmp), path.basename(s.target)]) }));
    execFileSync('mv', [staged[0].tmp, staged[0].target]);
    expect(recoverUnit(path.join(d, 'unit.commit'))).toEqual([path.join(d, 'b')]);
    expect(['a', 'b'].map((n) => readFileSync(path.join(d, n), 'utf8'))).toEqual(['new a', 'new b']);
    expect(existsSync(path.join(d, 'unit.commit'))).toBe(false);
    expect(recoverUnit(path.join(d, 'unit.commit'))).toEqual([]); // nothing left to do
  });

  it('a kill before the intent: the old files stay, and the dead writer\'s temps are swept', async () => {
    const d = folder();
    writeFileSync(path.join(d, 'a'), 'old');
    // A writer process that staged a file and was killed: its pid is gone when we look.
    const child = spawnSync(process.execPath, ['-e', `require('fs').writeFileSync(require('path').join(${JSON.stringify(d)}, '.a.' + process.pid + '.0123abcd.tmp'), 'half')`]);
    expect(child.status).toBe(0);
    const mine = await stageFile(path.join(d, 'b'), 'mine'); // this process is alive: its temp stays
    expect(sweepTemps(d)).toHaveLength(1);
    expect(readdirSync(d).sort()).toEqual([path.basename(mine.tmp), 'a'].sort());
    expect(readFileSync(path.join(d, 'a'), 'utf8')).toBe('old');
  });
});
