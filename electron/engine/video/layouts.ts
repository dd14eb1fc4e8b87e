import { Canvas } from './canvas.js';
import { CELL_H, textWidth } from './font.js';
import { COLORS, DIM_COLORS, PHASE_COLORS } from './palette.js';
import { outcomeLabel, videoLength, type PanelSource } from './panel-source.js';

/**
 * The supplementary-video layouts (issue 15), drawn frame by frame into RGB buffers:
 * - compare: policies side by side on the same (suite, task, initial state), each with its name,
 *   outcome and step counter, and under it a gripper strip (open/closed per step, spurious flips red,
 *   the cursor) and the phase band; a panel whose trial ended holds its last frame, dimmed;
 * - grid: tasks × policies, one trial each, with outcome badges;
 * - trial: one trial's two cameras and its action timeline.
 * A layout is geometry plus `draw(t)`; the geometry is exported so tests can find each region in the
 * decoded video.
 */
export interface Rect { x: number; y: number; w: number; h: number }
export interface Layout {
  width: number;
  height: number;
  frames: number;
  draw(t: number): Uint8Array;
}

const even = (n: number) => n + (n % 2);
const scaleFor = (panel: number) => Math.max(1, Math.floor(panel / 160));
const frameOf = (s: PanelSource, t: number) => Math.min(t, s.frames.length - 1);
const ended = (s: PanelSource, t: number) => t > s.frames.length - 1;

/** Step ↦ pixel column of a strip `w` wide covering `steps` steps. */
export const stepX = (step: number, steps: number, w: number) => Math.floor((step * w) / Math.max(1, steps));

/** Gripper strip: closed/open per step, spurious flips in red, the cursor; then the phase band under it. */
function drawStrips(c: Canvas, s: PanelSource, strip: Rect, band: Rect, steps: number, cursorStep: number, scale: number): void {
  c.fill(strip.x, strip.y, strip.w, strip.h, COLORS.strip);
  c.fill(band.x, band.y, band.w, band.h, COLORS.strip);
  for (let px = 0; px < strip.w; px++) {
    const u = Math.floor((px * steps) / strip.w);
    if (u >= s.steps) break;
    c.fill(strip.x + px, strip.y, 1, strip.h, s.gripper[u] > 0 ? COLORS.closed : COLORS.open);
    const ph = s.phases?.[u];
    if (ph !== undefined) c.fill(band.x + px, band.y, 1, band.h, PHASE_COLORS[ph % PHASE_COLORS.length]);
  }
  for (const f of s.flipSteps) {
    const x0 = stepX(f, steps, strip.w);
    c.fill(strip.x + x0, strip.y, Math.max(scale, stepX(f + 1, steps, strip.w) - x0), strip.h, COLORS.flip);
  }
  const cx = strip.x + Math.min(strip.w - 1, stepX(Math.min(cursorStep, s.steps), steps, strip.w));
  c.fill(cx, strip.y - scale, Math.max(1, scale), strip.h + band.h + 3 * scale, COLORS.cursor);
}

export interface CompareGeometry {
  panel: number;
  scale: number;
  panels: { image: Rect; strip: Rect; band: Rect; title: Rect }[];
  /** Steps the strips span (the longest trial). */
  steps: number;
}

/** Where everything of a compare video is: `count` panels of `panel` px, strips spanning `steps` steps (the longest trial). */
export function compareGeometry(count: number, steps: number, panel: number): CompareGeometry & { width: number; height: number } {
  const s = scaleFor(panel);
  const m = 4 * s;
  const titleH = 2 * CELL_H * s + 2 * s;
  const stripH = 6 * s;
  const bandH = 4 * s;
  steps = Math.max(1, steps);
  const panels = Array.from({ length: count }, (_, i) => {
    const x = m + i * (panel + m);
    const title = { x, y: m, w: panel, h: titleH };
    const image = { x, y: m + titleH, w: panel, h: panel };
    const strip = { x, y: image.y + panel + 2 * s, w: panel, h: stripH };
    const band = { x, y: strip.y + stripH + s, w: panel, h: bandH };
    return { title, image, strip, band };
  });
  const last = panels[panels.length - 1];
  return { panel, scale: s, panels, steps, width: even(last.image.x + panel + m), height: even(last.band.y + bandH + m) };
}

export function compareLayout(sources: readonly PanelSource[], opts: { panel: number; hold: number; caption?: string }): Layout & { geometry: CompareGeometry } {
  if (!sources.length) throw new Error('compare: no panels');
  const g = compareGeometry(sources.length, Math.max(...sources.map((x) => x.steps)), opts.panel);
  const frames = videoLength(sources, opts.hold);
  return {
    width: g.width,
    height: g.height,
    frames,
    geometry: g,
    draw(t) {
      const c = new Canvas(g.width, g.height, COLORS.background);
      sources.forEach((src, i) => {
        const p = g.panels[i];
        const k = frameOf(src, t);
        const done = ended(src, t);
        const step = Math.min(k * src.stride, src.steps);
        c.text(src.title, p.title.x, p.title.y, COLORS.text, g.scale, p.title.w);
        const ok = src.success;
        const badge = outcomeLabel(src);
        // The outcome shows once the trial has reached its end, so the video does not give it away.
        if (done || k === src.frames.length - 1) c.label(badge, p.title.x + p.title.w - textWidth(badge, g.scale) - 2 * g.scale, p.title.y, ok ? COLORS.success : COLORS.failure, ok ? COLORS.successBg : COLORS.failureBg, g.scale);
        c.text(`step ${step}/${src.steps}${src.note ? `  ${src.note}` : ''}`, p.title.x, p.title.y + CELL_H * g.scale + g.scale, COLORS.muted, g.scale, p.title.w);
        c.image(src.frames[k], src.size.width, src.size.height, p.image.x, p.image.y, p.image.w, p.image.h, { rotate180: true, dim: done ? 0.45 : 0 });
        drawStrips(c, src, p.strip, p.band, g.steps, step, g.scale);
      });
      return c.data;
    },
  };
}

/** Tasks × policies: one trial per cell (the same trial index), outcome badges, the task's label on the left. */
export function gridLayout(rows: readonly { label: string; cells: readonly (PanelSource | null)[] }[], columns: readonly string[], opts: { panel: number; hold: number }): Layout & { cell: (r: number, c: number) => Rect } {
  const s = scaleFor(opts.panel * 2);
  const m = 3 * s;
  const labelW = Math.max(...rows.map((r) => textWidth(r.label, s))) + 2 * m;
  const headH = CELL_H * s + 2 * m;
  const P = opts.panel;
  const width = even(labelW + columns.length * (P + m) + m);
  const height = even(headH + rows.length * (P + m) + m);
  const cell = (r: number, col: number): Rect => ({ x: labelW + col * (P + m), y: headH + r * (P + m), w: P, h: P });
  const all = rows.flatMap((r) => r.cells.filter((x): x is PanelSource => x !== null));
  const frames = videoLength(all, opts.hold);
  return {
    width,
    height,
    frames,
    cell,
    draw(t) {
      const c = new Canvas(width, height, COLORS.background);
      columns.forEach((name, col) => c.text(name, cell(0, col).x, m, COLORS.text, s, P));
      rows.forEach((row, r) => {
        c.text(row.label, m, cell(r, 0).y + Math.floor(P / 2) - Math.floor((CELL_H * s) / 2), COLORS.text, s);
        row.cells.forEach((src, col) => {
          const box = cell(r, col);
          if (!src) {
            c.fill(box.x, box.y, box.w, box.h, COLORS.strip);
            c.text('no trial', box.x + s, box.y + s, COLORS.muted, s);
            return;
          }
          const k = frameOf(src, t);
          const done = ended(src, t) || k === src.frames.length - 1;
          c.image(src.frames[k], src.size.width, src.size.height, box.x, box.y, P, P, { rotate180: true, dim: ended(src, t) ? 0.45 : 0 });
          const text = done ? outcomeLabel(src) : `step ${Math.min(k * src.stride, src.steps)}`;
          const ok = src.success;
          c.label(text, box.x + s, box.y + P - CELL_H * s - s, done ? (ok ? COLORS.success : COLORS.failure) : COLORS.text, done ? (ok ? COLORS.successBg : COLORS.failureBg) : COLORS.strip, s);
        });
      });
      return c.data;
    },
  };
}

/** One trial: agentview and wrist side by side, the action timeline (six motion dims and the gripper) with the phase band and the cursor. */
export function trialLayout(src: PanelSource, opts: { panel: number; hold: number; caption: string }): Layout & { chart: Rect; images: Rect[] } {
  const s = scaleFor(opts.panel);
  const m = 4 * s;
  const P = opts.panel;
  const titleH = 2 * CELL_H * s + 2 * s;
  const cams = src.wrist?.length ? 2 : 1;
  const images = Array.from({ length: cams }, (_, i) => ({ x: m + i * (P + m), y: m + titleH, w: P, h: P }));
  const chartW = cams * P + (cams - 1) * m;
  const band = { x: m, y: m + titleH + P + 2 * s, w: chartW, h: 4 * s };
  const chart = { x: m, y: band.y + band.h + s, w: chartW, h: Math.floor(P / 2) };
  const width = even(m + chartW + m);
  const height = even(chart.y + chart.h + m);
  const frames = videoLength([src], opts.hold);
  const steps = Math.max(1, src.steps);
  // the polylines are the same every frame: precompute each column's value range per dimension
  const yOf = (v: number) => chart.y + Math.round(((1.1 - Math.max(-1.1, Math.min(1.1, v))) / 2.2) * (chart.h - 1));
  const series = (d: number, u: number) => (d === 6 ? src.gripper[u] : (src.actions?.[u * 7 + d] ?? 0));
  return {
    width,
    height,
    frames,
    chart,
    images,
    draw(t) {
      const c = new Canvas(width, height, COLORS.background);
      const k = frameOf(src, t);
      const step = Math.min(k * src.stride, src.steps);
      c.text(opts.caption, m, m, COLORS.text, s, chartW);
      const done = ended(src, t) || k === src.frames.length - 1;
      c.text(`step ${step}/${src.steps}${done ? `  ${outcomeLabel(src)}` : ''}${src.note ? `  ${src.note}` : ''}`, m, m + CELL_H * s + s, done ? (src.success ? COLORS.success : COLORS.failure) : COLORS.muted, s, chartW);
      c.image(src.frames[k], src.size.width, src.size.height, images[0].x, images[0].y, P, P, { rotate180: true, dim: ended(src, t) ? 0.45 : 0 });
      if (cams === 2) c.image(src.wrist![Math.min(k, src.wrist!.length - 1)], src.size.width, src.size.height, images[1].x, images[1].y, P, P, { rotate180: true, dim: ended(src, t) ? 0.45 : 0 });
      c.fill(chart.x, chart.y, chart.w, chart.h, [248, 249, 251]);
      c.fill(chart.x, yOf(0), chart.w, 1, COLORS.strip);
      for (let px = 0; px < chart.w; px++) {
        const u = Math.floor((px * steps) / chart.w);
        if (u >= src.steps) break;
        const ph = src.phases?.[u];
        if (ph !== undefined) c.fill(band.x + px, band.y, 1, band.h, PHASE_COLORS[ph % PHASE_COLORS.length]);
        const prev = Math.max(0, Math.floor(((px - 1) * steps) / chart.w));
        for (let d = src.actions ? 0 : 6; d < 7; d++) {
          const y0 = yOf(series(d, prev));
          const y1 = yOf(series(d, u));
          c.fill(chart.x + px, Math.min(y0, y1), Math.max(1, Math.floor(s / 2)), Math.abs(y1 - y0) + 1, DIM_COLORS[d]);
        }
      }
      for (const f of src.flipSteps) c.fill(chart.x + stepX(f, steps, chart.w), chart.y, Math.max(1, s), 3 * s, COLORS.flip);
      c.fill(chart.x + Math.min(chart.w - 1, stepX(step, steps, chart.w)), band.y, Math.max(1, s), band.h + chart.h + s, COLORS.cursor);
      return c.data;
    },
  };
}
