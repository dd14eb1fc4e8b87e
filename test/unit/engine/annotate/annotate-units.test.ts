import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  AnswerCache,
  annotateDataset,
  assertedOtherPhase,
  cacheKey,
  CostLedger,
  imageTokens,
  loadPrompts,
  normalizeDirection,
  normalizeObject,
  parseInstruction,
  planAnnotation,
  priceFor,
  renderPrompt,
  validateDescription,
  validateTuple,
} from '../../../../electron/engine/annotate/index.js';
import { PHASES, taxonomy } from '../../../../electron/engine/phases/index.js';
import { crc32, encodePngRgb, frameRgb } from '../../../../electron/engine/util/png.js';
import { syntheticDataset, syntheticEpisode } from '../../../../electron/cli/bench/fixtures/synthetic-phases.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'vla-annotate-unit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** An independent minimal PNG reader: checks every CRC and inflates filter-0 RGB scanlines. */
function decodePng(png: Uint8Array): { width: number; height: number; rgb: Uint8Array } {
  const v = new DataView(png.buffer, png.byteOffset, png.byteLength);
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let o = 8;
  let width = 0;
  let height = 0;
  const idat: Uint8Array[] = [];
  while (o < png.length) {
    const len = v.getUint32(o);
    const type = String.fromCharCode(...png.subarray(o + 4, o + 8));
    expect(v.getUint32(o + 8 + len)).toBe(crc32(png.subarray(o + 4, o + 8 + len)));
    if (type === 'IHDR') [width, height] = [v.getUint32(o + 8), v.getUint32(o + 12)];
    if (type === 'IDAT') idat.push(png.subarray(o + 8, o + 8 + len));
    o += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    expect(raw[y * (width * 3 + 1)]).toBe(0);
    rgb.set(raw.subarray(y * (width * 3 + 1) + 1, (y + 1) * (width * 3 + 1)), y * width * 3);
  }
  return { width, height, rgb };
}

describe('png', () => {
  it('computes the standard CRC-32 and round-trips RGB pixels', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    const w = 7;
    const h = 5;
    const rgb = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 37) % 256);
    const png = encodePngRgb(rgb, w, h);
    expect(decodePng(png)).toEqual({ width: w, height: h, rgb });
    expect(encodePngRgb(rgb, w, h)).toEqual(png); // deterministic
    expect(() => encodePngRgb(rgb, w, h + 1)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });

  it('rotates a frame by 180°', () => {
    const video = Uint8Array.from({ length: 2 * 2 * 2 * 3 }, (_, i) => i);
    expect([...frameRgb(video, 1, 2, 2, true)]).toEqual([21, 22, 23, 18, 19, 20, 15, 16, 17, 12, 13, 14]);
  });
});

describe('answer validation', () => {
  const ok = (s: string) => validateDescription(s, 'transporting', PHASES);
  it('accepts a phase-anchored 2–4 sentence answer, in JSON or prose', () => {
    expect(ok('{"phase":"transporting","description":"The gripper is transporting the bowl to the plate. It is holding the bowl above the table."}')).toMatchObject({ ok: true });
    expect(ok('```json\n{"phase":"transporting","description":"Transporting the bowl. The plate is to the left."}\n```').ok).toBe(true);
    expect(ok('The gripper is transporting the bowl. The plate is on the right.').ok).toBe(true);
  });
  it('rejects a wrong phase, a missing word, bad length, malformed JSON and other asserted phases', () => {
    expect(ok('{"phase":"placing","description":"The gripper is transporting it. Yes."}')).toMatchObject({ ok: false, reason: expect.stringMatching(/placing/) });
    expect(ok('{"phase":"transporting","description":"The gripper moves the bowl. It goes left."}')).toMatchObject({ ok: false, reason: expect.stringMatching(/does not contain/) });
    expect(ok('{"phase":"transporting","description":"The gripper is transporting."}')).toMatchObject({ ok: false, reason: expect.stringMatching(/1 sentences/) });
    expect(ok('{"phase":"transporting","description":"A. B transporting. C. D. E."}').ok).toBe(false);
    expect(ok('{"phase":"transporting","description":"The gripper is transporting')).toMatchObject({ ok: false, reason: expect.stringMatching(/JSON/) });
    expect(ok('{"phase":"transporting","description":"The gripper is transporting the bowl. Now the robot is in the placing phase."}')).toMatchObject({ ok: false, reason: expect.stringMatching(/placing/) });
    expect(assertedOtherPhase('The current stage is grasping.', 'holding', PHASES)).toBe('grasping');
    expect(assertedOtherPhase('The gripper is holding the bowl while transporting it.', 'transporting', PHASES)).toBeNull();
  });
  it('validates operating tuples against the vocabularies', () => {
    expect(validateTuple('{"object":"Drawer Handle","direction":"out"}')).toEqual({ ok: true, value: { object: 'drawer-handle', direction: 'outward' } });
    expect(validateTuple('{"object":"knob","direction":"anti-clockwise"}')).toEqual({ ok: true, value: { object: 'knob', direction: 'counterclockwise' } });
    expect(validateTuple('{"object":"spaceship","direction":"outward"}').ok).toBe(false);
    expect(validateTuple('{"object":"knob","direction":"sideways"}').ok).toBe(false);
    expect(validateTuple('object: knob').ok).toBe(false);
    expect(normalizeObject('the stove knob')).toBe('knob');
    expect(normalizeDirection('Downwards')).toBe('downward');
  });
});

describe('prompts', () => {
  it('loads versioned templates from resources/prompts and fills every placeholder', () => {
    const p = loadPrompts();
    expect(p.single.version).toMatch(/^single-frame@[0-9a-f]{12}$/);
    const text = renderPrompt(p.single, { instruction: 'open the drawer', cameras: 'front', phase: 'grasping', definition: 'd.', other_phases: 'idle' });
    expect(text).toContain('assigned this frame the phase: grasping');
    expect(text).not.toMatch(/\{\{/);
    expect(() => renderPrompt(p.single, {})).toThrow(/instruction/);
  });
});

describe('offline annotator', () => {
  it('parses LIBERO instructions', () => {
    expect(parseInstruction('pick up the alphabet soup and place it in the basket')).toEqual({ object: 'alphabet soup', target: 'basket', part: null });
    expect(parseInstruction('put the bowl on top of the cabinet')).toMatchObject({ object: 'bowl', target: 'cabinet' });
    expect(parseInstruction('open the top drawer and put the bowl inside')).toMatchObject({ object: 'bowl', part: 'top drawer' });
    expect(parseInstruction('turn on the stove')).toMatchObject({ part: 'stove knob' });
    expect(parseInstruction('open the middle drawer of the cabinet')).toMatchObject({ part: 'middle drawer of the cabinet' });
  });

  it('writes descriptions that pass the VLM validation, in every taxonomy, and says who wrote them', async () => {
    const eps = syntheticDataset(4, 8).map((d) => d.episode);
    for (const size of [3, 9, 13]) {
      const names = taxonomy(size).phases.map((p) => p.name);
      const r = await annotateDataset(eps, { taxonomySize: size });
      expect(r.summary.annotator).toBe('offline-template-v1');
      for (const f of r.episodes.flatMap((e) => e.frames)) {
        expect(f.annotator).toBe('offline-template-v1');
        if (f.phase9 === 'operating') expect(f.tuple).not.toBeNull();
        else expect(validateDescription(f.description!, f.phase, names), `${size}: ${f.phase}: ${f.description}`).toMatchObject({ ok: true });
      }
    }
  });

  it('derives operating tuples from motion: drawer pulled outward, knob turned by the rotation sign', async () => {
    const drawer = syntheticEpisode({ task: 'drawer-pull', seed: 2 }).episode;
    const knob = syntheticEpisode({ task: 'knob-turn', seed: 4 }).episode;
    const r = await annotateDataset([drawer, knob], {});
    const tuples = r.episodes.map((e) => e.frames.find((f) => f.tuple)?.tuple);
    expect(tuples[0]).toEqual({ object: 'drawer-handle', direction: 'outward' });
    expect(tuples[1]?.object).toBe('knob');
    const turn = knob.states[(knob.length - 1) * knob.stateDim + 3] - knob.states[3]; // θ in the fixture's state
    expect(tuples[1]?.direction).toBe(turn > 0 ? 'counterclockwise' : 'clockwise');
  });
});

describe('cache and cost', () => {
  it('keys answers by model, prompt version, prompt and image bytes; writes atomically; treats corruption as a miss', async () => {
    const img = new Uint8Array([1, 2, 3]);
    const base = { model: 'm', promptVersion: 'v1', prompt: 'p', images: [img] };
    const k = cacheKey(base);
    expect(cacheKey({ ...base })).toBe(k);
    for (const change of [{ model: 'n' }, { promptVersion: 'v2' }, { prompt: 'q' }, { images: [new Uint8Array([1, 2, 4])] }, { images: [img, img] }, { imageShape: '1x1' }]) {
      expect(cacheKey({ ...base, ...change })).not.toBe(k);
    }
    const cache = new AnswerCache(path.join(tmp, 'cache'));
    expect(await cache.get(k)).toBeNull();
    const answer = { key: k, model: 'm', promptVersion: 'v1', content: 'c', usage: { promptTokens: 1, completionTokens: 2 }, createdAt: 'now' };
    await cache.put(answer);
    expect(await cache.get(k)).toEqual(answer);
    const k2 = cacheKey({ ...base, prompt: 'corrupt' });
    mkdirSync(path.join(tmp, 'cache', k2.slice(0, 2)), { recursive: true });
    writeFileSync(path.join(tmp, 'cache', k2.slice(0, 2), `${k2}.json`), '{"key": "trunc');
    expect(await cache.get(k2)).toBeNull();
    expect([cache.hits, cache.misses, cache.writes]).toEqual([1, 2, 1]);
  });

  it('prices models, counts image tokens and keeps a ledger', () => {
    expect(priceFor('qwen2.5-vl-7b-instruct')).toEqual({ inputPerMTok: 0.35, outputPerMTok: 1.05 });
    expect(priceFor('qwen-vl-plus-latest')).toEqual(priceFor('qwen-vl-plus'));
    expect(priceFor('my-own-model')).toBeUndefined();
    expect(imageTokens(224, 224)).toBe(66);
    expect(imageTokens(16, 16)).toBe(6);
    const ledger = new CostLedger('qwen-vl-plus', priceFor('qwen-vl-plus'));
    ledger.addPaid({ promptTokens: 1_000_000, completionTokens: 1_000_000 });
    ledger.addCached({ promptTokens: 500_000, completionTokens: 0 });
    expect(ledger.snapshot()).toMatchObject({ paidCalls: 1, cachedCalls: 1, usd: 0.84, usdSavedByCache: 0.105 });
  });

  it('estimates the paper-scale cost (81,000 frames, one call per frame) in the same order as the paper', () => {
    const eps = syntheticDataset(4, 5, { imageSize: 128 }).map((d) => d.episode);
    const plan = planAnnotation(eps, { mode: 'frame', endpoint: { baseUrl: 'http://127.0.0.1:1/v1', model: 'qwen-vl-plus' } });
    const usdPerFrame = plan.estimate.usd! / plan.frames;
    const paperScale = usdPerFrame * 81_000;
    console.info(`estimate: ${paperScale.toFixed(2)} USD for 81,000 frames at 128×128 (paper: ≈7 USD); segment mode needs ${plan.callsSegmentMode} of ${plan.callsFrameMode} calls`);
    expect(paperScale).toBeGreaterThan(1);
    expect(paperScale).toBeLessThan(30);
  });
});
