import { z } from 'zod';
import { LabError, parseOr } from '../errors.js';

/**
 * Student configurations (paper §3.2, §4.1): a CLIP-style vision tower and text tower with LoRA on
 * attention q/k/v/out and the MLP of both towers, plus a tri-stream head (translation 3, rotation 3,
 * gripper 1) that predicts K future actions as 256-bin logits per dimension.
 * `longclip-b16` and `tiny` are the same code with different numbers.
 */
export const LORA_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'out_proj', 'fc1', 'fc2'] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

/** Action dims per head stream, in the action vector's order [dx,dy,dz, drx,dry,drz, gripper]. */
export const STREAMS = [
  { name: 'translation', dims: [0, 1, 2] },
  { name: 'rotation', dims: [3, 4, 5] },
  { name: 'gripper', dims: [6] },
] as const;
export type StreamName = (typeof STREAMS)[number]['name'];

const Tower = z.object({
  width: z.number().int().positive(),
  layers: z.number().int().nonnegative(),
  heads: z.number().int().positive(),
  mlpRatio: z.number().int().positive(),
});

export const StudentConfig = z
  .object({
    name: z.string().min(1),
    image: z.object({
      size: z.number().int().positive(),
      patch: z.number().int().positive(),
      /** CLIP's normalization (OpenAI CLIP mean/std), applied by `preprocessImage` and inside nothing else. */
      mean: z.tuple([z.number(), z.number(), z.number()]),
      std: z.tuple([z.number(), z.number(), z.number()]),
    }),
    vision: Tower,
    text: Tower.extend({
      vocabSize: z.number().int().positive(),
      /** Positions of the text tower (248 for Long-CLIP; 77 for plain CLIP). */
      contextLength: z.number().int().positive(),
      tokenizer: z.enum(['clip-bpe', 'bytes']),
      /** Start- and end-of-text ids; EOT must be the largest id (EOT pooling takes the argmax id). */
      sotToken: z.number().int().nonnegative(),
      eotToken: z.number().int().nonnegative(),
    }),
    /** Joint embedding width (visual_projection / text_projection output). */
    embedDim: z.number().int().positive(),
    lora: z.object({ rank: z.number().int().nonnegative(), alpha: z.number().positive(), targets: z.array(z.enum(LORA_TARGETS)) }),
    head: z.object({
      /** Hidden width of each stream's MLP. */
      hidden: z.number().int().positive(),
      /** Action chunk length K. */
      chunk: z.number().int().positive(),
      bins: z.number().int().min(2),
    }),
  })
  .refine((c) => c.image.size % c.image.patch === 0, 'image size must be a multiple of the patch size')
  .refine((c) => c.vision.width % c.vision.heads === 0 && c.text.width % c.text.heads === 0, 'width must be a multiple of heads')
  .refine((c) => c.text.eotToken === c.text.vocabSize - 1, 'the EOT token must be the last id of the vocabulary (EOT pooling by argmax)');
export type StudentConfig = z.infer<typeof StudentConfig>;

const CLIP_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
const CLIP_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];
const ALL_TARGETS = [...LORA_TARGETS];

/**
 * The paper's student: Long-CLIP-B/16 (DESIGN.md), LoRA r=8 α=16, K=8. The paper's text extraction lost
 * the value of K ("an action chunk of length …"); 8 is our default (OpenVLA-OFT's LIBERO chunk), configurable.
 * Head hidden width 384: the paper gives no head size; 384 puts head + LoRA near the paper's 8.6M trainable.
 */
export const LONGCLIP_B16: StudentConfig = {
  name: 'longclip-b16',
  image: { size: 224, patch: 16, mean: CLIP_MEAN, std: CLIP_STD },
  vision: { width: 768, layers: 12, heads: 12, mlpRatio: 4 },
  text: { width: 512, layers: 12, heads: 8, mlpRatio: 4, vocabSize: 49408, contextLength: 248, tokenizer: 'clip-bpe', sotToken: 49406, eotToken: 49407 },
  embedDim: 512,
  lora: { rank: 8, alpha: 16, targets: ALL_TARGETS },
  head: { hidden: 384, chunk: 8, bins: 256 },
};

/**
 * CPU / tests / demo: 128 px, patch 16 (64 patches), width 128, 4 layers, byte-level vocabulary
 * (256 bytes + SOT 256 + EOT 257), text context 248 like Long-CLIP (a 2–4 sentence description is
 * 150–300 bytes; training slices the positions to the longest text of the dataset, see train/dataset.ts).
 */
export const TINY: StudentConfig = {
  name: 'tiny',
  image: { size: 128, patch: 16, mean: CLIP_MEAN, std: CLIP_STD },
  vision: { width: 128, layers: 4, heads: 4, mlpRatio: 4 },
  text: { width: 128, layers: 4, heads: 4, mlpRatio: 4, vocabSize: 258, contextLength: 248, tokenizer: 'bytes', sotToken: 256, eotToken: 257 },
  embedDim: 128,
  lora: { rank: 8, alpha: 16, targets: ALL_TARGETS },
  head: { hidden: 128, chunk: 8, bins: 256 },
};

export const PRESETS: Record<string, StudentConfig> = { 'longclip-b16': LONGCLIP_B16, tiny: TINY };

/** A preset by name with overrides (deep-merged one level), validated. */
export function studentConfig(name: string, overrides: DeepPartial<StudentConfig> = {}): StudentConfig {
  const base = PRESETS[name];
  if (!base) throw new LabError('INVALID_INPUT', `unknown student config '${name}' (known: ${Object.keys(PRESETS).join(', ')})`, { field: 'config', value: name });
  const merged: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(overrides)) {
    const b = (base as Record<string, unknown>)[k];
    merged[k] = v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' ? { ...b, ...v } : v;
  }
  return parseStudentConfig(merged);
}

export function parseStudentConfig(x: unknown): StudentConfig {
  return parseOr(StudentConfig, x, 'student config');
}

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : Partial<T[K]>) : T[K] };

export const gridSize = (c: StudentConfig) => c.image.size / c.image.patch;
export const headOutputs = (c: StudentConfig, dims: number) => c.head.chunk * dims * c.head.bins;

// ---- parameter shapes, counted without allocating anything -------------------------------------

export interface ParamSpec {
  name: string;
  shape: number[];
  trainable: boolean;
  /** A torch nn.Linear weight: stored [out, in] in HF/torch files, [in, out] in our graph. */
  linear: boolean;
}

function towerBlockSpecs(prefix: string, t: { width: number; mlpRatio: number }, c: StudentConfig): ParamSpec[] {
  const w = t.width;
  const h = w * t.mlpRatio;
  const frozen = c.lora.rank > 0;
  const out: ParamSpec[] = [];
  const lin = (name: string, i: number, o: number, target: LoraTarget | null) => {
    out.push({ name: `${prefix}.${name}.weight`, shape: [o, i], trainable: !frozen, linear: true });
    out.push({ name: `${prefix}.${name}.bias`, shape: [o], trainable: !frozen, linear: false });
    if (target && c.lora.rank > 0 && c.lora.targets.includes(target)) {
      out.push({ name: `${prefix}.${name}.lora_A.weight`, shape: [c.lora.rank, i], trainable: true, linear: true });
      out.push({ name: `${prefix}.${name}.lora_B.weight`, shape: [o, c.lora.rank], trainable: true, linear: true });
    }
  };
  const ln = (name: string) => {
    out.push({ name: `${prefix}.${name}.weight`, shape: [w], trainable: !frozen, linear: false });
    out.push({ name: `${prefix}.${name}.bias`, shape: [w], trainable: !frozen, linear: false });
  };
  ln('layer_norm1');
  for (const p of ['q_proj', 'k_proj', 'v_proj', 'out_proj'] as const) lin(`self_attn.${p}`, w, w, p);
  ln('layer_norm2');
  lin('mlp.fc1', w, h, 'fc1');
  lin('mlp.fc2', h, w, 'fc2');
  return out;
}

/**
 * Every parameter of the student, named as in HF `CLIPModel` (plus `.lora_A/.lora_B` as in PEFT and
 * `head.*`), with torch-layout shapes. Backbone weights are frozen when LoRA is on (rank > 0).
 */
export function paramSpecs(c: StudentConfig): ParamSpec[] {
  const frozen = c.lora.rank > 0;
  const v = c.vision;
  const t = c.text;
  const g = gridSize(c);
  const specs: ParamSpec[] = [];
  const p = (name: string, shape: number[], trainable = !frozen, linear = false) => specs.push({ name, shape, trainable, linear });
  p('vision_model.embeddings.class_embedding', [v.width]);
  p('vision_model.embeddings.patch_embedding.weight', [v.width, 3, c.image.patch, c.image.patch]);
  p('vision_model.embeddings.position_embedding.weight', [g * g + 1, v.width]);
  p('vision_model.pre_layrnorm.weight', [v.width]);
  p('vision_model.pre_layrnorm.bias', [v.width]);
  for (let i = 0; i < v.layers; i++) specs.push(...towerBlockSpecs(`vision_model.encoder.layers.${i}`, v, c));
  p('vision_model.post_layernorm.weight', [v.width]);
  p('vision_model.post_layernorm.bias', [v.width]);
  p('visual_projection.weight', [c.embedDim, v.width], !frozen, true);
  p('text_model.embeddings.token_embedding.weight', [t.vocabSize, t.width]);
  p('text_model.embeddings.position_embedding.weight', [t.contextLength, t.width]);
  for (let i = 0; i < t.layers; i++) specs.push(...towerBlockSpecs(`text_model.encoder.layers.${i}`, t, c));
  p('text_model.final_layer_norm.weight', [t.width]);
  p('text_model.final_layer_norm.bias', [t.width]);
  p('text_projection.weight', [c.embedDim, t.width], !frozen, true);
  // head: always trained
  const fused = 2 * c.embedDim;
  p('head.norm.weight', [fused], true);
  p('head.norm.bias', [fused], true);
  for (const s of STREAMS) {
    p(`head.${s.name}.fc1.weight`, [c.head.hidden, fused], true, true);
    p(`head.${s.name}.fc1.bias`, [c.head.hidden], true);
    p(`head.${s.name}.fc2.weight`, [headOutputs(c, s.dims.length), c.head.hidden], true, true);
    p(`head.${s.name}.fc2.bias`, [headOutputs(c, s.dims.length)], true);
  }
  return specs;
}

export interface ParamCount {
  total: number;
  trainable: number;
  vision: number;
  text: number;
  lora: number;
  head: number;
}

/** Counts from shapes only (the b16 weights are never allocated). Backbone = vision + text without LoRA. */
export function countParams(c: StudentConfig): ParamCount {
  const r: ParamCount = { total: 0, trainable: 0, vision: 0, text: 0, lora: 0, head: 0 };
  for (const s of paramSpecs(c)) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    r.total += n;
    if (s.trainable) r.trainable += n;
    if (s.name.includes('.lora_')) r.lora += n;
    else if (s.name.startsWith('head.')) r.head += n;
    else if (s.name.startsWith('vision_model.') || s.name.startsWith('visual_projection')) r.vision += n;
    else r.text += n;
  }
  return r;
}

export function formatCount(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}K` : String(n);
}
