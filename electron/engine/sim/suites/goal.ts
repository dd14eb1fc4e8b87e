import type { TaskDef } from '../task.js';
import { taskName } from '../task.js';
import { CABINET } from '../objects.js';
import type { Predicate } from '../predicates.js';
import type { Rect } from '../placement.js';
import type { SceneObject } from '../scene.js';

/**
 * libero_goal: one scene, ten goals. A cabinet with three drawers (slide joints), a stove with a knob
 * (hinge), a wine rack, and free objects: a black bowl, a plate, cream cheese and a wine bottle.
 */
export const GOAL_CABINET = { x: 0.0, y: 0.42, yaw: 0 };
export const GOAL_STOVE = { x: 0.0, y: -0.4, yaw: 0 };
export const GOAL_RACK = { x: 0.14, y: 0.16, yaw: 0 };
/** "The front of the stove": the table rectangle just in front of it (towards the robot). */
export const STOVE_FRONT = { x: GOAL_STOVE.x - 0.19, y: GOAL_STOVE.y + 0.02, hx: 0.07, hy: 0.09 };

const KEEP_OUT: Rect[] = [
  { x: GOAL_CABINET.x - CABINET.drawerTravel / 2, y: GOAL_CABINET.y, hx: CABINET.hx + CABINET.drawerTravel / 2 + 0.02, hy: CABINET.hy },
  { x: GOAL_STOVE.x, y: GOAL_STOVE.y, hx: 0.11, hy: 0.13 },
  { x: GOAL_RACK.x, y: GOAL_RACK.y, hx: 0.07, hy: 0.1 },
  // keep the stove front clear so "push the plate to the front of the stove" starts unsolved
  { x: STOVE_FRONT.x, y: STOVE_FRONT.y, hx: STOVE_FRONT.hx, hy: STOVE_FRONT.hy },
];

const OBJECTS: SceneObject[] = [
  { name: 'bowl', kind: 'black_bowl' },
  { name: 'plate', kind: 'plate' },
  { name: 'cream_cheese', kind: 'cream_cheese' },
  { name: 'wine_bottle', kind: 'wine_bottle' },
  { name: 'cabinet', kind: 'wooden_cabinet', pose: GOAL_CABINET },
  { name: 'stove', kind: 'stove', pose: GOAL_STOVE },
  { name: 'wine_rack', kind: 'wine_rack', pose: GOAL_RACK },
];

const GOALS: [string, Predicate[]][] = [
  ['open the middle drawer of the cabinet', [{ op: 'Open', fixture: 'cabinet', part: 'middle' }]],
  ['put the bowl on the stove', [{ op: 'On', a: 'bowl', b: 'stove' }]],
  ['put the wine bottle on top of the cabinet', [{ op: 'On', a: 'wine_bottle', b: 'cabinet' }]],
  [
    'open the top drawer and put the bowl inside',
    [
      { op: 'Open', fixture: 'cabinet', part: 'top' },
      { op: 'In', a: 'bowl', b: 'cabinet', part: 'top' },
    ],
  ],
  ['put the bowl on top of the cabinet', [{ op: 'On', a: 'bowl', b: 'cabinet' }]],
  ['push the plate to the front of the stove', [{ op: 'OnRegion', a: 'plate', region: STOVE_FRONT, label: 'stove_front' }]],
  ['put the cream cheese in the bowl', [{ op: 'In', a: 'cream_cheese', b: 'bowl' }]],
  ['turn on the stove', [{ op: 'TurnOn', fixture: 'stove' }]],
  ['put the bowl on the plate', [{ op: 'On', a: 'bowl', b: 'plate' }]],
  ['put the wine bottle on the rack', [{ op: 'On', a: 'wine_bottle', b: 'wine_rack' }]],
];

export const goalSuite: TaskDef[] = GOALS.map(([instruction, goal], index) => ({
  suite: 'goal',
  index,
  name: taskName(instruction),
  instruction,
  objects: OBJECTS,
  goal,
  keepOut: KEEP_OUT,
  place(p) {
    p.onTable('plate', 'plate');
    p.onTable('bowl', 'black_bowl');
    p.onTable('cream_cheese', 'cream_cheese');
    p.onTable('wine_bottle', 'wine_bottle');
  },
}));
