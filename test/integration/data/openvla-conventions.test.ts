import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { computeActionStats, normalizeActions } from '../../../electron/engine/data/normalize.js';
import { discretize, fromTokenIds, toTokenIds, undiscretize, BIN_EDGES } from '../../../electron/engine/data/discretize.js';
import { Rng } from '../../../electron/engine/util/rng.js';

describe('OpenVLA action conventions match a numpy reference', () => {
  it('q01/q99, normalization, 256-bin digitize, tokens and bin centers agree with numpy', () => {
    const rng = new Rng(11);
    const T = 500;
    const actions = new Float32Array(T * 7);
    for (let i = 0; i < actions.length; i++) actions[i] = i % 7 === 6 ? (rng.next() < 0.5 ? -1 : 1) : rng.normal(0, 0.3) * ((i % 7) + 1);
    // probes: random values, every bin edge, just below edges, the ends and beyond
    const probe: number[] = [];
    for (let i = 0; i < 200; i++) probe.push(rng.uniform(-1.2, 1.2));
    for (const e of BIN_EDGES) probe.push(e, e - 1e-12);
    probe.push(-1, 1, 0);
    const rows = Array.from({ length: T }, (_, t) => Array.from(actions.subarray(t * 7, t * 7 + 7)));
    const ref = JSON.parse(
      execFileSync('/usr/bin/python3', [path.join(import.meta.dirname, '../../python/openvla_action_reference.py')], {
        input: JSON.stringify({ actions: rows, probe }),
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      }),
    );
    const stats = computeActionStats([actions]);
    for (let d = 0; d < 7; d++) {
      expect(stats.q01[d]).toBeCloseTo(ref.q01[d], 6);
      expect(stats.q99[d]).toBeCloseTo(ref.q99[d], 6);
    }
    const norm = normalizeActions(actions, stats);
    for (let t = 0; t < T; t++) for (let d = 0; d < 6; d++) expect(norm[t * 7 + d]).toBeCloseTo(ref.norm[t][d], 5);
    expect(Array.from(discretize(probe))).toEqual(ref.bins);
    expect(Array.from(toTokenIds(probe))).toEqual(ref.tokens);
    const decoded = fromTokenIds(toTokenIds(probe));
    decoded.forEach((v, i) => expect(v).toBeCloseTo(ref.decoded[i], 6));
    expect(Array.from(undiscretize(discretize(probe)))).toEqual(Array.from(decoded));
  });
});
