import { existsSync, readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { ACTION_DIM } from '../data/episode.js';
import type { Image } from '../data/image.js';
import { LabError } from '../errors.js';
import { decodeModel, emitOnnx, selectExecutionProvider } from '../graph/index.js';
import { buildSplitPolicyGraphs, policyText, type ExportInput, type TextMode } from '../model/policy.js';
import { parsePolicyMeta, type PolicyMeta } from '../model/policy-meta.js';
import { framePixels } from '../model/preprocess.js';
import { quantizeInt8 } from '../model/quantize.js';
import { type ClipBpeTokenizer, clipTokenizerFromSpec, tokenizeRow, tokenizerFor, type TextTokenizer } from '../model/tokenizer.js';
import type { Phase } from '../phases/index.js';
import type { Observation, PhaseAwarePolicy, PolicyContext } from './types.js';

/**
 * The one student runtime: a student's graph on onnxruntime-node, from either source —
 * - `StudentRuntime.open(policy.onnx)`: the deployable file alone, exactly as a user outside the lab runs
 *   it (one session: pixels + tokens → actions, bins). Metadata (config, action stats, text length,
 *   preprocessing) from the model's own metadata_props (`vla_ad_policy`), else `policy.json` beside it.
 * - `StudentRuntime.fromWeights(trained student)`: the same network built in memory and split in two
 *   (text features once per distinct text, then image → actions each step), optionally int8.
 * Both answer `act(frame, text)` the same way (tested: identical actions), and `StudentOnnxPolicy` is
 * the Policy over either.
 *
 * Bad files fail at open, naming the file and the field: another format, action stats that are not 7-wide
 * (a policy trained for another action space) or not q01/q99 bounds (another normalization), a graph whose
 * declared `actions` output is not K×7 (checked again on every step for graphs with dynamic shapes).
 */
type MetadataProp = { key: string; value: string };
export type StudentEp = 'auto' | 'cpu' | 'cuda';

export interface StudentRuntimeOptions {
  tokenizerDir?: string;
  threads?: number;
  /**
   * Execution provider (default cpu): auto = CUDA where its provider loads, else the CPU; cuda = CUDA or a
   * typed UNSUPPORTED naming the missing pieces (graph/runtime.ts selectExecutionProvider). The one used is `ep`.
   */
  ep?: StudentEp;
  /**
   * Matmul precision of a policy.onnx (default fp32): int8 = its MatMuls rewritten to int8 weights at
   * load (model/quantize.ts; ≥ 99 % token agreement is `npm run bench -- int8`'s acceptance check);
   * auto = both timed at load on this CPU and the faster kept (int8 pays off only where the CPU's int8
   * GEMMs are fast, e.g. AVX-512 VNNI), said in the log and recorded (`precision`, `precisionTiming`).
   * Opt-in because it makes results depend on the machine; on CUDA auto keeps fp32 (the int8 op is CPU-only).
   */
  precision?: StudentPrecision;
  /** Where the EP and precision choices are said. */
  log?: (m: string) => void;
}
export type StudentPrecision = 'fp32' | 'int8' | 'auto';
export interface PrecisionTiming { fp32Ms: number; int8Ms: number; probes: number }

interface Backend {
  run(pixels: Float32Array, text: string): Promise<{ actions: Float32Array; bins: Float32Array }>;
  release(): Promise<void>;
}

async function session(model: string | Uint8Array, ep: 'cpu' | 'cuda', threads?: number): Promise<ort.InferenceSession> {
  const so: ort.InferenceSession.SessionOptions = { executionProviders: [ep], graphOptimizationLevel: 'all', executionMode: 'sequential', interOpNumThreads: 1, ...(threads ? { intraOpNumThreads: threads } : {}) };
  return typeof model === 'string' ? ort.InferenceSession.create(model, so) : ort.InferenceSession.create(model, so);
}

/** Inputs and outputs a policy.onnx session must have; a graph for another action space fails here, not mid-trial. */
function checkPolicySession(s: ort.InferenceSession, file: string): void {
  for (const name of ['pixels', 'tokens']) {
    if (!s.inputNames.includes(name)) throw new LabError('CORRUPT_FILE', `${file}: no input '${name}' (inputs: ${s.inputNames.join(', ')})`, { file, field: 'inputs' });
  }
  if (!s.outputNames.includes('actions')) throw new LabError('CORRUPT_FILE', `${file}: no output 'actions'`, { file, field: 'outputs' });
  const declared = s.outputMetadata?.find((o) => o.name === 'actions');
  const width = declared && declared.isTensor ? declared.shape.at(-1) : undefined;
  if (typeof width === 'number' && width !== ACTION_DIM) {
    throw new LabError('SHAPE_MISMATCH', `${file}: field outputs.actions: the graph's actions are ${width}-wide ([${declared!.isTensor ? declared!.shape.join(', ') : ''}]), this protocol drives ${ACTION_DIM}-D actions`, { file, field: 'outputs.actions', width });
  }
}

const PROBES = 5;
/** Median ms of one step of each session on the same probe input, the two interleaved (a noisy machine moves both alike). */
async function timeBoth(a: ort.InferenceSession, b: ort.InferenceSession, feeds: () => Record<string, ort.Tensor>): Promise<[number, number]> {
  for (const s of [a, b]) for (let i = 0; i < 2; i++) await s.run(feeds()); // first calls allocate
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < PROBES; i++) {
    for (const [s, out] of [[a, ta], [b, tb]] as const) {
      const t0 = performance.now();
      await s.run(feeds());
      out.push(performance.now() - t0);
    }
  }
  const med = (x: number[]) => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)];
  return [med(ta), med(tb)];
}

export class StudentRuntime {
  /** The matmul precision this runtime runs at, and, when it was chosen at load (`auto`), what was measured. */
  precision: 'fp32' | 'int8' = 'fp32';
  precisionTiming: PrecisionTiming | null = null;
  private constructor(
    /** The policy.onnx file, or a label for an in-memory student. */
    readonly source: string,
    readonly meta: Pick<PolicyMeta, 'runId' | 'config' | 'textLength' | 'trainedOn'> & { rotate180: boolean },
    readonly ep: 'cpu' | 'cuda',
    private readonly tok: TextTokenizer,
    private readonly backend: Backend,
  ) {}

  /** The student's token row for a text (its tokenizer, padded or cut to the text length). */
  tokens(text: string): BigInt64Array {
    return tokenizeRow(this.tok, text, this.meta.textLength);
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
  static embeddedTokenizer(file: string, props: MetadataProp[] = StudentRuntime.metadataProps(file)): ClipBpeTokenizer | undefined {
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

  static readMeta(file: string, props: MetadataProp[] = StudentRuntime.metadataProps(file)): PolicyMeta {
    let meta: unknown;
    try {
      const own = props.find((p) => p.key === 'vla_ad_policy');
      const beside = file.replace(/\.onnx$/, '') + '.json';
      meta = own ? JSON.parse(own.value) : existsSync(beside) ? JSON.parse(readFileSync(beside, 'utf8')) : null;
    } catch (e) {
      throw new LabError('CORRUPT_FILE', `student policy ${file}: cannot read its metadata: ${(e as Error).message}`, { file });
    }
    return parsePolicyMeta(meta, file);
  }

  /** Open a deployable policy.onnx. */
  static async open(file: string, opts: StudentRuntimeOptions = {}): Promise<StudentRuntime> {
    const props = StudentRuntime.metadataProps(file);
    const meta = StudentRuntime.readMeta(file, props);
    const tok = tokenizerFor(meta.config, opts.tokenizerDir ?? StudentRuntime.embeddedTokenizer(file, props));
    const { ep } = await selectExecutionProvider(opts.ep ?? 'cpu', opts.log);
    const L = meta.textLength;
    const feeds = (pixels: Float32Array, text: string) => {
      const S = meta.config.image.size;
      return { pixels: new ort.Tensor('float32', pixels, [1, 3, S, S]), tokens: new ort.Tensor('int64', tokenizeRow(tok, text, L), [1, L]) };
    };
    const want = opts.precision ?? 'fp32';
    let s = await session(want === 'int8' ? quantizeInt8(readFileSync(file)).bytes : file, ep, opts.threads ?? 1);
    checkPolicySession(s, file);
    let precision: 'fp32' | 'int8' = want === 'int8' ? 'int8' : 'fp32';
    let timing: PrecisionTiming | null = null;
    if (want === 'auto' && ep === 'cuda') opts.log?.(`${file}: precision auto on CUDA keeps fp32 (the int8 matmul op runs on the CPU only)`);
    else if (want === 'auto') {
      const q = await session(quantizeInt8(readFileSync(file)).bytes, ep, opts.threads ?? 1);
      const probe = new Float32Array(3 * meta.config.image.size ** 2).fill(127);
      const [fp32Ms, int8Ms] = await timeBoth(s, q, () => feeds(probe, 'probe'));
      timing = { fp32Ms, int8Ms, probes: PROBES };
      const faster = int8Ms < fp32Ms ? 'int8' : 'fp32';
      await (faster === 'int8' ? s : q).release();
      if (faster === 'int8') s = q;
      precision = faster;
      opts.log?.(`${file}: precision auto: fp32 ${fp32Ms.toFixed(1)} ms, int8 ${int8Ms.toFixed(1)} ms per step on this CPU (median of ${PROBES}): running ${faster}`);
    }
    const session0 = s;
    const backend: Backend = {
      async run(pixels, text) {
        const out = await session0.run(feeds(pixels, text));
        const a = out.actions;
        if (a.dims.at(-1) !== ACTION_DIM) throw new LabError('SHAPE_MISMATCH', `${file}: actions have shape [${a.dims.join(', ')}], expected [1, K, ${ACTION_DIM}]`, { file, field: 'actions' });
        return { actions: Float32Array.from(a.data as Float32Array), bins: out.bins ? Float32Array.from(out.bins.data as Float32Array) : new Float32Array(0) };
      },
      release: () => session0.release(),
    };
    const rt = new StudentRuntime(file, { ...meta, rotate180: meta.preprocessing.rotate180 }, ep, tok, backend);
    rt.precision = precision;
    rt.precisionTiming = timing;
    return rt;
  }

  /** A trained student (weights in memory), text features cached per distinct text; `int8` quantizes the image path. */
  static async fromWeights(st: ExportInput, opts: StudentRuntimeOptions & { int8?: boolean; quantizeMinElements?: number } = {}): Promise<StudentRuntime> {
    const tok: TextTokenizer = tokenizerFor(st.config, opts.tokenizerDir ?? st.tokenizer);
    const { ep } = await selectExecutionProvider(opts.ep ?? 'cpu', opts.log);
    const gr = buildSplitPolicyGraphs(st.config, st.weights, st.stats, st.textLength);
    const textBytes = emitOnnx(gr.text.g, { outputs: gr.text.outputs, contrib: true, graphName: 'policy_text' }).bytes;
    let imageBytes = emitOnnx(gr.image.g, { outputs: gr.image.outputs, contrib: true, graphName: 'policy_image' }).bytes;
    if (opts.int8) imageBytes = quantizeInt8(imageBytes, { minElements: opts.quantizeMinElements }).bytes;
    const text = await session(textBytes, ep, opts.threads);
    const image = await session(imageBytes, ep, opts.threads);
    const cache = new Map<string, Float32Array>();
    const L = st.textLength;
    const backend: Backend = {
      async run(pixels, t) {
        let f = cache.get(t);
        if (!f) {
          const out = await text.run({ tokens: new ort.Tensor('int64', tokenizeRow(tok, t, L), [1, L]) });
          f = Float32Array.from(out.text_embeds.data as Float32Array);
          cache.set(t, f);
        }
        const S = st.config.image.size;
        const out = await image.run({ pixels: new ort.Tensor('float32', pixels, [1, 3, S, S]), text_embeds: new ort.Tensor('float32', f, [1, st.config.embedDim]) });
        return { actions: out.actions.data as Float32Array, bins: out.bins.data as Float32Array };
      },
      async release() {
        await text.release();
        await image.release();
      },
    };
    return new StudentRuntime(`student ${st.runId}`, { runId: st.runId, config: st.config, textLength: st.textLength, rotate180: st.rotate180, trainedOn: st.trainedOn }, ep, tok, backend);
  }

  /** One control step: an HWC uint8 camera frame (dataset orientation) and its text → K×7 actions and their bins. */
  async act(frame: Image, text: string): Promise<{ actions: Float32Array; bins: Float32Array }> {
    return this.actPixels(framePixels(frame, this.meta.config, { rotate180: this.meta.rotate180 }), text);
  }

  actPixels(pixels: Float32Array, text: string): Promise<{ actions: Float32Array; bins: Float32Array }> {
    return this.backend.run(pixels, text);
  }

  release(): Promise<void> {
    return this.backend.release();
  }
}

/**
 * The student as a closed-loop policy. Test-time text (`textMode`): `masked` = the instruction alone;
 * `phase` = instruction + the phase label the runner's online, proprioception-only classifier gives the
 * current frame (setPhase). The label is the 9-phase name, which is also the 9-phase taxonomy's label.
 */
export class StudentOnnxPolicy implements PhaseAwarePolicy {
  readonly name: string;
  readonly wantsPhase = true as const;
  private instruction = '';
  private phase: Phase = 'idle';

  constructor(
    readonly runtime: StudentRuntime,
    readonly textMode: TextMode,
  ) {
    this.name = `student:${runtime.meta.runId}:${textMode}`;
  }

  /** A policy.onnx as a policy. */
  static async create(file: string, opts: StudentRuntimeOptions & { textMode?: TextMode } = {}): Promise<StudentOnnxPolicy> {
    return new StudentOnnxPolicy(await StudentRuntime.open(file, opts), opts.textMode ?? 'masked');
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
    const r = await this.runtime.act({ data: obs.agentview_rgb, height: obs.imageSize.height, width: obs.imageSize.width, channels: 3 }, this.text);
    return Float32Array.from(r.actions);
  }

  async close(): Promise<void> {
    await this.runtime.release();
  }
}

export interface Int8Agreement {
  frames: number;
  /** Share of next-action tokens (k = 0, 7 dims) equal between int8 and fp32. */
  tokenAgreement: number;
  /** Share of frames whose 7 next-action tokens are all equal. */
  frameAgreement: number;
}

/**
 * How often the int8 policy's next-action tokens agree with fp32's on the given frames (the acceptance
 * check for the int8 export: ≥ 99 % on validation frames). Frames are HWC uint8 camera images in dataset
 * orientation with their student text.
 */
export async function measureInt8Agreement(s: ExportInput, frames: { image: Image; text: string }[], opts: { threads?: number; quantizeMinElements?: number; tokenizerDir?: string } = {}): Promise<Int8Agreement> {
  if (!frames.length) throw new LabError('INVALID_INPUT', 'int8 agreement needs at least one frame', { field: 'frames' });
  const fp = await StudentRuntime.fromWeights(s, opts);
  const q = await StudentRuntime.fromWeights(s, { ...opts, int8: true });
  let tokens = 0;
  let whole = 0;
  try {
    for (const f of frames) {
      const a = await fp.act(f.image, f.text);
      const b = await q.act(f.image, f.text);
      let same = 0;
      for (let d = 0; d < 7; d++) same += a.bins[d] === b.bins[d] ? 1 : 0;
      tokens += same;
      whole += same === 7 ? 1 : 0;
    }
  } finally {
    await fp.release();
    await q.release();
  }
  return { frames: frames.length, tokenAgreement: tokens / (7 * frames.length), frameAgreement: whole / frames.length };
}
