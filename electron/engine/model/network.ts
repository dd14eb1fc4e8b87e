import { GraphBuilder, type Tensor, nn } from '../graph/index.js';
import { LabError } from '../errors.js';
import { Rng } from '../util/rng.js';
import { type ParamSpec, type StudentConfig, STREAMS, gridSize, paramSpecs } from './config.js';

/**
 * The student network on the graph engine. Parameter names are HF `CLIPModel`'s (so an HF checkpoint
 * maps by name), values arrive in torch layout ([out, in] for linears) and are transposed here into the
 * graph's [in, out]. Shapes are static (batch included): one graph per batch size.
 *
 *   pixels  float32 [B, 3, S, S], raw 0…255 RGB at the model's size (CLIP mean/std is applied inside)
 *   tokens  int64   [B, T], T ≤ contextLength, SOT … EOT then zeros; EOT is the largest id
 *   logits  float32 [B, K, 7, bins] (streams concatenated in action order: 3 translation, 3 rotation, 1 gripper)
 */
export type Weights = ReadonlyMap<string, Float32Array>;

/** Torch-layout [out, in] → graph-layout [in, out]. */
export function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

export interface InitOptions {
  seed: number;
  /** Std of LoRA B at init (0, the usual LoRA init, makes the adapted model equal the base at step 0). */
  loraBStd?: number;
}

/**
 * Seeded initial weights in torch layout: CLIP-like N(0, 0.02) for the backbone, LayerNorm 1/0, LoRA A
 * N(0, 1/√in) and B 0 (or N(0, loraBStd)), head like torch.nn.Linear (U(±1/√fan_in)). Each tensor draws
 * from its own Rng fork, so adding a tensor does not shift the others.
 */
export function initialWeights(c: StudentConfig, opts: InitOptions): Map<string, Float32Array> {
  const root = new Rng(opts.seed);
  const specs = paramSpecs(c);
  const shapes = new Map(specs.map((s) => [s.name, s.shape]));
  const out = new Map<string, Float32Array>();
  for (const s of specs) {
    // torch.nn.Linear: weight and bias both U(±1/√fan_in), fan_in of the weight
    const fanIn = shapes.get(s.name.replace(/\.bias$/, '.weight'))?.[1] ?? 1;
    out.set(s.name, initTensor(s, root.fork(s.name), opts, fanIn));
  }
  return out;
}

function initTensor(s: ParamSpec, rng: Rng, opts: InitOptions, fanIn: number): Float32Array {
  const n = s.shape.reduce((a, b) => a * b, 1);
  const a = new Float32Array(n);
  const isNorm = /(layer_norm\d|layrnorm|layernorm|final_layer_norm|head\.norm)\.weight$/.test(s.name);
  if (isNorm) return a.fill(1);
  if (/(norm\d?|layrnorm|layernorm)\.bias$/.test(s.name)) return a;
  if (s.name.endsWith('lora_A.weight')) {
    const std = 1 / Math.sqrt(s.shape[1]);
    for (let i = 0; i < n; i++) a[i] = rng.normal(0, std);
    return a;
  }
  if (s.name.endsWith('lora_B.weight')) {
    if (opts.loraBStd) for (let i = 0; i < n; i++) a[i] = rng.normal(0, opts.loraBStd);
    return a;
  }
  if (s.name.startsWith('head.')) {
    const bound = 1 / Math.sqrt(fanIn);
    for (let i = 0; i < n; i++) a[i] = rng.uniform(-bound, bound);
    return a;
  }
  if (s.name.endsWith('.bias')) return a;
  for (let i = 0; i < n; i++) a[i] = rng.normal(0, 0.02);
  return a;
}

/** Graph params for every spec, created lazily in one place (name → tensor). */
export class StudentParams {
  private readonly tensors = new Map<string, Tensor>();
  readonly specs: Map<string, ParamSpec>;
  constructor(
    readonly g: GraphBuilder,
    readonly cfg: StudentConfig,
    private readonly weights: Weights,
    /** Names kept frozen even if the spec says trainable (e.g. inference graphs: all frozen). */
    private readonly freezeAll = false,
  ) {
    this.specs = new Map(paramSpecs(cfg).map((s) => [s.name, s]));
  }
  get(name: string): Tensor {
    let t = this.tensors.get(name);
    if (t) return t;
    const s = this.specs.get(name);
    if (!s) throw new LabError('INTERNAL', `no parameter spec '${name}'`, { name });
    const w = this.weights.get(name);
    if (!w) throw new LabError('NOT_FOUND', `weights: missing tensor '${name}'`, { name });
    const graphShape = s.linear ? [s.shape[1], s.shape[0]] : s.shape;
    const values = s.linear ? transpose2d(w, s.shape[0], s.shape[1]) : w;
    t = this.g.param(name, graphShape, values, { trainable: s.trainable && !this.freezeAll });
    this.tensors.set(name, t);
    return t;
  }
  has(name: string): boolean {
    return this.specs.has(name);
  }
}

/** x·W + b, with the LoRA update scale·(x·A)·B when this linear has an adapter. */
function linear(P: StudentParams, x: Tensor, name: string): Tensor {
  const w = P.get(`${name}.weight`);
  const b = P.has(`${name}.bias`) ? P.get(`${name}.bias`) : undefined;
  if (P.has(`${name}.lora_A.weight`)) {
    const scale = P.cfg.lora.alpha / P.cfg.lora.rank;
    return nn.loraLinear(P.g, x, w, b, P.get(`${name}.lora_A.weight`), P.get(`${name}.lora_B.weight`), scale);
  }
  return nn.linear(P.g, x, w, b);
}

function layerNorm(P: StudentParams, x: Tensor, name: string): Tensor {
  return P.g.layerNorm(x, P.get(`${name}.weight`), P.get(`${name}.bias`), 1e-5);
}

/** CLIP encoder layer: x + out(attn(LN1 x)); x + fc2(quickgelu(fc1(LN2 x))). */
function encoderLayer(P: StudentParams, x: Tensor, prefix: string, heads: number, mask?: Tensor): Tensor {
  const g = P.g;
  const h = layerNorm(P, x, `${prefix}.layer_norm1`);
  const q = nn.splitHeads(g, linear(P, h, `${prefix}.self_attn.q_proj`), heads);
  const k = nn.splitHeads(g, linear(P, h, `${prefix}.self_attn.k_proj`), heads);
  const v = nn.splitHeads(g, linear(P, h, `${prefix}.self_attn.v_proj`), heads);
  const a = nn.mergeHeads(g, nn.attention(g, q, k, v, { mask }));
  const x1 = g.add(x, linear(P, a, `${prefix}.self_attn.out_proj`));
  const h2 = layerNorm(P, x1, `${prefix}.layer_norm2`);
  const f = linear(P, g.quickGelu(linear(P, h2, `${prefix}.mlp.fc1`)), `${prefix}.mlp.fc2`);
  return g.add(x1, f);
}

/** Vision tower: pixels [B,3,S,S] (0…255) → image embedding [B, E]. */
export function visionTower(P: StudentParams, pixels: Tensor): Tensor {
  const { g, cfg } = P;
  const B = pixels.shape[0] as number;
  const D = cfg.vision.width;
  const n = gridSize(cfg) ** 2;
  // CLIP normalization inside the graph: (x/255 − mean)/std, per channel
  const mean = g.constant(cfg.image.mean.map((m) => m * 255), [1, 3, 1, 1]);
  const std = g.constant(cfg.image.std.map((s) => 1 / (s * 255)), [1, 3, 1, 1]);
  const x0 = g.mul(g.sub(pixels, mean), std);
  const patches = g.transpose(g.reshape(g.conv2d(x0, P.get('vision_model.embeddings.patch_embedding.weight')), [B, D, n]), [0, 2, 1]); // [B, n, D]
  // class token without a batch expand: pad a zero row in front of the patches and add [cls; 0] + pos
  const cls = g.pad(g.reshape(P.get('vision_model.embeddings.class_embedding'), [1, D]), 0, 0, n); // [n+1, D]
  const pos = g.add(P.get('vision_model.embeddings.position_embedding.weight'), cls);
  let x = g.add(g.pad(patches, 1, 1, 0), pos); // [B, n+1, D]
  x = layerNorm(P, x, 'vision_model.pre_layrnorm');
  for (let i = 0; i < cfg.vision.layers; i++) x = encoderLayer(P, x, `vision_model.encoder.layers.${i}`, cfg.vision.heads);
  const pooled = layerNorm(P, g.reshape(g.slice(x, 1, 0, 1), [B, D]), 'vision_model.post_layernorm');
  return linear(P, pooled, 'visual_projection');
}

/**
 * Text tower: tokens [B, T] → text embedding [B, E]. Causal mask; pooled at the EOT token, found as the
 * largest id of each row (CLIP's argmax pooling), through a one-hot row mask so it stays in the graph.
 */
export function textTower(P: StudentParams, tokens: Tensor): Tensor {
  const { g, cfg } = P;
  const [B, T] = tokens.shape as number[];
  const D = cfg.text.width;
  if (T > cfg.text.contextLength) throw new LabError('SHAPE_MISMATCH', `text tower: ${T} tokens exceed the context of ${cfg.text.contextLength}`, { field: 'tokens', value: T });
  const pos = g.slice(P.get('text_model.embeddings.position_embedding.weight'), 0, 0, T);
  let x = g.add(g.gather(P.get('text_model.embeddings.token_embedding.weight'), tokens), pos); // [B, T, D]
  const mask = nn.causalMask(g, T);
  for (let i = 0; i < cfg.text.layers; i++) x = encoderLayer(P, x, `text_model.encoder.layers.${i}`, cfg.text.heads, mask);
  x = layerNorm(P, x, 'text_model.final_layer_norm');
  const ids = g.cast(tokens, 'float32');
  const eot = g.cast(g.equal(ids, g.reduceMax(ids, [1], true)), 'float32'); // [B, T], one 1 per row
  const pooled = g.reshape(g.matmul(g.unsqueeze(eot, [1]), x), [B, D]);
  return linear(P, pooled, 'text_projection');
}

/** Tri-stream head over LN([image; text]): per stream fc2(gelu(fc1)) → [B, K, dims, bins]; concatenated → [B, K, 7, bins]. */
export function triStreamHead(P: StudentParams, image: Tensor, text: Tensor): Tensor {
  const { g, cfg } = P;
  const B = image.shape[0] as number;
  const fused = layerNorm(P, g.concat([image, text], 1), 'head.norm');
  const outs = STREAMS.map((s) => {
    const h = g.gelu(linear(P, fused, `head.${s.name}.fc1`));
    return g.reshape(linear(P, h, `head.${s.name}.fc2`), [B, cfg.head.chunk, s.dims.length, cfg.head.bins]);
  });
  return g.concat(outs, 2);
}

export interface StudentGraph {
  g: GraphBuilder;
  P: StudentParams;
  pixels: Tensor;
  /** Full path tokens (instruction + separator + description), [B, T]. */
  tokens: Tensor;
  /** Image-only path: the distinct instruction-only rows [U, Tm] and, per frame, its row (int64 [B]). */
  maskedTokens?: Tensor;
  maskedIndex?: Tensor;
  imageEmbeds: Tensor;
  textEmbeds: Tensor;
  logits: Tensor;
  logitsMasked?: Tensor;
}

/**
 * The whole student for a batch of B frames and T tokens. With `dualPath`, the image-only path's text
 * (the instruction alone) is encoded once per distinct instruction (U rows of Tm tokens, an instruction
 * repeats over a whole episode) and gathered per frame; the head runs on [image; image] × [full; masked].
 */
export function buildStudent(
  c: StudentConfig,
  weights: Weights,
  opts: { batch: number; textLength?: number; dualPath?: boolean; maskedRows?: number; maskedLength?: number; frozen?: boolean; g?: GraphBuilder },
): StudentGraph {
  const g = opts.g ?? new GraphBuilder({ training: !opts.frozen });
  const P = new StudentParams(g, c, weights, opts.frozen);
  const B = opts.batch;
  const T = opts.textLength ?? c.text.contextLength;
  const pixels = g.input('pixels', 'float32', [B, 3, c.image.size, c.image.size]);
  const tokens = g.input('tokens', 'int64', [B, T]);
  const imageEmbeds = visionTower(P, pixels);
  const textEmbeds = textTower(P, tokens);
  if (!opts.dualPath) return { g, P, pixels, tokens, imageEmbeds, textEmbeds, logits: triStreamHead(P, imageEmbeds, textEmbeds) };
  const U = opts.maskedRows ?? B;
  const maskedTokens = g.input('masked_tokens', 'int64', [U, opts.maskedLength ?? T]);
  const maskedIndex = g.input('masked_index', 'int64', [B]);
  const textMasked = g.gather(textTower(P, maskedTokens), maskedIndex); // [B, E]
  const all = triStreamHead(P, g.concat([imageEmbeds, imageEmbeds], 0), g.concat([textEmbeds, textMasked], 0));
  const [logits, logitsMasked] = g.split(all, 0, [B, B]);
  return { g, P, pixels, tokens, maskedTokens, maskedIndex, imageEmbeds, textEmbeds, logits, logitsMasked };
}
