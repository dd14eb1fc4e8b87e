import { z } from 'zod';
import { parseOr } from '../errors.js';

/**
 * Thresholds of the rule-based phase classifier (docs/phases.md explains each one and how to tune it).
 * Units: metres, seconds, radians, frames at `controlHz`. The defaults suit LIBERO / robosuite OSC_POSE
 * at 20 Hz with the Panda gripper (finger width 0 … 0.08 m).
 */
export const ClassifierConfigSchema = z.object({
  /** Control rate of the episode; velocities are finite differences times this. */
  controlHz: z.number().positive().default(20),
  /** Centred moving-average window (frames) applied to ee_pos / ee_ori before differentiating. */
  smoothingFrames: z.number().int().min(1).default(3),
  /** End-effector speed (m/s) below which the arm counts as still. */
  stillSpeed: z.number().positive().default(0.012),
  /**
   * Idle and holding need the policy to ask for rest too: commanded motion max(|actions[t, 0:3]|,
   * |actions[t, 3:6]|) (fractions of the action's full scale) below this. A teacher at rest commands
   * ≈ its jitter (0.03–0.1); an arm blocked at a joint limit that is still commanded to move or turn
   * commands ≥ 0.23 (built-in rollouts).
   */
  restMaxCommand: z.number().positive().default(0.2),
  /** A still stretch inside a hold must last this many frames to become `holding` (shorter = deceleration). */
  holdMinFrames: z.number().int().min(1).default(6),
  /** An open, empty, still stretch must last this many frames to become `idle` (shorter = slowing down). */
  idleMinFrames: z.number().int().min(1).default(8),
  /**
   * Gripper-command runs shorter than this are self-revoking teacher flips and are ignored (debounce).
   * 6 = one more than the flip window of data/stats.ts (a flip is a change revoked within 5 frames); the
   * noisy teacher's blips last up to 3 frames, real grasps and releases hold far longer.
   */
  minCommandRunFrames: z.number().int().min(1).default(6),
  /**
   * Finger width (m) below which a closed gripper holds nothing (a missed grasp). The built-in gripper
   * closed on nothing reads 0 … 1.1 mm; the thinnest thing it holds (a bowl's rim) reads ≥ 6.7 mm.
   */
  emptyWidth: z.number().nonnegative().default(0.004),
  /** A lifted object whose grip ends with the fingers shut is lost where the width first moves this far (m) from the held width. */
  lostWidthChange: z.number().positive().default(0.01),
  /** After the fingers settle, grasping lasts until the arm moves faster than this (m/s): the lift or pull starts. */
  graspMoveSpeed: z.number().positive().default(0.07),
  /** …or turns faster than this (rad/s): a knob turn moves the hand little but turns it. */
  graspMoveAngSpeed: z.number().positive().default(0.3),
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
  placeDescentSpeed: z.number().positive().default(0.03),
  /**
   * Contact without a grasp (pushing a plate, hooking a handle, pushing a knob's lever), from motion
   * alone: a "bottom" — the frames after a descent (vz < −this, m/s) up to the next rise (vz > this) —
   * that ends in a rise or the episode's end (not in a grasp or another descent) and has at least
   * `contactMinFrames` frames of horizontal motion (≥ `stillSpeed`) is operating.
   */
  contactDescentSpeed: z.number().positive().default(0.07),
  contactMinFrames: z.number().int().min(1).default(2),
  /**
   * …and its work starts at the first frame whose horizontal speed reaches this (m/s): the hand resting
   * against the plate before it moves it is still approaching. Same scale as `graspMoveSpeed` (the arm
   * at rest shows ≤ 40 mm/s of jitter).
   */
  contactMoveSpeed: z.number().positive().default(0.07),
  /**
   * A successful episode that ends with the policy commanding rest (commanded motion < `restMaxCommand`)
   * for at least this many frames outside any grip has finished: those frames are `completed` (a teacher
   * that stops after pushing a plate home leaves its hand on it). Same length as `idleMinFrames`.
   */
  completedRestFrames: z.number().int().min(1).default(8),
  /** …and at least this steep (|vz| / horizontal speed): the dip at the end of a fast carry is not lowering yet. */
  placeMinSlope: z.number().nonnegative().default(0.5),
  /**
   * Before the release, frames with the hand within this (m) of its release height belong to the
   * placement (settling, pressing the object onto its goal, a blocked arm jittering) as long as a steep
   * descent leads to them. Same scale as `liftHeight`.
   */
  placeSettleHeight: z.number().positive().default(0.03),
  /** Longest placing descent (frames) walked back from the release. */
  maxPlaceFrames: z.number().int().min(1).default(60),
  /** A failed grasp followed by a new close within this many frames makes the new attempt `regrasping`. */
  regraspWindowFrames: z.number().int().min(1).default(200),
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
  return parseOr(ClassifierConfigSchema, input, 'phase classifier config');
}

export const DEFAULT_CLASSIFIER_CONFIG: ClassifierConfig = resolveClassifierConfig();
