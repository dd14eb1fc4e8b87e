import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { readLiberoHdf5 } from '../../electron/engine/data/libero-hdf5.js';
import { sidecarPath } from '../../electron/engine/data/sidecar.js';
import { readFramePack } from '../../electron/engine/evaluate/frames.js';
import { readTrials } from '../../electron/engine/evaluate/trial-log.js';
import { trialKey, type TrialRecord } from '../../electron/engine/evaluate/trial.js';

/**
 * What the fault suite compares between an uninterrupted run (the reference) and a killed-and-resumed
 * one. Each function returns the differences it found as readable lines ([] = equal), so a failing
 * assertion names the file, demo, field and index.
 */

/** Files under `root` (relative paths, sorted) whose name matches. */
export function filesUnder(root: string, match: RegExp): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (match.test(name)) out.push(path.relative(root, p));
    }
  };
  walk(root);
  return out;
}

const isTyped = (v: unknown): v is ArrayLike<number> & { length: number } => ArrayBuffer.isView(v) && !(v instanceof DataView);

/** Deep differences between two values (typed arrays element by element, NaN equal to NaN). */
export function diffValues(a: unknown, b: unknown, at: string, out: string[] = [], limit = 20): string[] {
  if (out.length >= limit) return out;
  if (isTyped(a) || isTyped(b)) {
    if (!isTyped(a) || !isTyped(b) || a.constructor !== b.constructor) {
      out.push(`${at}: ${a?.constructor?.name} vs ${b?.constructor?.name}`);
      return out;
    }
    if (a.length !== b.length) {
      out.push(`${at}: length ${a.length} vs ${b.length}`);
      return out;
    }
    for (let i = 0; i < a.length; i++) {
      if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) {
        out.push(`${at}[${i}]: ${a[i]} vs ${b[i]}`);
        return out;
      }
    }
    return out;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b)) out.push(`${at}: array vs non-array`);
    else if (a.length !== b.length) out.push(`${at}: length ${a.length} vs ${b.length}${a.length + b.length <= 8 ? ` (${JSON.stringify(a)} vs ${JSON.stringify(b)})` : ''}`);
    else a.forEach((x, i) => diffValues(x, b[i], `${at}[${i}]`, out, limit));
    return out;
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) {
      const x = (a as Record<string, unknown>)[k];
      const y = (b as Record<string, unknown>)[k];
      if (!(k in a)) out.push(`${at}.${k}: missing in the reference`);
      else if (!(k in b)) out.push(`${at}.${k}: missing after the kills`);
      else diffValues(x, y, `${at}.${k}`, out, limit);
    }
    return out;
  }
  if (a !== b && !(Number.isNaN(a) && Number.isNaN(b))) out.push(`${at}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
  return out;
}

export interface Hdf5Comparison {
  files: string[];
  /** Demos per file, reference side. */
  demos: Record<string, number>;
  differences: string[];
}

/** Every HDF5 under two data folders: same files, same demo keys and count, every episode equal field by field. */
export async function compareHdf5Trees(refRoot: string, gotRoot: string): Promise<Hdf5Comparison> {
  const refFiles = filesUnder(refRoot, /\.hdf5$/);
  const gotFiles = filesUnder(gotRoot, /\.hdf5$/);
  const differences = diffValues(refFiles, gotFiles, 'hdf5 files');
  const demos: Record<string, number> = {};
  for (const rel of refFiles.filter((f) => gotFiles.includes(f))) {
    const a = await readLiberoHdf5(path.join(refRoot, rel));
    const b = await readLiberoHdf5(path.join(gotRoot, rel));
    demos[rel] = a.demoKeys.length;
    diffValues(a.demoKeys, b.demoKeys, `${rel} demo keys`, differences);
    diffValues(a.meta, b.meta, `${rel} meta`, differences);
    const inits = b.episodes.map((e) => `${e.taskIndex}:${e.initIndex}`);
    if (new Set(inits).size !== inits.length) differences.push(`${rel}: duplicate (task, init) after the kills: ${inits.join(' ')}`);
    a.episodes.forEach((e, i) => {
      if (b.episodes[i]) diffValues(e, b.episodes[i], `${rel} ${a.demoKeys[i]}`, differences);
    });
  }
  return { files: refFiles, demos, differences };
}

/**
 * A sidecar's JSON without what differs by construction between two runs: the job that wrote it (`notes.job`)
 * and, of the annotation counts, the split of the answers into paid now / from the cache (their sum is kept).
 */
export function normalizedSidecar(file: string): unknown {
  const side = JSON.parse(readFileSync(file, 'utf8')) as { demos?: Record<string, { notes?: Record<string, unknown> }> };
  for (const d of Object.values(side.demos ?? {})) {
    if (!d.notes) continue;
    delete d.notes.job;
    // How an answer was obtained (paid now or read from the cache a killed attempt filled) is provenance, not content.
    const a = d.notes.annotation as Record<string, unknown> | undefined;
    if (a && typeof a.vlm === 'number' && typeof a.cached === 'number') {
      a.answered = a.vlm + a.cached;
      delete a.vlm;
      delete a.cached;
    }
  }
  return side;
}

/** Every sidecar under two data folders equal (job ids aside). */
export function compareSidecarTrees(refRoot: string, gotRoot: string): string[] {
  const refFiles = filesUnder(refRoot, /\.lab\.json$/);
  const differences = diffValues(refFiles, filesUnder(gotRoot, /\.lab\.json$/), 'sidecar files');
  for (const rel of refFiles) {
    if (existsSync(path.join(gotRoot, rel))) diffValues(normalizedSidecar(path.join(refRoot, rel)), normalizedSidecar(path.join(gotRoot, rel)), rel, differences);
  }
  return differences;
}

export interface H5pyCheck {
  file: string;
  demos: number;
  /** Demos without a sidecar entry carrying the simulator ground truth of every frame. */
  missing: string[];
  error?: string;
}

/**
 * Every HDF5 under `root` opened by h5py (Debian's python3-h5py at /usr/bin/python3, as the h5py interop
 * test uses), its demos counted, and each demo's sidecar entry checked: present, with object_in_hand and
 * teacher_stage of num_samples frames.
 */
export function h5pyCheck(root: string): H5pyCheck[] {
  const files = filesUnder(root, /\.hdf5$/).map((f) => path.join(root, f));
  const script = `
import json, sys, os, h5py
out = []
for f in sys.argv[1:]:
    r = {"file": f, "demos": 0, "missing": []}
    try:
        side = {}
        if os.path.exists(f + ".lab.json"):
            side = json.load(open(f + ".lab.json")).get("demos", {})
        with h5py.File(f, "r") as h:
            keys = sorted(h["data"].keys(), key=lambda k: int(k.split("_")[1]))
            r["demos"] = len(keys)
            for k in keys:
                n = int(h["data"][k].attrs["num_samples"])
                fr = side.get(k, {}).get("frames", {})
                ok = all(len(fr.get(x, [])) == n for x in ("object_in_hand", "teacher_stage", "gripper_contact"))
                if not ok or h["data"][k]["actions"].shape[0] != n:
                    r["missing"].append(k)
    except Exception as e:
        r["error"] = repr(e)
    out.append(r)
print(json.dumps(out))
`;
  const run = spawnSync('/usr/bin/python3', ['-c', script, ...files], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`h5py check failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as H5pyCheck[];
}

/** Byte-for-byte equality of two files, with the first differing offset. */
export function compareBytes(a: string, b: string): string[] {
  if (!existsSync(a)) return [`${a}: missing`];
  if (!existsSync(b)) return [`${b}: missing`];
  const x = readFileSync(a);
  const y = readFileSync(b);
  if (x.length !== y.length) return [`${path.basename(a)}: ${x.length} vs ${y.length} bytes`];
  const i = x.findIndex((v, k) => v !== y[k]);
  return i < 0 ? [] : [`${path.basename(a)}: first difference at byte ${i}`];
}

/** Trial record fields that measure time, not behaviour. */
export const TIMING_FIELDS = ['policyMs', 'simMs', 'startedAt'] as const;

const withoutTiming = (r: TrialRecord) => {
  const copy: Record<string, unknown> = { ...r };
  for (const k of TIMING_FIELDS) delete copy[k];
  return copy;
};

export interface TrialComparison {
  trials: number;
  /** Lines in the killed run's log (= trials when nothing was appended twice). */
  lines: number;
  differences: string[];
}

/** Two eval/<policy>/ folders: every trial record equal but for timing, each trial once, frame packs equal frame by frame. */
export function compareTrials(refEvalDir: string, gotEvalDir: string): TrialComparison {
  const a = readTrials(path.join(refEvalDir, 'trials.jsonl'));
  const b = readTrials(path.join(gotEvalDir, 'trials.jsonl'));
  const differences: string[] = [];
  if (b.truncatedLine !== null) differences.push(`${gotEvalDir}/trials.jsonl: truncated line ${b.truncatedLine}`);
  const byKey = (rs: TrialRecord[]) => new Map(rs.map((r) => [trialKey(r), r]));
  const ka = byKey(a.records);
  const kb = byKey(b.records);
  if (kb.size !== b.records.length) differences.push(`${gotEvalDir}/trials.jsonl: ${b.records.length} lines for ${kb.size} trials (a trial appended twice)`);
  diffValues([...ka.keys()].sort(), [...kb.keys()].sort(), 'trial keys', differences);
  for (const [key, ra] of ka) {
    const rb = kb.get(key);
    if (!rb) continue;
    const name = `${ra.policyId} ${ra.suite}/${ra.taskIndex}/${ra.trialIndex}`;
    diffValues(withoutTiming(ra), withoutTiming(rb), name, differences);
    if (ra.frames && rb.frames) {
      const fa = readFramePack(path.join(refEvalDir, ra.frames.path), ra.frames);
      const fb = readFramePack(path.join(gotEvalDir, rb.frames.path), rb.frames);
      diffValues(fa, fb, `${name} frames`, differences);
    }
  }
  return { trials: ka.size, lines: b.records.length, differences };
}
