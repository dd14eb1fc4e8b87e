/**
 * LIBERO's closed-loop conventions (DESIGN.md "Reference facts"; OpenVLA's run_libero_eval.py), in one
 * place for the simulator, the collector and the evaluator: a step limit per suite counted after the
 * warm-up, and 10 warm-up no-op steps with the gripper open while objects settle.
 */
export const SUITE_MAX_STEPS: Readonly<Record<string, number>> = {
  spatial: 220,
  libero_spatial: 220,
  object: 280,
  libero_object: 280,
  goal: 300,
  libero_goal: 300,
  libero_10: 520,
  libero_90: 400,
};

export const WARMUP_STEPS = 10;

/** The warm-up action: no motion, gripper open (LIBERO's get_libero_dummy_action). */
export const WARMUP_ACTION: readonly number[] = [0, 0, 0, 0, 0, 0, -1];
