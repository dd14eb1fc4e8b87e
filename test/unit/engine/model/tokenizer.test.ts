import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { studentConfig } from '../../../../electron/engine/model/config.js';
import { ByteTokenizer, ClipBpeTokenizer, cleanText, loadClipTokenizer, studentText, tokenizeRow, tokenizerFor } from '../../../../electron/engine/model/tokenizer.js';

import { BC, testVocab } from '../../../helpers/bpe-vocab.js';

describe('CLIP BPE tokenizer on vocabularies written by the test', () => {
  const { vocab, merges } = testVocab();
  const tok = new ClipBpeTokenizer(new Map(Object.entries(vocab)), merges);
  const v = (s: string) => vocab[s];

  it('cleans text like CLIP: HTML entities, whitespace runs, lower case', () => {
    expect(cleanText('  Pick&amp;amp;Place \n\t the  BOWL ')).toBe('pick&place the bowl');
  });

  it('merges by rank, marks word ends and splits punctuation and digits', () => {
    expect(tok.encode('Hello   WOrld!')).toEqual([v('hello</w>'), v('wo'), v('r'), v('l'), v('d</w>'), v('!</w>')]);
    expect(tok.encode('a12')).toEqual([v('a</w>'), v('1</w>'), v('2</w>')]);
    expect(tok.encode("it's")).toEqual([v('i'), v('t</w>'), v("'"), v('s</w>')]);
  });

  it('maps non-ASCII through UTF-8 bytes (é = c3 a9)', () => {
    expect(tok.encode('é')).toEqual([v(BC[0xc3]), v(`${BC[0xa9]}</w>`)]);
  });

  it('falls back to bytes when a merged symbol is not in the vocabulary, and names a missing byte', () => {
    const m = testVocab({ mergedMissing: true });
    const t2 = new ClipBpeTokenizer(new Map(Object.entries(m.vocab)), m.merges);
    expect(t2.encode('world')).toEqual([m.vocab.w, m.vocab.o, m.vocab.r, m.vocab.l, m.vocab['d</w>']]);
    const d = testVocab({ dropByte: 'z'.charCodeAt(0) });
    const t3 = new ClipBpeTokenizer(new Map(Object.entries(d.vocab)), d.merges);
    expect(() => t3.encode('zz')).toThrow(/no symbol for byte 'z'/);
  });

  it('rows are SOT … EOT then zeros; a long text is cut and still ends with EOT', () => {
    const row = tokenizeRow(tok, 'hello hello', 6);
    expect([...row].map(Number)).toEqual([v('<|startoftext|>'), v('hello</w>'), v('hello</w>'), v('<|endoftext|>'), 0, 0]);
    const cut = tokenizeRow(tok, 'hello hello hello hello', 4);
    expect([...cut].map(Number)).toEqual([v('<|startoftext|>'), v('hello</w>'), v('hello</w>'), v('<|endoftext|>')]);
  });

  it('reads tokenizer.json and vocab.json + merges.txt to the same ids', () => {
    const a = mkdtempSync(path.join(os.tmpdir(), 'tok-a-'));
    writeFileSync(path.join(a, 'tokenizer.json'), JSON.stringify({ model: { type: 'BPE', vocab, merges: merges.map((m) => m.join(' ')) }, added_tokens: [] }));
    const b = mkdtempSync(path.join(os.tmpdir(), 'tok-b-'));
    writeFileSync(path.join(b, 'vocab.json'), JSON.stringify(vocab));
    writeFileSync(path.join(b, 'merges.txt'), `#version: 0.2\n${merges.map((m) => m.join(' ')).join('\n')}\n`);
    const text = 'Hello world, put the bowl on the plate | grasping: (drawer-handle, outward)';
    const ids = loadClipTokenizer(a).encode(text);
    expect(ids.length).toBeGreaterThan(20);
    expect(loadClipTokenizer(b).encode(text)).toEqual(ids);
  });

  it('refuses a tokenizer that does not match the config, and a folder without one', () => {
    const a = mkdtempSync(path.join(os.tmpdir(), 'tok-c-'));
    writeFileSync(path.join(a, 'tokenizer.json'), JSON.stringify({ model: { vocab, merges } }));
    expect(() => tokenizerFor(studentConfig('longclip-b16'), a)).toThrow(/does not match config 'longclip-b16'/);
    expect(() => loadClipTokenizer(mkdtempSync(path.join(os.tmpdir(), 'tok-d-')))).toThrow(/no tokenizer.json/);
  });
});

describe('byte tokenizer (tiny) and the student text', () => {
  it('uses UTF-8 bytes with SOT 256 and EOT 257, matching the tiny config', () => {
    const t = tokenizerFor(studentConfig('tiny'));
    expect(t).toBeInstanceOf(ByteTokenizer);
    expect([...tokenizeRow(t, ' Open  é', 8)].map(Number)).toEqual([256, 111, 112, 101, 110, 32, 0xc3, 257]);
  });
  it('the image-only text is the instruction alone; the full text appends the description after a separator', () => {
    expect(studentText('put the bowl on the plate')).toBe('put the bowl on the plate');
    expect(studentText('put the bowl on the plate', 'grasping')).toBe('put the bowl on the plate | grasping');
  });
});
