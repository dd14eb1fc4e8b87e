import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statfsSync } from 'node:fs';
import path from 'node:path';
import h5wasm from 'h5wasm/node';
import type { Dataset, File as H5File, Group } from 'h5wasm/node';
import { z } from 'zod';
import { LabError, invalidInput } from '../errors.js';
import { ACTION_DIM, type Episode } from './episode.js';
import { LIBERO_FIELDS, episodeField, sortDemoKeys, type FieldSpec } from './libero-layout.js';
import { sniffHdf5 } from './hdf5-sniff.js';
import { asIoError, tempName, type StagedFile } from '../util/atomic.js';

/**
 * LIBERO / robomimic HDF5 read and write with h5wasm (layout in libero-layout.ts, docs/data.md).
 * Writes are atomic: the file is built (or copied and appended to) under a temp name in the same folder,
 * fsynced, then renamed over the target, so a crash leaves the previous file with its episodes intact.
 * Reads validate every key, dtype and shape and name the demo and field at fault (CORRUPT_FILE).
 */

export const LAYOUT_VERSION = 1;

export const ProblemInfo = z
  .object({ language_instruction: z.string(), problem_name: z.string().optional(), domain_name: z.string().optional() })
  .loose();
export type ProblemInfo = z.infer<typeof ProblemInfo>;

export interface LiberoFileMeta {
  /** `data.attrs.problem_info` (JSON): LIBERO keeps one task per file, so this names that task. */
  problemInfo: ProblemInfo;
  /** `data.attrs.env_args` (JSON), robomimic's {env_name, type, env_kwargs}. */
  envArgs: Record<string, unknown>;
  envName: string;
}

let ready: Promise<unknown> | null = null;
async function h5(): Promise<typeof h5wasm> {
  ready ??= h5wasm.ready;
  await ready;
  return h5wasm;
}

/** Default meta for episodes collected here: LIBERO's field names, our simulator named as the env. */
export function defaultMeta(first: Episode): LiberoFileMeta {
  const envName = `vla-ad-lab/${first.suite}`;
  return {
    problemInfo: { language_instruction: first.instruction, problem_name: `${first.suite}_task${first.taskIndex}`, domain_name: 'vla-ad-lab' },
    envArgs: {
      type: 1,
      env_name: envName,
      problem_name: `${first.suite}_task${first.taskIndex}`,
      env_kwargs: { camera_heights: first.imageSize.height, camera_widths: first.imageSize.width, control_freq: 20, controller: 'OSC_POSE' },
    },
    envName,
  };
}

// ---------------------------------------------------------------- validation of episodes before a write

function checkEpisode(ep: Episode, index: number): void {
  const at = (field: string, message: string, extra: Record<string, unknown> = {}) =>
    invalidInput(`episode ${index} (${ep.suite} task ${ep.taskIndex} init ${ep.initIndex}): ${field}: ${message}`, { episode: index, field, ...extra });
  if (!Number.isInteger(ep.length) || ep.length <= 0) throw at('length', `must be a positive integer, got ${ep.length}`);
  if (!(ep.imageSize.height > 0 && ep.imageSize.width > 0)) throw at('imageSize', 'must be positive');
  if (!(Number.isInteger(ep.stateDim) && ep.stateDim > 0)) throw at('stateDim', `must be a positive integer, got ${ep.stateDim}`);
  for (const spec of LIBERO_FIELDS) {
    const data = episodeField(ep, spec.key);
    const expected = ep.length * spec.frame(ep).reduce((a, b) => a * b, 1);
    if (!data || data.length !== expected) {
      throw at(spec.key, `has ${data?.length} values, expected ${expected} (T=${ep.length} × [${spec.frame(ep).join(', ')}])`, { expected, actual: data?.length });
    }
    if (spec.kind === 'float') {
      for (let i = 0; i < data.length; i++) {
        if (!Number.isFinite(data[i])) throw new LabError('NON_FINITE', `episode ${index}: ${spec.key}[${i}] is ${data[i]}`, { episode: index, field: spec.key, index: i });
      }
    }
    if (spec.kind === 'scalar') {
      for (let i = 0; i < data.length; i++) {
        const v = data[i];
        if (!(Number.isInteger(v) && v >= 0 && v <= 255)) throw at(spec.key, `frame ${i} is ${v}; LIBERO stores ${spec.key} as uint8 (0/1)`, { index: i });
      }
    }
  }
}

// ---------------------------------------------------------------- writing

function writeDemo(data: Group, name: string, ep: Episode): void {
  const demo = data.create_group(name);
  demo.create_group('obs');
  for (const spec of LIBERO_FIELDS) {
    const src = episodeField(ep, spec.key);
    const values = spec.dtype === '<d' ? (src instanceof Float64Array ? src : Float64Array.from(src)) : src instanceof Uint8Array ? src : Uint8Array.from(src);
    demo.create_dataset({ name: spec.key, data: values, shape: [ep.length, ...spec.frame(ep)], dtype: spec.dtype });
  }
  demo.create_attribute('num_samples', ep.length, null, '<q');
  // LIBERO keeps the initial simulator state on the demo; the rest are this lab's (h5py/LIBERO ignore them).
  demo.create_attribute('init_state', ep.states.slice(0, ep.stateDim), [ep.stateDim], '<d');
  demo.create_attribute('language_instruction', ep.instruction);
  demo.create_attribute('suite', ep.suite);
  demo.create_attribute('task_index', ep.taskIndex, null, '<q');
  demo.create_attribute('init_index', ep.initIndex, null, '<q');
  demo.create_attribute('seed', ep.seed, null, '<q');
  demo.create_attribute('teacher', ep.teacher);
  demo.create_attribute('success', ep.success ? 1 : 0, null, '<B');
}

function setCounts(file: H5File, data: Group): void {
  const keys = sortDemoKeys(data.keys());
  let total = 0;
  for (const k of keys) total += Number((data.get(k) as Group).get_attribute('num_samples', false));
  for (const [name, value] of [['num_demos', keys.length], ['total', total]] as const) {
    if (name in data.attrs) data.delete_attribute(name);
    data.create_attribute(name, value, null, '<q');
  }
  file.flush();
}

function writeFileAttrs(data: Group, meta: LiberoFileMeta): void {
  data.create_attribute('problem_info', JSON.stringify(meta.problemInfo));
  data.create_attribute('env_args', JSON.stringify(meta.envArgs));
  data.create_attribute('env_name', meta.envName);
  data.create_attribute('macros_image_convention', 'opengl'); // LIBERO's images are stored upside down (OpenGL)
  data.create_attribute('vla_ad_layout_version', LAYOUT_VERSION, null, '<q');
}

/** h5wasm's File constructor does not throw when HDF5 fails to open or create: check the id. */
function openChecked(lib: typeof h5wasm, file: string, mode: 'r' | 'a' | 'w'): H5File {
  const f = new lib.File(file, mode);
  if (typeof f.file_id !== 'bigint' || f.file_id < 0n) {
    throw new LabError(mode === 'r' ? 'CORRUPT_FILE' : 'INTERNAL', `HDF5 could not ${mode === 'w' ? 'create' : 'open'} ${file}`, { file, mode });
  }
  return f;
}

/** A failed write as a typed error naming the target: the file system's refusals, and h5wasm's way of saying one happened. */
function ioError(err: unknown, target: string): unknown {
  const io = asIoError(err, target);
  if (io !== err) return io;
  if (!(err instanceof LabError) && err instanceof Error && /name not defined|HDF5/i.test(err.message)) {
    // h5wasm's way of saying that a write failed (often a full disk).
    const free = freeBytes(path.dirname(target));
    return new LabError('IO_ERROR', `could not write ${target}: HDF5 failed (${err.message})${free !== null ? `, ${(free / 1e6).toFixed(1)} MB free on its volume` : ''}; the file as it was is kept`, { file: target, freeBytes: free });
  }
  return err;
}


function fsyncFile(file: string): void {
  const fd = openSync(file, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Free bytes on the volume of `dir`, for error messages (null where the platform cannot say). */
function freeBytes(dir: string): number | null {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}

/**
 * h5wasm does not report every failed write: on a full disk its close() returns while the file on disk is
 * shorter than its superblock says (h5py then fails with "addr overflow"). So before a new file replaces
 * the old one, it is checked: its length against the superblock's end-of-file address, and every demo the
 * write added opened and read back. A failure is an IO_ERROR naming the target, with the free space.
 */
function verifyWritten(lib: Awaited<ReturnType<typeof h5>>, tmp: string, target: string, names: string[]): void {
  const fail = (why: string): never => {
    const free = freeBytes(path.dirname(target));
    throw new LabError('IO_ERROR', `could not write ${target}: ${why}${free !== null ? ` (${(free / 1e6).toFixed(1)} MB free on its volume: is the disk full?)` : ''}; the file as it was is kept`, {
      file: target,
      freeBytes: free,
    });
  };
  try {
    sniffHdf5(tmp);
  } catch (e) {
    fail(`the new file came out damaged (${(e as Error).message})`);
  }
  let f: H5File | null = null;
  try {
    f = openChecked(lib, tmp, 'r');
    const data = f.get('data') as Group | null;
    if (!data) fail('the new file has no data group');
    const keys = new Set(data!.keys());
    for (const name of names) {
      if (!keys.has(name)) fail(`demo ${name} is missing from the new file`);
      const actions = (data!.get(name) as Group).get('actions') as Dataset | null;
      if (!actions || actions.value === null) fail(`demo ${name} cannot be read back`);
    }
  } catch (e) {
    if (e instanceof LabError && e.code === 'IO_ERROR') throw e;
    fail(`the new file cannot be read back (${(e as Error).message})`);
  } finally {
    f?.close();
  }
}

/**
 * Build the file under a temp name next to `target` (`prepare` may seed it, e.g. with a copy of the
 * current file), check it (verifyWritten), then fsync and rename it over the target; on any error the
 * temp file goes and the target is untouched. An ENOSPC/EIO/EROFS from the file system is an IO_ERROR.
 */
function stageViaTemp(lib: Awaited<ReturnType<typeof h5>>, target: string, mode: 'w' | 'a', prepare: ((tmp: string) => void) | null, body: (file: H5File) => string[]): { staged: StagedFile; names: string[] } {
  const tmp = tempName(target);
  let file: H5File | null = null;
  try {
    prepare?.(tmp);
    file = openChecked(lib, tmp, mode);
    const names = body(file);
    file.close();
    file = null;
    verifyWritten(lib, tmp, target, names);
    fsyncFile(tmp);
    return { staged: { tmp, target }, names };
  } catch (err) {
    if (file) {
      try {
        file.close();
      } catch {
        /* the write already failed; the temp file goes below */
      }
    }
    rmSync(tmp, { force: true });
    throw ioError(err, target);
  }
}

function writeViaTemp(...args: Parameters<typeof stageViaTemp>): string[] {
  const { staged, names } = stageViaTemp(...args);
  try {
    renameSync(staged.tmp, staged.target);
  } catch (err) {
    rmSync(staged.tmp, { force: true });
    throw ioError(err, staged.target);
  }
  return names;
}

function writeNewFile(file: H5File, episodes: Episode[], meta?: LiberoFileMeta): string[] {
  const data = file.create_group('data');
  writeFileAttrs(data, meta ?? defaultMeta(episodes[0]));
  const names = episodes.map((ep, i) => {
    writeDemo(data, `demo_${i}`, ep);
    return `demo_${i}`;
  });
  setCounts(file, data);
  return names;
}

function appendDemos(file: H5File, existing: string[], episodes: Episode[]): string[] {
  const data = file.get('data') as Group;
  let next = existing.length === 0 ? 0 : Number(existing[existing.length - 1].slice(5)) + 1;
  const names = episodes.map((ep) => {
    const name = `demo_${next++}`;
    writeDemo(data, name, ep);
    return name;
  });
  setCounts(file, data);
  return names;
}

/** The demos of a file we are about to extend, after checking it is one of ours / LIBERO's. */
async function existingDemoKeys(target: string): Promise<string[]> {
  const reader = await openLiberoHdf5(target);
  try {
    return reader.demoKeys;
  } finally {
    reader.close();
  }
}

/** Write episodes as a new LIBERO-layout file (replacing any file at `target`, atomically). */
export async function writeLiberoHdf5(target: string, episodes: Episode[], meta?: LiberoFileMeta): Promise<string[]> {
  if (episodes.length === 0) throw invalidInput('writeLiberoHdf5: no episodes to write', { file: target });
  episodes.forEach(checkEpisode);
  const lib = await h5();
  mkdirSync(path.dirname(target), { recursive: true });
  return writeViaTemp(lib, target, 'w', null, (file) => writeNewFile(file, episodes, meta));
}

/**
 * The new version of `target` with `episodes` appended (or a new file), written and checked under a temp
 * name but not yet renamed over `target`: for callers that commit several files as one unit
 * (util/commit-unit.ts). Returns the staged file and the new demos' names.
 */
export async function stageLiberoAppend(target: string, episodes: Episode[], meta?: LiberoFileMeta): Promise<{ staged: StagedFile; names: string[] }> {
  if (episodes.length === 0) throw invalidInput('stageLiberoAppend: no episodes to write', { file: target });
  episodes.forEach(checkEpisode);
  const lib = await h5();
  mkdirSync(path.dirname(target), { recursive: true });
  if (!existsSync(target)) return stageViaTemp(lib, target, 'w', null, (file) => writeNewFile(file, episodes, meta));
  const existing = await existingDemoKeys(target);
  return stageViaTemp(lib, target, 'a', (tmp) => copyFileSync(target, tmp), (file) => appendDemos(file, existing, episodes));
}

/**
 * Append episodes as new demos (demo_n, demo_n+1, ...) to `target`, creating it if absent. The existing
 * file is copied to a temp file, appended to, then renamed over the target: the demos already saved are
 * never rewritten in place. Returns the names of the new demos.
 */
export async function appendLiberoHdf5(target: string, episodes: Episode[], meta?: LiberoFileMeta): Promise<string[]> {
  if (!existsSync(target)) return writeLiberoHdf5(target, episodes, meta);
  if (episodes.length === 0) return [];
  episodes.forEach(checkEpisode);
  const existing = await existingDemoKeys(target);
  const lib = await h5();
  return writeViaTemp(lib, target, 'a', (tmp) => copyFileSync(target, tmp), (file) => appendDemos(file, existing, episodes));
}

// ---------------------------------------------------------------- reading

function dtypeName(ds: Dataset): string {
  const m = ds.metadata;
  if (m.type === 0) return `${m.signed ? 'int' : 'uint'}${m.size * 8}`;
  if (m.type === 1) return `float${m.size * 8}`;
  return `hdf5-class-${m.type}`;
}

function acceptsDtype(spec: FieldSpec, dtype: string): boolean {
  if (spec.kind === 'uint8') return dtype === 'uint8';
  if (spec.kind === 'float') return dtype === 'float64' || dtype === 'float32';
  return /^u?int(8|16|32|64)$|^float(32|64)$/.test(dtype); // dones/rewards: LIBERO uint8, robomimic int64/float64
}

function toNumbers(value: unknown): ArrayLike<number> {
  if (value instanceof BigInt64Array || value instanceof BigUint64Array) return Array.from(value, Number);
  return value as ArrayLike<number>;
}

export interface DemoInfo {
  key: string;
  numSamples: number;
  suite?: string;
  taskIndex?: number;
  initIndex?: number;
  seed?: number;
  teacher?: string;
  instruction?: string;
  success?: boolean;
}

export class LiberoHdf5Reader {
  readonly demoKeys: string[];
  readonly meta: { problemInfo: ProblemInfo | null; envArgs: Record<string, unknown> | null; envName: string | null; total: number | null };
  private readonly data: Group;

  constructor(
    readonly file: string,
    private readonly h5file: H5File,
  ) {
    if (!h5file.keys().includes('data')) this.fail(`no 'data' group: not a LIBERO/robomimic dataset`, {});
    this.data = h5file.get('data') as Group;
    this.demoKeys = sortDemoKeys(this.data.keys());
    this.meta = {
      problemInfo: this.jsonAttr('problem_info', ProblemInfo),
      envArgs: this.jsonAttr('env_args', z.record(z.string(), z.unknown())),
      envName: this.stringAttr(this.data, 'env_name'),
      total: this.numberAttr(this.data, 'total'),
    };
  }

  private closed = false;

  private fail(message: string, details: Record<string, unknown>): never {
    throw new LabError('CORRUPT_FILE', `${this.file}: ${message}`, { file: this.file, ...details });
  }

  private jsonAttr<T>(name: string, schema: z.ZodType<T>): T | null {
    if (!(name in this.data.attrs)) return null;
    const raw = this.data.get_attribute(name, false);
    let parsed: unknown;
    try {
      parsed = JSON.parse(String(raw));
    } catch {
      this.fail(`data.attrs.${name} is not JSON`, { field: `data.attrs.${name}` });
    }
    const r = schema.safeParse(parsed);
    if (!r.success) this.fail(`data.attrs.${name}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, { field: `data.attrs.${name}` });
    return r.data;
  }

  private stringAttr(g: Group, name: string): string | null {
    return name in g.attrs ? String(g.get_attribute(name, false)) : null;
  }

  private numberAttr(g: Group, name: string): number | null {
    if (!(name in g.attrs)) return null;
    const v = g.get_attribute(name, false);
    const n = typeof v === 'bigint' ? Number(v) : ArrayBuffer.isView(v) ? Number((v as unknown as ArrayLike<number | bigint>)[0]) : Number(v);
    return Number.isFinite(n) ? n : null;
  }

  private demo(key: string): Group {
    if (!this.demoKeys.includes(key)) throw new LabError('NOT_FOUND', `${this.file}: no demo ${key}`, { file: this.file, demo: key });
    return this.data.get(key) as Group;
  }

  info(key: string): DemoInfo {
    const g = this.demo(key);
    const num = (n: string) => this.numberAttr(g, n) ?? undefined;
    const str = (n: string) => this.stringAttr(g, n) ?? undefined;
    const actions = this.dataset(key, LIBERO_FIELDS[0]);
    const success = num('success');
    return {
      key,
      numSamples: num('num_samples') ?? (actions.shape?.[0] ?? 0),
      suite: str('suite'),
      taskIndex: num('task_index'),
      initIndex: num('init_index'),
      seed: num('seed'),
      teacher: str('teacher'),
      instruction: str('language_instruction'),
      success: success === undefined ? undefined : success !== 0,
    };
  }

  /** The dataset of one field, with its dtype and per-frame shape checked. */
  private dataset(key: string, spec: FieldSpec, frame?: number[]): Dataset {
    const g = this.data.get(key) as Group;
    const parts = spec.key.split('/');
    let node: Group = g;
    for (let i = 0; i < parts.length; i++) {
      if (!node.keys().includes(parts[i])) this.fail(`${key}: missing field ${spec.key}`, { demo: key, field: spec.key });
      const child = node.get(parts[i]);
      if (i < parts.length - 1) node = child as Group;
      else {
        if (!(child instanceof h5wasm.Dataset)) this.fail(`${key}/${spec.key} is not a dataset`, { demo: key, field: spec.key });
        const ds = child as Dataset;
        const dtype = dtypeName(ds);
        if (!acceptsDtype(spec, dtype)) {
          this.fail(`${key}/${spec.key}: dtype ${dtype}, expected ${spec.numpy}`, { demo: key, field: spec.key, dtype, expected: spec.numpy });
        }
        const shape = ds.shape ?? [];
        if (frame && (shape.length !== frame.length + 1 || frame.some((d, j) => d !== shape[j + 1]))) {
          this.fail(`${key}/${spec.key}: shape [${shape.join(', ')}], expected [T, ${frame.join(', ')}]`, { demo: key, field: spec.key, shape, expected: ['T', ...frame] });
        }
        return ds;
      }
    }
    throw new Error('unreachable');
  }

  /** Actions only (T×7 float32), for statistics without reading images. */
  readActions(key: string): Float32Array {
    this.demo(key);
    const ds = this.dataset(key, LIBERO_FIELDS[0], [ACTION_DIM]);
    return Float32Array.from(toNumbers(ds.value));
  }

  readEpisode(key: string): Episode {
    const info = this.info(key);
    const g = this.demo(key);
    // Free dimensions (image size, state width) come from the file; everything else from the table.
    const states = this.dataset(key, LIBERO_FIELDS.find((f) => f.key === 'states')!);
    const image = this.dataset(key, LIBERO_FIELDS.find((f) => f.key === 'obs/agentview_rgb')!);
    const stateDim = states.shape?.[1] ?? 0;
    const [, height, width] = image.shape ?? [];
    const shapeOf = { imageSize: { height, width }, stateDim };
    const arrays = new Map<string, ArrayLike<number>>();
    let T = -1;
    for (const spec of LIBERO_FIELDS) {
      const ds = this.dataset(key, spec, spec.frame(shapeOf));
      const rows = ds.shape?.[0] ?? 0;
      if (T < 0) T = rows;
      else if (rows !== T) this.fail(`${key}/${spec.key}: ${rows} frames, but actions has ${T}`, { demo: key, field: spec.key, frames: rows, expected: T });
      arrays.set(spec.key, toNumbers(ds.value));
    }
    if (T <= 0) this.fail(`${key}: empty demo`, { demo: key });
    const numSamples = this.numberAttr(g, 'num_samples');
    if (numSamples !== null && numSamples !== T) this.fail(`${key}: num_samples attr is ${numSamples}, datasets have ${T} frames`, { demo: key, field: 'num_samples' });
    const instruction = info.instruction ?? this.meta.problemInfo?.language_instruction;
    if (instruction === undefined) this.fail(`${key}: no language_instruction (neither data.attrs.problem_info nor the demo's attrs)`, { demo: key, field: 'problem_info' });
    const f64 = (k: string) => { const a = arrays.get(k)!; return a instanceof Float64Array ? a : Float64Array.from(a); };
    const u8 = (k: string) => { const a = arrays.get(k)!; return a instanceof Uint8Array ? a : Uint8Array.from(a); };
    const actions = Float32Array.from(arrays.get('actions')!);
    for (let i = 0; i < actions.length; i++) {
      if (!Number.isFinite(actions[i])) this.fail(`${key}/actions[${Math.floor(i / ACTION_DIM)}][${i % ACTION_DIM}] is ${actions[i]}`, { demo: key, field: 'actions' });
    }
    const index = Number(key.slice(5));
    return {
      suite: info.suite ?? this.meta.problemInfo?.problem_name ?? path.basename(this.file, '.hdf5'),
      taskIndex: info.taskIndex ?? 0,
      instruction,
      initIndex: info.initIndex ?? index,
      seed: info.seed ?? 0,
      teacher: info.teacher ?? 'libero-dataset',
      length: T,
      imageSize: { height, width },
      actions,
      dones: u8('dones'),
      rewards: Float32Array.from(arrays.get('rewards')!),
      states: f64('states'),
      stateDim,
      robot_states: f64('robot_states'),
      obs: {
        agentview_rgb: u8('obs/agentview_rgb'),
        eye_in_hand_rgb: u8('obs/eye_in_hand_rgb'),
        ee_pos: f64('obs/ee_pos'),
        ee_ori: f64('obs/ee_ori'),
        ee_states: f64('obs/ee_states'),
        gripper_states: f64('obs/gripper_states'),
        joint_states: f64('obs/joint_states'),
      },
      // Files from LIBERO hold successful demos only; ours record the flag.
      success: info.success ?? true,
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.h5file.close();
  }
}

/** Open a LIBERO-layout file for reading (superblock checked first: foreign/truncated → CORRUPT_FILE). */
export async function openLiberoHdf5(file: string): Promise<LiberoHdf5Reader> {
  sniffHdf5(file);
  const lib = await h5();
  let h5file: H5File;
  try {
    h5file = openChecked(lib, file, 'r');
  } catch (err) {
    if (err instanceof LabError) throw err;
    throw new LabError('CORRUPT_FILE', `${file}: HDF5 library could not open it (${String(err)})`, { file }, { cause: err });
  }
  try {
    return new LiberoHdf5Reader(file, h5file);
  } catch (err) {
    h5file.close();
    throw err;
  }
}

/** Read every demo of a file (small files and tests; big datasets should iterate with openLiberoHdf5). */
export async function readLiberoHdf5(file: string): Promise<{ meta: LiberoHdf5Reader['meta']; demoKeys: string[]; episodes: Episode[] }> {
  const reader = await openLiberoHdf5(file);
  try {
    return { meta: reader.meta, demoKeys: reader.demoKeys, episodes: reader.demoKeys.map((k) => reader.readEpisode(k)) };
  } finally {
    reader.close();
  }
}
