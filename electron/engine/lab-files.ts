import { resolveTrialFrames, type TrialStore } from './evaluate/trial-browser.js';
import { resolveArtifactFile, type ArtifactIndex } from './store/artifact-files.js';

/**
 * The file behind a file URL's `<experimentId>/<…>` spec, for both shells (web mode's /files/ route and
 * Electron's lab-file: protocol): a trial's frame pack by key (`trial-frames/…`), else a registered
 * artifact. Either way the file is looked up, never taken from the spec as a path.
 */
export function resolveLabFile(store: ArtifactIndex & TrialStore, spec: string): string {
  return resolveTrialFrames(store, spec) ?? resolveArtifactFile(store, spec);
}
