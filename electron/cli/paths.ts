import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Paths of a source checkout, from which the CLI and web mode run. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const workerEntry = path.join(repoRoot, 'electron', 'workers', 'job-worker.ts');
export const rendererDir = path.join(repoRoot, 'out', 'renderer');
