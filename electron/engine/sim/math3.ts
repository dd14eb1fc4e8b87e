/**
 * Small 3-D helpers on plain arrays: row-major 3×3 matrices (MuJoCo's xmat layout), quaternions
 * [w, x, y, z] (MuJoCo's order) and axis-angle vectors (angle × unit axis, robosuite's ee_ori).
 */
export type Vec3 = [number, number, number];
export type Mat3 = number[]; // 9 values, row-major

export const matMul = (a: ArrayLike<number>, b: ArrayLike<number>): Mat3 => {
  const r = new Array<number>(9);
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++) r[3 * i + j] = a[3 * i] * b[j] + a[3 * i + 1] * b[3 + j] + a[3 * i + 2] * b[6 + j];
  return r;
};

export const transpose = (a: ArrayLike<number>): Mat3 => [a[0], a[3], a[6], a[1], a[4], a[7], a[2], a[5], a[8]];

export function axisAngleToMat(v: ArrayLike<number>): Mat3 {
  const th = Math.hypot(v[0], v[1], v[2]);
  if (th < 1e-12) return [1, 0, 0, 0, 1, 0, 0, 0, 1];
  const x = v[0] / th, y = v[1] / th, z = v[2] / th;
  const c = Math.cos(th), s = Math.sin(th), t = 1 - c;
  return [t * x * x + c, t * x * y - s * z, t * x * z + s * y, t * x * y + s * z, t * y * y + c, t * y * z - s * x, t * x * z - s * y, t * y * z + s * x, t * z * z + c];
}

/** Rotation matrix → axis-angle, robust near 0 and π. */
export function matToAxisAngle(m: ArrayLike<number>): Vec3 {
  const q = matToQuat(m);
  return quatToAxisAngle(q);
}

export function matToQuat(m: ArrayLike<number>): [number, number, number, number] {
  const tr = m[0] + m[4] + m[8];
  let w: number, x: number, y: number, z: number;
  if (tr > 0) {
    const s = Math.sqrt(tr + 1) * 2;
    w = 0.25 * s;
    x = (m[7] - m[5]) / s;
    y = (m[2] - m[6]) / s;
    z = (m[3] - m[1]) / s;
  } else if (m[0] > m[4] && m[0] > m[8]) {
    const s = Math.sqrt(1 + m[0] - m[4] - m[8]) * 2;
    w = (m[7] - m[5]) / s;
    x = 0.25 * s;
    y = (m[1] + m[3]) / s;
    z = (m[2] + m[6]) / s;
  } else if (m[4] > m[8]) {
    const s = Math.sqrt(1 + m[4] - m[0] - m[8]) * 2;
    w = (m[2] - m[6]) / s;
    x = (m[1] + m[3]) / s;
    y = 0.25 * s;
    z = (m[5] + m[7]) / s;
  } else {
    const s = Math.sqrt(1 + m[8] - m[0] - m[4]) * 2;
    w = (m[3] - m[1]) / s;
    x = (m[2] + m[6]) / s;
    y = (m[5] + m[7]) / s;
    z = 0.25 * s;
  }
  if (w < 0) (w = -w), (x = -x), (y = -y), (z = -z);
  const n = Math.hypot(w, x, y, z);
  return [w / n, x / n, y / n, z / n];
}

export function quatToAxisAngle(q: ArrayLike<number>): Vec3 {
  const w = Math.min(1, Math.max(-1, q[0]));
  const s = Math.hypot(q[1], q[2], q[3]);
  if (s < 1e-12) return [0, 0, 0];
  const angle = 2 * Math.atan2(s, w);
  return [(q[1] / s) * angle, (q[2] / s) * angle, (q[3] / s) * angle];
}

export function quatToMat(q: ArrayLike<number>): Mat3 {
  const [w, x, y, z] = [q[0], q[1], q[2], q[3]];
  return [
    1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
    2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
    2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y),
  ];
}

export const yawQuat = (yaw: number): [number, number, number, number] => [Math.cos(yaw / 2), 0, 0, Math.sin(yaw / 2)];

/** Rotation error as an axis-angle vector ω with R(ω)·cur = goal. */
export function rotationError(goal: ArrayLike<number>, cur: ArrayLike<number>): Vec3 {
  return matToAxisAngle(matMul(goal, transpose(cur)));
}

export const fmt = (v: number) => Number(v.toFixed(4));
