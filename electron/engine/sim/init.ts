import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { LabError } from '../errors.js';
import { Rng } from '../util/rng.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { initStatesDir } from '../util/runtime-paths.js';
import { Placer, PlacementFailed } from './placement.js';
import { castEntry } from './objects.js';
import type { ObjectPose } from './physics.js';
import { TabletopSim } from './physics.js';
import { SUITES, type SuiteName, type TaskDef } from './task.js';

/**
 * Fixed initial states, like LIBERO's init files: 50 per task, generated once from a recorded seed and
 * stored under resources/scenes/init/<suite>/<task name>.json. Trial i of an evaluation uses state i.
 *
 * A candidate placement is kept only if, simulated for SETTLE_S with the robot at home, every free
 * object stays within SETTLE_TOL of where it was put (no interpenetration, nothing falling off, nothing
 * toppling) and the robot touches nothing.
 */
export const INIT_STATES_PER_TASK = 50;
export const INIT_GENERATOR_VERSION = 1;
const SETTLE_S = 0.5;
const SETTLE_TOL = 0.015;

const poseSchema = z.object({
  pos: z.tuple([z.number(), z.number(), z.number()]),
  quat: z.tuple([z.number(), z.number(), z.number(), z.number()]),
});
export const initFileSchema = z.object({
  suite: z.enum(SUITES),
  task: z.string(),
  index: z.number().int(),
  instruction: z.string(),
  seed: z.number().int(),
  generatorVersion: z.number().int(),
  states: z.array(z.object({ objects: z.record(z.string(), poseSchema), fixtures: z.record(z.string(), z.number()) })),
});
export type InitFile = z.infer<typeof initFileSchema>;
export interface InitState {
  objects: Record<string, ObjectPose>;
  fixtures: Record<string, number>;
}

/** resources/scenes/init, wherever the app runs from (util/runtime-paths.ts). */
export function initDir(): string {
  return initStatesDir();
}

export const initFilePath = (t: TaskDef) => path.join(initDir(), t.suite, `${t.name}.json`);

/** The recorded seed of a task's initial states: fixed per (suite, index). */
export const taskSeed = (suite: SuiteName, index: number) => 5_000_000 + 1000 * SUITES.indexOf(suite) + index;

const cache = new Map<string, InitFile>();

export function loadInitStates(t: TaskDef): InitFile {
  const file = initFilePath(t);
  const hit = cache.get(file);
  if (hit) return hit;
  if (!existsSync(file)) throw new LabError('NOT_FOUND', `no initial states for ${t.suite}/${t.name} (expected ${file})`, { file });
  let parsed: InitFile;
  try {
    parsed = initFileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  } catch (err) {
    throw new LabError('CORRUPT_FILE', `initial-state file ${file} is not valid: ${(err as Error).message}`, { file }, { cause: err });
  }
  for (const [i, s] of parsed.states.entries()) {
    for (const o of t.objects) {
      if (castEntry(o.kind).free && !s.objects[o.name]) {
        throw new LabError('CORRUPT_FILE', `initial state ${i} of ${file} has no pose for '${o.name}'`, { file, state: i, object: o.name });
      }
    }
  }
  cache.set(file, parsed);
  return parsed;
}

/** Draw one candidate placement. */
export function drawPlacement(t: TaskDef, rng: Rng): InitState {
  const p = new Placer(rng, t.keepOut);
  for (const o of t.objects) p.setKind(o.name, o.kind);
  t.place(p);
  return { objects: p.poses, fixtures: { ...(t.fixtureInit ?? {}) } };
}

/** Check a candidate in simulation: everything stays put and the robot is clear. */
export function settleCheck(sim: TabletopSim, s: InitState): string | null {
  sim.reset(s.objects, s.fixtures);
  for (const pair of sim.contactPairs()) {
    if (/(^|\|)(robot|finger_left|finger_right)(\||$)/.test(pair)) return `robot touches ${pair} at reset`;
  }
  const r = sim.settle(SETTLE_S);
  if (r.unstable) return r.unstable;
  for (const [name, pose] of Object.entries(s.objects)) {
    const now = sim.objectPose(name).pos;
    const moved = Math.hypot(now[0] - pose.pos[0], now[1] - pose.pos[1], now[2] - pose.pos[2]);
    if (moved > SETTLE_TOL) return `${name} moved ${moved.toFixed(3)} m while settling`;
  }
  return null;
}

export async function generateInitStates(t: TaskDef, n = INIT_STATES_PER_TASK): Promise<{ file: InitFile; rejected: number }> {
  const seed = taskSeed(t.suite, t.index);
  const rng = new Rng(seed);
  const sim = await TabletopSim.create({ objects: t.objects });
  const states: InitState[] = [];
  let rejected = 0;
  try {
    while (states.length < n) {
      let s: InitState;
      try {
        s = drawPlacement(t, rng);
      } catch (err) {
        if (!(err instanceof PlacementFailed)) throw err;
        if (++rejected > 20 * n) throw err;
        continue;
      }
      const why = settleCheck(sim, s);
      if (why === null) states.push(s);
      else if (++rejected > 20 * n) throw new LabError('INTERNAL', `too many rejected placements for ${t.suite}/${t.name}: last ${why}`, { why });
    }
  } finally {
    sim.dispose();
  }
  return {
    file: { suite: t.suite, task: t.name, index: t.index, instruction: t.instruction, seed, generatorVersion: INIT_GENERATOR_VERSION, states },
    rejected,
  };
}

export async function writeInitStates(t: TaskDef, file: InitFile): Promise<string> {
  const p = initFilePath(t);
  await writeJsonAtomic(p, file);
  cache.delete(p);
  return p;
}
