import type { Predicate } from './predicates.js';
import { SUITE_MAX_STEPS, WARMUP_STEPS } from '../data/libero-protocol.js';
import type { Placer, Rect } from './placement.js';
import type { SceneObject } from './scene.js';

export const SUITES = ['object', 'spatial', 'goal'] as const;
export type SuiteName = (typeof SUITES)[number];

/**
 * The episode horizon of each built-in suite: LIBERO's evaluation limit (counted after the warm-up, as in
 * OpenVLA's run_libero_eval.py) plus the warm-up steps, which also go through step().
 */
export const MAX_STEPS: Record<SuiteName, number> = {
  spatial: SUITE_MAX_STEPS.spatial + WARMUP_STEPS,
  object: SUITE_MAX_STEPS.object + WARMUP_STEPS,
  goal: SUITE_MAX_STEPS.goal + WARMUP_STEPS,
};

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
