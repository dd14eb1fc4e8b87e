import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openLiberoHdf5, readLiberoHdf5, writeLiberoHdf5 } from '../../../electron/engine/data/libero-hdf5.js';
import { syntheticEpisode } from '../../../electron/engine/data/synthetic-episode.js';
import { LabError } from '../../../electron/engine/errors.js';

// The peer is Debian's python3-h5py under /usr/bin/python3 (a CI dependency, see docs/data.md).
const PY = '/usr/bin/python3';
const script = (name: string) => path.join(import.meta.dirname, '../../python', name);
const dir = mkdtempSync(path.join(os.tmpdir(), 'libero-h5py-'));

describe('LIBERO layout interop with h5py', () => {
  it('a file written here opens in h5py with LIBERO keys, shapes, dtypes and attrs', async () => {
    const eps = [syntheticEpisode({ length: 7, seed: 1, imageSize: 128 }), syntheticEpisode({ length: 4, seed: 2, imageSize: 128 })];
    const file = path.join(dir, 'ours.hdf5');
    await writeLiberoHdf5(file, eps);
    const run = spawnSync(PY, [script('check_libero_hdf5.py'), file], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary.total).toBe(11);
    expect(summary.num_demos).toBe(2);
    expect(summary.problem_info.language_instruction).toBe(eps[0].instruction);
    expect(summary.demos.demo_0['obs/agentview_rgb']).toEqual({ dtype: 'uint8', shape: [7, 128, 128, 3] });
    expect(summary.demos.demo_0.actions).toEqual({ dtype: 'float64', shape: [7, 7] });
    expect(summary.demos.demo_1.dones).toEqual({ dtype: 'uint8', shape: [4] });
    expect(summary.demos.demo_1.states).toEqual({ dtype: 'float64', shape: [4, 16] });
    // h5py sees the same numbers we wrote
    const sum = Array.from(eps[1].actions).reduce((a, b) => a + b, 0);
    expect(summary.demos.demo_1.actions_sum).toBeCloseTo(sum, 9);
    expect(summary.demos.demo_0.agentview_sum).toBe(eps[0].obs.agentview_rgb.reduce((a, b) => a + b, 0));
  });

  it('a file built by h5py in LIBERO layout imports', async () => {
    const file = path.join(dir, 'libero.hdf5');
    const made = JSON.parse(execFileSync(PY, [script('make_libero_fixture.py'), file], { encoding: 'utf8' }));
    const { episodes, meta } = await readLiberoHdf5(file);
    expect(episodes.map((e) => e.length)).toEqual(made.lengths);
    expect(meta.envName).toBe('Libero_Kitchen_Tabletop_Manipulation');
    expect(episodes[0].instruction).toBe(made.instruction);
    expect(episodes[0].stateDim).toBe(79);
    expect(episodes[0].imageSize).toEqual({ height: 128, width: 128 });
    expect(episodes[1].initIndex).toBe(1);
    expect(episodes[0].actions[6]).toBe(-1);
    expect(episodes[0].obs.agentview_rgb[300]).toBe(300 % 251);
  });

  for (const [bad, text, field] of [
    ['missing_field', /demo_1: missing field dones/, 'dones'],
    ['wrong_dtype', /demo_1\/obs\/agentview_rgb: dtype float32, expected uint8/, 'obs/agentview_rgb'],
    ['wrong_shape', /demo_1\/actions: shape \[9, 6\], expected \[T, 7\]/, 'actions'],
  ] as const) {
    it(`a LIBERO file with ${bad} is refused, naming demo and field, and demo_0 still reads`, async () => {
      const file = path.join(dir, `${bad}.hdf5`);
      execFileSync(PY, [script('make_libero_fixture.py'), file, `--bad=${bad}`]);
      const reader = await openLiberoHdf5(file);
      try {
        expect(reader.readEpisode('demo_0').length).toBe(12);
        let err: unknown = null;
        try {
          reader.readEpisode('demo_1');
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(LabError);
        expect((err as LabError).code).toBe('CORRUPT_FILE');
        expect((err as LabError).message).toMatch(text);
        expect((err as LabError).details).toMatchObject({ demo: 'demo_1', field });
      } finally {
        reader.close();
      }
    });
  }
});
