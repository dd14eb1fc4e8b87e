import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabError } from '../errors.js';

/**
 * Where the running app's own files are: the forked entries (job worker, pool entry, trial and collect
 * handlers), the resources (simulator initial states, the LIBERO bridge script) and the native files (the
 * rasterizer addon, onnxruntime-node, better-sqlite3, ffmpeg-static). Every lookup of such a file goes
 * through this module, in each of the three ways the app runs:
 *
 * - `source`: a checkout, the TypeScript run through tsx (CLI, web mode, tests). Entries are the `.ts`
 *   sources; everything else is in the checkout.
 * - `built`: electron-vite's `out/main/` (`npm start`, or plain Node forking the built job worker). The
 *   entries are `out/main/<name>.js` (stable names, electron.vite.config.ts); resources, native/ and
 *   node_modules are the checkout's, beside `out/`.
 * - `packaged`: electron-builder's app: the bundle inside `<resources>/app.asar/out/main/`, read through
 *   Electron's asar support; files that must be real on disk (native code, executables, the Python
 *   bridge) in `<resources>/app.asar.unpacked/` (electron-builder.yml `asarUnpack`).
 *
 * The layout is found once, from this module's own location: a `.ts` file is the source layout; otherwise
 * the bundle root is the first directory at or above it that holds the job worker's entry (rollup puts
 * shared code such as this module in `out/main/chunks/`, so its own directory is not the root). The bundle
 * is packaged when it lies in `process.resourcesPath` (Electron's main and utility processes) or in
 * `$VLA_AD_RESOURCES_PATH` (set by the main process for every child, a plain `child_process.fork` included),
 * or inside an `.asar`. The engine never imports electron for this.
 */

/** The forked entries: their name in the bundle (`out/main/<name>.js`) and their source. */
export const WORKER_MODULES = {
  'job-worker': 'electron/workers/job-worker.ts',
  'pool-entry': 'electron/engine/rollout/pool-entry.ts',
  'trial-handler': 'electron/engine/evaluate/trial-handler.ts',
  'collect-worker': 'electron/engine/teacher/collect-worker.ts',
} as const;
export type WorkerModuleName = keyof typeof WORKER_MODULES;

/** The env var the main process sets (when packaged) so that every child knows the resources folder. */
export const RESOURCES_PATH_ENV = 'VLA_AD_RESOURCES_PATH';

/** The file whose directory is the bundle root. */
const BUNDLE_MARKER = 'job-worker.js';

export interface RuntimeLayout {
  mode: 'source' | 'built' | 'packaged';
  /** The app's root: the checkout (source, built) or `<resources>/app.asar` (packaged). */
  appRoot: string;
  /** Where files that must be real on disk are: the checkout, or `<resources>/app.asar.unpacked`. */
  unpackedRoot: string;
  /** The bundle's entries (`out/main`); null from sources. */
  bundleDir: string | null;
}

export const sourceLayout = (repoRoot: string): RuntimeLayout => ({ mode: 'source', appRoot: repoRoot, unpackedRoot: repoRoot, bundleDir: null });

/** The layout of a bundle at `bundleDir` (`<app root>/out/main`), packaged or not. */
export function bundleLayout(bundleDir: string, resourcesPath?: string): RuntimeLayout {
  const appRoot = path.resolve(bundleDir, '..', '..');
  const inResources = resourcesPath !== undefined && resourcesPath !== '' && isInside(bundleDir, resourcesPath);
  const inAsar = path.basename(appRoot).endsWith('.asar');
  if (!inResources && !inAsar) return { mode: 'built', appRoot, unpackedRoot: appRoot, bundleDir: path.resolve(bundleDir) };
  return { mode: 'packaged', appRoot, unpackedRoot: inAsar ? `${appRoot}.unpacked` : appRoot, bundleDir: path.resolve(bundleDir) };
}

/** A packaged app's layout from its resources folder (`process.resourcesPath`): the app in `app.asar`. */
export const packagedLayout = (resourcesPath: string): RuntimeLayout => bundleLayout(path.join(resourcesPath, 'app.asar', 'out', 'main'), resourcesPath);

function isInside(file: string, dir: string): boolean {
  const rel = path.relative(path.resolve(dir), path.resolve(file));
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** The resources folder of this process: `process.resourcesPath` in Electron, else what main passed on. */
function processResourcesPath(): string | undefined {
  return process.env[RESOURCES_PATH_ENV] || (process as { resourcesPath?: string }).resourcesPath || undefined;
}

/** The layout of the code at `moduleUrl` (this module's import.meta.url by default). */
export function detectLayout(moduleUrl: string = import.meta.url, resourcesPath = processResourcesPath()): RuntimeLayout {
  const file = fileURLToPath(moduleUrl);
  const here = path.dirname(file);
  // electron/engine/util/runtime-paths.ts → the checkout
  if (file.endsWith('.ts')) return sourceLayout(path.resolve(here, '..', '..', '..'));
  let dir = here;
  for (let i = 0; i < 3; i++) {
    if (existsSync(path.join(dir, BUNDLE_MARKER))) return bundleLayout(dir, resourcesPath);
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new LabError('NOT_FOUND', `cannot find the bundle root (no ${BUNDLE_MARKER} at or above ${here}); rebuild with \`npm run build\``, { file });
}

let cached: RuntimeLayout | null = null;
/** This process's layout, found once. */
export function runtimeLayout(): RuntimeLayout {
  cached ??= detectLayout();
  return cached;
}

/** A forked entry or handler module: the built `.js` beside the bundle's entries, or the `.ts` source (run through tsx). */
export function workerModule(name: WorkerModuleName, layout: RuntimeLayout = runtimeLayout()): string {
  return layout.bundleDir ? path.join(layout.bundleDir, `${name}.js`) : path.join(layout.appRoot, ...WORKER_MODULES[name].split('/'));
}

/** `resources/` (simulator initial states, prompts): read with fs; inside app.asar when packaged. */
export const resourcesDir = (layout: RuntimeLayout = runtimeLayout()): string => path.join(layout.appRoot, 'resources');

/** The built-in simulator's fixed initial states, `resources/scenes/init/<suite>/<task>.json`. */
export const initStatesDir = (layout: RuntimeLayout = runtimeLayout()): string => path.join(resourcesDir(layout), 'scenes', 'init');

/** The LIBERO bridge script, run by the user's Python: a real file (unpacked when packaged). */
export const bridgeScript = (layout: RuntimeLayout = runtimeLayout()): string => path.join(layout.unpackedRoot, 'resources', 'libero_bridge.py');

/** The native rasterizer addon (`npx node-gyp rebuild -C native`); unpacked when packaged. */
export const rasterizerAddon = (layout: RuntimeLayout = runtimeLayout()): string => path.join(layout.unpackedRoot, 'native', 'build', 'Release', 'rasterizer.node');

export type NativePackage = 'onnxruntime-node' | 'better-sqlite3' | 'ffmpeg-static';

/**
 * The folder of a dependency with native files, where those files really are: the one Node resolves
 * from the app root (source, built), or its copy in app.asar.unpacked (packaged: `require` from inside
 * the asar finds the same files there through Electron's asar support). Null when it is not installed.
 */
export function nativePackageDir(name: NativePackage, layout: RuntimeLayout = runtimeLayout()): string | null {
  if (layout.mode === 'packaged') {
    const dir = path.join(layout.unpackedRoot, 'node_modules', name);
    return existsSync(path.join(dir, 'package.json')) ? dir : null;
  }
  try {
    return path.dirname(createRequire(path.join(layout.appRoot, 'package.json')).resolve(`${name}/package.json`));
  } catch {
    return null;
  }
}

/** onnxruntime-node's binding and shared libraries for this platform (where the CUDA provider goes too). */
export function onnxruntimeBinDir(layout: RuntimeLayout = runtimeLayout(), platform = process.platform, arch = process.arch): string | null {
  const pkg = nativePackageDir('onnxruntime-node', layout);
  return pkg ? path.join(pkg, 'bin', 'napi-v6', platform, arch) : null;
}

/** better-sqlite3's addon (the CLI's and web mode's database; Electron uses node:sqlite). */
export function betterSqliteAddon(layout: RuntimeLayout = runtimeLayout()): string | null {
  const pkg = nativePackageDir('better-sqlite3', layout);
  return pkg ? path.join(pkg, 'build', 'Release', 'better_sqlite3.node') : null;
}

/**
 * ffmpeg-static's binary where it would be (its install downloads it and may have failed: check that
 * it exists). `FFMPEG_BIN` is not looked at here (video/ffmpeg.ts puts it first). Null when the package is
 * not installed.
 */
export function ffmpegStaticBinary(layout: RuntimeLayout = runtimeLayout(), platform = process.platform): string | null {
  const pkg = nativePackageDir('ffmpeg-static', layout);
  return pkg ? path.join(pkg, platform === 'win32' ? 'ffmpeg.exe' : 'ffmpeg') : null;
}
