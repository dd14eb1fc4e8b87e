import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { LabError, parseOr } from '../errors.js';
import type { StudentConfig } from './config.js';

/**
 * Tokenizers for the text tower. Both return rows of `contextLength` int64-ready ids:
 * SOT, tokens…, EOT, then 0 padding; a text too long is cut and still ends with EOT (Long-CLIP's
 * `truncate=True`). EOT is the largest id, which is what the text tower pools on.
 */
export interface TextTokenizer {
  readonly kind: 'clip-bpe' | 'bytes';
  readonly vocabSize: number;
  readonly sot: number;
  readonly eot: number;
  /** Token ids without SOT/EOT. */
  encode(text: string): number[];
}

/** CLIP's text cleanup: HTML entities out (twice, like `basic_clean`), whitespace runs → one space, trim, lower case. */
export function cleanText(text: string): string {
  const unescape = (s: string) =>
    s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos|nbsp);/gi, (m, e: string) => {
      const k = e.toLowerCase();
      if (k.startsWith('#x')) return String.fromCodePoint(parseInt(k.slice(2), 16));
      if (k.startsWith('#')) return String.fromCodePoint(parseInt(k.slice(1), 10));
      return ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' } as Record<string, string>)[k] ?? m;
    });
  return unescape(unescape(text)).replace(/\s+/g, ' ').trim().toLowerCase();
}

/** Ids for one text: SOT + tokens + EOT, cut to `length` (keeping EOT last) and zero-padded. */
export function tokenizeRow(tok: TextTokenizer, text: string, length: number): BigInt64Array {
  const ids = [tok.sot, ...tok.encode(text), tok.eot];
  if (ids.length > length) {
    ids.length = length;
    ids[length - 1] = tok.eot;
  }
  const row = new BigInt64Array(length);
  ids.forEach((id, i) => (row[i] = BigInt(id)));
  return row;
}

/** Byte-level tokenizer for `tiny`: UTF-8 bytes of the cleaned text are the ids 0…255; SOT 256, EOT 257. */
export class ByteTokenizer implements TextTokenizer {
  readonly kind = 'bytes';
  readonly vocabSize = 258;
  readonly sot = 256;
  readonly eot = 257;
  encode(text: string): number[] {
    return [...Buffer.from(cleanText(text), 'utf8')];
  }
}

/** GPT-2 / CLIP byte ↔ unicode table: printable bytes map to themselves, the rest to 256+n. */
function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let i = 33; i <= 126; i++) bs.push(i);
  for (let i = 161; i <= 172; i++) bs.push(i);
  for (let i = 174; i <= 255; i++) bs.push(i);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const table = new Array<string>(256);
  bs.forEach((b, i) => (table[b] = String.fromCodePoint(cs[i])));
  return table;
}
const BYTE_CHARS = bytesToUnicode();

// CLIP's pre-tokenizer pattern (simple_tokenizer.py), case-insensitive on the already lower-cased text
const PAT = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+/giu;

/**
 * CLIP's BPE (openai/CLIP simple_tokenizer.py): clean, split with CLIP's pattern, map each piece's
 * UTF-8 bytes through the byte→unicode table, mark the word end with `</w>`, merge pairs by rank.
 * Byte-level fallback: a merged symbol that the vocabulary lacks is spelled out byte by byte (every
 * byte char, and its `</w>` form, is in a CLIP vocabulary); a byte the vocabulary lacks is an error.
 */
export class ClipBpeTokenizer implements TextTokenizer {
  readonly kind = 'clip-bpe';
  readonly sot: number;
  readonly eot: number;
  readonly vocabSize: number;
  private readonly ranks = new Map<string, number>();
  private readonly cache = new Map<string, number[]>();

  constructor(
    private readonly vocab: ReadonlyMap<string, number>,
    merges: readonly [string, string][],
    private readonly source = '<memory>',
  ) {
    merges.forEach(([a, b], i) => this.ranks.set(`${a} ${b}`, i));
    const sot = vocab.get('<|startoftext|>');
    const eot = vocab.get('<|endoftext|>');
    if (sot === undefined || eot === undefined) throw new LabError('CORRUPT_FILE', `${source}: vocabulary lacks <|startoftext|> or <|endoftext|>`, { file: source });
    this.sot = sot;
    this.eot = eot;
    this.vocabSize = Math.max(...vocab.values()) + 1;
  }

  /** The vocabulary and merges (in rank order), enough to rebuild this tokenizer: embedded in student.json and policy.onnx. */
  spec(): BpeSpec {
    return { vocab: Object.fromEntries(this.vocab), merges: [...this.ranks.keys()] };
  }

  private bpe(piece: string): string[] {
    let word = [...piece];
    word[word.length - 1] += '</w>';
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < word.length - 1; i++) {
        const r = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) return word;
      const a = word[best];
      const b = word[best + 1];
      const next: string[] = [];
      for (let i = 0; i < word.length; i++) {
        if (i < word.length - 1 && word[i] === a && word[i + 1] === b) {
          next.push(a + b);
          i++;
        } else next.push(word[i]);
      }
      word = next;
    }
  }

  private idOf(sym: string, text: string): number[] {
    const id = this.vocab.get(sym);
    if (id !== undefined) return [id];
    // byte-level fallback: spell the symbol out
    const end = sym.endsWith('</w>');
    const chars = [...(end ? sym.slice(0, -4) : sym)];
    return chars.map((ch, i) => {
      const last = end && i === chars.length - 1;
      const v = (last ? this.vocab.get(`${ch}</w>`) : undefined) ?? this.vocab.get(ch);
      if (v === undefined) throw new LabError('INVALID_INPUT', `${this.source}: the vocabulary has no symbol for byte '${ch}' in "${text.slice(0, 60)}"`, { file: this.source, symbol: ch });
      return v;
    });
  }

  encode(text: string): number[] {
    const clean = cleanText(text);
    const out: number[] = [];
    for (const m of clean.matchAll(PAT)) {
      const piece = [...Buffer.from(m[0], 'utf8')].map((b) => BYTE_CHARS[b]).join('');
      let ids = this.cache.get(piece);
      if (!ids) {
        ids = this.bpe(piece).flatMap((s) => this.idOf(s, text));
        this.cache.set(piece, ids);
      }
      out.push(...ids);
    }
    return out;
  }
}

const TokenizerJson = z.object({
  model: z.object({
    type: z.string().optional(),
    vocab: z.record(z.string(), z.number().int().nonnegative()),
    merges: z.array(z.union([z.string(), z.tuple([z.string(), z.string()])])),
  }),
  added_tokens: z.array(z.object({ id: z.number().int(), content: z.string() })).optional(),
});

function parseMerge(m: string | [string, string], file: string): [string, string] {
  if (Array.isArray(m)) return m;
  const parts = m.split(' ');
  if (parts.length !== 2) throw new LabError('CORRUPT_FILE', `${file}: bad merge line "${m}"`, { file });
  return [parts[0], parts[1]];
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new LabError('CORRUPT_FILE', `${file}: ${(e as Error).message}`, { file });
  }
}

/**
 * A CLIP BPE tokenizer carried with the weights (student.json, policy.onnx metadata `vla_ad_tokenizer`),
 * so a trained student and its deployable policy need no tokenizer folder beside them.
 */
export const BpeSpec = z.object({ vocab: z.record(z.string(), z.number().int().nonnegative()), merges: z.array(z.string()) });
export type BpeSpec = z.infer<typeof BpeSpec>;

export function clipTokenizerFromSpec(spec: unknown, source: string): ClipBpeTokenizer {
  const r = parseOr(BpeSpec, spec, `${source}: embedded tokenizer`, 'CORRUPT_FILE', { file: source });
  return new ClipBpeTokenizer(new Map(Object.entries(r.vocab)), r.merges.map((m) => parseMerge(m, source)), source);
}

/** A CLIP BPE tokenizer from a folder: `tokenizer.json` (HF fast tokenizer), else `vocab.json` + `merges.txt`. */
export function loadClipTokenizer(dir: string): ClipBpeTokenizer {
  const tj = path.join(dir, 'tokenizer.json');
  if (existsSync(tj)) {
    const r = parseOr(TokenizerJson, readJson(tj), `${tj}: not a BPE tokenizer.json`, 'CORRUPT_FILE', { file: tj });
    if (r.model.type && r.model.type !== 'BPE') throw new LabError('UNSUPPORTED', `${tj}: model type ${r.model.type}, expected BPE`, { file: tj });
    const vocab = new Map(Object.entries(r.model.vocab));
    for (const t of r.added_tokens ?? []) vocab.set(t.content, t.id);
    return new ClipBpeTokenizer(vocab, r.model.merges.map((m) => parseMerge(m, tj)), tj);
  }
  const vj = path.join(dir, 'vocab.json');
  const mt = path.join(dir, 'merges.txt');
  if (!existsSync(vj) || !existsSync(mt)) throw new LabError('NOT_FOUND', `no tokenizer.json nor vocab.json + merges.txt in ${dir}`, { file: dir });
  const vocab = parseOr(z.record(z.string(), z.number().int().nonnegative()), readJson(vj), `${vj}: expected {token: id}`, 'CORRUPT_FILE', { file: vj });
  const lines = readFileSync(mt, 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#version'));
  return new ClipBpeTokenizer(new Map(Object.entries(vocab)), lines.map((l) => parseMerge(l.trimEnd(), mt)), vj);
}

/**
 * The tokenizer a config asks for: bytes, or CLIP BPE from a folder or from an embedded spec (a folder,
 * when given, wins). A CLIP tokenizer must agree with the config's vocabulary and EOT.
 */
export function tokenizerFor(c: StudentConfig, source?: string | ClipBpeTokenizer): TextTokenizer {
  const tok: TextTokenizer = c.text.tokenizer === 'bytes' ? new ByteTokenizer() : typeof source === 'string' ? loadClipTokenizer(source) : source ?? (() => {
    throw new LabError('INVALID_INPUT', `config '${c.name}' needs a CLIP tokenizer folder (tokenizer.json or vocab.json + merges.txt)`, { field: 'tokenizer' });
  })();
  if (tok.vocabSize !== c.text.vocabSize || tok.eot !== c.text.eotToken || tok.sot !== c.text.sotToken) {
    throw new LabError('SHAPE_MISMATCH', `tokenizer (vocab ${tok.vocabSize}, SOT ${tok.sot}, EOT ${tok.eot}) does not match config '${c.name}' (vocab ${c.text.vocabSize}, SOT ${c.text.sotToken}, EOT ${c.text.eotToken})`, { field: 'tokenizer' });
  }
  return tok;
}

// ---- the student's text: instruction + separator + description -----------------------------------

/** Between the instruction and the description (plain text, so any tokenizer reads it). */
export const TEXT_SEPARATOR = ' | ';

/**
 * The description channel: phase label, the VLM description, and for the operating phase the
 * `(object, direction)` tuple, e.g. "operating: the gripper pulls the handle. (drawer-handle, outward)".
 */
export function describe(d: { phase?: string; description?: string; operating?: { object: string; direction: string } }): string {
  const parts: string[] = [];
  if (d.phase) parts.push(d.description ? `${d.phase}: ${d.description}` : d.phase);
  else if (d.description) parts.push(d.description);
  if (d.operating) parts.push(`(${d.operating.object}, ${d.operating.direction})`);
  return parts.join(' ');
}

/**
 * Full-path text: `instruction | description`. The image-only path (and the `masked` test-time mode)
 * masks the description channel by dropping it: its text is the instruction alone, so the text tower
 * sees exactly the tokens of `instruction` and the head cannot lean on the description.
 */
export function studentText(instruction: string, description?: string): string {
  return description ? `${instruction}${TEXT_SEPARATOR}${description}` : instruction;
}
