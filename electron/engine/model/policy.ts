import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BIN_CENTERS } from '../data/discretize.js';
import { type ActionStats, GRIPPER } from '../data/normalize.js';
import { LabError } from '../errors.js';
import { GraphBuilder, type Tensor, emitOnnx } from '../graph/index.js';
import { ModelProto } from '../graph/onnx-proto.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { type StudentConfig, parseStudentConfig } from './config.js';
import { POLICY_FORMAT, type PolicyMeta, type TrainedOn } from './policy-meta.js';
import { StudentParams, type Weights, textTower, triStreamHead, visionTower } from './network.js';
import { type ClipBpeTokenizer, clipTokenizerFromSpec, describe, studentText } from './tokenizer.js';
import { readWeights } from './weights.js';
import { mergeLora, quantizeInt8 } from './quantize.js';


/**
 * The deployable policy: image + tokenized text → K×7 continuous actions, un-normalized. Decoding is in
 * the graph: argmax over the 256 bins (as a one-hot of the maximum, so only standard ops), bin centers
 * (OpenVLA's, bin 255 decoded like 254), q01/q99 un-normalization, gripper binarized to ±1. Its metadata
 * schema is model/policy-meta.ts; the runtime that runs it is policies/student-onnx.ts.
 */
export type TextMode = 'masked' | 'phase';

/**
 * Test-time text: `masked` = the instruction alone (the description channel masked exactly as in the
 * image-only training path); `phase` = instruction + the rule-based phase label computed online (by the
 * caller, from proprioception) as the description. No VLM at test time.
 */
export function policyText(mode: TextMode, instruction: string, phase?: string): string {
  if (mode === 'masked') return instruction;
  if (!phase) throw new LabError('INVALID_INPUT', "text mode 'phase' needs the current phase label", { field: 'phase' });
  return studentText(instruction, describe({ phase }));
}

/** Bin ids → continuous un-normalized actions, in the graph. logits [B,K,7,bins] → actions [B,K,7], bins [B,K,7] (float ids). */
export function decodeActions(g: GraphBuilder, logits: Tensor, stats: ActionStats, bins: number): { actions: Tensor; binIds: Tensor } {
  const max = g.reduceMax(logits, [-1], true);
  const onehot = g.cast(g.equal(logits, max), 'float32');
  const count = g.reduceSum(onehot, [-1], false);
  const centers = Float32Array.from({ length: bins }, (_, i) => BIN_CENTERS[Math.min(bins - 2, i)]);
  const idx = Float32Array.from({ length: bins }, (_, i) => i);
  const pick = (table: Float32Array) => g.div(g.reduceSum(g.mul(onehot, g.constant(table, [bins])), [-1], false), count);
  const norm = pick(centers);
  const binIds = pick(idx);
  const scale = Float32Array.from({ length: 7 }, (_, d) => (d === GRIPPER ? 0 : 0.5 * (stats.q99[d] - stats.q01[d])));
  const offset = Float32Array.from({ length: 7 }, (_, d) => (d === GRIPPER ? 0 : 0.5 * (stats.q99[d] - stats.q01[d]) + stats.q01[d]));
  const cont = g.add(g.mul(norm, g.constant(scale, [7])), g.constant(offset, [7]));
  const gripperSign = g.where(g.greater(norm, 0), 1, -1);
  const isGripper = g.constant(Uint8Array.from({ length: 7 }, (_, d) => (d === GRIPPER ? 1 : 0)), [7], 'bool');
  return { actions: g.where(isGripper, gripperSign, cont), binIds };
}

/** Batch-1 policy graph: `pixels` [1,3,S,S] + `tokens` [1,T] → `actions` [1,K,7], `bins` [1,K,7]. */
export function buildPolicyGraph(c0: StudentConfig, w0: Weights, stats: ActionStats, textLength: number) {
  const { config: c, weights } = mergeLora(c0, w0); // adapters folded into the frozen weights
  const g = new GraphBuilder({ training: false });
  const P = new StudentParams(g, c, weights, true);
  const pixels = g.input('pixels', 'float32', [1, 3, c.image.size, c.image.size]);
  const tokens = g.input('tokens', 'int64', [1, textLength]);
  const logits = triStreamHead(P, visionTower(P, pixels), textTower(P, tokens));
  const { actions, binIds } = decodeActions(g, logits, stats, c.head.bins);
  return { g, outputs: { actions, bins: binIds } };
}

/** The same policy split in two for the control loop: text features once per distinct text, then image → actions. */
export function buildSplitPolicyGraphs(c0: StudentConfig, w0: Weights, stats: ActionStats, textLength: number) {
  const { config: c, weights } = mergeLora(c0, w0);
  const gt = new GraphBuilder({ training: false });
  const Pt = new StudentParams(gt, c, weights, true);
  const text = textTower(Pt, gt.input('tokens', 'int64', [1, textLength]));
  const gi = new GraphBuilder({ training: false });
  const Pi = new StudentParams(gi, c, weights, true);
  const pixels = gi.input('pixels', 'float32', [1, 3, c.image.size, c.image.size]);
  const te = gi.input('text_embeds', 'float32', [1, c.embedDim]);
  const { actions, binIds } = decodeActions(gi, triStreamHead(Pi, visionTower(Pi, pixels), te), stats, c.head.bins);
  return { text: { g: gt, outputs: { text_embeds: text } }, image: { g: gi, outputs: { actions, bins: binIds } } };
}

/** Append metadata_props to a serialized ModelProto (protobuf repeated fields concatenate). */
function withMetadata(bytes: Uint8Array, props: Record<string, string>): Uint8Array {
  const extra = ModelProto.encode(ModelProto.fromObject({ metadataProps: Object.entries(props).map(([key, value]) => ({ key, value })) })).finish();
  const out = new Uint8Array(bytes.length + extra.length);
  out.set(bytes, 0);
  out.set(extra, bytes.length);
  return out;
}

export interface ExportInput {
  config: StudentConfig;
  weights: Weights;
  stats: ActionStats;
  textLength: number;
  rotate180: boolean;
  runId: string;
  /** What the student was trained on (PolicyMeta.trainedOn), when the exporter knows it. */
  trainedOn?: TrainedOn;
  /** A CLIP BPE student's tokenizer (from student.json): embedded in policy.onnx, so the file stands alone. */
  tokenizer?: ClipBpeTokenizer;
}

/** Read a trained student (student.safetensors + student.json from trainStudent). */
export function readTrainedStudent(dir: string): ExportInput {
  let meta: { config: unknown; stats: ActionStats; textLength: number; rotate180: boolean; runId: string; tokenizer?: unknown };
  const file = path.join(dir, 'student.json');
  try {
    meta = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new LabError('NOT_FOUND', `cannot read ${file}: ${(e as Error).message}`, { file });
  }
  const config = parseStudentConfig(meta.config);
  const tokenizer = meta.tokenizer === undefined ? undefined : clipTokenizerFromSpec(meta.tokenizer, file);
  return { config, weights: readWeights(path.join(dir, 'student.safetensors'), config), stats: meta.stats, textLength: meta.textLength, rotate180: meta.rotate180, runId: meta.runId, ...(tokenizer ? { tokenizer } : {}) };
}

/**
 * Write `policy.onnx` (weights inside, metadata in metadata_props under `vla_ad_policy`) and the same
 * metadata as `policy.json` beside it. Returns the metadata.
 */
export async function exportPolicy(s: ExportInput, outFile: string, opts: { int8?: boolean; quantizeMinElements?: number } = {}): Promise<PolicyMeta> {
  const { g, outputs } = buildPolicyGraph(s.config, s.weights, s.stats, s.textLength);
  // fp32: standard ops only; int8: DynamicQuantizeMatMul (com.microsoft, in every ORT CPU build)
  const model = emitOnnx(g, { outputs, contrib: false, graphName: 'vla_ad_policy' });
  if (opts.int8) model.bytes = quantizeInt8(model.bytes, { minElements: opts.quantizeMinElements }).bytes;
  if (model.externalData) throw new LabError('UNSUPPORTED', 'policy weights exceed one ModelProto; external data export is not implemented', {});
  const meta: PolicyMeta = {
    format: POLICY_FORMAT,
    runId: s.runId,
    config: s.config,
    stats: s.stats,
    bins: s.config.head.bins,
    chunk: s.config.head.chunk,
    textLength: s.textLength,
    preprocessing: { rotate180: s.rotate180, size: s.config.image.size, resize: 'lanczos3', pixels: 'RGB float 0..255, NCHW; CLIP mean/std applied inside the graph' },
    text: { tokenizer: s.config.text.tokenizer, separator: ' | ', modes: ['masked', 'phase'] },
    inputs: ['pixels', 'tokens'],
    outputs: ['actions', 'bins'],
    precision: opts.int8 ? 'int8 weights (per-column, symmetric), dynamic int8 activations' : 'fp32',
    ...(s.trainedOn ? { trainedOn: s.trainedOn } : {}),
  };
  // A BPE student's vocabulary and merges ride along (metadata `vla_ad_tokenizer`; not in policy.json, which stays small).
  const tokenizer: Record<string, string> = s.config.text.tokenizer === 'clip-bpe' && s.tokenizer ? { vla_ad_tokenizer: JSON.stringify(s.tokenizer.spec()) } : {};
  await writeFileAtomic(outFile, withMetadata(model.bytes, { vla_ad_policy: JSON.stringify(meta), ...tokenizer }));
  await writeJsonAtomic(outFile.replace(/\.onnx$/, '') + '.json', meta);
  return meta;
}
