import { promises as fs, writeFileSync, renameSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { LabError } from '../errors.js';

/**
 * Atomic file writes: write to a temp file in the same directory, fsync, then rename over the target.
 * A crash leaves either the old file or the new one, never a half-written file.
 */
/** The temp name a writer uses beside its target: `.<name>.<pid>.<hex>.tmp` (commit-unit.ts sweeps those of dead pids). */
export function tempName(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

const IO_CODES = new Set(['ENOSPC', 'EIO', 'EROFS', 'EDQUOT', 'EACCES', 'EPERM']);

/** A file-system refusal (disk full, I/O error, read-only) as a typed IO_ERROR naming the target; anything else unchanged. */
export function asIoError(err: unknown, target: string): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code && IO_CODES.has(code)) {
    return new LabError('IO_ERROR', `could not write ${target}: ${(err as Error).message}; the file as it was is kept`, { file: target, errno: code });
  }
  return err;
}

/** A file written in full under a temp name beside its target, not yet renamed over it. */
export interface StagedFile {
  tmp: string;
  target: string;
}

/** Write `data` fully under a temp name beside `target` (fsynced), without replacing `target`; a failed write leaves no temp. */
export async function stageFile(target: string, data: string | Uint8Array): Promise<StagedFile> {
  await fs.mkdir(path.dirname(target), { recursive: true });
  const tmp = tempName(target);
  try {
    const handle = await fs.open(tmp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw asIoError(err, target);
  }
  return { tmp, target };
}

export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  const { tmp } = await stageFile(target, data);
  try {
    await fs.rename(tmp, target);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw asIoError(err, target);
  }
}

export function writeFileAtomicSync(target: string, data: string | Uint8Array): void {
  mkdirSync(path.dirname(target), { recursive: true });
  const tmp = tempName(target);
  try {
    writeFileSync(tmp, data, { flush: true });
    renameSync(tmp, target);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

export const writeJsonAtomic = (target: string, value: unknown) =>
  writeFileAtomic(target, JSON.stringify(value, null, 2) + '\n');
