import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../electron/cli/paths.js';
import { CSP, CSP_META } from '../../electron/api/csp.js';
import { WORKER_MODULES } from '../../electron/engine/util/runtime-paths.js';

/** What `npm run build` (electron-vite) must produce, checked after the build that `npm test` runs first. */
const out = path.join(repoRoot, 'out');

describe('electron-vite build output', () => {
  it('has the main process, the utility-process job worker, the preload and the renderer', () => {
    expect(existsSync(path.join(out, 'main', 'index.js'))).toBe(true);
    // every forked entry is a main input with a stable name, where engine/util/runtime-paths.ts finds it
    for (const name of Object.keys(WORKER_MODULES)) expect(existsSync(path.join(out, 'main', `${name}.js`)), name).toBe(true);
    expect(readdirSync(path.join(out, 'main')).filter((f) => f.startsWith('job-worker'))).toEqual(['job-worker.js']);
    expect(existsSync(path.join(out, 'preload', 'index.cjs'))).toBe(true);
    expect(existsSync(path.join(out, 'renderer', 'index.html'))).toBe(true);
  });

  it('the sandboxed preload requires nothing but electron (a sandboxed preload cannot load other modules)', () => {
    const preload = readFileSync(path.join(out, 'preload', 'index.cjs'), 'utf8');
    const required = [...preload.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]);
    expect(new Set(required)).toEqual(new Set(['electron']));
    expect(preload).toContain('exposeInMainWorld');
    expect(preload).not.toMatch(/exposeInMainWorld\([^)]*ipcRenderer\s*\)/);
  });

  it('the page carries the CSP itself, the same policy web mode sends as a header', () => {
    const html = readFileSync(path.join(out, 'renderer', 'index.html'), 'utf8');
    const metas = [...html.matchAll(/<meta http-equiv="Content-Security-Policy" content="([^"]+)"/g)].map((m) => m[1]);
    expect(metas).toEqual([CSP_META]);
    // the meta is the header less only what a <meta> cannot carry
    expect(CSP.split('; ').filter((d) => !CSP_META.split('; ').includes(d))).toEqual(["frame-ancestors 'none'"]);
    expect(CSP_META).toContain("script-src 'self'");
  });

  it('the renderer bundle contains no engine or Node code', () => {
    const assets = path.join(out, 'renderer', 'assets');
    const js = readdirSync(assets).filter((f) => f.endsWith('.js')).map((f) => readFileSync(path.join(assets, f), 'utf8')).join('\n');
    for (const marker of ['onnxruntime-node', 'better-sqlite3', 'node:fs', 'child_process']) expect(js).not.toContain(marker);
  });
});
