import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { openLab, type Lab } from '../../electron/engine/lab-runtime.js';
import { forkSpawner } from '../../electron/engine/jobs/fork-process.js';
import { workerEntry } from '../../electron/cli/paths.js';
import { tempDir } from './tmp.js';

/** A lab on a fresh data directory, with job workers forked from the real worker entry. */
export function testLab(owner = 'test'): { lab: Lab; dir: string; cleanup: () => void } {
  const t = tempDir('vla-ad-lab-');
  const lab = openLab({ dataDir: path.join(t.dir, 'data'), owner, spawn: forkSpawner(workerEntry) });
  return {
    lab,
    dir: t.dir,
    cleanup: () => {
      lab.close();
      t.cleanup();
    },
  };
}

/** A stand-in renderer folder for server tests that do not need the real build. */
export function fakeRenderer(dir: string): string {
  const r = path.join(dir, 'renderer');
  mkdirSync(r, { recursive: true });
  writeFileSync(path.join(r, 'index.html'), '<!doctype html><title>lab</title>');
  return r;
}
