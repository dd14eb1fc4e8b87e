import { z } from 'zod';
import { LabError } from '../errors.js';

/**
 * Thresholds of the rule-based phase classifier (docs/phases.md explains each one and how to tune it).
 * Units: metres, seconds, radians, frames at `controlHz`. The defaults suit LIBERO / robosuite OSC_POSE
 * at 20 Hz with the Panda gripper (finger width 0 … 0.08 m).
 */
export const ClassifierConfigSchema = z.object({
  /** Control rate of the episode; velocities are finite differences times this. */
  controlHz: z.number().positive().default(20),
  /** Centred moving-average window (frames) applied to ee_pos / ee_ori before differentiating. */
  smoothingFrames: z.number().int().min(1).default(5),
  /** End-effector speed (m/s) below which the arm counts as still. */
  stillSpeed: z.number().positive().default(0.012),
  /** A still stretch inside a hold must last this many frames to become `holding` (shorter = deceleration). */
  holdMinFrames: z.number().int().min(1).default(6),
  /** An open, empty, still stretch must last this many frames to become `idle` (shorter = slowing down). */
  idleMinFrames: z.number().int().min(1).default(8),
  /** Gripper-command runs shorter than this are self-revoking teacher flips and are ignored (debounce). */
  minCommandRunFrames: z.number().int().min(1).default(3),
  /** Finger width (m) below which a closed gripper holds nothing (a missed grasp). */
  emptyWidth: z.number().nonnegative().default(0.01),
  /** Finger width rate (m/s) below which the fingers have stopped moving. */
  fingerSettleRate: z.number().positive().default(0.01),
  /** The fingers must stay below `fingerSettleRate` this many frames to count as settled. */
  fingerSettleFrames: z.number().int().min(1).default(2),
  /** Longest closing / opening transient (frames); grasping and releasing never last longer. */
  maxFingerTransientFrames: z.number().int().min(1).default(20),
  /** A held object raised more than this (m) above its grasp height is carried (transport), not operated. */
  liftHeight: z.number().positive().default(0.03),
  /** A held part moved at least this far (m) without being lifted is operated (drawer, push). */
  operateMinTravel: z.number().positive().default(0.03),
  /** …or turned at least this much (rad) (knob). */
  operateMinAngle: z.number().positive().default(0.3),
  /** Lever arm (m) that converts rotation to travel when deciding rotate vs. translate. */
  rotateLeverArm: z.number().positive().default(0.05),
  /** Vertical speed (m/s) of the final descent before a release that counts as placing. */
  placeDescentSpeed: z.number().positive().default(0.01),
  /** Longest placing descent (frames) walked back from the release. */
  maxPlaceFrames: z.number().int().min(1).default(60),
  /** A failed grasp followed by a new close within this many frames makes the new attempt `regrasping`. */
  regraspWindowFrames: z.number().int().min(1).default(80),
  /** Unit vector pointing from the robot base toward the table (push = along it, pull = against it). */
  forwardAxis: z.tuple([z.number(), z.number(), z.number()]).default([1, 0, 0]),
  /** Use `episode.privileged` (object in hand, contacts, progress) when present. */
  usePrivileged: z.boolean().default(true),
  /** Names of held things matching this (case-insensitive) are articulated parts → operating. */
  fixturePattern: z.string().default('handle|knob|drawer|door|button|switch|lever|dial|valve|faucet|lid'),
});

export type ClassifierConfig = z.infer<typeof ClassifierConfigSchema>;
export type ClassifierConfigInput = z.input<typeof ClassifierConfigSchema>;

export function resolveClassifierConfig(input: ClassifierConfigInput = {}): ClassifierConfig {
  const parsed = ClassifierConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new LabError('INVALID_INPUT', `phase classifier config: ${issue.path.join('.')}: ${issue.message}`, {
      field: issue.path.join('.'),
      issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    });
  }
  return parsed.data;
}

export const DEFAULT_CLASSIFIER_CONFIG: ClassifierConfig = resolveClassifierConfig();
