import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as asar from '@electron/asar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../electron/cli/paths.js';
import { SUITE_TASKS, SUITES } from '../../electron/engine/sim/index.js';
import {
  betterSqliteAddon,
  bridgeScript,
  bundleLayout,
  detectLayout,
  ffmpegStaticBinary,
  initStatesDir,
  nativePackageDir,
  onnxruntimeBinDir,
  packagedLayout,
  rasterizerAddon,
  resourcesDir,
  runtimeLayout,
  workerModule,
  WORKER_MODULES,
  type RuntimeLayout,
} from '../../electron/engine/util/runtime-paths.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * The packaged app's layout, where no Electron binary exists: electron-builder `--dir` (the repo's
 * electron-builder.yml, on the repo's `npm run build` output) against a stand-in Electron distribution
 * (`electronDist`: a folder with an `electron` executable, which electron-builder copies and renames), into
 * a temp output folder. The asar is listed, and each runtime resolver (engine/util/runtime-paths.ts), given
 * that app's resources folder as a simulated process.resourcesPath, finds its file there: the bundle's
 * entries and the JSON resources inside app.asar, the native files and the bridge script as real files in
 * app.asar.unpacked (and the natives load from there).
 */
const require = createRequire(import.meta.url);
const linux = process.platform === 'linux';

let t: ReturnType<typeof tempDir>;
let resources: string;
let archive: string;
let listing: Set<string>;
let layout: RuntimeLayout;
let buildLog = '';
const hadResourcesPath = Object.getOwnPropertyDescriptor(process, 'resourcesPath');

/** A path inside app.asar, relative and with forward slashes, as the listing has it. */
const inAsar = (file: string) => path.relative(layout.appRoot, file).split(path.sep).join('/');

describe.skipIf(!linux)('the packaged app (electron-builder --dir, stand-in Electron)', () => {
  beforeAll(() => {
    for (const name of Object.keys(WORKER_MODULES)) {
      if (!existsSync(path.join(repoRoot, 'out', 'main', `${name}.js`))) throw new Error(`out/main/${name}.js is missing: run npm run build first`);
    }
    if (!existsSync(rasterizerAddon(runtimeLayout()))) throw new Error('native/build/Release/rasterizer.node is missing: npx node-gyp rebuild -C native');
    t = tempDir('vla-ad-pack-');
    // The stand-in Electron distribution: what electron-builder needs of an unpacked one on Linux is the
    // `electron` executable (renamed to the app's) and a resources/ folder; license files are optional.
    const dist = path.join(t.dir, 'electron-dist');
    mkdirSync(path.join(dist, 'resources'), { recursive: true });
    writeFileSync(path.join(dist, 'electron'), '#!/bin/sh\necho "stand-in Electron: no binary on this machine" >&2\nexit 1\n');
    chmodSync(path.join(dist, 'electron'), 0o755);
    const output = path.join(t.dir, 'dist');
    const cli = path.join(path.dirname(require.resolve('electron-builder/package.json')), 'cli.js');
    const run = spawnSync(process.execPath, [cli, '--dir', '--linux', '--x64', '--projectDir', repoRoot, `-c.electronDist=${dist}`, `-c.directories.output=${output}`, '--publish', 'never'], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 240_000,
      env: { ...process.env, CI: 'true', ELECTRON_BUILDER_CACHE: path.join(t.dir, 'cache') },
    });
    buildLog = `${run.stdout}\n${run.stderr}`;
    if (run.status !== 0) throw new Error(`electron-builder --dir failed (${run.error?.message ?? `exit ${run.status}`}):\n${buildLog}`);
    resources = path.join(output, 'linux-unpacked', 'resources');
    archive = path.join(resources, 'app.asar');
    listing = new Set(asar.listPackage(archive, { isPack: false }).map((f) => f.replace(/\\/g, '/').replace(/^\//, '')));
    // Call the resolvers as the packaged app would see its resources folder.
    Object.defineProperty(process, 'resourcesPath', { value: resources, configurable: true, writable: true });
    layout = packagedLayout((process as { resourcesPath?: string }).resourcesPath!);
  }, 300_000);

  afterAll(() => {
    if (hadResourcesPath) Object.defineProperty(process, 'resourcesPath', hadResourcesPath);
    else delete (process as { resourcesPath?: string }).resourcesPath;
    t?.cleanup();
  });

  it('is an app folder: the renamed executable, app.asar and app.asar.unpacked', () => {
    const appDir = path.dirname(resources);
    expect(readdirSync(appDir)).toContain('vla-ad-lab');
    expect(statSync(archive).isFile()).toBe(true);
    expect(statSync(`${archive}.unpacked`).isDirectory()).toBe(true);
    expect(layout).toEqual({ mode: 'packaged', appRoot: archive, unpackedRoot: `${archive}.unpacked`, bundleDir: path.join(archive, 'out', 'main') });
    // what the bundle works out from its own place and the resources folder is the same layout
    expect(bundleLayout(path.join(archive, 'out', 'main'), resources)).toEqual(layout);
  });

  it('holds the bundle and its resources, and no sources or dev dependencies', () => {
    const top = new Set([...listing].map((f) => f.split('/')[0]));
    expect([...top].sort()).toEqual(['native', 'node_modules', 'out', 'package.json', 'resources']);
    for (const f of ['out/main/index.js', 'out/preload/index.cjs', 'out/renderer/index.html', 'package.json']) expect(listing).toContain(f);
    for (const name of Object.keys(WORKER_MODULES) as (keyof typeof WORKER_MODULES)[]) expect(listing).toContain(inAsar(workerModule(name, layout)));
    for (const dev of ['electron', 'electron-builder', 'vitest', 'tsx', 'typescript']) expect(listing.has(`node_modules/${dev}`), dev).toBe(false);
    for (const dep of ['zod', 'h5wasm', 'mujoco-js', 'onnxruntime-node', 'better-sqlite3']) expect(listing.has(`node_modules/${dep}/package.json`), dep).toBe(true);
    // only this platform's and architecture's ONNX Runtime binaries
    const ortDirs = [...listing].filter((f) => /^node_modules\/onnxruntime-node\/bin\/napi-v6\/[^/]+\/[^/]+$/.test(f));
    expect(ortDirs).toEqual(['node_modules/onnxruntime-node/bin/napi-v6/linux/x64']);
  });

  it('the simulator initial states and the prompts are in the asar (read through Electron asar fs)', () => {
    for (const suite of SUITES) {
      for (const task of SUITE_TASKS[suite]) expect(listing).toContain(inAsar(path.join(initStatesDir(layout), suite, `${task.name}.json`)));
    }
    expect([...listing].some((f) => f.startsWith(`${inAsar(resourcesDir(layout))}/prompts/`) && f.endsWith('.txt'))).toBe(true);
  });

  it('natives, the bridge script and ffmpeg-static are real files in app.asar.unpacked, where the resolvers point', () => {
    const unpacked = (file: string) => {
      expect(file.startsWith(layout.unpackedRoot + path.sep), file).toBe(true);
      expect(existsSync(file), file).toBe(true);
      // the asar's own entry says unpacked, so require() from inside the asar is sent to the same file
      expect((asar.statFile(archive, path.relative(layout.unpackedRoot, file)) as { unpacked?: boolean }).unpacked, file).toBe(true);
    };
    unpacked(rasterizerAddon(layout));
    expect(statSync(rasterizerAddon(layout)).size).toBe(statSync(rasterizerAddon(runtimeLayout())).size);
    unpacked(bridgeScript(layout));
    const ortBin = onnxruntimeBinDir(layout, 'linux', 'x64')!;
    unpacked(path.join(ortBin, 'onnxruntime_binding.node'));
    unpacked(path.join(ortBin, 'libonnxruntime.so.1'));
    unpacked(betterSqliteAddon(layout)!);
    // ffmpeg-static is optional: npm drops it when its install cannot download the binary (as here), and
    // then the package has none either; where it installed, it is packaged unpacked, its binary with it
    // where the download worked.
    const ffmpegPkg = nativePackageDir('ffmpeg-static', layout);
    if (nativePackageDir('ffmpeg-static', runtimeLayout()) === null) {
      expect(ffmpegPkg).toBeNull();
      expect(ffmpegStaticBinary(layout, 'linux')).toBeNull();
      return;
    }
    expect(ffmpegPkg).not.toBeNull();
    unpacked(path.join(ffmpegPkg!, 'index.js'));
    const ffmpeg = ffmpegStaticBinary(layout, 'linux')!;
    expect(path.dirname(ffmpeg)).toBe(ffmpegPkg);
    const installed = ffmpegStaticBinary(runtimeLayout(), 'linux');
    if (installed && existsSync(installed)) unpacked(ffmpeg);
    else expect(existsSync(ffmpeg)).toBe(false);
  });

  it.skipIf(process.arch !== 'x64')('the unpacked natives load from there (ONNX Runtime finds its shared library beside its binding)', () => {
    const files = [rasterizerAddon(layout), path.join(onnxruntimeBinDir(layout, 'linux', 'x64')!, 'onnxruntime_binding.node')];
    const script = `for (const f of ${JSON.stringify(files)}) { const m = require(f); if (!m || typeof m !== 'object') throw new Error(f); } console.log('ok')`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', cwd: t.dir, env: { ...process.env, LD_LIBRARY_PATH: '' } });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('ok');
  });
});

describe('runtime layout detection', () => {
  it('finds the bundle root above a chunk, built or packaged, and the sources from a .ts file', () => {
    const d = tempDir('vla-ad-layout-');
    try {
      const tree = (root: string) => {
        mkdirSync(path.join(root, 'out', 'main', 'chunks'), { recursive: true });
        writeFileSync(path.join(root, 'out', 'main', 'job-worker.js'), '');
        return pathToFileURL(path.join(root, 'out', 'main', 'chunks', 'shared-abc.js')).href;
      };
      const builtRoot = path.join(d.dir, 'checkout');
      expect(detectLayout(tree(builtRoot), undefined)).toEqual({ mode: 'built', appRoot: builtRoot, unpackedRoot: builtRoot, bundleDir: path.join(builtRoot, 'out', 'main') });
      // Electron outside a package (npm start): resourcesPath is Electron's own, the bundle is elsewhere
      expect(detectLayout(tree(builtRoot), path.join(d.dir, 'node_modules', 'electron', 'dist', 'resources')).mode).toBe('built');
      const res = path.join(d.dir, 'app', 'resources');
      const packaged = { mode: 'packaged', appRoot: path.join(res, 'app.asar'), unpackedRoot: path.join(res, 'app.asar.unpacked'), bundleDir: path.join(res, 'app.asar', 'out', 'main') };
      const chunk = tree(path.join(res, 'app.asar'));
      expect(detectLayout(chunk, res)).toEqual(packaged);
      expect(detectLayout(chunk, undefined)).toEqual(packaged); // a child without resourcesPath or the env var: the .asar says it
      expect(detectLayout(pathToFileURL(path.join(res, 'app.asar', 'out', 'main', 'job-worker.js')).href, res)).toEqual(packaged); // code inlined in an entry
      // asar: false → resources/app, no unpacked folder
      const appFolder = path.join(res, 'app');
      expect(detectLayout(tree(appFolder), res)).toMatchObject({ mode: 'packaged', appRoot: appFolder, unpackedRoot: appFolder });
      expect(() => detectLayout(pathToFileURL(path.join(d.dir, 'nowhere', 'x.js')).href, undefined)).toThrow(/bundle root/);
    } finally {
      d.cleanup();
    }
    const src = runtimeLayout();
    expect(src).toEqual({ mode: 'source', appRoot: repoRoot, unpackedRoot: repoRoot, bundleDir: null });
    expect(workerModule('pool-entry')).toBe(path.join(repoRoot, 'electron', 'engine', 'rollout', 'pool-entry.ts'));
    for (const [name, file] of Object.entries(WORKER_MODULES)) expect(existsSync(path.join(repoRoot, file)), name).toBe(true);
  });
});
