import { describe, expect, it } from 'vitest';
import {
  classifyEpisode,
  coefficientOfVariation,
  granularity,
  granularityByGroup,
  modifiedCv,
  PHASES,
  targetProfile,
  taxonomy,
  TAXONOMY_SIZES,
} from '../../../../electron/engine/phases/index.js';
import { syntheticDataset } from '../../../../electron/cli/bench/fixtures/synthetic-phases.js';

describe('taxonomies', () => {
  it('has 3/5/7/9/11/13 phases, each with a one-sentence definition, covering every 9-phase label', () => {
    for (const size of TAXONOMY_SIZES) {
      const t = taxonomy(size);
      expect(t.phases).toHaveLength(size);
      expect(new Set(t.phases.map((p) => p.name)).size).toBe(size);
      for (const p of t.phases) expect(p.definition).toMatch(/^[A-Z][^.]*\.$/); // one sentence
      const names = new Set(t.phases.map((p) => p.name));
      for (const ph of PHASES) expect(names.has(t.map(ph, { operatingKind: 'rotate', placingStage: 'releasing' }))).toBe(true);
    }
    expect(taxonomy(9).phases.map((p) => p.name)).toEqual([...PHASES]);
    expect(taxonomy(3).map('transporting')).toBe(taxonomy(3).map('approaching'));
    expect(taxonomy(11).map('operating', { operatingKind: 'pull' })).toBe('operating-pull');
    expect(taxonomy(11).map('operating', { operatingKind: 'press' })).toBe('operating-push');
    expect(taxonomy(13).map('operating', { operatingKind: 'press' })).toBe('operating-press');
    expect(taxonomy(13).map('placing', { placingStage: 'releasing' })).toBe('releasing');
    expect(() => taxonomy(4)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });
});

describe('granularity statistics', () => {
  it('defines CV and modified CV as documented', () => {
    expect(coefficientOfVariation([0.25, 0.25, 0.25, 0.25])).toBe(0);
    expect(coefficientOfVariation([1, 0])).toBeCloseTo(1, 12); // σ = 0.5, μ = 0.5
    const q = targetProfile(9);
    expect(q.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect([...q].sort((a, b) => b - a)).toEqual(q);
    expect(modifiedCv([...q].reverse(), q)).toBeCloseTo(0, 12); // rank order does not matter
    expect(modifiedCv(Array(9).fill(1 / 9), q)).toBeCloseTo(coefficientOfVariation(q), 12);
  });

  it('computes per-taxonomy frequencies, CV and seeded bootstrap error bars', () => {
    const data = syntheticDataset(16, 3);
    const labeled = data.map((d) => classifyEpisode(d.episode, { usePrivileged: false }));
    const a = granularity(labeled, { bootstrap: 200, seed: 42 });
    const b = granularity(labeled, { bootstrap: 200, seed: 42 });
    expect(a).toEqual(b); // seeded
    expect(a.taxonomies.map((t) => t.size)).toEqual([...TAXONOMY_SIZES]);
    for (const t of a.taxonomies) {
      expect(t.frequencies.reduce((s, f) => s + f.value, 0)).toBeCloseTo(1, 9);
      for (const iv of [t.cv, t.modifiedCv, ...t.frequencies]) {
        expect(iv.lo).toBeLessThanOrEqual(iv.hi);
        expect(iv.std).toBeGreaterThanOrEqual(0);
      }
      expect(t.cv.std).toBeGreaterThan(0); // resampling episodes does move the statistic
    }
    const c = granularity(labeled, { bootstrap: 200, seed: 43 });
    expect(c.taxonomies[3].cv.std).not.toBe(a.taxonomies[3].cv.std);
    const nine = a.taxonomies.find((t) => t.size === 9)!;
    console.info('9-phase frequencies', Object.fromEntries(nine.phases.map((p, i) => [p, nine.frequencies[i].value.toFixed(3)])),
      'CV* by size', Object.fromEntries(a.taxonomies.map((t) => [t.size, `${t.modifiedCv.value.toFixed(3)} ± ${t.modifiedCv.std.toFixed(3)}`])));
  });

  it('groups rollout sets by teacher and suite', () => {
    const data = [...syntheticDataset(4, 1, { teacher: 'A' }), ...syntheticDataset(4, 2, { teacher: 'B' })];
    const labeled = data.map((d) => ({ ...classifyEpisode(d.episode), teacher: d.episode.teacher, suite: d.episode.suite }));
    const g = granularityByGroup(labeled, (e) => `${e.teacher}/${e.suite}`, { bootstrap: 20, sizes: [9] });
    expect(Object.keys(g).sort()).toEqual(['A/synthetic', 'B/synthetic']);
    expect(g['A/synthetic'].episodes).toBe(4);
  });
});
