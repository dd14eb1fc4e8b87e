/**
 * The cast: every object and fixture of the three suites, built from primitives with colours and shapes
 * that tell them apart in a 128×128 image. Each entry yields MJCF for one body (origin at the object's
 * geometric centre, resting upright on z = 0 when its origin is at `halfHeight`), a footprint radius
 * for placement, and the regions the goal predicates read.
 */
export type Rgba = [number, number, number, number];

export interface Region {
  /** Centre in the body frame and horizontal half-extents; z range is [zlo, zhi] in the body frame. */
  center: [number, number];
  half: [number, number];
  zlo: number;
  zhi: number;
}

export interface CastEntry {
  kind: string;
  /** true: a free body (graspable item); false: welded to the table (fixtures). */
  free: boolean;
  halfHeight: number;
  footprint: number; // radius of the horizontal disc that contains it (for placement)
  mass: number;
  /** Inner geoms and child bodies, in the body frame. `n` is the body's name (prefix for children). */
  xml: (n: string) => string;
  /** Containment region (In) and top surface region (On for wide supports). */
  inside?: Region;
  top?: Region;
  /** Height of the top surface above the body origin (for stacking things on it). */
  topZ?: number;
  /**
   * Body pairs that must not collide: the moving parts of a fixture against its frame (MuJoCo's parent
   * filter does not apply when the parent is welded to the world).
   */
  excludes?: (n: string) => [string, string][];
}

const c = (rgba: Rgba) => rgba.join(' ');
const OBJ = 'class="object"';

function can(body: Rgba, band: Rgba, r: number, hh: number): CastEntry['xml'] {
  return (n) => `<geom name="${n}_g0" type="cylinder" size="${r} ${hh}" rgba="${c(body)}" ${OBJ}/>
<geom name="${n}_g1" type="cylinder" size="${r + 0.001} ${hh * 0.35}" rgba="${c(band)}" ${OBJ} contype="0" conaffinity="0"/>`;
}

function bottle(body: Rgba, cap: Rgba, r: number, hh: number, neckR: number, neckHh: number): CastEntry['xml'] {
  return (n) => `<geom name="${n}_g0" type="cylinder" size="${r} ${hh - neckHh}" pos="0 0 ${-neckHh}" rgba="${c(body)}" ${OBJ}/>
<geom name="${n}_g1" type="cylinder" size="${neckR} ${neckHh}" pos="0 0 ${hh - neckHh}" rgba="${c(cap)}" ${OBJ}/>`;
}

function carton(body: Rgba, top: Rgba, hx: number, hy: number, hz: number): CastEntry['xml'] {
  return (n) => `<geom name="${n}_g0" type="box" size="${hx} ${hy} ${hz}" rgba="${c(body)}" ${OBJ}/>
<geom name="${n}_g1" type="box" size="${hx + 0.001} ${hy + 0.001} ${hz * 0.15 + 0.0005}" pos="0 0 ${hz * 0.85}" rgba="${c(top)}" ${OBJ} contype="0" conaffinity="0"/>`;
}

/** An open container: a floor and four walls (basket, drawer tray). */
function tray(n: string, hx: number, hy: number, hz: number, t: number, rgba: Rgba, cls = OBJ): string {
  const col = c(rgba);
  return `<geom name="${n}_floor" type="box" size="${hx} ${hy} ${t}" pos="0 0 ${-hz + t}" rgba="${col}" ${cls}/>
<geom name="${n}_wx0" type="box" size="${t} ${hy} ${hz - t}" pos="${-hx + t} 0 ${t}" rgba="${col}" ${cls}/>
<geom name="${n}_wx1" type="box" size="${t} ${hy} ${hz - t}" pos="${hx - t} 0 ${t}" rgba="${col}" ${cls}/>
<geom name="${n}_wy0" type="box" size="${hx - 2 * t} ${t} ${hz - t}" pos="0 ${-hy + t} ${t}" rgba="${col}" ${cls}/>
<geom name="${n}_wy1" type="box" size="${hx - 2 * t} ${t} ${hz - t}" pos="0 ${hy - t} ${t}" rgba="${col}" ${cls}/>`;
}

/** A bowl: a floor disc and a ring of wall segments (hollow, so things go in and fingers pinch the rim). */
function bowl(rgba: Rgba, r: number, hh: number, segments = 10): CastEntry['xml'] {
  return (n) => {
    let xml = `<geom name="${n}_floor" type="cylinder" size="${r * 0.75} 0.004" pos="0 0 ${-hh + 0.004}" rgba="${c(rgba)}" ${OBJ}/>\n`;
    const seg = (2 * Math.PI * r) / segments / 2 + 0.002;
    for (let i = 0; i < segments; i++) {
      const a = (2 * Math.PI * i) / segments;
      // walls lean outwards a little, like a bowl
      xml += `<geom name="${n}_w${i}" type="box" size="0.004 ${seg.toFixed(4)} ${hh - 0.003}" pos="${(r * Math.cos(a)).toFixed(5)} ${(r * Math.sin(a)).toFixed(5)} 0.003" euler="0 0 ${a.toFixed(5)}" rgba="${c(rgba)}" ${OBJ}/>\n`;
    }
    return xml;
  };
}

const WOOD: Rgba = [0.55, 0.36, 0.2, 1];
const DARK_WOOD: Rgba = [0.42, 0.26, 0.14, 1];

/** Cabinet: a shell open at the front (−x, facing the robot) with three drawers on slide joints. */
export const CABINET = { hx: 0.11, hy: 0.14, hz: 0.12, drawerTravel: 0.16, drawers: ['top', 'middle', 'bottom'] as const };

function cabinetXml(n: string): string {
  const { hx, hy, hz } = CABINET;
  const t = 0.008;
  const col = c(WOOD);
  let xml = `<geom name="${n}_back" type="box" size="${t} ${hy} ${hz}" pos="${hx - t} 0 0" rgba="${col}" class="fixture"/>
<geom name="${n}_side0" type="box" size="${hx} ${t} ${hz}" pos="0 ${-hy + t} 0" rgba="${col}" class="fixture"/>
<geom name="${n}_side1" type="box" size="${hx} ${t} ${hz}" pos="0 ${hy - t} 0" rgba="${col}" class="fixture"/>
<geom name="${n}_topplate" type="box" size="${hx} ${hy} ${t}" pos="0 0 ${hz - t}" rgba="${col}" class="fixture"/>
<geom name="${n}_base" type="box" size="${hx} ${hy} ${t}" pos="0 0 ${-hz + t}" rgba="${col}" class="fixture"/>\n`;
  const slotH = (2 * hz - 2 * t) / 3;
  CABINET.drawers.forEach((d, i) => {
    const zc = hz - t - slotH * (i + 0.5);
    const dhz = slotH / 2 - 0.006;
    // The drawer front faces −x (towards the robot); pulling moves it along −x.
    xml += `<body name="${n}_${d}" pos="0 0 ${zc.toFixed(4)}">
  <joint name="${n}_${d}_slide" type="slide" axis="-1 0 0" range="0 ${CABINET.drawerTravel}" damping="8" frictionloss="0.5"/>
  <inertial pos="0 0 0" mass="0.6" diaginertia="0.004 0.004 0.004"/>
  ${tray(`${n}_${d}`, hx - 2 * t, hy - 2 * t - 0.002, dhz, 0.005, DARK_WOOD, 'class="fixture"')}
  <geom name="${n}_${d}_front" type="box" size="0.006 ${hy - t} ${dhz + 0.004}" pos="${-hx + 0.006} 0 0" rgba="${c(DARK_WOOD)}" class="fixture"/>
  <geom name="${n}_${d}_handle" type="box" size="0.008 0.05 0.008" pos="${-hx - 0.046} 0 0" rgba="0.8 0.8 0.82 1" class="fixture"/>
  <geom name="${n}_${d}_handle_l" type="box" size="0.02 0.006 0.008" pos="${-hx - 0.02} -0.044 0" rgba="0.8 0.8 0.82 1" class="fixture"/>
  <geom name="${n}_${d}_handle_r" type="box" size="0.02 0.006 0.008" pos="${-hx - 0.02} 0.044 0" rgba="0.8 0.8 0.82 1" class="fixture"/>
</body>\n`;
  });
  return xml;
}

function stoveXml(knob: boolean): CastEntry['xml'] {
  return (n) => {
    let xml = `<geom name="${n}_body" type="box" size="0.11 0.13 0.012" rgba="0.18 0.18 0.2 1" class="fixture"/>
<geom name="${n}_burner" type="cylinder" size="0.06 0.002" pos="0 0 0.013" rgba="0.55 0.1 0.08 1" class="fixture"/>\n`;
    if (knob) {
      // The knob is a lever on a hinge along x at the front corner nearest the workspace; pushing its tip
      // towards −y (away from the workspace) turns the stove on.
      xml += `<body name="${n}_knob" pos="-0.085 0.1 0.012">
  <joint name="${n}_knob_hinge" type="hinge" axis="1 0 0" range="0 1.4" damping="0.05" frictionloss="0.02"/>
  <inertial pos="0 0 0.03" mass="0.05" diaginertia="1e-5 1e-5 1e-5"/>
  <geom name="${n}_knob_base" type="cylinder" size="0.016 0.006" pos="0 0 0.006" rgba="0.85 0.85 0.85 1" class="fixture"/>
  <geom name="${n}_knob_lever" type="capsule" fromto="0 0 0.006 0 0 0.06" size="0.008" rgba="0.95 0.55 0.1 1" class="fixture"/>
</body>\n`;
    }
    return xml;
  };
}

export const CAST: Record<string, CastEntry> = {
  // Grocery items (object suite; cream cheese also in goal)
  alphabet_soup: { kind: 'alphabet_soup', free: true, halfHeight: 0.045, footprint: 0.035, mass: 0.2, xml: can([0.9, 0.5, 0.1, 1], [0.95, 0.95, 0.9, 1], 0.032, 0.045) },
  tomato_sauce: { kind: 'tomato_sauce', free: true, halfHeight: 0.035, footprint: 0.037, mass: 0.2, xml: can([0.8, 0.08, 0.08, 1], [0.15, 0.55, 0.15, 1], 0.033, 0.035) },
  cream_cheese: { kind: 'cream_cheese', free: true, halfHeight: 0.018, footprint: 0.05, mass: 0.1, xml: carton([0.7, 0.78, 0.95, 1], [0.95, 0.95, 0.98, 1], 0.042, 0.026, 0.018) },
  salad_dressing: { kind: 'salad_dressing', free: true, halfHeight: 0.065, footprint: 0.03, mass: 0.2, xml: bottle([0.6, 0.82, 0.3, 1], [0.95, 0.95, 0.95, 1], 0.027, 0.065, 0.012, 0.018) },
  bbq_sauce: { kind: 'bbq_sauce', free: true, halfHeight: 0.065, footprint: 0.03, mass: 0.2, xml: bottle([0.32, 0.13, 0.06, 1], [0.1, 0.1, 0.1, 1], 0.027, 0.065, 0.012, 0.018) },
  ketchup: { kind: 'ketchup', free: true, halfHeight: 0.06, footprint: 0.037, mass: 0.2, xml: carton([0.9, 0.1, 0.05, 1], [0.98, 0.98, 0.98, 1], 0.03, 0.02, 0.06) },
  butter: { kind: 'butter', free: true, halfHeight: 0.016, footprint: 0.048, mass: 0.1, xml: carton([0.97, 0.86, 0.3, 1], [0.9, 0.2, 0.2, 1], 0.04, 0.025, 0.016) },
  milk: { kind: 'milk', free: true, halfHeight: 0.06, footprint: 0.04, mass: 0.2, xml: carton([0.96, 0.96, 0.96, 1], [0.2, 0.4, 0.9, 1], 0.027, 0.027, 0.06) },
  chocolate_pudding: { kind: 'chocolate_pudding', free: true, halfHeight: 0.02, footprint: 0.045, mass: 0.1, xml: carton([0.4, 0.24, 0.12, 1], [0.95, 0.8, 0.3, 1], 0.035, 0.026, 0.02) },
  orange_juice: { kind: 'orange_juice', free: true, halfHeight: 0.06, footprint: 0.04, mass: 0.2, xml: carton([1.0, 0.55, 0.0, 1], [0.3, 0.7, 0.2, 1], 0.027, 0.027, 0.06) },
  basket: {
    kind: 'basket', free: true, halfHeight: 0.04, footprint: 0.15, mass: 1.5,
    xml: (n) => tray(n, 0.09, 0.12, 0.04, 0.005, [0.76, 0.6, 0.38, 1]),
    inside: { center: [0, 0], half: [0.085, 0.115], zlo: -0.04, zhi: 0.1 },
  },
  // Tableware (spatial, goal)
  black_bowl: {
    kind: 'black_bowl', free: true, halfHeight: 0.022, footprint: 0.065, mass: 0.2,
    xml: bowl([0.07, 0.07, 0.08, 1], 0.055, 0.022),
    inside: { center: [0, 0], half: [0.045, 0.045], zlo: -0.022, zhi: 0.06 },
    topZ: 0.022,
  },
  plate: {
    kind: 'plate', free: true, halfHeight: 0.006, footprint: 0.09, mass: 0.3,
    xml: (n) => `<geom name="${n}_g0" type="cylinder" size="0.085 0.006" rgba="0.95 0.95 0.92 1" ${OBJ}/>
<geom name="${n}_g1" type="cylinder" size="0.05 0.0005" pos="0 0 0.006" rgba="0.82 0.82 0.8 1" ${OBJ} contype="0" conaffinity="0"/>`,
    topZ: 0.006,
  },
  ramekin: { kind: 'ramekin', free: true, halfHeight: 0.022, footprint: 0.04, mass: 0.2, xml: can([0.86, 0.8, 0.68, 1], [0.75, 0.7, 0.6, 1], 0.036, 0.022), topZ: 0.022 },
  cookie_box: {
    kind: 'cookie_box', free: true, halfHeight: 0.02, footprint: 0.1, mass: 0.3,
    xml: carton([0.15, 0.35, 0.8, 1], [0.9, 0.75, 0.2, 1], 0.055, 0.085, 0.02),
    topZ: 0.02,
    top: { center: [0, 0], half: [0.055, 0.085], zlo: 0.01, zhi: 0.2 },
  },
  wine_bottle: { kind: 'wine_bottle', free: true, halfHeight: 0.1, footprint: 0.04, mass: 0.4, xml: bottle([0.1, 0.3, 0.12, 1], [0.5, 0.1, 0.15, 1], 0.032, 0.1, 0.013, 0.04) },
  // Fixtures
  wooden_cabinet: {
    kind: 'wooden_cabinet', free: false, halfHeight: CABINET.hz, footprint: 0.2, mass: 5, xml: cabinetXml,
    excludes: (n) => [
      ...CABINET.drawers.map((d) => [n, `${n}_${d}`] as [string, string]),
      [`${n}_top`, `${n}_middle`],
      [`${n}_middle`, `${n}_bottom`],
    ],
    topZ: CABINET.hz,
    top: { center: [0, 0], half: [CABINET.hx, CABINET.hy], zlo: CABINET.hz - 0.01, zhi: CABINET.hz + 0.25 },
  },
  flat_stove: {
    kind: 'flat_stove', free: false, halfHeight: 0.012, footprint: 0.17, mass: 3, xml: stoveXml(false), topZ: 0.015,
    top: { center: [0, 0], half: [0.06, 0.06], zlo: 0.005, zhi: 0.25 },
  },
  stove: {
    kind: 'stove', free: false, halfHeight: 0.012, footprint: 0.17, mass: 3, xml: stoveXml(true), topZ: 0.015,
    excludes: (n) => [[n, `${n}_knob`]],
    top: { center: [0, 0], half: [0.06, 0.06], zlo: 0.005, zhi: 0.25 },
  },
  wine_rack: {
    kind: 'wine_rack', free: false, halfHeight: 0.01, footprint: 0.12, mass: 2,
    xml: (n) => `<geom name="${n}_base" type="box" size="0.07 0.1 0.01" rgba="0.3 0.18 0.1 1" class="fixture"/>
<geom name="${n}_rail0" type="box" size="0.07 0.006 0.025" pos="0 -0.06 0.035" rgba="0.3 0.18 0.1 1" class="fixture"/>
<geom name="${n}_rail1" type="box" size="0.07 0.006 0.025" pos="0 0.06 0.035" rgba="0.3 0.18 0.1 1" class="fixture"/>`,
    topZ: 0.01,
    top: { center: [0, 0], half: [0.06, 0.05], zlo: 0.0, zhi: 0.25 },
  },
};

export function castEntry(kind: string): CastEntry {
  const e = CAST[kind];
  if (!e) throw new Error(`unknown cast entry '${kind}'`);
  return e;
}
