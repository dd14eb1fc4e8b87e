import { ROBOT_DEFAULTS, robotActuatorsXml, robotBodyXml } from './robot.js';
import { castEntry } from './objects.js';
import { yawQuat } from './math3.js';

/**
 * A tabletop scene as MJCF: table (top surface at z = 0), floor, the robot at the table's near edge, and the
 * task's cast. The table collides as a plane at z = 0 (analytic contacts are several times cheaper than
 * box–convex ones); the drawn box is visual only, so an object pushed past the table's edge stays at table
 * height rather than falling (placements and the workspace are well inside the edge). Fixtures are welded at their task-given pose; free objects get a free joint and are posed
 * by the initial state at reset.
 */
export const TABLE = { hx: 0.45, hy: 0.6, hz: 0.4 };
export const ROBOT_BASE: [number, number, number] = [-0.5, 0, 0];
export const PHYSICS_DT = 0.002; // 500 Hz
export const CONTROL_HZ = 20;
export const SUBSTEPS = Math.round(1 / CONTROL_HZ / PHYSICS_DT); // 25

/** Region on the table where free objects are placed (reachable by the arm, visible to agentview). */
export const WORKSPACE = { xlo: -0.25, xhi: 0.15, ylo: -0.3, yhi: 0.3 };

export interface SceneObject {
  name: string;
  kind: string;
  /** Fixtures: world pose (x, y, yaw); z follows from the cast entry's half height. */
  pose?: { x: number; y: number; yaw: number };
}

export interface SceneSpec {
  objects: SceneObject[];
}

const f = (v: number) => Number(v.toFixed(5)).toString();

export function sceneXml(spec: SceneSpec): string {
  const bodies = spec.objects
    .map((o) => {
      const e = castEntry(o.kind);
      if (!e.free) {
        const p = o.pose ?? { x: 0, y: 0, yaw: 0 };
        const q = yawQuat(p.yaw);
        return `<body name="${o.name}" pos="${f(p.x)} ${f(p.y)} ${f(e.halfHeight)}" quat="${q.map(f).join(' ')}">\n${e.xml(o.name)}\n</body>`;
      }
      // Free objects start parked below the table; reset() poses them from the initial state.
      return `<body name="${o.name}" pos="0 0 -1">
<freejoint name="${o.name}_free"/>
<inertial pos="0 0 0" mass="${e.mass}" diaginertia="${inertia(e.mass, e.footprint, e.halfHeight)}"/>
${e.xml(o.name)}
</body>`;
    })
    .join('\n');
  const excludes = spec.objects
    .flatMap((o) => castEntry(o.kind).excludes?.(o.name) ?? [])
    .map(([a, b]) => `<exclude body1="${a}" body2="${b}"/>`)
    .join('\n');
  return `<mujoco model="vla-ad-tabletop">
<compiler angle="radian" autolimits="true"/>
<option timestep="${PHYSICS_DT}" integrator="implicitfast" cone="elliptic" impratio="10"/>
<size memory="20M"/>
<default>
  <geom solref="0.01 1" solimp="0.9 0.95 0.001" friction="1 0.01 0.001"/>
  ${ROBOT_DEFAULTS}
  <default class="object"><geom contype="1" conaffinity="3" group="2" condim="3" friction="1.2 0.02 0.001" density="0"/></default>
  <default class="fixture"><geom contype="1" conaffinity="3" group="2" condim="3" density="0"/></default>
</default>
<worldbody>
<geom name="floor" type="plane" size="0 0 1" pos="0 0 ${-2 * TABLE.hz}" rgba="0.45 0.42 0.4 1" contype="0" conaffinity="0" group="0"/>
<geom name="table" type="box" size="${TABLE.hx} ${TABLE.hy} ${TABLE.hz}" pos="0 0 ${-TABLE.hz}" rgba="0.78 0.74 0.66 1" contype="0" conaffinity="0" group="0"/>
<geom name="table_surface" type="plane" size="${TABLE.hx} ${TABLE.hy} 0.01" rgba="0 0 0 0" contype="1" conaffinity="3" group="3"/>
${robotBodyXml(ROBOT_BASE)}
${bodies}
</worldbody>
${excludes ? `<contact>\n${excludes}\n</contact>` : ''}
${robotActuatorsXml()}
</mujoco>`;
}

/** Inertia of a solid cylinder-like object of radius r and half height h (diagonal). */
function inertia(m: number, r: number, h: number): string {
  const rr = Math.min(r, 0.06);
  const ixy = (m * (3 * rr * rr + 4 * h * h)) / 12;
  const iz = (m * rr * rr) / 2;
  return `${f(Math.max(ixy, 1e-5))} ${f(Math.max(ixy, 1e-5))} ${f(Math.max(iz, 1e-5))}`;
}
