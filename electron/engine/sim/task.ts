import type { Predicate } from './predicates.js';
import type { Placer, Rect } from './placement.js';
import type { SceneObject } from './scene.js';

export const SUITES = ['object', 'spatial', 'goal'] as const;
export type SuiteName = (typeof SUITES)[number];

/** LIBERO's evaluation horizons (DESIGN.md). */
export const MAX_STEPS: Record<SuiteName, number> = { spatial: 220, object: 280, goal: 300 };

export interface TaskDef {
  suite: SuiteName;
  index: number;
  /** LIBERO-style name, the instruction with underscores. */
  name: string;
  instruction: string;
  objects: SceneObject[];
  goal: Predicate[];
  /** Fixture joints at reset (e.g. a drawer already open with the bowl inside). */
  fixtureInit?: Record<string, number>;
  /** Keep-out rectangles of the fixtures, for placement. */
  keepOut: Rect[];
  /** Place the free objects (called once per initial state with a seeded placer). */
  place(p: Placer): void;
}

export const taskName = (instruction: string) => instruction.replace(/[^a-z0-9]+/gi, '_').replace(/^_|_$/g, '').toLowerCase();
