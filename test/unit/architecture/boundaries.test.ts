import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layering rules of DESIGN.md, enforced: the engine (shared by utility processes, CLI, web server and
 * tests) never imports electron; the renderer never imports engine code or Node built-ins; the lab API
 * contract stays free of both.
 */
const root = path.resolve(__dirname, '..', '..', '..');

function files(dir: string, exts: string[]): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p, exts));
    else if (exts.some((e) => name.endsWith(e))) out.push(p);
  }
  return out;
}

const importRe = /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)/g;
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(importRe)].map((m) => m[1] ?? m[2] ?? m[3]);
}

describe('architecture boundaries', () => {
  it('no file under electron/engine imports electron', () => {
    const engineFiles = files(path.join(root, 'electron', 'engine'), ['.ts', '.js', '.mjs', '.cjs']);
    expect(engineFiles.length).toBeGreaterThan(10);
    const offenders = engineFiles.filter((f) => imports(f).some((s) => s === 'electron' || s.startsWith('electron/')));
    expect(offenders).toEqual([]);
  });

  it('the renderer imports no engine code and no Node built-ins', () => {
    const rendererFiles = files(path.join(root, 'renderer', 'src'), ['.ts', '.vue']);
    expect(rendererFiles.length).toBeGreaterThan(5);
    const offenders: string[] = [];
    for (const f of rendererFiles) {
      for (const spec of imports(f)) {
        const resolved = spec.startsWith('.') ? path.resolve(path.dirname(f), spec) : spec;
        const bad =
          resolved.startsWith(path.join(root, 'electron') + path.sep) && !resolved.startsWith(path.join(root, 'electron', 'api') + path.sep)
            ? true
            : spec.startsWith('node:') || spec === 'electron' || spec === 'onnxruntime-node' || spec === 'better-sqlite3';
        if (bad) offenders.push(`${path.relative(root, f)} imports ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('the lab API contract imports only zod and itself', () => {
    for (const f of files(path.join(root, 'electron', 'api'), ['.ts'])) {
      for (const spec of imports(f)) expect([spec, f]).toSatisfy(([s]: string[]) => s === 'zod' || s.startsWith('./'));
    }
  });

  it('the detector sees an electron import when there is one', () => {
    // Guard against a regex that silently matches nothing.
    const probe = path.join(root, 'test', 'unit', 'architecture', 'fixtures', 'imports-electron.ts.txt');
    const text = readFileSync(probe, 'utf8');
    expect([...text.matchAll(importRe)].map((m) => m[1] ?? m[2] ?? m[3])).toContain('electron');
  });
});
