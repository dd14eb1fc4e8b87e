import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic, type StagedFile } from './atomic.js';
import { pidAlive } from './pid-lock.js';

/**
 * Several files that must change together (a collection's HDF5, its sidecar and its progress journal) as
 * one recoverable unit. Each new file is first written in full under a temp name and fsynced ("staged", atomic.ts stageFile);
 * then an intent file lists the renames; then the renames run; then the intent goes. A kill before the
 * intent leaves only temp files (swept at the next start, the old files intact); a kill after it leaves
 * an intent whose renames `recoverUnit` completes at the next start (every temp it names is complete).
 */
interface Intent {
  version: 1;
  renames: [string, string][];
}

/** Replace every staged file's target, all or (after a kill, once recovered) all. */
export async function commitUnit(intentFile: string, staged: StagedFile[]): Promise<void> {
  if (staged.length === 0) return;
  const dir = path.dirname(intentFile);
  const intent: Intent = { version: 1, renames: staged.map((s) => [path.relative(dir, s.tmp), path.relative(dir, s.target)]) };
  try {
    await writeFileAtomic(intentFile, JSON.stringify(intent));
  } catch (err) {
    for (const s of staged) rmSync(s.tmp, { force: true });
    throw err;
  }
  for (const s of staged) renameSync(s.tmp, s.target);
  rmSync(intentFile, { force: true });
}

/**
 * Finish a unit a kill interrupted after its intent was written: rename what is still staged. Returns the
 * targets it completed ([] when there was nothing to do). An unreadable intent (killed while writing it,
 * which writeFileAtomic makes impossible but a foreign file could be) is an error for the caller to name.
 */
export function recoverUnit(intentFile: string): string[] {
  if (!existsSync(intentFile)) return [];
  const dir = path.dirname(intentFile);
  const intent = JSON.parse(readFileSync(intentFile, 'utf8')) as Intent;
  const done: string[] = [];
  for (const [tmp, target] of intent.renames) {
    const from = path.join(dir, tmp);
    if (existsSync(from)) {
      renameSync(from, path.join(dir, target));
      done.push(path.join(dir, target));
    }
  }
  rmSync(intentFile, { force: true });
  return done;
}


/** Remove temp files (`.<name>.<pid>.<hex>.tmp`) that writers no longer alive left in `dir`; returns them. */
export function sweepTemps(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const gone: string[] = [];
  for (const name of readdirSync(dir)) {
    const m = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || pidAlive(pid)) continue;
    rmSync(path.join(dir, name), { force: true });
    gone.push(name);
  }
  return gone;
}
