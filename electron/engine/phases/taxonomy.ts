import { invalidInput } from '../errors.js';

/**
 * Phase taxonomies (paper §3.3, §4.3). The 9-phase taxonomy is the base the rule classifier assigns; the
 * 3/5/7-phase taxonomies are explicit merges of it, the 11/13-phase ones explicit splits (operating into
 * push / pull / rotate / press; placing into lowering / releasing). Every phase carries the one-sentence
 * definition that is injected into the VLM prompt (annotate/prompts.ts).
 */

export const PHASES = [
  'idle',
  'approaching',
  'grasping',
  'transporting',
  'holding',
  'placing',
  'operating',
  'regrasping',
  'completed',
] as const;
export type Phase = (typeof PHASES)[number];

export const PHASE_DEFINITIONS: Record<Phase, string> = {
  idle: 'The robot is not yet acting on the task: the gripper is open, empty and nearly still.',
  approaching: 'The empty gripper (open, or closed to push or hook) is moving toward the object or part it is about to grasp or touch.',
  grasping: 'The gripper closes its fingers around the target object or part and secures the grip before the arm moves off.',
  transporting: 'The gripper holds the object lifted off its support and carries it toward the goal location.',
  holding: 'The gripper holds the object firmly and the arm rests nearly still.',
  placing: 'The gripper lowers the held object onto or into its goal location and opens to release it.',
  operating: 'The gripper acts on an articulated part of the scene (a drawer handle, a knob, a button) or pushes an object along the table to move it along its path.',
  regrasping: 'After a failed grasp or a lost object the empty gripper comes up, reopens, moves back into position and closes on the object again.',
  completed: 'The task goal has been reached: the gripper has released the last object and retreats or rests.',
};

/** Kinds of operating motion, used by the 11- and 13-phase splits and by the direction vocabulary. */
export const OPERATING_KINDS = ['push', 'pull', 'rotate', 'press'] as const;
export type OperatingKind = (typeof OPERATING_KINDS)[number];

/** Per-frame facts beyond the 9-phase label that the finer taxonomies need. */
export interface PhaseDetail {
  /** Set on operating frames: the kind of constrained motion of that operating segment. */
  operatingKind?: OperatingKind;
  /** Set on placing frames: lowering the held object, or opening the fingers to let go of it. */
  placingStage?: 'lowering' | 'releasing';
}

export interface TaxonomyPhase {
  name: string;
  definition: string;
}

export interface Taxonomy {
  size: 3 | 5 | 7 | 9 | 11 | 13;
  phases: TaxonomyPhase[];
  /** Map one classified frame (9-phase label plus detail) to a phase name of this taxonomy. */
  map(phase: Phase, detail?: PhaseDetail): string;
}

const d = PHASE_DEFINITIONS;

function mergeTaxonomy(size: Taxonomy['size'], groups: Record<string, { members: Phase[]; definition: string }>): Taxonomy {
  const lookup = new Map<Phase, string>();
  for (const [name, g] of Object.entries(groups)) for (const p of g.members) lookup.set(p, name);
  for (const p of PHASES) if (!lookup.has(p)) throw new Error(`taxonomy ${size}: phase ${p} is not mapped`);
  return {
    size,
    phases: Object.entries(groups).map(([name, g]) => ({ name, definition: g.definition })),
    map: (phase) => lookup.get(phase)!,
  };
}

const OPERATING_SPLIT_DEFINITIONS: Record<OperatingKind, string> = {
  push: 'The gripper pushes an articulated part or object away from the robot along its constrained path, such as closing a drawer.',
  pull: 'The gripper pulls an articulated part toward the robot along its constrained path, such as opening a drawer.',
  rotate: 'The gripper turns a part about its axis with little translation, such as a knob or a valve.',
  press: 'The gripper presses down on a button or switch.',
};

const operatingName = (k: OperatingKind | undefined) => `operating-${k ?? 'push'}`;

function splitTaxonomy(size: 11 | 13, kinds: OperatingKind[], splitPlacing: boolean): Taxonomy {
  const phases: TaxonomyPhase[] = [];
  for (const p of PHASES) {
    if (p === 'operating') {
      for (const k of kinds) phases.push({ name: operatingName(k), definition: OPERATING_SPLIT_DEFINITIONS[k] });
    } else if (p === 'placing' && splitPlacing) {
      phases.push({ name: 'lowering', definition: 'The gripper lowers the held object onto or into its goal location.' });
      phases.push({ name: 'releasing', definition: 'The gripper opens its fingers to let go of the object it has placed.' });
    } else phases.push({ name: p, definition: d[p] });
  }
  if (phases.length !== size) throw new Error(`taxonomy ${size} has ${phases.length} phases`);
  return {
    size,
    phases,
    map(phase, detail) {
      if (phase === 'operating') {
        // Kinds outside this taxonomy's split fold into the nearest one kept (press → push in the 11-set).
        const k = detail?.operatingKind ?? 'push';
        return operatingName(kinds.includes(k) ? k : 'push');
      }
      if (phase === 'placing' && splitPlacing) return detail?.placingStage === 'releasing' ? 'releasing' : 'lowering';
      return phase;
    },
  };
}

export const TAXONOMIES: Record<Taxonomy['size'], Taxonomy> = {
  3: mergeTaxonomy(3, {
    stationary: { members: ['idle', 'holding', 'completed'], definition: 'The arm is nearly still, before, during or after the task.' },
    moving: { members: ['approaching', 'transporting'], definition: 'The arm travels through free space, empty or carrying an object.' },
    manipulating: {
      members: ['grasping', 'placing', 'operating', 'regrasping'],
      definition: 'The gripper is in contact-rich interaction: closing on, releasing or actuating something.',
    },
  }),
  5: mergeTaxonomy(5, {
    idle: { members: ['idle', 'completed'], definition: 'The robot is not acting on the task, before it starts or after it is done.' },
    moving: { members: ['approaching', 'transporting'], definition: 'The arm travels through free space, empty or carrying an object.' },
    grasping: { members: ['grasping', 'regrasping'], definition: 'The gripper closes on an object, at the first attempt or again after a failed one.' },
    holding: { members: ['holding'], definition: d.holding },
    interacting: {
      members: ['placing', 'operating'],
      definition: 'The gripper puts an object down or actuates an articulated part of the scene.',
    },
  }),
  7: mergeTaxonomy(7, {
    idle: { members: ['idle'], definition: d.idle },
    moving: { members: ['approaching', 'transporting'], definition: 'The arm travels through free space, empty or carrying an object.' },
    grasping: { members: ['grasping', 'regrasping'], definition: 'The gripper closes on an object, at the first attempt or again after a failed one.' },
    holding: { members: ['holding'], definition: d.holding },
    placing: { members: ['placing'], definition: d.placing },
    operating: { members: ['operating'], definition: d.operating },
    completed: { members: ['completed'], definition: d.completed },
  }),
  9: mergeTaxonomy(9, Object.fromEntries(PHASES.map((p) => [p, { members: [p], definition: d[p] }]))),
  11: splitTaxonomy(11, ['push', 'pull', 'rotate'], false),
  13: splitTaxonomy(13, ['push', 'pull', 'rotate', 'press'], true),
};

export const TAXONOMY_SIZES = [3, 5, 7, 9, 11, 13] as const;

export function taxonomy(size: number): Taxonomy {
  const t = TAXONOMIES[size as Taxonomy['size']];
  if (!t) throw invalidInput(`no taxonomy with ${size} phases (have ${TAXONOMY_SIZES.join(', ')})`, { field: 'taxonomy', value: size });
  return t;
}

export function isPhase(value: unknown): value is Phase {
  return typeof value === 'string' && (PHASES as readonly string[]).includes(value);
}
