import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A small tmpfs of `mb` megabytes, for disk-full tests: a real file system that answers ENOSPC. Needs
 * root and mount(2) (CI and the development machines run as root); null where that is not allowed, so a
 * test can say why it did not run.
 */
export function smallTmpfs(mb: number): { dir: string; cleanup: () => void } | null {
  if (process.getuid?.() !== 0) return null;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mb}m`, 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
  return {
    dir,
    cleanup: () => {
      try {
        execFileSync('umount', [dir], { stdio: 'ignore' });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Fill a volume until `leave` bytes are free (a ballast file). */
export function fillUntil(dir: string, leave: number): void {
  const s = statfsSync(dir);
  const free = s.bavail * s.bsize;
  if (free > leave) writeFileSync(path.join(dir, 'ballast'), Buffer.alloc(free - leave));
}
