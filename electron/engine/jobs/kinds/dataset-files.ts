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

/** zod issue → the typed error every job kind raises for a bad parameter. */
export function paramError(kind: string, issue: { path: PropertyKey[]; message: string }): LabError {
  const field = issue.path.map(String).join('.');
  return new LabError('INVALID_INPUT', `${kind}: parameter ${field}: ${issue.message}`, { field });
}
