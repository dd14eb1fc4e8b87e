import { describe, expect, it } from 'vitest';
import { actionSeries, frameAt, phaseRuns, predicateRuns, runsOf, stepTime } from '../../../../renderer/src/trials/series.js';
import { FramePackError, framePackFromRaw, uprightRgba } from '../../../../renderer/src/trials/frame-pack.js';

describe('trial timeline series', () => {
  it('splits the flattened executed actions into the 7 per-dimension series, and refuses a length that does not match', () => {
    const actions = [0, 1, 2, 3, 4, 5, -1, 10, 11, 12, 13, 14, 15, 1];
    const s = actionSeries({ steps: 2, actions })!;
    expect(s).toHaveLength(7);
    expect(s[0]).toEqual([0, 10]);
    expect(s[6]).toEqual([-1, 1]);
    expect(actionSeries({ steps: 3, actions })).toBeNull();
    expect(actionSeries({ steps: 2 })).toBeNull();
  });

  it('turns the phase series into runs with their names', () => {
    expect(runsOf([2, 2, 0, 0, 0, 2], String)).toEqual([
      { start: 0, end: 2, label: '2', index: 2 },
      { start: 2, end: 5, label: '0', index: 0 },
      { start: 5, end: 6, label: '2', index: 2 },
    ]);
    expect(phaseRuns({ phases: { names: ['approaching', 'grasping'], series: [0, 0, 1] } }).map((r) => [r.label, r.start, r.end])).toEqual([
      ['approaching', 0, 2],
      ['grasping', 2, 3],
    ]);
    expect(phaseRuns({ phases: null })).toEqual([]);
  });

  it('reads each goal predicate from its bit of the per-step mask', () => {
    // bit 0: open drawer from step 2 on; bit 1: on plate at step 1 only
    const p = predicateRuns({ predicates: { names: ['Open(drawer)', 'On(bowl, plate)'], series: [0, 2, 1, 1] } });
    expect(p.map((x) => [x.name, x.runs.map((r) => [r.start, r.end])])).toEqual([
      ['Open(drawer)', [[2, 4]]],
      ['On(bowl, plate)', [[1, 2]]],
    ]);
  });

  it('holds the last frame past a trial\'s end and gives the step time at 20 Hz', () => {
    expect(frameAt(50, 31)).toBe(30);
    expect(frameAt(-3, 31)).toBe(0);
    expect(frameAt(12, 31)).toBe(12);
    expect(stepTime(20)).toBe('1.00');
    expect(stepTime(5, 2)).toBe('0.50');
  });
});

describe('frame packs in the page', () => {
  it('turns LIBERO-oriented RGB upright (rotated 180°) into RGBA', () => {
    // 2×1 image: pixel 0 red, pixel 1 blue → upright: blue first
    const rgba = new Uint8ClampedArray(8);
    uprightRgba(Uint8Array.from([255, 0, 0, 0, 0, 255]), rgba, 2);
    expect([...rgba]).toEqual([0, 0, 255, 255, 255, 0, 0, 255]);
  });

  it('refuses a pack whose size does not match its record, naming both', () => {
    expect(() => framePackFromRaw(new Uint8Array(10), { format: 'frames-u8.gz', count: 2, width: 2, height: 2, stride: 1 }, 'u')).toThrow(FramePackError);
    expect(() => framePackFromRaw(new Uint8Array(10), { format: 'frames-u8.gz', count: 2, width: 2, height: 2, stride: 1 })).toThrow(/10 bytes.*2 frames of 2×2×3/);
  });
});
