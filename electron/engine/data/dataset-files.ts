import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { LabError } from '../errors.js';

/**
 * The .hdf5 files of a dataset given as a file or a folder (searched recursively, in name order). Each
 * file counts once however many symlinks lead to it (a linked sibling folder is not read twice), and a
 * symlink loop or a dangling link is a typed error naming it.
 */
export function hdf5Files(root: string): string[] {
  if (!existsSync(root)) throw new LabError('NOT_FOUND', `dataset ${root} does not exist`, { field: 'dataset', path: root });
  const seenDirs = new Set<string>();
  const seenFiles = new Set<string>();
  const out: string[] = [];
  const real = (p: string): string => {
    try {
      return realpathSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new LabError(code === 'ELOOP' ? 'CORRUPT_FILE' : 'NOT_FOUND', `dataset ${root}: ${p} ${code === 'ELOOP' ? 'is a symlink loop' : 'is a dangling symlink'} (${code})`, { field: 'dataset', path: p, errno: code });
    }
  };
  const walk = (p: string): void => {
    const r = real(p);
    if (statSync(r).isFile()) {
      if (/\.(hdf5|h5)$/.test(p) && !seenFiles.has(r)) {
        seenFiles.add(r);
        out.push(p);
      }
      return;
    }
    if (seenDirs.has(r)) return; // a folder reached again through a link
    seenDirs.add(r);
    for (const name of readdirSync(p).sort()) walk(path.join(p, name));
  };
  if (statSync(real(root)).isFile()) return [root];
  walk(root);
  return out;
}
