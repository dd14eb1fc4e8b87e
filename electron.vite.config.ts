import { resolve } from 'node:path';
import { defineConfig, externalizeDepsPlugin } from 'electron-vite';
import vue from '@vitejs/plugin-vue';
import type { Plugin } from 'vite';
import { CSP_META } from './electron/api/csp';
import { WORKER_MODULES } from './electron/engine/util/runtime-paths';

/** The page's own CSP <meta>, from the one policy in electron/api/csp.ts (Electron loads the page from a file: no header). */
const cspMeta = (): Plugin => ({
  name: 'vla-ad-csp-meta',
  apply: 'build',
  transformIndexHtml: (html) => html.replace('<head>', `<head>\n    <meta http-equiv="Content-Security-Policy" content="${CSP_META}" />`),
});

/**
 * electron-vite builds the main process, the sandboxed preload (CommonJS, as sandboxed preloads must be),
 * and the Vue renderer. The main build has one input per process entry: `index` (Electron main) and every
 * forked entry of util/runtime-paths.ts WORKER_MODULES (the job worker, the rollout pool's entry, the
 * evaluate and collect handlers), each emitted as `out/main/<name>.js` (stable names: runtime-paths finds
 * them there), shared code in `out/main/chunks/`. The CLI and web server run from source through tsx and
 * are not bundled; plain Node can fork the built job worker (test/e2e/built-jobs.test.ts).
 */
export default defineConfig({
  main: {
    plugins: [externalizeDepsPlugin()],
    build: {
      outDir: 'out/main',
      rollupOptions: {
        input: {
          index: resolve(__dirname, 'electron/main/index.ts'),
          ...Object.fromEntries(Object.entries(WORKER_MODULES).map(([name, src]) => [name, resolve(__dirname, src)])),
        },
        output: { entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js' },
      },
    },
  },
  preload: {
    plugins: [externalizeDepsPlugin({ exclude: ['zod'] })],
    build: {
      outDir: 'out/preload',
      rollupOptions: {
        input: { index: resolve(__dirname, 'electron/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(__dirname, 'renderer'),
    plugins: [vue(), cspMeta()],
    build: {
      outDir: resolve(__dirname, 'out/renderer'),
      rollupOptions: { input: { index: resolve(__dirname, 'renderer/index.html') } },
    },
  },
});
