/** Test-written CLIP BPE vocabularies (nothing is downloaded). */

/** GPT-2/CLIP byte→unicode table, written independently of the code under test (same definition as openai/CLIP). */
export function byteChars(): string[] {
  const bs = [...Array(256).keys()].filter((b) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255));
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) { bs.push(b); cs.push(256 + n++); }
  const t: string[] = [];
  bs.forEach((b, i) => (t[b] = String.fromCodePoint(cs[i])));
  return t;
}
export const BC = byteChars();

/** A CLIP-shaped vocabulary: 256 byte symbols, their </w> forms, a few merges, SOT and EOT last. */
export function testVocab(opts: { dropByte?: number; mergedMissing?: boolean } = {}) {
  const vocab: Record<string, number> = {};
  let id = 0;
  for (let b = 0; b < 256; b++) if (b !== opts.dropByte) vocab[BC[b]] = id++;
  for (let b = 0; b < 256; b++) if (b !== opts.dropByte) vocab[`${BC[b]}</w>`] = id++;
  const merges: [string, string][] = [['h', 'e'], ['he', 'l'], ['hel', 'l'], ['hell', 'o</w>'], ['w', 'o']];
  for (const [a, b] of merges) if (!(opts.mergedMissing && a === 'w')) vocab[a + b] = id++;
  vocab['<|startoftext|>'] = id++;
  vocab['<|endoftext|>'] = id++;
  return { vocab, merges };
}

