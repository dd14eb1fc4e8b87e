import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { LabError, parseOr } from '../errors.js';
import { readSafetensors, writeSafetensors, type SafeTensor } from '../graph/index.js';
import { type StudentConfig, paramSpecs } from './config.js';
import { stretchPositions } from './longclip.js';
import { initialWeights, transpose2d } from './network.js';

/**
 * Weights I/O. Files are safetensors in torch layout with HF `CLIPModel` names (what
 * `CLIPModel.save_pretrained` writes), plus PEFT-style `.lora_A/.lora_B` and `head.*` for the student.
 * The PyTorch peer (test/python/student_ref.py) reads the same files.
 */

/** F32, or F16/BF16 widened (HF checkpoints are often half precision). */
function toF32(t: SafeTensor, name: string, file: string): Float32Array {
  if (t.dtype === 'F32') return t.data as Float32Array;
  if (t.dtype === 'F16' || t.dtype === 'BF16') {
    const src = t.data as Uint16Array;
    const out = new Float32Array(src.length);
    const u = new Uint32Array(1);
    const f = new Float32Array(u.buffer);
    for (let i = 0; i < src.length; i++) {
      const h = src[i];
      if (t.dtype === 'BF16') {
        u[0] = h << 16;
        out[i] = f[0];
      } else {
        const s = h & 0x8000 ? -1 : 1;
        const e = (h >> 10) & 0x1f;
        const m = h & 0x3ff;
        out[i] = e === 0 ? s * 2 ** -14 * (m / 1024) : e === 31 ? (m ? Number.NaN : s * Infinity) : s * 2 ** (e - 15) * (1 + m / 1024);
      }
    }
    return out;
  }
  if (t.dtype === 'F64') return Float32Array.from(t.data as Float64Array);
  throw new LabError('CORRUPT_FILE', `${file}: tensor ${name} has dtype ${t.dtype}, expected a float type`, { file, name, dtype: t.dtype });
}

const HfClipConfig = z.object({
  text_config: z.object({
    hidden_size: z.number().int(),
    num_hidden_layers: z.number().int(),
    num_attention_heads: z.number().int(),
    intermediate_size: z.number().int(),
    vocab_size: z.number().int(),
    max_position_embeddings: z.number().int(),
  }).partial(),
  vision_config: z.object({
    hidden_size: z.number().int(),
    num_hidden_layers: z.number().int(),
    num_attention_heads: z.number().int(),
    intermediate_size: z.number().int(),
    image_size: z.number().int(),
    patch_size: z.number().int(),
  }).partial(),
  projection_dim: z.number().int().optional(),
  hidden_act: z.string().optional(),
}).passthrough();

export interface LoadReport {
  loaded: string[];
  /** Student tensors the checkpoint lacks that are initialised fresh (LoRA, head). */
  initialised: string[];
  stretched: boolean;
}

/**
 * Load an HF-format CLIP folder (`model.safetensors` + `config.json`) into student weights (torch layout).
 * Backbone tensors must all be present with the config's shapes; LoRA and head tensors are taken from the
 * file when present, else initialised with `seed`. With `stretch`, a 77-position text table is stretched
 * to the config's context per Long-CLIP. Any missing / unexpected / mismatched backbone tensor is listed
 * in one SHAPE_MISMATCH error.
 */
export function loadHfClip(dir: string, c: StudentConfig, opts: { seed: number; stretch?: boolean; loraBStd?: number }): { weights: Map<string, Float32Array>; report: LoadReport } {
  const file = path.join(dir, 'model.safetensors');
  if (!existsSync(file)) throw new LabError('NOT_FOUND', `no model.safetensors in ${dir}`, { file });
  const cfgFile = path.join(dir, 'config.json');
  if (existsSync(cfgFile)) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(cfgFile, 'utf8'));
    } catch (e) {
      throw new LabError('CORRUPT_FILE', `${cfgFile}: ${(e as Error).message}`, { file: cfgFile });
    }
    const hf = parseOr(HfClipConfig, raw, `${cfgFile}: not a CLIP config`, 'CORRUPT_FILE', { file: cfgFile });
    checkHfConfig(hf, c, cfgFile, !!opts.stretch);
  }
  const { tensors } = readSafetensors(file);
  const fresh = initialWeights(c, { seed: opts.seed, loraBStd: opts.loraBStd });
  const weights = new Map<string, Float32Array>();
  const missing: string[] = [];
  const mismatched: string[] = [];
  const loaded: string[] = [];
  const initialised: string[] = [];
  let stretched = false;
  const specs = paramSpecs(c);
  const known = new Set(specs.map((s) => s.name));
  for (const s of specs) {
    const t = tensors.get(s.name);
    const optional = s.name.includes('.lora_') || s.name.startsWith('head.');
    if (!t) {
      if (optional) {
        weights.set(s.name, fresh.get(s.name)!);
        initialised.push(s.name);
      } else missing.push(s.name);
      continue;
    }
    let data = toF32(t, s.name, file);
    let shape = t.shape;
    if (s.name === 'text_model.embeddings.position_embedding.weight' && opts.stretch && shape[0] !== s.shape[0] && shape.length === 2) {
      data = stretchPositions(data, shape[0], shape[1]);
      shape = [data.length / shape[1], shape[1]];
      stretched = true;
    }
    if (shape.join(',') !== s.shape.join(',')) mismatched.push(`${s.name}: file [${t.shape}] vs model [${s.shape}]${s.name.includes('position_embedding') && !opts.stretch ? ' (stretch not asked)' : ''}`);
    else {
      weights.set(s.name, data);
      loaded.push(s.name);
    }
  }
  // HF extras that the student does not use are not errors (logit_scale, position_ids buffers)
  const ignorable = (n: string) => n === 'logit_scale' || n.endsWith('position_ids');
  const unexpected = [...tensors.keys()].filter((k) => !known.has(k) && !ignorable(k));
  if (missing.length || mismatched.length || unexpected.length) {
    const list = (xs: string[]) => `${xs.length} [${xs.slice(0, 8).join(', ')}${xs.length > 8 ? ', …' : ''}]`;
    throw new LabError('SHAPE_MISMATCH', `${file} does not match student config '${c.name}': missing ${list(missing)}; unexpected ${list(unexpected)}; shape mismatch ${list(mismatched)}`, { file, missing, unexpected, mismatched });
  }
  return { weights, report: { loaded, initialised, stretched } };
}

function checkHfConfig(hf: z.infer<typeof HfClipConfig>, c: StudentConfig, file: string, stretch: boolean): void {
  const diffs: string[] = [];
  const chk = (what: string, got: number | undefined, want: number) => {
    if (got !== undefined && got !== want) diffs.push(`${what}: ${got} vs ${want}`);
  };
  const v = hf.vision_config;
  const t = hf.text_config;
  chk('vision_config.hidden_size', v.hidden_size, c.vision.width);
  chk('vision_config.num_hidden_layers', v.num_hidden_layers, c.vision.layers);
  chk('vision_config.num_attention_heads', v.num_attention_heads, c.vision.heads);
  chk('vision_config.intermediate_size', v.intermediate_size, c.vision.width * c.vision.mlpRatio);
  chk('vision_config.image_size', v.image_size, c.image.size);
  chk('vision_config.patch_size', v.patch_size, c.image.patch);
  chk('text_config.hidden_size', t.hidden_size, c.text.width);
  chk('text_config.num_hidden_layers', t.num_hidden_layers, c.text.layers);
  chk('text_config.num_attention_heads', t.num_attention_heads, c.text.heads);
  chk('text_config.intermediate_size', t.intermediate_size, c.text.width * c.text.mlpRatio);
  chk('text_config.vocab_size', t.vocab_size, c.text.vocabSize);
  if (!stretch) chk('text_config.max_position_embeddings', t.max_position_embeddings, c.text.contextLength);
  chk('projection_dim', hf.projection_dim, c.embedDim);
  if (hf.hidden_act && hf.hidden_act !== 'quick_gelu') diffs.push(`hidden_act: ${hf.hidden_act} vs quick_gelu`);
  if (diffs.length) throw new LabError('SHAPE_MISMATCH', `${file} does not match student config '${c.name}': ${diffs.join('; ')}`, { file, diffs });
}

/** Write student weights (torch layout, HF names) as safetensors. */
export async function saveWeights(file: string, weights: ReadonlyMap<string, Float32Array>, c: StudentConfig, metadata: Record<string, string> = {}): Promise<void> {
  const tensors: Record<string, { data: Float32Array; shape: number[] }> = {};
  for (const s of paramSpecs(c)) {
    const w = weights.get(s.name);
    if (!w) throw new LabError('NOT_FOUND', `saveWeights: missing tensor ${s.name}`, { name: s.name });
    tensors[s.name] = { data: w, shape: s.shape };
  }
  await writeSafetensors(file, tensors, { format: 'vla-ad-student/1', config: JSON.stringify(c), ...metadata });
}

/** Read student weights written by saveWeights (same checks as loadHfClip, nothing optional). */
export function readWeights(file: string, c: StudentConfig): Map<string, Float32Array> {
  const { tensors } = readSafetensors(file);
  const out = new Map<string, Float32Array>();
  const bad: string[] = [];
  for (const s of paramSpecs(c)) {
    const t = tensors.get(s.name);
    if (!t) bad.push(`missing ${s.name}`);
    else if (t.shape.join(',') !== s.shape.join(',')) bad.push(`${s.name}: [${t.shape}] vs [${s.shape}]`);
    else out.set(s.name, toF32(t, s.name, file));
  }
  if (bad.length) throw new LabError('SHAPE_MISMATCH', `${file}: ${bad.length} tensors do not match config '${c.name}': ${bad.slice(0, 8).join('; ')}`, { file, bad });
  return out;
}

/**
 * Graph-layout trained values (TrainSession.paramValues: linears [in, out]) merged back into torch-layout
 * weights, so a trained student saves and exports like any other.
 */
export function mergeTrained(c: StudentConfig, base: ReadonlyMap<string, Float32Array>, trained: ReadonlyMap<string, Float32Array>): Map<string, Float32Array> {
  const out = new Map(base);
  for (const s of paramSpecs(c)) {
    const v = trained.get(s.name);
    if (!v) continue;
    // graph layout [in, out] back to torch [out, in]
    out.set(s.name, s.linear ? transpose2d(v, s.shape[1], s.shape[0]) : Float32Array.from(v));
  }
  return out;
}
