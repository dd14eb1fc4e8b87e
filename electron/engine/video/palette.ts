import type { Rgb } from './canvas.js';

/** Colours of the video layouts (the same roles as the renderer's trial page). */
export const COLORS = {
  background: [255, 255, 255] as Rgb,
  text: [29, 31, 36] as Rgb,
  muted: [110, 116, 128] as Rgb,
  strip: [236, 238, 242] as Rgb,
  open: [198, 219, 239] as Rgb,
  closed: [33, 47, 79] as Rgb,
  flip: [220, 38, 38] as Rgb,
  cursor: [216, 27, 96] as Rgb,
  success: [27, 94, 32] as Rgb,
  successBg: [220, 242, 220] as Rgb,
  failure: [140, 29, 24] as Rgb,
  failureBg: [251, 224, 222] as Rgb,
} as const;

/** One colour per phase index (the 9-phase taxonomy and up). */
export const PHASE_COLORS: readonly Rgb[] = [
  [143, 179, 232], [242, 179, 111], [154, 209, 154], [232, 154, 154], [197, 163, 224], [232, 211, 111], [127, 209, 200], [214, 162, 126], [184, 191, 201], [242, 154, 199], [166, 201, 122], [154, 169, 232], [224, 176, 163],
];

/** The six motion dimensions and the gripper, for the trial layout's timeline. */
export const DIM_COLORS: readonly Rgb[] = [
  [31, 119, 180], [255, 127, 14], [44, 160, 44], [148, 103, 189], [140, 86, 75], [23, 190, 207], [17, 24, 39],
];
