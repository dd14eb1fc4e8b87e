import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { annotationFallbacks, annotatorLabel, displayBaseUrl, fallbackNote, isEndpointError, OFFLINE_ANNOTATOR, VlmClient } from '../../../../electron/engine/annotate/index.js';
import { updateSidecarDemo } from '../../../../electron/engine/data/sidecar.js';
import { LabError } from '../../../../electron/engine/errors.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'vla-fallback-units-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const counts = (c: Partial<Parameters<typeof annotatorLabel>[1]>) => ({ tasks: 0, vlm: 0, cached: 0, fallback: 0, failed: 0, frames: 0, fallbackFrames: 0, failedFrames: 0, ...c });

/** A dataset file (its bytes are never read) with a sidecar of the given per-frame statuses/annotators. */
async function demo(file: string, name: string, frames: { status: string; annotator: string }[], notes: Record<string, unknown> = {}) {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, '');
  await updateSidecarDemo(file, name, { frames: { annotation_status: frames.map((f) => f.status), annotator: frames.map((f) => f.annotator), text: frames.map(() => 'idle') }, notes });
}
const vlm = (n: number) => Array.from({ length: n }, () => ({ status: 'ok', annotator: 'vlm:qwen-vl' }));
const fb = (n: number) => Array.from({ length: n }, () => ({ status: 'fallback', annotator: OFFLINE_ANNOTATOR }));
const off = (n: number) => Array.from({ length: n }, () => ({ status: 'ok', annotator: OFFLINE_ANNOTATOR }));

describe('fallback accounting', () => {
  it('labels the annotator honestly', () => {
    expect(annotatorLabel('vlm:m', counts({ tasks: 40, vlm: 40, frames: 900 }))).toBe('vlm:m');
    expect(annotatorLabel('vlm:m', counts({ tasks: 40, vlm: 37, fallback: 3, frames: 900, fallbackFrames: 61 }))).toBe('vlm:m (offline fallback for 3 of 40 tasks, 61 of 900 frames)');
    expect(annotatorLabel('vlm:m', counts({ tasks: 4, failed: 1, frames: 90, failedFrames: 20 }))).toBe('vlm:m (1 of 4 tasks failed, 20 of 90 frames without text)');
  });

  it('shows base URLs without credentials or query, and tells endpoint errors apart', () => {
    expect(displayBaseUrl('https://user:secret@example.com/v1/?key=abc#x')).toBe('https://example.com/v1');
    expect(displayBaseUrl('not a url')).toBe('(invalid URL)');
    const c = new VlmClient({ baseUrl: 'https://u:p@example.com/compatible-mode/v1', model: 'qwen-vl-plus', apiKey: 'sk-abcdef' });
    expect(c.endpoint).toEqual({ baseUrl: 'https://example.com/compatible-mode/v1', model: 'qwen-vl-plus' });
    expect(JSON.stringify(c, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))).not.toContain('sk-abcdef');
    expect(isEndpointError(new LabError('REMOTE_ERROR', 'x', { kind: 'auth' }))).toBe(true);
    expect(isEndpointError(new LabError('REMOTE_ERROR', 'x', { kind: 'config' }))).toBe(true);
    expect(isEndpointError(new LabError('REMOTE_ERROR', 'x', { kind: 'server' }))).toBe(false);
    expect(isEndpointError(new LabError('INVALID_INPUT', 'x', { kind: 'auth' }))).toBe(false);
  });

  it('reads a dataset: all VLM → no note; fallback → counted note; offline by choice → its own note; older sidecars → frame counts only', async () => {
    const clean = path.join(tmp, 'clean');
    await demo(path.join(clean, 'a.hdf5'), 'demo_0', vlm(10), { annotator: 'vlm:qwen-vl', annotation: counts({ tasks: 2, vlm: 2, frames: 10 }) });
    const c = annotationFallbacks(clean);
    expect(c).toMatchObject({ files: 1, demos: 1, frames: 10, vlmFrames: 10, fallbackFrames: 0, fallbackTasks: 0, tasks: 2, note: null, annotators: ['vlm:qwen-vl'] });

    const mixed = path.join(tmp, 'mixed');
    await demo(path.join(mixed, 'a.hdf5'), 'demo_0', [...vlm(7), ...fb(3)], { annotator: 'vlm:qwen-vl (offline fallback for 1 of 3 tasks, 3 of 10 frames)', annotation: counts({ tasks: 3, vlm: 2, fallback: 1, frames: 10, fallbackFrames: 3 }) });
    await demo(path.join(mixed, 'sub', 'b.hdf5'), 'demo_0', vlm(5), { annotator: 'vlm:qwen-vl', annotation: counts({ tasks: 1, vlm: 1, frames: 5 }) });
    await demo(path.join(mixed, 'sub', 'b.hdf5'), 'demo_1', [...fb(2), ...vlm(3)], { annotator: 'vlm:qwen-vl (offline fallback for 1 of 2 tasks, 2 of 5 frames)', annotation: counts({ tasks: 2, vlm: 1, fallback: 1, frames: 5, fallbackFrames: 2 }) });
    symlinkSync(mixed, path.join(mixed, 'sub', 'loop')); // visited once
    const m = annotationFallbacks(mixed);
    expect(m).toMatchObject({ files: 2, demos: 3, frames: 20, vlmFrames: 15, fallbackFrames: 5, fallbackTasks: 2, tasks: 6, demosWithFallback: ['a.hdf5#demo_0', path.join('sub', 'b.hdf5') + '#demo_1'] });
    expect(m.note).toBe('Descriptions: 5 frames of 20 (2 of 6 annotation tasks) carry offline template text (offline-template-v1) where vlm:qwen-vl failed. Rows trained on descriptions are not purely VLM-annotated.');
    expect(annotationFallbacks(path.join(mixed, 'a.hdf5')).fallbackFrames).toBe(3);

    const offline = path.join(tmp, 'offline');
    await demo(path.join(offline, 'a.hdf5'), 'demo_0', off(4), { annotator: OFFLINE_ANNOTATOR });
    expect(annotationFallbacks(offline).note).toContain('4 frames of 4 were described by the offline annotator');

    const old = path.join(tmp, 'old');
    await demo(path.join(old, 'a.hdf5'), 'demo_0', [...vlm(3), ...fb(1)], { annotator: 'vlm:qwen-vl' }); // before the counts existed
    const o = annotationFallbacks(old);
    expect(o).toMatchObject({ fallbackFrames: 1, fallbackTasks: null, tasks: null });
    expect(o.note).toContain('1 frame of 4 carries offline template text');

    expect(fallbackNote({ ...o, frames: 0 })).toBeNull();
    expect(() => annotationFallbacks(path.join(tmp, 'nope'))).toThrow(/does not exist/);
  });
});
