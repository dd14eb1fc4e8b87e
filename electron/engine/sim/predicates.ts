import { castEntry, CABINET, type Region } from './objects.js';
import type { TabletopSim } from './physics.js';

/**
 * Goal predicates with LIBERO's semantics, evaluated on the live simulation every step:
 * - On(a, b): a touches b, a's centre is above b's, and a's horizontal centre is within ON_RADIUS of b's
 *   (0.03 m) — or, for wide supports with a `top` region (cabinet top, stove burner, wine rack, cookie
 *   box), inside that region.
 * - In(a, b): a touches b (or b's body tree, e.g. a drawer) and a's centre is inside b's containment box.
 * - Open / Close (drawers): slide joint ≥ OPEN_AT / ≤ CLOSE_AT metres.
 * - TurnOn / TurnOff (stove knob): hinge ≥ ON_AT / ≤ OFF_AT radians.
 * - OnRegion(a, region): a rests on the table with its centre inside a rectangle (e.g. the front of the
 *   stove, for "push the plate to the front of the stove").
 */
export const ON_RADIUS = 0.03;
export const OPEN_AT = 0.08;
export const CLOSE_AT = 0.01;
export const ON_AT = 0.6;
export const OFF_AT = 0.1;

export type Predicate =
  | { op: 'On'; a: string; b: string }
  | { op: 'In'; a: string; b: string; part?: (typeof CABINET.drawers)[number] }
  | { op: 'Open' | 'Close'; fixture: string; part: (typeof CABINET.drawers)[number] }
  | { op: 'TurnOn' | 'TurnOff'; fixture: string }
  | { op: 'OnRegion'; a: string; region: { x: number; y: number; hx: number; hy: number }; label: string };

export function describePredicate(p: Predicate): string {
  switch (p.op) {
    case 'On':
      return `On(${p.a}, ${p.b})`;
    case 'In':
      return `In(${p.a}, ${p.part ? `${p.b}.${p.part}_drawer` : p.b})`;
    case 'Open':
    case 'Close':
      return `${p.op}(${p.fixture}.${p.part}_drawer)`;
    case 'TurnOn':
    case 'TurnOff':
      return `${p.op}(${p.fixture})`;
    case 'OnRegion':
      return `On(${p.a}, ${p.label})`;
  }
}

export const drawerJoint = (fixture: string, part: string) => `${fixture}_${part}_slide`;
export const knobJoint = (fixture: string) => `${fixture}_knob_hinge`;

/** Position of a point in a body's frame. */
function toLocal(sim: TabletopSim, body: number, p: number[]): number[] {
  const x = sim.data.xpos, R = sim.bodyMat(body);
  const d = [p[0] - x[3 * body], p[1] - x[3 * body + 1], p[2] - x[3 * body + 2]];
  return [R[0] * d[0] + R[3] * d[1] + R[6] * d[2], R[1] * d[0] + R[4] * d[1] + R[7] * d[2], R[2] * d[0] + R[5] * d[1] + R[8] * d[2]];
}

export function inRegion(local: number[], r: Region): boolean {
  return (
    Math.abs(local[0] - r.center[0]) <= r.half[0] &&
    Math.abs(local[1] - r.center[1]) <= r.half[1] &&
    local[2] >= r.zlo &&
    local[2] <= r.zhi
  );
}

const touching = (contacts: Set<string>, a: string, b: string) => contacts.has(a < b ? `${a}|${b}` : `${b}|${a}`);

export function evalPredicate(sim: TabletopSim, p: Predicate, contacts: Set<string>): boolean {
  switch (p.op) {
    case 'On': {
      if (!touching(contacts, p.a, p.b)) return false;
      const pa = sim.objectPose(p.a).pos, pb = sim.objectPose(p.b).pos;
      if (!(pa[2] > pb[2])) return false;
      const top = castEntry(sim.objects.get(p.b)!.kind).top;
      if (top) return inRegion(toLocal(sim, sim.objects.get(p.b)!.body, pa), top);
      return Math.hypot(pa[0] - pb[0], pa[1] - pb[1]) < ON_RADIUS;
    }
    case 'In': {
      if (!touching(contacts, p.a, p.b)) return false;
      const pa = sim.objectPose(p.a).pos;
      if (p.part) {
        const body = sim.mj.mj_name2id(sim.model, sim.mj.mjtObj.mjOBJ_BODY.value, `${p.b}_${p.part}`);
        return inRegion(toLocal(sim, body, pa), drawerInside());
      }
      const inside = castEntry(sim.objects.get(p.b)!.kind).inside;
      return inside !== undefined && inRegion(toLocal(sim, sim.objects.get(p.b)!.body, pa), inside);
    }
    case 'Open':
      return sim.jointValue(drawerJoint(p.fixture, p.part)) >= OPEN_AT;
    case 'Close':
      return sim.jointValue(drawerJoint(p.fixture, p.part)) <= CLOSE_AT;
    case 'TurnOn':
      return sim.jointValue(knobJoint(p.fixture)) >= ON_AT;
    case 'TurnOff':
      return sim.jointValue(knobJoint(p.fixture)) <= OFF_AT;
    case 'OnRegion': {
      const pa = sim.objectPose(p.a).pos;
      return touching(contacts, p.a, 'world') && Math.abs(pa[0] - p.region.x) <= p.region.hx && Math.abs(pa[1] - p.region.y) <= p.region.hy;
    }
  }
}

/** The interior of a drawer in its body frame. */
export function drawerInside(): Region {
  const slotH = (2 * CABINET.hz - 0.016) / 3;
  return { center: [0, 0], half: [CABINET.hx - 0.03, CABINET.hy - 0.03], zlo: -slotH / 2, zhi: slotH / 2 + 0.03 };
}
