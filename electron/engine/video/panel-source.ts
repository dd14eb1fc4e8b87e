/**
 * What a video panel shows of one trial: its frames (LIBERO orientation, as stored or re-rendered) and
 * the per-step series drawn under them. Built by evaluate/trial-video-source.ts from stored trial records.
 */
export interface PanelSource {
  /** The policy id (the panel's title). */
  title: string;
  success: boolean;
  failure: string | null;
  /** Executed steps. */
  steps: number;
  /** Frames kept every `stride` steps: frame k is the observation after k·stride steps (k = 0: the first). */
  frames: readonly Uint8Array[];
  wrist?: readonly Uint8Array[];
  size: { width: number; height: number };
  stride: number;
  /** Gripper command per step (-1 open, +1 close). */
  gripper: readonly number[];
  /** Steps at which a spurious flip starts (the flip audit's definition). */
  flipSteps: readonly number[];
  /** Phase index per step (null: not labelled). */
  phases: readonly number[] | null;
  /** Executed 7-D actions per step, flattened (the trial layout's timeline). */
  actions?: readonly number[];
  /** A short note for the title (the task, "re-rendered at 512 px"). */
  note?: string;
}

/** How one panel's outcome reads: "✓ step 60" or "✗ timeout". */
export const outcomeLabel = (s: Pick<PanelSource, 'success' | 'steps' | 'failure'>) => (s.success ? `✓ step ${s.steps}` : `✗ ${s.failure ?? 'failed'}`);

/** Frames a layout plays: the longest panel, then `hold` frames of the final state. */
export const videoLength = (sources: readonly Pick<PanelSource, 'frames'>[], hold: number) => Math.max(1, ...sources.map((s) => s.frames.length)) + hold;
