import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { LabError } from '../../errors.js';

/** The .hdf5 files of a dataset given as a file or a folder (searched recursively, in name order). */
export function hdf5Files(root: string): string[] {
  if (!existsSync(root)) throw new LabError('NOT_FOUND', `dataset ${root} does not exist`, { field: 'dataset', path: root });
  if (statSync(root).isFile()) return [root];
  const out: string[] = [];
  for (const name of readdirSync(root).sort()) {
    const p = path.join(root, name);
    if (statSync(p).isDirectory()) out.push(...hdf5Files(p));
    else if (/\.(hdf5|h5)$/.test(name)) out.push(p);
  }
  return out;
}
