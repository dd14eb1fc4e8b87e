// The import rules of docs/ARCHITECTURE.md, as an ESLint flat config (`npm run lint`, part of `npm test`).
// Only import-restriction rules are on: this lint guards the architecture, `tsc` guards the types.
// test/unit/lint/ lints deliberately wrong fixtures through this config, so a rule cannot silently pass.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import tseslint from 'typescript-eslint';
import vueParser from 'vue-eslint-parser';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const root = path.dirname(fileURLToPath(import.meta.url));
const E = 'electron/engine';

/**
 * Engine rooms, lowest first. A room may import the rooms before it, never one after it; rooms in one
 * inner array are peers and may not import each other. `errors.ts` may be imported by anyone.
 */
export const ROOM_LAYERS = [
  ['util'],
  ['data'],
  ['graph'],
  ['model'],
  ['sim'],
  ['phases'],
  ['policies'],
  ['envs'],
  ['rollout'],
  ['audit'],
  ['video'],
  ['teacher', 'annotate', 'train', 'evaluate'],
  ['store'],
  ['jobs'],
];
/** Engine-root files above every room, lowest first (each may import the ones before it). */
export const ROOT_TOP = ['doctor.ts', 'lab-files.ts', 'lab-service.ts', 'lab-runtime.ts'];
/** Engine-root files anyone may import; they import nothing from the engine. */
export const ROOT_BASE = ['errors.ts'];

// A room or root file that is in neither list would be unconstrained: refuse to lint until it is placed.
{
  const rooms = new Set(ROOM_LAYERS.flat());
  const roots = new Set([...ROOT_TOP, ...ROOT_BASE]);
  const unplaced = readdirSync(path.join(root, E)).filter((name) =>
    statSync(path.join(root, E, name)).isDirectory() ? !rooms.has(name) : /\.[cm]?[jt]s$/.test(name) && !roots.has(name),
  );
  if (unplaced.length) {
    throw new Error(`eslint.config.js: place ${unplaced.map((n) => `${E}/${n}`).join(', ')} in ROOM_LAYERS / ROOT_TOP / ROOT_BASE (docs/ARCHITECTURE.md)`);
  }
}

const roomZones = ROOM_LAYERS.flatMap((layer, i) => {
  const above = ROOM_LAYERS.slice(i + 1).flat();
  const below = ROOM_LAYERS.slice(0, i).flat();
  return layer.map((room) => ({
    target: `${E}/${room}`,
    from: [...layer.filter((r) => r !== room), ...above].map((r) => `${E}/${r}`).concat(ROOT_TOP.map((f) => `${E}/${f}`)),
    message: `[rooms] ${room}/ imports only downward: ${below.length ? below.join(', ') : 'nothing in the engine'} (and errors.ts); see docs/ARCHITECTURE.md.`,
  }));
});
const rootZones = [
  ...ROOT_TOP.slice(0, -1).map((file, i) => ({
    target: `${E}/${file}`,
    from: ROOT_TOP.slice(i + 1).map((f) => `${E}/${f}`),
    message: `[rooms] ${file} may import the rooms and ${ROOT_TOP.slice(0, i).concat(ROOT_BASE).join(', ')} only; see docs/ARCHITECTURE.md.`,
  })),
  ...ROOT_BASE.map((file) => ({
    target: `${E}/${file}`,
    from: E,
    except: [file],
    message: `[rooms] ${file} is imported by everyone and imports nothing from the engine.`,
  })),
];

const shellZones = [
  {
    target: [E, 'electron/api'],
    from: 'node_modules/electron',
    message: '[no-electron] The engine and the lab API run outside Electron (utility process, CLI, web server, tests): no electron import.',
  },
  {
    target: E,
    from: ['electron/main', 'electron/preload', 'electron/workers', 'electron/server', 'electron/cli', 'renderer'],
    message: '[engine-no-shells] The engine imports no shell (main, preload, workers, server, cli, renderer); shells import the engine.',
  },
  {
    target: 'renderer',
    from: 'electron',
    except: ['api'],
    message: '[renderer] The renderer talks only to the lab API: of electron/ it may import electron/api (types and schemas) only.',
  },
  {
    target: 'renderer',
    from: ['node_modules/electron', 'node_modules/onnxruntime-node', 'node_modules/better-sqlite3'],
    message: '[renderer] The renderer runs in a sandboxed browser page: no electron, onnxruntime-node or better-sqlite3.',
  },
  {
    target: 'electron/api',
    from: 'electron',
    except: ['api'],
    message: '[api] The lab API contract imports only zod and itself.',
  },
  {
    target: 'electron/api',
    from: 'node_modules',
    except: ['zod', 'electron'], // electron: reported by [no-electron]
    message: '[api] The lab API contract imports only zod and itself.',
  },
  {
    target: 'electron/preload',
    from: ['electron/engine', 'electron/main', 'electron/workers', 'electron/server', 'electron/cli', 'renderer'],
    message: '[preload] The preload is a thin bridge: electron and electron/api only.',
  },
  {
    target: ['electron', 'renderer', 'scripts', 'bin'],
    from: 'test',
    message: '[no-test-imports] Source never imports from test/; fixtures that source needs live in source.',
  },
];

export default [
  { ignores: ['out/**', 'node_modules/**', 'native/**', 'resources/**', 'docs/**', 'test/**'] },
  {
    files: ['electron/**/*.ts', 'renderer/**/*.ts', 'renderer/**/*.vue', 'scripts/**/*.js', 'bin/**/*.js'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { sourceType: 'module', ecmaVersion: 'latest' },
    },
    linterOptions: { reportUnusedDisableDirectives: 'off' },
    // typescript-eslint's plugin is registered (no rule of it is on) so that its disable comments resolve.
    plugins: { 'import-x': importX, '@typescript-eslint': tseslint.plugin },
    settings: {
      'import-x/resolver-next': [
        createTypeScriptImportResolver({ project: ['tsconfig.json', 'tsconfig.renderer.json'], noWarnOnMultipleProjects: true }),
      ],
    },
    rules: {
      'import-x/no-restricted-paths': ['error', { basePath: root, zones: [...shellZones, ...roomZones, ...rootZones] }],
      // An import the resolver cannot follow is invisible to no-restricted-paths; make it loud instead.
      // (`?modulePath` is electron-vite's utility-process entry suffix.)
      'import-x/no-unresolved': ['error', { ignore: ['\\?modulePath$'] }],
    },
  },
  {
    files: ['renderer/**/*.vue'],
    languageOptions: {
      parser: vueParser,
      parserOptions: { parser: tseslint.parser, sourceType: 'module', ecmaVersion: 'latest', extraFileExtensions: ['.vue'] },
    },
  },
  {
    // The renderer is a browser page and the lab API is shared with it: no Node built-ins in either.
    files: ['renderer/**/*.ts', 'renderer/**/*.vue', 'electron/api/**/*.ts'],
    rules: { 'import-x/no-nodejs-modules': 'error' },
  },
];
