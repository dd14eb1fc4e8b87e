/**
 * Vocabularies of the multi-frame operating tuple (object, direction) (paper §3.4). The VLM must answer
 * with one word of each list; `normalizeObject` / `normalizeDirection` map common variants onto them
 * and return null for anything else. docs/annotate.md lists the same words with their meaning.
 */
export const OPERATING_OBJECTS = [
  'drawer-handle', // the handle or front of a drawer
  'cabinet-door', // a hinged door of a cabinet or microwave
  'knob', // a rotary knob (stove burner, dial)
  'button', // a push button or switch
  'lever', // a lever or faucet handle
  'lid', // a lid of a pot, box or basket
  'bowl',
  'plate',
  'mug',
  'bottle',
  'box',
  'object', // anything else
] as const;
export type OperatingObject = (typeof OPERATING_OBJECTS)[number];

/**
 * Directions, in the robot's frame seen from the front camera. Linear: outward = toward the robot (a
 * drawer opening), inward = away from it (a drawer closing), upward / downward, leftward / rightward.
 * Rotary: clockwise / counterclockwise as seen from above (knobs) or from the front (doors).
 */
export const OPERATING_DIRECTIONS = ['outward', 'inward', 'upward', 'downward', 'leftward', 'rightward', 'clockwise', 'counterclockwise'] as const;
export type OperatingDirection = (typeof OPERATING_DIRECTIONS)[number];

export interface OperatingTuple {
  object: OperatingObject;
  direction: OperatingDirection;
}

const OBJECT_SYNONYMS: Record<string, OperatingObject> = {
  handle: 'drawer-handle',
  drawer: 'drawer-handle',
  'drawer handle': 'drawer-handle',
  'drawer-front': 'drawer-handle',
  door: 'cabinet-door',
  'door handle': 'cabinet-door',
  'microwave door': 'cabinet-door',
  'stove knob': 'knob',
  'stove-knob': 'knob',
  dial: 'knob',
  burner: 'knob',
  switch: 'button',
  'push button': 'button',
  faucet: 'lever',
  cup: 'mug',
  item: 'object',
};

const DIRECTION_SYNONYMS: Record<string, OperatingDirection> = {
  out: 'outward',
  outwards: 'outward',
  open: 'outward',
  toward: 'outward',
  towards: 'outward',
  in: 'inward',
  inwards: 'inward',
  close: 'inward',
  away: 'inward',
  up: 'upward',
  upwards: 'upward',
  down: 'downward',
  downwards: 'downward',
  left: 'leftward',
  leftwards: 'leftward',
  right: 'rightward',
  rightwards: 'rightward',
  cw: 'clockwise',
  ccw: 'counterclockwise',
  anticlockwise: 'counterclockwise',
  'anti-clockwise': 'counterclockwise',
  'counter-clockwise': 'counterclockwise',
};

const clean = (s: string) => s.trim().toLowerCase().replace(/[_\s]+/g, ' ').replace(/^the /, '');

export function normalizeObject(value: string): OperatingObject | null {
  const v = clean(value);
  if ((OPERATING_OBJECTS as readonly string[]).includes(v.replace(/ /g, '-'))) return v.replace(/ /g, '-') as OperatingObject;
  return OBJECT_SYNONYMS[v] ?? OBJECT_SYNONYMS[v.replace(/-/g, ' ')] ?? null;
}

export function normalizeDirection(value: string): OperatingDirection | null {
  const v = clean(value);
  if ((OPERATING_DIRECTIONS as readonly string[]).includes(v)) return v as OperatingDirection;
  return DIRECTION_SYNONYMS[v] ?? DIRECTION_SYNONYMS[v.replace(/ /g, '-')] ?? null;
}
