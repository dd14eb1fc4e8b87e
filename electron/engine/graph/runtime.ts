import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { z } from 'zod';
import { LabError, parseOr } from '../errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { Rng } from '../util/rng.js';
import { GraphBuilder } from './builder.js';
import { type EmittedModel, emitOnnx } from './emit.js';
import type { Dim, Tensor } from './ir.js';
import { type TrainGraph, stateName } from './optim.js';
import { readSafetensors, writeSafetensors } from './safetensors.js';
import { CUDA_INSTALL_HINT, type CudaReadiness, cudaMissingMessage, cudaReadiness } from './cuda-provider.js';

export type EpName = 'cpu' | 'cuda';

export interface RuntimeOptions {
  /** 'auto' (default): CUDA when its provider loads, else CPU. */
  ep?: 'auto' | EpName;
  /** Intra-op threads (default: ORT's choice). Fix it for reproducible CPU timings and results. */
  threads?: number;
  /** Allow com.microsoft fused ops (default true). */
  contrib?: boolean;
  /** Seed for dropout masks; recorded in checkpoints. */
  seed?: number;
  /** Where EP choices and other facts are reported (default: none). */
  log?: (msg: string) => void;
  /** Folder for the model + weights.bin when frozen weights go to external data (default: a temp folder). Small models load from memory. */
  modelDir?: string;
  externalDataThreshold?: number;
}

/** What selectExecutionProvider decided: the EP used, the one asked for, and why (for the job log). */
export interface EpChoice {
  ep: EpName;
  requested: 'auto' | EpName;
  reason: string;
}

/** Injectable for tests: the readiness check and the try-create of a CUDA session. */
export interface EpProbes {
  readiness?: () => CudaReadiness;
  /** Resolves when a CUDA session can be created here, rejects with ORT's error otherwise. */
  tryCuda?: () => Promise<void>;
}

type CudaProbe = { ok: true } | { ok: false; readiness: CudaReadiness; loadError?: string };
let cudaProbe: Promise<CudaProbe> | null = null;

/** A one-node model, to probe whether an execution provider really loads here. */
function probeModel(): Uint8Array {
  const g = new GraphBuilder();
  const x = g.input('x', 'float32', [1]);
  return emitOnnx(g, { outputs: { y: g.neg(x) } }).bytes;
}

async function tryCudaSession(): Promise<void> {
  const s = await ort.InferenceSession.create(probeModel(), { executionProviders: ['cuda'] });
  await s.release();
}

async function probeCuda(probes: EpProbes): Promise<CudaProbe> {
  const readiness = (probes.readiness ?? cudaReadiness)();
  if (!readiness.ready) return { ok: false, readiness };
  try {
    await (probes.tryCuda ?? tryCudaSession)();
    return { ok: true };
  } catch (e) {
    return { ok: false, readiness, loadError: (e as Error).message.split('\n')[0].slice(0, 400) };
  }
}

/**
 * The execution provider to use for a preference: `cpu` → CPU; `auto` → CUDA when every piece is there
 * (cuda-provider.ts cudaReadiness) and a CUDA session really creates, else CPU, saying which piece is
 * missing; `cuda` → CUDA, or a LabError('UNSUPPORTED') at once that names each missing piece, where it
 * was looked for and how to install it. The probe runs once per process (unless probes are injected);
 * every call with a `log` says what was chosen and why.
 */
export async function selectExecutionProvider(pref: 'auto' | EpName = 'auto', log?: (m: string) => void, probes?: EpProbes): Promise<EpChoice> {
  let choice: EpChoice;
  if (pref === 'cpu') choice = { ep: 'cpu', requested: pref, reason: 'ep cpu requested' };
  else {
    const probe = probes ? await probeCuda(probes) : await (cudaProbe ??= probeCuda({}));
    if (probe.ok) choice = { ep: 'cuda', requested: pref, reason: `CUDA execution provider loaded (${pref === 'auto' ? 'ep auto' : 'ep cuda requested'})` };
    else if (pref === 'cuda') {
      const r = probe.readiness;
      const message = probe.loadError
        ? `ep 'cuda': every CUDA piece is present (${r.summary}), but ONNX Runtime could not create a CUDA session: ${probe.loadError}. Check the GPU (nvidia-smi), the driver's CUDA version (≥ 12) and that cuDNN 9 matches CUDA 12; or use ep 'cpu' (or 'auto').`
        : cudaMissingMessage(r);
      throw new LabError('UNSUPPORTED', message, { field: 'ep', ep: 'cuda', missing: r.missing.map((m) => m.id), pieces: r.pieces.map(({ id, ok, detail }) => ({ id, ok, detail })), ...(probe.loadError ? { loadError: probe.loadError } : {}), install: CUDA_INSTALL_HINT });
    } else {
      const why = probe.loadError ? `every CUDA piece is present but a CUDA session did not create (${probe.loadError})` : `CUDA is not ready here (missing: ${probe.readiness.missing.map((m) => m.name).join(', ')}; npm run install:cuda, CUDA 12 + cuDNN 9; vla-ad doctor lists each piece)`;
      choice = { ep: 'cpu', requested: pref, reason: `ep auto: ${why}; using the CPU` };
    }
  }
  log?.(`execution provider: ${choice.ep} — ${choice.reason}`);
  return choice;
}

async function createSession(model: EmittedModel, opts: RuntimeOptions, name: string): Promise<{ session: ort.InferenceSession; ep: EpName }> {
  const { ep } = await selectExecutionProvider(opts.ep ?? 'auto', opts.log);
  const so: ort.InferenceSession.SessionOptions = {
    executionProviders: [ep],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    interOpNumThreads: 1,
    ...(opts.threads ? { intraOpNumThreads: opts.threads } : {}),
  };
  try {
    if (model.externalData) {
      // weights too big for one ModelProto: write the model and its data file side by side, load by path
      const dir = opts.modelDir ?? path.join(os.tmpdir(), `vla-ad-graph-${process.pid}`);
      mkdirSync(dir, { recursive: true });
      const file = path.join(dir, `${name}.onnx`);
      await writeFileAtomic(path.join(dir, model.externalData.path), model.externalData.data);
      await writeFileAtomic(file, model.bytes);
      return { session: await ort.InferenceSession.create(file, so), ep };
    }
    return { session: await ort.InferenceSession.create(model.bytes, so), ep };
  } catch (e) {
    throw new LabError('INTERNAL', `onnxruntime rejected the emitted ${name} model: ${(e as Error).message}`, { name }, { cause: e });
  }
}

export type Feed = ort.Tensor | { data: Float32Array | BigInt64Array | Int32Array | Uint8Array; dims: number[] };

function toOrt(name: string, f: Feed): ort.Tensor {
  if (f instanceof ort.Tensor) return f;
  const d = f.data;
  const type = d instanceof Float32Array ? 'float32' : d instanceof BigInt64Array ? 'int64' : d instanceof Int32Array ? 'int32' : 'bool';
  try {
    return new ort.Tensor(type, d, f.dims);
  } catch (e) {
    throw new LabError('SHAPE_MISMATCH', `feed ${name}: ${(e as Error).message}`, { name, dims: f.dims });
  }
}

/** Bind symbolic dims from the fed tensors, and check every static dim. */
function bindDims(model: EmittedModel, feeds: Record<string, ort.Tensor>): Map<string, number> {
  const b = new Map<string, number>();
  for (const i of model.inputs) {
    const t = feeds[i.name];
    if (!t) continue;
    if (t.dims.length !== i.shape.length) throw new LabError('SHAPE_MISMATCH', `input ${i.name}: rank ${t.dims.length}, graph expects [${i.shape}]`, { name: i.name, dims: t.dims, expected: i.shape });
    i.shape.forEach((d, k) => {
      const got = t.dims[k];
      if (typeof d === 'number') {
        if (d !== got) throw new LabError('SHAPE_MISMATCH', `input ${i.name}: dims [${t.dims}], graph expects [${i.shape}]`, { name: i.name, dims: t.dims, expected: i.shape });
      } else if (b.has(d) && b.get(d) !== got) throw new LabError('SHAPE_MISMATCH', `input ${i.name}: dim ${d} is ${got} here but ${b.get(d)} elsewhere`, { name: i.name });
      else b.set(d, got);
    });
  }
  return b;
}

function resolve(shape: Dim[], b: Map<string, number>, what: string): number[] {
  // a dim may be a product such as 'B*64' (from a reshape with -1)
  return shape.map((d) =>
    typeof d === 'number' ? d : d.split('*').reduce((p, part) => {
      const v = /^\d+$/.test(part) ? Number(part) : b.get(part);
      if (v === undefined) throw new LabError('INVALID_INPUT', `${what}: symbolic dim ${part} is not bound by any fed input`, { dim: d });
      return p * v;
    }, 1),
  );
}

/** Inverted-dropout mask: 0 or 1/(1−p). Bulk numbers come from a 32-bit generator seeded by the Rng stream. */
function dropoutMask(rng: Rng, n: number, p: number): Float32Array {
  let s = Number(rng.nextU64() & 0xffffffffn) >>> 0;
  const keep = 1 / (1 - p);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    // mulberry32
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = u >= p ? keep : 0;
  }
  return out;
}

export interface TrainStepResult {
  loss: number;
  gradNorm: number;
  /** The user's extra outputs (e.g. logits). */
  outputs: Record<string, ort.Tensor>;
}

const sidecarSchema = z.object({
  format: z.literal('vla-ad-graph-checkpoint/1'),
  step: z.number().int().nonnegative(),
  seed: z.number(),
  config: z.unknown(),
  tensors: z.array(z.object({ name: z.string(), shape: z.array(z.number().int()) })),
});

/**
 * Runs a train-step graph step after step. Trainable params and AdamW moments live here as ORT tensors:
 * each step's `next:` outputs become the next step's inputs as they are (no copy beyond ORT's own
 * output buffers). A step whose loss or gradient norm is not finite is rejected and the state kept.
 */
export class TrainSession {
  private constructor(
    readonly graph: TrainGraph,
    readonly model: EmittedModel,
    private readonly session: ort.InferenceSession,
    readonly ep: EpName,
    private state: Map<string, ort.Tensor>,
    readonly seed: number,
  ) {}
  /** Completed steps. */
  stepCount = 0;

  static async create(graph: TrainGraph, opts: RuntimeOptions = {}): Promise<TrainSession> {
    const names = new Set(graph.trainable.map((p) => p.name));
    const model = emitOnnx(graph.builder, { outputs: graph.outputs, paramInputs: names, contrib: opts.contrib, externalDataThreshold: opts.externalDataThreshold, graphName: 'train_step' });
    const { session, ep } = await createSession(model, opts, 'train_step');
    const state = new Map<string, ort.Tensor>();
    for (const p of graph.trainable) {
      state.set(p.name, new ort.Tensor('float32', Float32Array.from(p.init), p.shape));
      state.set(stateName.m(p.name), new ort.Tensor('float32', new Float32Array(p.init.length), p.shape));
      state.set(stateName.v(p.name), new ort.Tensor('float32', new Float32Array(p.init.length), p.shape));
    }
    return new TrainSession(graph, model, session, ep, state, opts.seed ?? 0);
  }

  /** One forward + backward + AdamW step with learning rate `lr`. */
  async step(batch: Record<string, Feed>, lr: number): Promise<TrainStepResult> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(batch)) feeds[k] = toOrt(k, v);
    for (const [k, v] of this.state) feeds[k] = v;
    feeds.lr = new ort.Tensor('float32', Float32Array.of(lr), []);
    feeds.step = new ort.Tensor('float32', Float32Array.of(this.stepCount + 1), []);
    const dims = bindDims(this.model, feeds);
    // one Rng stream per step and site: the same seed gives the same masks, also after a resume
    const rng = new Rng(this.seed).fork(`dropout:${this.stepCount}`);
    for (const d of this.graph.builder.dropouts) {
      const shape = resolve([...d.tensor.shape], dims, d.name);
      feeds[d.name] = new ort.Tensor('float32', dropoutMask(rng.fork(d.name), shape.reduce((a, b) => a * b, 1), d.p), shape);
    }
    const missing = this.session.inputNames.filter((n) => !feeds[n]);
    if (missing.length) throw new LabError('INVALID_INPUT', `train step: missing inputs ${missing.join(', ')}`, { missing });
    const used: Record<string, ort.Tensor> = {};
    for (const n of this.session.inputNames) used[n] = feeds[n];
    const out = await this.session.run(used);
    const loss = (out.loss.data as Float32Array)[0];
    const gradNorm = (out.grad_norm.data as Float32Array)[0];
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      throw new LabError('NON_FINITE', `non-finite ${Number.isFinite(loss) ? 'gradient norm' : 'loss'} at step ${this.stepCount + 1} (loss ${loss}, grad norm ${gradNorm}); step rejected, parameters kept`, { step: this.stepCount + 1, loss, gradNorm });
    }
    for (const k of this.state.keys()) this.state.set(k, out[stateName.next(k)]);
    this.stepCount++;
    const outputs: Record<string, ort.Tensor> = {};
    for (const k of Object.keys(this.graph.outputs)) if (k !== 'loss' && k !== 'grad_norm' && !k.startsWith('next:')) outputs[k] = out[k];
    return { loss, gradNorm, outputs };
  }

  /** Frees the native session. */
  async dispose(): Promise<void> {
    await this.session.release();
  }

  /** Current values of the trainable params (views of the state, not copies). */
  paramValues(): Map<string, Float32Array> {
    return new Map(this.graph.trainable.map((p) => [p.name, this.state.get(p.name)!.data as Float32Array]));
  }

  stateTensor(name: string): ort.Tensor | undefined {
    return this.state.get(name);
  }

  /** Writes `<prefix>.safetensors` (params + moments) and `<prefix>.json` (step, seed, config, names/shapes). */
  async save(prefix: string, config: unknown = {}): Promise<void> {
    const tensors: Record<string, { data: Float32Array; shape: number[] }> = {};
    for (const [k, v] of this.state) tensors[k] = { data: v.data as Float32Array, shape: [...v.dims] };
    await writeSafetensors(`${prefix}.safetensors`, tensors, { format: 'vla-ad-graph-checkpoint/1', step: String(this.stepCount) });
    await writeJsonAtomic(`${prefix}.json`, {
      format: 'vla-ad-graph-checkpoint/1',
      step: this.stepCount,
      seed: this.seed,
      config: { adamw: this.graph.config, user: config },
      tensors: [...this.state].map(([name, t]) => ({ name, shape: [...t.dims] })),
    });
  }

  /** Restores a checkpoint written by `save` for this same graph; anything else is refused, state untouched. */
  async load(prefix: string): Promise<{ step: number; seed: number; config: unknown }> {
    const jsonFile = `${prefix}.json`;
    if (!existsSync(jsonFile)) throw new LabError('NOT_FOUND', `checkpoint sidecar ${jsonFile} does not exist`, { file: jsonFile });
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(jsonFile, 'utf8'));
    } catch (e) {
      throw new LabError('CORRUPT_FILE', `checkpoint sidecar ${jsonFile}: ${(e as Error).message}`, { file: jsonFile });
    }
    const meta = parseOr(sidecarSchema, raw, `checkpoint sidecar ${jsonFile}`, 'CORRUPT_FILE', { file: jsonFile });
    const { tensors } = readSafetensors(`${prefix}.safetensors`);
    const missing: string[] = [];
    const wrongShape: string[] = [];
    for (const [k, v] of this.state) {
      const t = tensors.get(k);
      if (!t) missing.push(k);
      else if (t.dtype !== 'F32' || t.shape.join(',') !== v.dims.join(',')) wrongShape.push(`${k}: [${t.shape}] ${t.dtype} vs [${v.dims}] F32`);
    }
    const unexpected = [...tensors.keys()].filter((k) => !this.state.has(k));
    if (missing.length || wrongShape.length || unexpected.length) {
      throw new LabError('SHAPE_MISMATCH', `checkpoint ${prefix} is from another graph: missing [${missing.slice(0, 10).join(', ')}], unexpected [${unexpected.slice(0, 10).join(', ')}], shape differs [${wrongShape.slice(0, 10).join('; ')}]`, { file: prefix, missing, unexpected, wrongShape });
    }
    for (const k of [...this.state.keys()]) {
      const t = tensors.get(k)!;
      this.state.set(k, new ort.Tensor('float32', t.data as Float32Array, t.shape));
    }
    this.stepCount = meta.step;
    return { step: meta.step, seed: meta.seed, config: meta.config };
  }
}

/**
 * Runs a forward graph. Every param is baked in as an initializer (frozen weights get folded by ORT's
 * optimizer); pass `paramValues` (e.g. TrainSession.paramValues()) to use trained values.
 */
export class InferSession {
  private constructor(
    readonly model: EmittedModel,
    private readonly session: ort.InferenceSession,
    readonly ep: EpName,
    private readonly dropouts: ReadonlyMap<string, Dim[]>,
  ) {}

  static async create(g: GraphBuilder, outputs: Record<string, Tensor>, opts: RuntimeOptions & { paramValues?: ReadonlyMap<string, Float32Array> } = {}): Promise<InferSession> {
    const model = emitOnnx(g, { outputs, paramValues: opts.paramValues, contrib: opts.contrib, externalDataThreshold: opts.externalDataThreshold, graphName: 'inference' });
    const { session, ep } = await createSession(model, opts, 'inference');
    return new InferSession(model, session, ep, new Map(g.dropouts.map((d) => [d.name, [...d.tensor.shape]])));
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }

  async run(feeds: Record<string, Feed>): Promise<Record<string, ort.Tensor>> {
    const f: Record<string, ort.Tensor> = {};
    for (const n of this.session.inputNames) {
      if (this.dropouts.has(n)) continue;
      if (!feeds[n]) throw new LabError('INVALID_INPUT', `inference: missing input ${n}`, { name: n });
      f[n] = toOrt(n, feeds[n]);
    }
    const dims = bindDims(this.model, f);
    // a graph built for training, run for inference: dropout is the identity
    for (const [n, shape] of this.dropouts) {
      if (!this.session.inputNames.includes(n)) continue;
      const s = resolve(shape, dims, n);
      f[n] = new ort.Tensor('float32', new Float32Array(s.reduce((a, b) => a * b, 1)).fill(1), s);
    }
    return this.session.run(f);
  }
}
