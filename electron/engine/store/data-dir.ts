import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { LabError } from '../errors.js';

/**
 * The data directory: `--data-dir`, else `VLA_AD_DATA`, else the shell's default (Electron's userData,
 * or ~/.local/share/vla-ad-lab for the CLI and web mode).
 */
export function resolveDataDir(explicit?: string, shellDefault?: string): string {
  const chosen = explicit ?? process.env.VLA_AD_DATA ?? shellDefault ?? path.join(os.homedir(), '.local', 'share', 'vla-ad-lab');
  return path.resolve(chosen);
}

/**
 * Make sure the directory exists (creating it is fine) and is a writable directory.
 * A path that exists as a file is a clear error, not something to overwrite.
 */
export function ensureDataDir(dir: string): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new LabError('INVALID_INPUT', `Data directory ${dir} exists but is not a directory`, { dataDir: dir });
  }
  try {
    mkdirSync(dir, { recursive: true });
    mkdirSync(path.join(dir, 'experiments'), { recursive: true });
  } catch (err) {
    throw new LabError('INVALID_INPUT', `Cannot create data directory ${dir}: ${(err as Error).message}`, { dataDir: dir });
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One owner process per data directory: a second app instance (or a CLI while the app runs) on the same
 * data gets a CONFLICT error instead of two writers racing on the same artifacts. A lock left by a dead
 * process is taken over.
 */
export class DataDirLock {
  private constructor(readonly file: string) {}

  static acquire(dataDir: string, owner: string): DataDirLock {
    const file = path.join(dataDir, 'lab.lock');
    if (existsSync(file)) {
      let held: { pid: number; owner: string } | null = null;
      try {
        held = JSON.parse(readFileSync(file, 'utf8'));
      } catch {
        held = null; // unreadable lock: treat as stale
      }
      if (held && held.pid !== process.pid && pidAlive(held.pid)) {
        throw new LabError('CONFLICT', `Data directory ${dataDir} is in use by another VLA-AD Lab process (${held.owner}, pid ${held.pid})`, {
          dataDir,
          pid: held.pid,
        });
      }
    }
    writeFileSync(file, JSON.stringify({ pid: process.pid, owner, since: new Date().toISOString() }));
    return new DataDirLock(file);
  }

  release(): void {
    try {
      const held = JSON.parse(readFileSync(this.file, 'utf8'));
      if (held.pid === process.pid) rmSync(this.file, { force: true });
    } catch {
      /* already gone */
    }
  }
}
