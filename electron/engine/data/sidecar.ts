import { existsSync } from 'node:fs';
import { z } from 'zod';
import { LabError } from '../errors.js';
import { readJsonFile } from '../util/json-file.js';
import { writeJsonAtomic } from '../util/atomic.js';
import type { LiberoHdf5Reader } from './libero-hdf5.js';

/**
 * Per-frame extras the method adds to a teacher's data (phase labels, descriptions, the teacher id, the
 * scripted teacher's privileged stage) live in a JSON sidecar next to the HDF5, `<file>.hdf5.lab.json`,
 * so the teacher's HDF5 is never rewritten. Keys are the HDF5's demo names; every per-frame array must
 * have exactly num_samples entries (checked by `checkSidecarAgainst`).
 */
export const SIDECAR_VERSION = 1;

const FrameValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const SidecarDemo = z.object({
  teacher: z.string().optional(),
  /** Per-frame fields by name, e.g. phase, description, teacher_stage. */
  frames: z.record(z.string(), z.array(FrameValue)).default({}),
  /** Per-episode facts (phase taxonomy used, annotator, ...). */
  notes: z.record(z.string(), z.unknown()).default({}),
});
export type SidecarDemo = z.infer<typeof SidecarDemo>;

export const Sidecar = z.object({
  version: z.literal(SIDECAR_VERSION),
  /** Basename of the HDF5 this sidecar belongs to. */
  hdf5: z.string(),
  demos: z.record(z.string().regex(/^demo_\d+$/), SidecarDemo),
});
export type Sidecar = z.infer<typeof Sidecar>;

export const sidecarPath = (hdf5File: string) => `${hdf5File}.lab.json`;

export function readSidecar(hdf5File: string): Sidecar {
  const file = sidecarPath(hdf5File);
  const base = hdf5File.split(/[\\/]/).pop()!;
  if (!existsSync(file)) return { version: SIDECAR_VERSION, hdf5: base, demos: {} };
  return readJsonFile(file, Sidecar);
}

/** Merge per-frame fields / notes into one demo's entry and write the sidecar atomically. */
export async function updateSidecarDemo(hdf5File: string, demo: string, patch: { teacher?: string; frames?: SidecarDemo['frames']; notes?: Record<string, unknown> }): Promise<Sidecar> {
  if (!/^demo_\d+$/.test(demo)) throw new LabError('INVALID_INPUT', `sidecar: demo key must be demo_<n>, got ${demo}`, { field: 'demo', value: demo });
  const sidecar = readSidecar(hdf5File);
  const prev = sidecar.demos[demo] ?? { frames: {}, notes: {} };
  sidecar.demos[demo] = SidecarDemo.parse({
    teacher: patch.teacher ?? prev.teacher,
    frames: { ...prev.frames, ...(patch.frames ?? {}) },
    notes: { ...prev.notes, ...(patch.notes ?? {}) },
  });
  await writeJsonAtomic(sidecarPath(hdf5File), sidecar);
  return sidecar;
}

/** Every sidecar demo exists in the HDF5 and every per-frame array has num_samples entries. */
export function checkSidecarAgainst(sidecar: Sidecar, reader: LiberoHdf5Reader): void {
  for (const [demo, entry] of Object.entries(sidecar.demos)) {
    if (!reader.demoKeys.includes(demo)) {
      throw new LabError('CORRUPT_FILE', `${sidecarPath(reader.file)}: ${demo} is not in the HDF5`, { file: reader.file, demo });
    }
    const n = reader.info(demo).numSamples;
    for (const [field, values] of Object.entries(entry.frames)) {
      if (values.length !== n) {
        throw new LabError('SHAPE_MISMATCH', `${sidecarPath(reader.file)}: ${demo}.frames.${field} has ${values.length} entries, the demo has ${n} frames`, {
          file: reader.file,
          demo,
          field: `frames.${field}`,
          expected: n,
          actual: values.length,
        });
      }
    }
  }
}
