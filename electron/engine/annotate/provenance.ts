import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { hdf5Files } from '../data/dataset-files.js';
import { LabError } from '../errors.js';
import { readSidecar } from '../data/sidecar.js';
import { OFFLINE_ANNOTATOR } from './offline.js';

/**
 * Who wrote a dataset's text, read back from its sidecars (`<file>.hdf5.lab.json`, written by the
 * annotate job): per frame `annotator` and `annotation_status`, per demo `notes.annotation` (counts in
 * tasks, written since the fallback became opt-in). A table whose rows were trained on that text calls
 * `annotationFallbacks(dataset)` and adds `note` to its notes when it is not null, so "with VLM" results
 * built partly (or wholly) on offline template text say so.
 */
export interface AnnotationProvenance {
  /** The dataset as given (file or folder). */
  dataset: string;
  files: number;
  demos: number;
  /** Frames with an annotation (sidecar `annotation_status`). */
  frames: number;
  /** VLM text (answered or from the cache). */
  vlmFrames: number;
  /** The VLM failed and the offline template was used (fallback 'offline'). */
  fallbackFrames: number;
  /** The VLM failed and the frame has no text beyond its phase. */
  failedFrames: number;
  /** Written by the offline annotator by choice (annotator 'offline', or 'auto' without an endpoint). */
  offlineFrames: number;
  /** Demos of sidecars that hold no annotation. */
  unannotatedDemos: number;
  /** Tasks that fell back / all VLM tasks, summed over demos' `notes.annotation`; null when some demo predates those notes. */
  fallbackTasks: number | null;
  tasks: number | null;
  /** Demos with any fallback frame, as `<file>#<demo>` (relative to the dataset), at most 20. */
  demosWithFallback: string[];
  /** The demos' annotator labels, distinct, sorted. */
  annotators: string[];
  /** One sentence for a table's notes when any text is not the VLM's; null when all of it is. */
  note: string | null;
}

/** The .hdf5 / .h5 files under a dataset (a file or a folder, recursively, in name order; symlink loops visited once). */

const plural = (n: number, word: string) => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;

/** Read the sidecars of a dataset (file or folder) and count who wrote its text. */
export function annotationFallbacks(dataset: string): AnnotationProvenance {
  const files = hdf5Files(dataset);
  const base = statSync(dataset).isFile() ? path.dirname(dataset) : dataset;
  const p: AnnotationProvenance = {
    dataset,
    files: files.length,
    demos: 0,
    frames: 0,
    vlmFrames: 0,
    fallbackFrames: 0,
    failedFrames: 0,
    offlineFrames: 0,
    unannotatedDemos: 0,
    fallbackTasks: 0,
    tasks: 0,
    demosWithFallback: [],
    annotators: [],
    note: null,
  };
  const annotators = new Set<string>();
  for (const file of files) {
    const sidecar = readSidecar(file);
    for (const [demo, entry] of Object.entries(sidecar.demos)) {
      p.demos++;
      const status = entry.frames.annotation_status;
      const who = entry.frames.annotator;
      if (!status) {
        p.unannotatedDemos++;
        continue;
      }
      let fallbackHere = 0;
      status.forEach((s, t) => {
        p.frames++;
        if (s === 'fallback') fallbackHere++;
        else if (s === 'failed') p.failedFrames++;
        else if (who?.[t] === OFFLINE_ANNOTATOR) p.offlineFrames++;
        else p.vlmFrames++;
      });
      p.fallbackFrames += fallbackHere;
      if (fallbackHere > 0 && p.demosWithFallback.length < 20) p.demosWithFallback.push(`${path.relative(base, file) || path.basename(file)}#${demo}`);
      if (typeof entry.notes.annotator === 'string') annotators.add(entry.notes.annotator);
      const counts = entry.notes.annotation as { tasks?: unknown; fallback?: unknown } | undefined;
      if (counts && typeof counts.tasks === 'number' && typeof counts.fallback === 'number') {
        if (p.tasks !== null) p.tasks += counts.tasks;
        if (p.fallbackTasks !== null) p.fallbackTasks += counts.fallback;
      } else {
        p.tasks = null;
        p.fallbackTasks = null;
      }
    }
  }
  p.annotators = [...annotators].sort();
  p.note = fallbackNote(p);
  return p;
}

/** The table note for a dataset's provenance: null when every annotated frame has VLM text. */
export function fallbackNote(p: Omit<AnnotationProvenance, 'note'>): string | null {
  if (p.frames === 0) return null;
  const vlm = p.annotators.filter((a) => a.startsWith('vlm:')).map((a) => a.split(' ')[0]);
  const model = [...new Set(vlm)].join(', ') || 'the VLM';
  const parts: string[] = [];
  if (p.fallbackFrames > 0) {
    const tasks = p.fallbackTasks !== null && p.tasks !== null ? ` (${p.fallbackTasks} of ${plural(p.tasks, 'annotation task')})` : '';
    parts.push(`${plural(p.fallbackFrames, 'frame')} of ${p.frames.toLocaleString('en-US')}${tasks} ${p.fallbackFrames === 1 ? 'carries' : 'carry'} offline template text (${OFFLINE_ANNOTATOR}) where ${model} failed`);
  }
  if (p.failedFrames > 0) parts.push(`${plural(p.failedFrames, 'frame')} of ${p.frames.toLocaleString('en-US')} ${p.failedFrames === 1 ? 'has' : 'have'} no description (the VLM failed, phase label only)`);
  if (p.offlineFrames > 0) parts.push(`${plural(p.offlineFrames, 'frame')} of ${p.frames.toLocaleString('en-US')} ${p.offlineFrames === 1 ? 'was' : 'were'} described by the offline annotator (${OFFLINE_ANNOTATOR}), not a VLM`);
  if (parts.length === 0) return null;
  return `Descriptions: ${parts.join('; ')}. Rows trained on descriptions are not purely VLM-annotated.`;
}
