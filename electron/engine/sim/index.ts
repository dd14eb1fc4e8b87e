/**
 * The built-in simulator: MuJoCo (mujoco-js, WASM) tabletop suites mirroring LIBERO's libero_object,
 * libero_spatial and libero_goal, a delta end-effector controller, goal predicates, and cameras rendered
 * by the native rasterizer. See docs/sim.md.
 */
export { SimEnv, renderInitialStatePng, renderRandomRolloutFrames, taskInfo } from './env.js';
export type { SimObservation, SimStepResult, StepInfo, EndReason, PrivilegedState, EnvOptions, TaskInfo, RolloutFrames } from './env.js';
export { SUITES, MAX_STEPS } from './task.js';
export type { SuiteName, TaskDef } from './task.js';
export { SUITE_TASKS, getTask, isSuite } from './suites/index.js';
export { INIT_STATES_PER_TASK, loadInitStates, taskSeed } from './init.js';
export type { InitState, InitFile } from './init.js';
export { describePredicate, ON_RADIUS, OPEN_AT, CLOSE_AT, ON_AT, OFF_AT } from './predicates.js';
export type { Predicate } from './predicates.js';
export { POS_SCALE, ROT_SCALE } from './controller.js';
export { PHYSICS_DT, CONTROL_HZ, SUBSTEPS } from './scene.js';
export { rasterize, loadRasterizer, lookAt } from './raster.js';
export type { RasterGeom, RasterCamera, RasterMesh } from './raster.js';
export { rotate180 } from './physics.js';
export type { CameraName, ObjectPose } from './physics.js';

import { SUITE_TASKS } from './suites/index.js';
import { taskInfo, type TaskInfo } from './env.js';
import type { SuiteName } from './task.js';

/** Every task of a suite, with instruction, horizon, objects and goal predicates. */
export function listTasks(suite: SuiteName): TaskInfo[] {
  return SUITE_TASKS[suite].map(taskInfo);
}
