import { z } from 'zod';
import { ACTION_DIM } from '../data/episode.js';
import { LabError, parseOr } from '../errors.js';
import { StudentConfig } from './config.js';

/**
 * The `vla-ad-policy/1` metadata of a deployable student (policy.onnx's metadata_props `vla_ad_policy`,
 * and policy.json beside it): one schema, written by exportPolicy (model/policy.ts) and checked by the
 * student runtime (policies/student-onnx.ts) when it opens a file.
 */
export const POLICY_FORMAT = 'vla-ad-policy/1';

const finite = z.number().refine(Number.isFinite, 'must be finite');
const ActionStatsSchema = z.object({
  q01: z.array(finite).length(ACTION_DIM),
  q99: z.array(finite).length(ACTION_DIM),
  mean: z.array(finite),
  std: z.array(finite),
  min: z.array(finite),
  max: z.array(finite),
  count: z.number().int().nonnegative(),
});

export const TrainedOnSchema = z.object({
  suites: z.array(z.string()),
  tasks: z.array(z.object({ suite: z.string(), taskIndex: z.number().int().nonnegative(), episodes: z.number().int().nonnegative() })),
});
export type TrainedOn = z.infer<typeof TrainedOnSchema>;

export const PolicyMetaSchema = z.object({
  format: z.literal(POLICY_FORMAT),
  runId: z.string().min(1),
  /** The student config (model/config.ts). */
  config: StudentConfig,
  stats: ActionStatsSchema,
  bins: z.number().int().positive(),
  chunk: z.number().int().positive(),
  textLength: z.number().int().positive(),
  preprocessing: z.object({
    rotate180: z.boolean(),
    size: z.number().int().positive(),
    resize: z.literal('lanczos3'),
    pixels: z.literal('RGB float 0..255, NCHW; CLIP mean/std applied inside the graph'),
  }),
  text: z.object({ tokenizer: z.string(), separator: z.string(), modes: z.tuple([z.literal('masked'), z.literal('phase')]) }),
  inputs: z.array(z.string()),
  outputs: z.array(z.string()),
  precision: z.string(),
  /**
   * The suites and tasks of the dataset the student was trained on (the train job fills it), so an
   * evaluation on others can warn. Absent in files exported before the field existed, or from weights alone.
   */
  trainedOn: TrainedOnSchema.optional(),
});
export type PolicyMeta = z.output<typeof PolicyMetaSchema>;

/**
 * The action normalization a policy declares must be the one this lab's policies use: per-dimension
 * 1st/99th percentile bounds (q01, q99) over the 7 action dimensions, finite, q01 ≤ q99 (OpenVLA's
 * BOUNDS_Q99; the graph un-normalizes with them). Checked before the schema so that each way of being
 * wrong gets its own code and message, naming the file and the field.
 */
function checkNormalization(file: string, stats: unknown): void {
  const fail = (code: 'SHAPE_MISMATCH' | 'UNSUPPORTED' | 'CORRUPT_FILE', field: string, why: string, extra: Record<string, unknown> = {}) =>
    new LabError(code, `${file}: field ${field}: ${why}`, { file, field, ...extra });
  if (!stats || typeof stats !== 'object') throw fail('CORRUPT_FILE', 'stats', 'no action normalization statistics');
  const s = stats as Record<string, unknown>;
  for (const key of ['q01', 'q99'] as const) {
    const v = s[key];
    if (!Array.isArray(v)) throw fail('UNSUPPORTED', `stats.${key}`, `no ${key} bound: the actions are normalized another way (${Object.keys(s).join(', ') || 'no fields'}); a VLA-AD policy un-normalizes with per-dimension 1st/99th percentile bounds (q01, q99)`);
    if (v.length !== ACTION_DIM) throw fail('SHAPE_MISMATCH', `stats.${key}`, `action normalization is ${v.length}-wide, this protocol drives ${ACTION_DIM}-D actions (a policy for another action space)`, { width: v.length });
    const bad = v.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x));
    if (bad >= 0) throw fail('CORRUPT_FILE', `stats.${key}[${bad}]`, `not a finite number (${JSON.stringify(v[bad])})`);
  }
  const q01 = s.q01 as number[], q99 = s.q99 as number[];
  const inverted = q01.findIndex((lo, d) => lo > q99[d]);
  if (inverted >= 0) throw fail('CORRUPT_FILE', `stats.q99[${inverted}]`, `upper bound ${q99[inverted]} is below the lower bound stats.q01[${inverted}] = ${q01[inverted]}`);
}

/** Validate metadata read from `file` (JSON already parsed): CORRUPT_FILE / UNSUPPORTED / SHAPE_MISMATCH naming the field. */
export function parsePolicyMeta(value: unknown, file: string): PolicyMeta {
  const m = value as Record<string, unknown> | null;
  if (!m || typeof m !== 'object' || m.format !== POLICY_FORMAT) throw new LabError('CORRUPT_FILE', `${file} is not a VLA-AD policy (no ${POLICY_FORMAT} metadata)`, { file, field: 'format' });
  checkNormalization(file, m.stats);
  return parseOr(PolicyMetaSchema, value, `${file}: metadata`, 'CORRUPT_FILE', { file });
}
