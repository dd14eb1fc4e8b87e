import { z } from 'zod';
import { readJsonFile } from '../util/json-file.js';
import { pct, type Cell, type ResultTable } from './tables.js';

/**
 * The taxonomy ablation (paper §4.3 and its appendix table): one student per phase taxonomy, same data,
 * λ, seed and epochs, compared by next-action token accuracy on the validation episodes. The numbers come
 * from each student's `metrics.json` (train/trainer.ts writes it every epoch): per epoch, the validation
 * loss and token accuracy per dimension group (translation, rotation, gripper) of the full path (image +
 * instruction + description) and of the image-only path. The table reads the full path at the epoch with
 * the lowest full-path validation loss (early-stopping selection, so a late over-fit epoch does not count).
 */

// JSON turns NaN (a group with no frames) into null.
const acc = z.number().nullable();
const PathMetrics = z.object({ loss: z.number().nullable(), tokenAccuracy: z.object({ translation: acc, rotation: acc, gripper: acc }) });
const Epoch = z.object({ epoch: z.number().int(), val: z.object({ full: PathMetrics, imageOnly: PathMetrics }).nullable() });
const MetricsFile = z.object({ runId: z.string(), history: z.array(Epoch) });

export interface AblationPoint {
  epoch: number;
  valLoss: number;
  translation: number | null;
  rotation: number | null;
  gripper: number | null;
  /** Unweighted mean of the three groups (null when one is missing). */
  mean: number | null;
}

export const readTrainingHistory = (file: string): z.infer<typeof MetricsFile> => readJsonFile(file, MetricsFile);

/** Full-path validation metrics at the epoch of lowest full-path validation loss (earliest on ties); null without validation. */
export function bestValidationEpoch(history: z.infer<typeof MetricsFile>['history']): AblationPoint | null {
  let best: AblationPoint | null = null;
  for (const e of history) {
    const loss = e.val?.full.loss;
    if (typeof loss !== 'number' || !Number.isFinite(loss) || (best && loss >= best.valLoss)) continue;
    const t = e.val!.full.tokenAccuracy;
    const groups = [t.translation, t.rotation, t.gripper];
    const mean = groups.every((g) => g !== null) ? (groups as number[]).reduce((a, b) => a + b, 0) / 3 : null;
    best = { epoch: e.epoch, valLoss: loss, translation: t.translation, rotation: t.rotation, gripper: t.gripper, mean };
  }
  return best;
}

export interface AblationRow {
  /** Number of phases of the taxonomy. */
  taxonomy: number;
  /** The student trained under it (students/<runId>). */
  runId: string;
  point: AblationPoint | null;
}

export function taxonomyAblationTable(rows: readonly AblationRow[], opts: { lambda: number; epochs: number; id?: string; reused?: { taxonomy: number; runId: string } }): ResultTable {
  const num = (v: number | null, digits: number): Cell => (v === null ? { text: '–', value: null } : { text: v.toFixed(digits), value: v });
  const rate = (v: number | null): Cell => (v === null ? { text: '–', value: null } : { text: pct(v), value: v });
  const notes = [
    `Next-action token accuracy (chunk step 0) on the validation episodes, full path (image + instruction + description), at the epoch with the lowest full-path validation loss (column Epoch); Mean is the unweighted mean of the three groups. One student per taxonomy: same data, λ = ${opts.lambda}, ${opts.epochs} epoch(s), same seed.`,
  ];
  if (opts.reused) notes.push(`The ${opts.reused.taxonomy}-phase row is the experiment's own student ${opts.reused.runId} (same settings), not trained twice.`);
  if (rows.some((r) => r.point === null)) notes.push('–: no validation episodes (or no finite validation loss) for that student.');
  return {
    id: opts.id ?? 'taxonomy-ablation',
    title: 'Taxonomy ablation: validation next-action token accuracy (%) per phase taxonomy (paper §4.3)',
    columns: ['# phases', 'Translation', 'Rotation', 'Gripper', 'Mean', 'Val loss', 'Epoch', 'Student'],
    rows: rows.map((r) => [
      { text: String(r.taxonomy), value: r.taxonomy },
      rate(r.point?.translation ?? null),
      rate(r.point?.rotation ?? null),
      rate(r.point?.gripper ?? null),
      rate(r.point?.mean ?? null),
      num(r.point?.valLoss ?? null, 4),
      num(r.point?.epoch ?? null, 0),
      { text: r.runId, value: null },
    ]),
    notes,
  };
}
