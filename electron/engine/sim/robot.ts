/**
 * A 7-DoF Panda-like arm with a parallel-jaw gripper, generated as MJCF.
 *
 * Kinematics follow Franka Emika's published parameters (modified DH, as in franka_ros / MuJoCo Menagerie):
 * d1 = 0.333, d3 = 0.316, a4 = 0.0825, a5 = -0.0825, d5 = 0.384, a7 = 0.088, flange d = 0.107, and the
 * datasheet's joint limits. Links are drawn as capsules between joint origins (the real link meshes are not
 * redistributable here). The hand carries two slide fingers (0..0.04 m each, 0.08 m max opening) with
 * position actuators whose force is capped (~70 N like the real gripper), so a grasp holds by contact
 * and friction only.
 *
 * The arm is driven by joint position actuators (stiff PD inside MuJoCo, implicit damping) with gravity
 * compensation on the arm bodies; the delta end-effector controller (controller.ts) turns 7-D actions into
 * joint targets.
 */
export const ARM_JOINTS = ['joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6', 'joint7'] as const;
export const FINGER_JOINTS = ['finger_left', 'finger_right'] as const;

/** Franka Emika Panda joint limits (rad), from the robot's datasheet. */
export const JOINT_LIMITS: [number, number][] = [
  [-2.8973, 2.8973],
  [-1.7628, 1.7628],
  [-2.8973, 2.8973],
  [-3.0718, -0.0698],
  [-2.8973, 2.8973],
  [-0.0175, 3.7525],
  [-2.8973, 2.8973],
];
/** Datasheet torque limits (N·m). */
export const TORQUE_LIMITS = [87, 87, 87, 87, 12, 12, 12];
export const FINGER_OPEN = 0.04; // m per finger
export const FINGER_FORCE = 70; // N, the gripper's continuous force

/** A home pose with the gripper pointing down over the table. */
export const HOME_Q = [0, -0.35, 0, -2.35, 0, 2.0, Math.PI / 4];

/** Position-actuator stiffness per joint (N·m/rad) and damping (about critical for the link inertias). */
const KP = [12000, 12000, 9000, 9000, 3600, 2400, 1500];
const KV = [280, 280, 190, 190, 60, 45, 26];

interface Link {
  name: string;
  pos: string;
  quat: string;
  joint: number; // index into ARM_JOINTS
  child: [number, number, number]; // next joint origin in this link's frame (for the capsule)
  radius: number;
}

// Body frames as in the modified-DH chain: every joint rotates about its body's z axis.
const LINKS: Link[] = [
  { name: 'link1', pos: '0 0 0.333', quat: '1 0 0 0', joint: 0, child: [0, 0, 0], radius: 0.06 },
  { name: 'link2', pos: '0 0 0', quat: '0.7071068 -0.7071068 0 0', joint: 1, child: [0, -0.316, 0], radius: 0.06 },
  { name: 'link3', pos: '0 -0.316 0', quat: '0.7071068 0.7071068 0 0', joint: 2, child: [0.0825, 0, 0], radius: 0.055 },
  { name: 'link4', pos: '0.0825 0 0', quat: '0.7071068 0.7071068 0 0', joint: 3, child: [-0.0825, 0.384, 0], radius: 0.055 },
  { name: 'link5', pos: '-0.0825 0.384 0', quat: '0.7071068 -0.7071068 0 0', joint: 4, child: [0, 0, 0], radius: 0.05 },
  { name: 'link6', pos: '0 0 0', quat: '0.7071068 0.7071068 0 0', joint: 5, child: [0.088, 0, 0], radius: 0.045 },
  { name: 'link7', pos: '0.088 0 0', quat: '0.7071068 0.7071068 0 0', joint: 6, child: [0, 0, 0.107], radius: 0.04 },
];

const ARM_RGBA = '0.92 0.92 0.94 1';
const JOINT_RGBA = '0.25 0.25 0.28 1';

/** The robot's <body> tree, to be placed inside <worldbody>. `base` is the base position in the world. */
export function robotBodyXml(base: [number, number, number]): string {
  let xml = `<body name="link0" pos="${base.join(' ')}">
  <geom name="link0_geom" type="cylinder" size="0.07 0.1" pos="0 0 0.1" rgba="${ARM_RGBA}" class="robot"/>\n`;
  let close = '</body>\n';
  for (const l of LINKS) {
    const [lo, hi] = JOINT_LIMITS[l.joint];
    const len = Math.hypot(...l.child);
    const capsule =
      len > 0.01
        ? `<geom name="${l.name}_geom" type="capsule" fromto="0 0 0 ${l.child.join(' ')}" size="${l.radius}" rgba="${ARM_RGBA}" class="robot"/>`
        : '';
    xml += `<body name="${l.name}" pos="${l.pos}" quat="${l.quat}" gravcomp="1">
  <inertial pos="0 0 0" mass="${l.joint < 4 ? 2.5 : 1.2}" diaginertia="0.01 0.01 0.01"/>
  <joint name="${ARM_JOINTS[l.joint]}" type="hinge" axis="0 0 1" range="${lo} ${hi}" damping="2" armature="0.1"/>
  <geom name="${l.name}_hub" type="cylinder" size="${l.radius * 1.05} ${l.radius}" rgba="${JOINT_RGBA}" class="robot"/>
  ${capsule}\n`;
    close = '</body>\n' + close;
  }
  // Hand: flange at 0.107 along link7's z, rotated -45° about z as on the real robot.
  xml += `<body name="hand" pos="0 0 0.107" quat="0.9238795 0 0 -0.3826834" gravcomp="1">
  <inertial pos="0 0 0.04" mass="0.7" diaginertia="0.003 0.003 0.002"/>
  <geom name="hand_geom" type="box" size="0.03 0.09 0.025" pos="0 0 0.03" rgba="${ARM_RGBA}" class="robot"/>
  <site name="ee" pos="0 0 0.1034" size="0.005" rgba="1 0 0 0"/>
  <camera name="eye_in_hand" pos="0.06 0 0.02" xyaxes="0 -1 0 -1 0 0" fovy="75"/>
  <body name="finger_left_body" pos="0 0 0.0584" gravcomp="1">
    <inertial pos="0 0.01 0.03" mass="0.05" diaginertia="1e-5 1e-5 1e-5"/>
    <joint name="finger_left" type="slide" axis="0 1 0" range="0 ${FINGER_OPEN}" damping="5" armature="0.05"/>
    <geom name="finger_left_geom" type="box" size="0.01 0.006 0.026" pos="0 0.006 0.026" rgba="0.2 0.2 0.22 1" class="finger"/>
  </body>
  <body name="finger_right_body" pos="0 0 0.0584" gravcomp="1">
    <inertial pos="0 -0.01 0.03" mass="0.05" diaginertia="1e-5 1e-5 1e-5"/>
    <joint name="finger_right" type="slide" axis="0 -1 0" range="0 ${FINGER_OPEN}" damping="5" armature="0.05"/>
    <geom name="finger_right_geom" type="box" size="0.01 0.006 0.026" pos="0 -0.006 0.026" rgba="0.2 0.2 0.22 1" class="finger"/>
  </body>
</body>\n`;
  return xml + close;
}

/** Defaults for the robot classes (used inside <default>). Links collide with the world, not with each other. */
export const ROBOT_DEFAULTS = `
<default class="robot"><geom contype="2" conaffinity="0" group="1" density="0"/></default>
<default class="finger"><geom contype="2" conaffinity="0" group="1" friction="2 0.05 0.001" condim="4" solref="0.004 1" solimp="0.95 0.99 0.001" density="0"/></default>`;

export function robotActuatorsXml(): string {
  const arm = ARM_JOINTS.map(
    (j, i) =>
      `<general name="act_${j}" joint="${j}" biastype="affine" gainprm="${KP[i]}" biasprm="0 -${KP[i]} -${KV[i]}" ctrlrange="${JOINT_LIMITS[i][0]} ${JOINT_LIMITS[i][1]}" forcerange="-${TORQUE_LIMITS[i]} ${TORQUE_LIMITS[i]}"/>`,
  );
  // Fingers: stiff position servos on the slide joints whose force saturates at the gripper's force.
  const fingers = FINGER_JOINTS.map(
    (j) => `<general name="act_${j}" joint="${j}" biastype="affine" gainprm="3000" biasprm="0 -3000 -30" ctrlrange="0 ${FINGER_OPEN}" forcerange="-${FINGER_FORCE} ${FINGER_FORCE}"/>`,
  );
  return `<actuator>\n${[...arm, ...fingers].join('\n')}\n</actuator>`;
}

/** Gripper action in [-1, 1] (-1 open, +1 close) → finger target opening (m per finger). */
export const gripperTarget = (g: number) => (FINGER_OPEN * (1 - g)) / 2;
