import type { Episode } from '../data/episode.js';
import type { PhaseLabeling } from '../phases/classifier.js';
import type { OperatingSegment } from '../phases/segments.js';
import type { PhaseSignals } from '../phases/signals.js';
import type { Phase } from '../phases/taxonomy.js';
import { normalizeObject, type OperatingObject, type OperatingTuple } from './vocab.js';

/**
 * The offline annotator (default when no VLM endpoint is configured): phase-anchored descriptions and
 * operating tuples written from templates over proprioception (motion direction, gripper state, height)
 * and, on built-in rollouts, privileged state (the name of the held object). Every record it produces
 * names it (`OFFLINE_ANNOTATOR`), and its descriptions pass the same validation as VLM answers.
 */
export const OFFLINE_ANNOTATOR = 'offline-template-v1';

export interface SceneWords {
  /** The object to move ("black bowl"), or the part to operate when there is none. */
  object: string;
  /** Where it goes ("plate"), when the instruction says. */
  target: string | null;
  /** The articulated part to operate ("top drawer"), when the instruction says. */
  part: string | null;
}

/** Object, target and part from a LIBERO-style instruction. */
export function parseInstruction(instruction: string): SceneWords {
  const s = instruction.trim().toLowerCase().replace(/[.]$/, '');
  let m = /open the (.+?) and put the (.+?) (?:inside|in it|in)(?: the (.+))?$/.exec(s);
  if (m) return { object: m[2], target: m[3] ?? m[1], part: m[1] };
  m = /pick up the (.+?) (?:and|then) (?:place|put) it (?:in|on|into|onto|inside|on top of) the (.+)$/.exec(s);
  if (m) return { object: m[1], target: m[2], part: null };
  m = /(?:put|place|move) the (.+?) (?:on top of|on|in|into|inside|onto|to) the (.+)$/.exec(s);
  if (m) return { object: m[1], target: m[2], part: null };
  m = /push the (.+?) to (?:the )?(.+)$/.exec(s);
  if (m) return { object: m[1], target: m[2], part: m[1] };
  m = /(?:open|close|pull|push) the (.+)$/.exec(s);
  if (m) return { object: m[1], target: null, part: m[1] };
  m = /turn (?:on|off) the (.+)$/.exec(s);
  if (m) return { object: m[1], target: null, part: `${m[1]} knob` };
  return { object: 'object', target: null, part: null };
}

/** Words for the dominant motion directions at frame t (robot frame: +x away from the robot, +y its left). */
export function motionWords(signals: PhaseSignals, t: number, stillSpeed: number): string {
  const [vx, vy, vz] = [signals.vel[3 * t], signals.vel[3 * t + 1], signals.vel[3 * t + 2]];
  const speed = Math.hypot(vx, vy, vz);
  if (speed < stillSpeed) return 'nearly still';
  const words: string[] = [];
  const major = 0.4 * speed;
  if (Math.abs(vx) > major) words.push(vx > 0 ? 'away from the robot' : 'toward the robot');
  if (Math.abs(vy) > major) words.push(vy > 0 ? 'to the left' : 'to the right');
  if (Math.abs(vz) > major) words.push(vz > 0 ? 'upward' : 'downward');
  return `moving ${words.join(' and ') || 'slowly'}`;
}

function heightWords(signals: PhaseSignals, t: number, floor: number): string {
  const cm = Math.round((signals.pos[3 * t + 2] - floor) * 100);
  return cm <= 2 ? 'at the height of the object' : `about ${cm} cm above the object level`;
}

export interface OfflineContext {
  episode: Episode;
  labeling: PhaseLabeling;
  signals: PhaseSignals;
  words: SceneWords;
  /** Lowest smoothed ee height of the episode: the table / grasp level. */
  floor: number;
}

export function offlineContext(episode: Episode, labeling: PhaseLabeling, signals: PhaseSignals): OfflineContext {
  let floor = Infinity;
  for (let t = 0; t < signals.length; t++) floor = Math.min(floor, signals.pos[3 * t + 2]);
  return { episode, labeling, signals, words: parseInstruction(episode.instruction), floor };
}

/**
 * A 2–4 sentence description of frame t that contains `label` (the phase name in the chosen taxonomy;
 * for a taxonomy other than the 9-phase one, a first sentence names it).
 */
export function offlineDescription(ctx: OfflineContext, t: number, label: string): string {
  const { signals, words, labeling, episode } = ctx;
  const phase: Phase = labeling.phases[t];
  const held = episode.privileged?.[t]?.objectInHand ?? null;
  const obj = held ?? words.object;
  const target = words.target ? `the ${words.target}` : 'its goal location';
  const motion = motionWords(signals, t, labeling.config.stillSpeed);
  const height = heightWords(signals, t, ctx.floor);
  const open = signals.width[t] > 0.06 ? 'open' : signals.width[t] < labeling.config.emptyWidth ? 'closed and empty' : 'closed';
  const sentences: Record<Phase, string[]> = {
    idle: [`The robot is idle with its gripper ${open} and ${motion}.`, `The ${obj} has not been touched yet, and the arm waits before the task starts.`],
    approaching: [
      `The open gripper is approaching the ${words.part ?? obj}, ${motion}.`,
      `It is ${height} and not holding anything yet.`,
      `Next it will close its fingers around the ${words.part ?? obj}.`,
    ],
    grasping: [`The gripper is grasping the ${words.part ?? obj}: its fingers are closing around it.`, `The arm is ${motion} while the grip tightens, ${height}.`],
    transporting: [
      `The gripper is transporting the ${obj} toward ${target}, ${motion}.`,
      `The ${obj} is lifted ${height.replace('at the height of the object', 'just above its support')} and held firmly between the fingers.`,
      `Next it will lower the ${obj} onto ${target}.`,
    ],
    holding: [`The gripper is holding the ${obj} firmly and the arm is ${motion}.`, `The ${obj} is ${height} and will be carried toward ${target} next.`],
    placing: [
      `The gripper is placing the ${obj} onto ${target}, ${motion}.`,
      signals.closed[t] ? `The fingers are still closed around the ${obj}.` : `The fingers are opening to release the ${obj}.`,
    ],
    operating: [`The gripper is operating the ${words.part ?? obj}, ${motion}.`, `It moves the part along its constrained path.`],
    regrasping: [
      `The gripper is regrasping the ${obj} after a failed attempt, ${motion}.`,
      `Its fingers are ${open}, and it is adjusting its position to close on the ${obj} again.`,
    ],
    completed: [`The task is completed: the gripper has released the ${obj} and is ${motion}.`, `The ${obj} rests at ${target}, and the robot stays away from it.`],
  };
  const body = sentences[phase];
  if (label.toLowerCase() === phase) return body.join(' ');
  return [`This frame is in the ${label} phase.`, ...body.slice(0, 3)].join(' ').replace(new RegExp(`\\b${phase}\\b`, 'g'), label);
}

const PART_OBJECTS: [RegExp, OperatingObject][] = [
  [/drawer/, 'drawer-handle'],
  [/stove|burner|knob|dial/, 'knob'],
  [/door|microwave/, 'cabinet-door'],
  [/button|switch/, 'button'],
  [/lever|faucet/, 'lever'],
  [/lid/, 'lid'],
];

/** (object, direction) of an operating segment from the instruction / held part and its net motion. */
export function offlineTuple(ctx: OfflineContext, segment: OperatingSegment): OperatingTuple {
  const held = ctx.episode.privileged?.[segment.start + Math.floor((segment.end - segment.start) / 2)]?.objectInHand ?? null;
  const name = held ?? ctx.words.part ?? ctx.words.object;
  const object = PART_OBJECTS.find(([re]) => re.test(name))?.[1] ?? normalizeObject(name) ?? 'object';
  const k = segment.kind;
  const direction = k === 'pull' ? 'outward' : k === 'push' ? 'inward' : k === 'press' ? 'downward' : segment.motion.rotationZ > 0 ? 'counterclockwise' : 'clockwise';
  return { object, direction };
}
