import type { TaskDef } from '../task.js';
import { taskName } from '../task.js';
import { CABINET } from '../objects.js';
import type { Placer, Rect } from '../placement.js';
import type { SceneObject } from '../scene.js';
import { drawerJoint } from '../predicates.js';

/**
 * libero_spatial: two identical black bowls, a plate, a ramekin, a cookie box, a wooden cabinet with
 * drawers and a flat stove. The instruction names one bowl by its spatial relation; the task is to put
 * that bowl (black_bowl_1) on the plate. The other bowl (black_bowl_2) is placed freely elsewhere.
 */
export const CABINET_POSE = { x: 0.0, y: 0.42, yaw: 0 };
export const STOVE_POSE = { x: 0.0, y: -0.4, yaw: 0 };

export const SPATIAL_KEEP_OUT: Rect[] = [
  // cabinet, plus the path of its drawers (they open towards −x)
  { x: CABINET_POSE.x - CABINET.drawerTravel / 2, y: CABINET_POSE.y, hx: CABINET.hx + CABINET.drawerTravel / 2 + 0.02, hy: CABINET.hy },
  { x: STOVE_POSE.x, y: STOVE_POSE.y, hx: 0.11, hy: 0.13 },
];

const RELATIONS = [
  'between the plate and the ramekin',
  'next to the ramekin',
  'from table center',
  'on the cookie box',
  'in the top drawer of the wooden cabinet',
  'on the ramekin',
  'next to the cookie box',
  'on the stove',
  'next to the plate',
  'on the wooden cabinet',
] as const;

const TOP_DRAWER_OPEN = 0.14;

/** World height of the top drawer's floor and its centre when opened by TOP_DRAWER_OPEN. */
export function topDrawerFloor(): { x: number; y: number; z: number } {
  const t = 0.008, slotH = (2 * CABINET.hz - 2 * t) / 3;
  const zc = CABINET.hz + CABINET.hz - t - slotH / 2; // cabinet centre is at hz above the table
  const dhz = slotH / 2 - 0.006;
  return { x: CABINET_POSE.x - TOP_DRAWER_OPEN, y: CABINET_POSE.y, z: zc - dhz + 0.01 };
}

function placeSpatial(p: Placer, rel: (typeof RELATIONS)[number]): void {
  const bowl = 'black_bowl_1';
  switch (rel) {
    case 'between the plate and the ramekin':
      p.between(bowl, 'black_bowl', ['plate', 'plate'], ['ramekin', 'ramekin']);
      p.onTable('cookie_box', 'cookie_box');
      break;
    case 'next to the ramekin':
      p.onTable('ramekin', 'ramekin');
      p.near(bowl, 'black_bowl', 'ramekin');
      p.onTable('plate', 'plate');
      p.onTable('cookie_box', 'cookie_box');
      break;
    case 'from table center':
      p.onTable(bowl, 'black_bowl', { xlo: -0.1, xhi: -0.06, ylo: -0.02, yhi: 0.02 });
      p.onTable('plate', 'plate');
      p.onTable('ramekin', 'ramekin');
      p.onTable('cookie_box', 'cookie_box');
      break;
    case 'on the cookie box':
      p.onTable('cookie_box', 'cookie_box');
      p.onTopOf(bowl, 'black_bowl', 'cookie_box');
      p.onTable('plate', 'plate');
      p.onTable('ramekin', 'ramekin');
      break;
    case 'in the top drawer of the wooden cabinet': {
      const f = topDrawerFloor();
      p.at(bowl, 'black_bowl', f.x, f.y, f.z, 0.005);
      p.onTable('plate', 'plate');
      p.onTable('ramekin', 'ramekin');
      p.onTable('cookie_box', 'cookie_box');
      break;
    }
    case 'on the ramekin':
      p.onTable('ramekin', 'ramekin');
      p.onTopOf(bowl, 'black_bowl', 'ramekin');
      p.onTable('plate', 'plate');
      p.onTable('cookie_box', 'cookie_box');
      break;
    case 'next to the cookie box':
      p.onTable('cookie_box', 'cookie_box');
      p.near(bowl, 'black_bowl', 'cookie_box');
      p.onTable('plate', 'plate');
      p.onTable('ramekin', 'ramekin');
      break;
    case 'on the stove':
      p.at(bowl, 'black_bowl', STOVE_POSE.x, STOVE_POSE.y, 0.027, 0.01);
      p.onTable('plate', 'plate');
      p.onTable('ramekin', 'ramekin');
      p.onTable('cookie_box', 'cookie_box');
      break;
    case 'next to the plate':
      p.onTable('plate', 'plate');
      p.near(bowl, 'black_bowl', 'plate');
      p.onTable('ramekin', 'ramekin');
      p.onTable('cookie_box', 'cookie_box');
      break;
    case 'on the wooden cabinet':
      p.at(bowl, 'black_bowl', CABINET_POSE.x, CABINET_POSE.y, 2 * CABINET.hz, 0.02);
      p.onTable('plate', 'plate');
      p.onTable('ramekin', 'ramekin');
      p.onTable('cookie_box', 'cookie_box');
      break;
  }
  p.onTable('black_bowl_2', 'black_bowl');
}

export const SPATIAL_OBJECTS: SceneObject[] = [
  { name: 'black_bowl_1', kind: 'black_bowl' },
  { name: 'black_bowl_2', kind: 'black_bowl' },
  { name: 'plate', kind: 'plate' },
  { name: 'ramekin', kind: 'ramekin' },
  { name: 'cookie_box', kind: 'cookie_box' },
  { name: 'wooden_cabinet', kind: 'wooden_cabinet', pose: CABINET_POSE },
  { name: 'flat_stove', kind: 'flat_stove', pose: STOVE_POSE },
];

export const spatialSuite: TaskDef[] = RELATIONS.map((rel, index) => {
  const instruction = `pick up the black bowl ${rel} and place it on the plate`;
  return {
    suite: 'spatial',
    index,
    name: taskName(instruction),
    instruction,
    objects: SPATIAL_OBJECTS,
    goal: [{ op: 'On', a: 'black_bowl_1', b: 'plate' }],
    fixtureInit: rel === 'in the top drawer of the wooden cabinet' ? { [drawerJoint('wooden_cabinet', 'top')]: TOP_DRAWER_OPEN } : undefined,
    keepOut: SPATIAL_KEEP_OUT,
    place: (p) => placeSpatial(p, rel),
  };
});
