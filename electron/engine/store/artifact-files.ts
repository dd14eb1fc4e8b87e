import { existsSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { LabError } from '../errors.js';
import type { LabStore } from './lab-store.js';

/** What resolving an artifact needs of the store (the shells pass `lab.store`). */
export type ArtifactIndex = Pick<LabStore, 'listArtifacts' | 'experimentDir'>;

/** Types the shells serve artifact files as (videos and images shown in the UI; tables downloaded). */
export const ARTIFACT_MIME: Record<string, string> = {
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
  '.png': 'image/png',
  '.json': 'application/json',
  '.md': 'text/markdown; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.tex': 'text/x-tex; charset=utf-8',
  // trial frame packs (gzip of raw RGB frames): the renderer inflates them with DecompressionStream
  '.gz': 'application/gzip',
};

/**
 * The file behind `<experimentId>/<relative path>`, for the web server's /files/ route and Electron's
 * lab-file:// protocol: only registered artifacts of an existing experiment, never a path that leaves its
 * folder (symlinks resolved).
 */
export function resolveArtifactFile(store: ArtifactIndex, spec: string): string {
  const slash = spec.indexOf('/');
  if (slash <= 0) throw new LabError('INVALID_INPUT', `artifact path "${spec}" must be <experimentId>/<path>`, { path: spec });
  const experimentId = spec.slice(0, slash);
  const rel = spec.slice(slash + 1);
  const artifact = store.listArtifacts(experimentId).find((a) => a.path === rel);
  if (!artifact) throw new LabError('NOT_FOUND', `no artifact ${rel} in experiment ${experimentId}`, { experimentId, path: rel });
  const root = realpathSync(store.experimentDir(experimentId));
  const file = path.join(root, rel);
  if (!existsSync(file)) throw new LabError('NOT_FOUND', `artifact file ${rel} is gone from experiment ${experimentId}`, { experimentId, path: rel });
  const real = realpathSync(file);
  if (!real.startsWith(root + path.sep) || !statSync(real).isFile()) {
    throw new LabError('INVALID_INPUT', `artifact ${rel} leaves the experiment folder`, { experimentId, path: rel });
  }
  return real;
}
