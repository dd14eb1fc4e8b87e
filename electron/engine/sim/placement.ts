import { Rng } from '../util/rng.js';
import { LabError } from '../errors.js';
import { castEntry } from './objects.js';
import { WORKSPACE, ROBOT_BASE } from './scene.js';
import { yawQuat } from './math3.js';
import type { ObjectPose } from './physics.js';

/**
 * Valid initial placements by rejection sampling: every free object gets a yaw and a position on the table
 * (or stacked on a support) such that footprints (discs) do not overlap each other or the fixtures'
 * keep-out rectangles, and the position is within the arm's comfortable reach.
 */
export interface Rect {
  x: number;
  y: number;
  hx: number;
  hy: number;
}

export interface Zone {
  xlo: number;
  xhi: number;
  ylo: number;
  yhi: number;
}

export const REACH = { min: 0.33, max: 0.7 }; // horizontal distance from the robot base (m): not folded, not stretched
const GAP = 0.025; // between footprints: room for the fingers and the hand to come down between objects
const MAX_TRIES = 2000;

export class Placer {
  readonly poses: Record<string, ObjectPose> = {};
  private readonly discs: { name: string; x: number; y: number; r: number }[] = [];

  constructor(
    readonly rng: Rng,
    private readonly keepOut: Rect[],
  ) {}

  private free(x: number, y: number, r: number, ignore: string[] = []): boolean {
    const reach = Math.hypot(x - ROBOT_BASE[0], y - ROBOT_BASE[1]);
    if (reach < REACH.min || reach > REACH.max) return false;
    for (const d of this.discs) if (!ignore.includes(d.name) && Math.hypot(x - d.x, y - d.y) < r + d.r + GAP) return false;
    for (const k of this.keepOut)
      if (Math.abs(x - k.x) < k.hx + r + GAP && Math.abs(y - k.y) < k.hy + r + GAP) return false;
    return true;
  }

  private put(name: string, kind: string, x: number, y: number, z: number, yaw: number, r: number): void {
    this.poses[name] = { pos: [round(x), round(y), round(z)], quat: yawQuat(yaw).map(round) as ObjectPose['quat'] };
    this.discs.push({ name, x, y, r });
  }

  /** On the table somewhere in `zone` (default: the workspace). */
  onTable(name: string, kind: string, zone: Zone = WORKSPACE): void {
    const e = castEntry(kind);
    for (let t = 0; t < MAX_TRIES; t++) {
      const x = this.rng.uniform(zone.xlo, zone.xhi), y = this.rng.uniform(zone.ylo, zone.yhi);
      const yaw = this.rng.uniform(-Math.PI, Math.PI);
      if (this.free(x, y, e.footprint)) return this.put(name, kind, x, y, e.halfHeight + 0.001, yaw, e.footprint);
    }
    throw new PlacementFailed(`could not place '${name}' after ${MAX_TRIES} tries`, { name, zone });
  }

  /** On the table right next to another placed object: footprints `GAP` to `GAP + 2 cm` apart ("next to the ramekin"). */
  near(name: string, kind: string, other: string): void {
    const e = castEntry(kind);
    const o = this.poses[other];
    const dlo = e.footprint + castEntry(this.kindOf(other)).footprint + GAP, dhi = dlo + 0.02;
    for (let t = 0; t < MAX_TRIES; t++) {
      const a = this.rng.uniform(-Math.PI, Math.PI), d = this.rng.uniform(dlo, dhi);
      const x = o.pos[0] + d * Math.cos(a), y = o.pos[1] + d * Math.sin(a);
      if (this.free(x, y, e.footprint)) return this.put(name, kind, x, y, e.halfHeight + 0.001, this.rng.uniform(-Math.PI, Math.PI), e.footprint);
    }
    throw new PlacementFailed(`could not place '${name}' near '${other}'`, { name, other });
  }

  /** A pair of objects with a third exactly between them (e.g. the bowl between the plate and the ramekin). */
  between(name: string, kind: string, a: [string, string], b: [string, string]): void {
    const e = castEntry(kind), ea = castEntry(a[1]), eb = castEntry(b[1]);
    for (let t = 0; t < MAX_TRIES; t++) {
      const x = this.rng.uniform(WORKSPACE.xlo, WORKSPACE.xhi), y = this.rng.uniform(WORKSPACE.ylo, WORKSPACE.yhi);
      const ang = this.rng.uniform(-Math.PI, Math.PI);
      const da = e.footprint + ea.footprint + 0.02, db = e.footprint + eb.footprint + 0.02;
      const ax = x + da * Math.cos(ang), ay = y + da * Math.sin(ang);
      const bx = x - db * Math.cos(ang), by = y - db * Math.sin(ang);
      if (!this.free(x, y, e.footprint) || !this.free(ax, ay, ea.footprint) || !this.free(bx, by, eb.footprint)) continue;
      if (Math.hypot(ax - bx, ay - by) < ea.footprint + eb.footprint) continue;
      this.put(a[0], a[1], ax, ay, ea.halfHeight + 0.001, this.rng.uniform(-Math.PI, Math.PI), ea.footprint);
      this.put(b[0], b[1], bx, by, eb.halfHeight + 0.001, this.rng.uniform(-Math.PI, Math.PI), eb.footprint);
      this.put(name, kind, x, y, e.halfHeight + 0.001, this.rng.uniform(-Math.PI, Math.PI), e.footprint);
      return;
    }
    throw new PlacementFailed(`could not place '${name}' between '${a[0]}' and '${b[0]}'`, { name });
  }

  /** Stacked on a placed free object, or at a given world point with a support height (fixture tops, drawers). */
  onTopOf(name: string, kind: string, support: string): void {
    const s = this.poses[support];
    const top = castEntry(this.kindOf(support)).topZ ?? castEntry(this.kindOf(support)).halfHeight;
    const e = castEntry(kind);
    const jx = this.rng.uniform(-0.005, 0.005), jy = this.rng.uniform(-0.005, 0.005);
    this.poses[name] = {
      pos: [round(s.pos[0] + jx), round(s.pos[1] + jy), round(s.pos[2] + top + e.halfHeight + 0.002)],
      quat: yawQuat(this.rng.uniform(-Math.PI, Math.PI)).map(round) as ObjectPose['quat'],
    };
  }

  /** At a world point (on a fixture): z is the support surface height. */
  at(name: string, kind: string, x: number, y: number, supportZ: number, jitter = 0.01): void {
    const e = castEntry(kind);
    const px = x + this.rng.uniform(-jitter, jitter), py = y + this.rng.uniform(-jitter, jitter);
    this.poses[name] = {
      pos: [round(px), round(py), round(supportZ + e.halfHeight + 0.002)],
      quat: yawQuat(this.rng.uniform(-Math.PI, Math.PI)).map(round) as ObjectPose['quat'],
    };
  }

  private kinds = new Map<string, string>();
  setKind(name: string, kind: string): void {
    this.kinds.set(name, kind);
  }
  private kindOf(name: string): string {
    const k = this.kinds.get(name);
    if (!k) throw new LabError('INTERNAL', `placer does not know the kind of '${name}'`, { name });
    return k;
  }
}

const round = (v: number) => Number(v.toFixed(5));

/** A placement that could not be completed; the generator draws the whole state again. */
export class PlacementFailed extends LabError {
  constructor(message: string, details: Record<string, unknown>) {
    super('INTERNAL', message, details);
  }
}
