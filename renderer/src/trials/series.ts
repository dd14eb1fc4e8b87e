import type { TrialDetail } from '../../../electron/api/schemas';

/**
 * What the trial timeline plots, derived from a stored record (pure, so it is unit-tested): the six
 * motion dimensions and the gripper command per executed step, the phase band as runs of one phase, the
 * goal predicates as the runs where each holds, and the query steps. x is the step index: the action of
 * step t is taken from frame t, so the cursor at frame t sits on the action that frame led to.
 */
export const MOTION_DIMS = ['x', 'y', 'z', 'roll', 'pitch', 'yaw'] as const;
/** LIBERO's control rate: one step every 50 ms (the step time shown beside the frame index). */
export const CONTROL_HZ = 20;

export interface Run {
  start: number;
  /** Exclusive. */
  end: number;
  label: string;
  index: number;
}

/** Per-dimension series of the executed actions (steps × 7 flattened); null when the record kept none. */
export function actionSeries(r: Pick<TrialDetail, 'steps' | 'actions'>): number[][] | null {
  if (!r.actions || r.actions.length !== r.steps * 7) return null;
  return Array.from({ length: 7 }, (_, d) => Array.from({ length: r.steps }, (_, t) => r.actions![t * 7 + d]));
}

/** Consecutive steps with the same value, as runs. */
export function runsOf(series: readonly number[], name: (v: number) => string): Run[] {
  const out: Run[] = [];
  for (let t = 0; t < series.length; t++) {
    const last = out[out.length - 1];
    if (last && last.index === series[t] && last.end === t) last.end = t + 1;
    else out.push({ start: t, end: t + 1, label: name(series[t]), index: series[t] });
  }
  return out;
}

export function phaseRuns(r: Pick<TrialDetail, 'phases'>): Run[] {
  if (!r.phases) return [];
  const names = r.phases.names;
  return runsOf(r.phases.series, (i) => names[i] ?? `phase ${i}`);
}

/** For each predicate: the runs where it holds (bit k of the step's mask). */
export function predicateRuns(r: Pick<TrialDetail, 'predicates'>): { name: string; runs: Run[] }[] {
  if (!r.predicates) return [];
  const { names, series } = r.predicates;
  return names.map((name, k) => ({
    name,
    runs: runsOf(series.map((m) => (Math.floor(m / 2 ** k) % 2 === 1 ? 1 : 0)), (v) => (v ? name : '')).filter((x) => x.index === 1),
  }));
}

/** Phase colours: one per phase of the 9-phase taxonomy, in order (distinct hues, readable on white). */
const PALETTE = ['#8fb3e8', '#f2b36f', '#9ad19a', '#e89a9a', '#c5a3e0', '#e8d36f', '#7fd1c8', '#d6a27e', '#b8bfc9', '#f29ac7', '#a6c97a', '#9aa9e8', '#e0b0a3'];
export const phaseColor = (index: number) => PALETTE[index % PALETTE.length];

/** The frame shown at cursor position t of a view whose longest trial has `frames` frames: a trial that ended holds its last one. */
export const frameAt = (t: number, count: number) => Math.max(0, Math.min(count - 1, t));

export const stepTime = (frame: number, stride = 1) => ((frame * stride) / CONTROL_HZ).toFixed(2);
