import { existsSync, readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { ACTION_DIM } from '../data/episode.js';
import { LabError } from '../errors.js';
import { decodeModel } from '../graph/index.js';
import { policyText, type PolicyMeta, type TextMode } from '../model/policy.js';
import { framePixels } from '../model/preprocess.js';
import { type ClipBpeTokenizer, clipTokenizerFromSpec, tokenizeRow, tokenizerFor, type TextTokenizer } from '../model/tokenizer.js';
import type { Phase } from '../phases/index.js';
import type { Observation, PolicyContext } from '../teacher/policy.js';
import type { PhaseAwarePolicy } from './runner.js';


type MetadataProp = { key: string; value: string };
/**
 * The action normalization a policy declares must be the one this lab's policies use: per-dimension
 * 1st/99th percentile bounds (q01, q99) over the 7 action dimensions, finite, q01 ≤ q99 (OpenVLA's
 * BOUNDS_Q99; the graph un-normalizes with them). Anything else is refused at load, naming the file and the field.
 */
function checkNormalization(file: string, stats: Partial<PolicyMeta['stats']> | undefined): void {
  const fail = (code: 'SHAPE_MISMATCH' | 'UNSUPPORTED' | 'CORRUPT_FILE', field: string, why: string, extra: Record<string, unknown> = {}) =>
    new LabError(code, `${file}: field ${field}: ${why}`, { file, field, ...extra });
  if (!stats || typeof stats !== 'object') throw fail('CORRUPT_FILE', 'stats', 'no action normalization statistics');
  for (const key of ['q01', 'q99'] as const) {
    const v = stats[key];
    if (!Array.isArray(v)) throw fail('UNSUPPORTED', `stats.${key}`, `no ${key} bound: the actions are normalized another way (${Object.keys(stats).join(', ') || 'no fields'}); a VLA-AD policy un-normalizes with per-dimension 1st/99th percentile bounds (q01, q99)`);
    if (v.length !== ACTION_DIM) throw fail('SHAPE_MISMATCH', `stats.${key}`, `action normalization is ${v.length}-wide, this protocol drives ${ACTION_DIM}-D actions (a policy for another action space)`, { width: v.length });
    const bad = v.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x));
    if (bad >= 0) throw fail('CORRUPT_FILE', `stats.${key}[${bad}]`, `not a finite number (${JSON.stringify(v[bad])})`);
  }
  const inverted = stats.q01!.findIndex((lo, d) => lo > stats.q99![d]);
  if (inverted >= 0) throw fail('CORRUPT_FILE', `stats.q99[${inverted}]`, `upper bound ${stats.q99![inverted]} is below the lower bound stats.q01[${inverted}] = ${stats.q01![inverted]}`);
}

/**
 * The student's exported `policy.onnx` (model/policy.ts exportPolicy) as an evaluation policy: the
 * deployable file alone, run by onnxruntime-node, exactly as a user outside the lab would run it.
 * Metadata (config, action stats, text length, preprocessing) come from the model's own metadata_props
 * (`vla_ad_policy`), else from `policy.json` beside it.
 *
 * Test-time text (`textMode`): `masked` = the instruction alone; `phase` = instruction + the phase label
 * the runner's online, proprioception-only classifier gives the current frame (runner.ts setPhase). The
 * label is the 9-phase name, which is also the 9-phase taxonomy's label (the default one).
 *
 * Bad files fail at load, naming the file and the field: another format, action stats that are not 7-wide
 * (a policy trained for another action space) or not q01/q99 bounds (another normalization), a graph whose
 * declared `actions` output is not K×7 (checked again on every step for graphs with dynamic shapes).
 */
export class StudentOnnxPolicy implements PhaseAwarePolicy {
  readonly name: string;
  readonly wantsPhase = true as const;
  private instruction = '';
  private phase: Phase = 'idle';

  private constructor(
    readonly file: string,
    readonly meta: PolicyMeta,
    readonly textMode: TextMode,
    private readonly tok: TextTokenizer,
    private readonly session: ort.InferenceSession,
  ) {
    this.name = `student:${meta.runId}:${textMode}`;
  }

  /** The file's metadata_props, decoded once per open (readMeta and embeddedTokenizer share them). */
  static metadataProps(file: string): MetadataProp[] {
    if (!existsSync(file)) throw new LabError('NOT_FOUND', `student policy ${file} does not exist`, { field: 'spec', file });
    try {
      return (decodeModel(readFileSync(file)).metadataProps ?? []) as MetadataProp[];
    } catch (e) {
      throw new LabError('CORRUPT_FILE', `student policy ${file}: cannot read its metadata: ${(e as Error).message}`, { file });
    }
  }

  /** The CLIP BPE tokenizer embedded by exportPolicy (metadata `vla_ad_tokenizer`), if any. */
  static embeddedTokenizer(file: string, props: MetadataProp[] = StudentOnnxPolicy.metadataProps(file)): ClipBpeTokenizer | undefined {
    const own = props.find((p) => p.key === 'vla_ad_tokenizer');
    if (!own) return undefined;
    let spec: unknown;
    try {
      spec = JSON.parse(own.value);
    } catch (e) {
      throw new LabError('CORRUPT_FILE', `${file}: metadata vla_ad_tokenizer: ${(e as Error).message}`, { file, field: 'vla_ad_tokenizer' });
    }
    return clipTokenizerFromSpec(spec, file);
  }

  static readMeta(file: string, props: MetadataProp[] = StudentOnnxPolicy.metadataProps(file)): PolicyMeta {
    let meta: unknown;
    try {
      const own = props.find((p) => p.key === 'vla_ad_policy');
      const beside = file.replace(/\.onnx$/, '') + '.json';
      meta = own ? JSON.parse(own.value) : existsSync(beside) ? JSON.parse(readFileSync(beside, 'utf8')) : null;
    } catch (e) {
      throw new LabError('CORRUPT_FILE', `student policy ${file}: cannot read its metadata: ${(e as Error).message}`, { file });
    }
    const m = meta as Partial<PolicyMeta> | null;
    if (!m || m.format !== 'vla-ad-policy/1') throw new LabError('CORRUPT_FILE', `${file} is not a VLA-AD policy (no vla_ad_policy/1 metadata)`, { file, field: 'format' });
    checkNormalization(file, m.stats);
    if (!m.config || !m.textLength || !m.preprocessing) throw new LabError('CORRUPT_FILE', `${file}: metadata lacks config/textLength/preprocessing`, { file });
    return m as PolicyMeta;
  }

  static async create(file: string, opts: { textMode?: TextMode; tokenizerDir?: string; threads?: number } = {}): Promise<StudentOnnxPolicy> {
    const props = StudentOnnxPolicy.metadataProps(file);
    const meta = StudentOnnxPolicy.readMeta(file, props);
    const tok = tokenizerFor(meta.config, opts.tokenizerDir ?? StudentOnnxPolicy.embeddedTokenizer(file, props));
    const session = await ort.InferenceSession.create(file, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      interOpNumThreads: 1,
      intraOpNumThreads: opts.threads ?? 1,
    });
    for (const name of ['pixels', 'tokens']) {
      if (!session.inputNames.includes(name)) throw new LabError('CORRUPT_FILE', `${file}: no input '${name}' (inputs: ${session.inputNames.join(', ')})`, { file, field: 'inputs' });
    }
    if (!session.outputNames.includes('actions')) throw new LabError('CORRUPT_FILE', `${file}: no output 'actions'`, { file, field: 'outputs' });
    // The graph's own output width, where the file declares it (a graph for another action space fails here, not mid-trial).
    const declared = session.outputMetadata?.find((o) => o.name === 'actions');
    const width = declared && declared.isTensor ? declared.shape.at(-1) : undefined;
    if (typeof width === 'number' && width !== ACTION_DIM) {
      throw new LabError('SHAPE_MISMATCH', `${file}: field outputs.actions: the graph's actions are ${width}-wide ([${declared!.isTensor ? declared!.shape.join(', ') : ''}]), this protocol drives ${ACTION_DIM}-D actions`, { file, field: 'outputs.actions', width });
    }
    return new StudentOnnxPolicy(file, meta, opts.textMode ?? 'masked', tok, session);
  }

  setPhase(phase: Phase): void {
    this.phase = phase;
  }

  async reset(ctx: PolicyContext): Promise<void> {
    this.instruction = ctx.instruction;
    this.phase = 'idle';
  }

  /** The text the policy is conditioned on right now. */
  get text(): string {
    return policyText(this.textMode, this.instruction, this.phase);
  }

  async act(obs: Observation): Promise<Float32Array> {
    const c = this.meta.config;
    const S = c.image.size;
    const pixels = framePixels({ data: obs.agentview_rgb, height: obs.imageSize.height, width: obs.imageSize.width, channels: 3 }, c, { rotate180: this.meta.preprocessing.rotate180 });
    const out = await this.session.run({
      pixels: new ort.Tensor('float32', pixels, [1, 3, S, S]),
      tokens: new ort.Tensor('int64', tokenizeRow(this.tok, this.text, this.meta.textLength), [1, this.meta.textLength]),
    });
    const a = out.actions;
    if (a.dims.at(-1) !== ACTION_DIM) throw new LabError('SHAPE_MISMATCH', `${this.file}: actions have shape [${a.dims.join(', ')}], expected [1, K, ${ACTION_DIM}]`, { file: this.file, field: 'actions' });
    return Float32Array.from(a.data as Float32Array);
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
