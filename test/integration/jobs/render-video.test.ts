import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluatePolicy } from '../../../electron/engine/evaluate/evaluation.js';
import { parseProtocol } from '../../../electron/engine/evaluate/protocol.js';
import { readFramePack } from '../../../electron/engine/evaluate/frames.js';
import { listTrials } from '../../../electron/engine/evaluate/trial-browser.js';
import { compareGeometry, stepX } from '../../../electron/engine/video/layouts.js';
import { testLab } from '../../helpers/lab.js';
import { decodeRgb, frameMd5, probe } from '../../helpers/ffprobe.js';

/**
 * The render-video job on a real micro evaluation (the noisy scripted teacher and the random baseline,
 * goal task 0, 2 trials, 32 px frames): the outputs as ffprobe and a decoder see them, the panels against
 * the stored frames, the flip marks against the recorded flips, determinism, resume, and re-rendering.
 */
let env: ReturnType<typeof testLab>;
let expId: string;
let dir: string;
const HOLD = 5;

async function run(params: Record<string, unknown>) {
  const job = env.lab.supervisor.start('render-video', expId, params);
  return env.lab.supervisor.waitFor(job.id);
}
const trialOf = (policyId: string, trialIndex: number) => listTrials(env.lab.store, { experimentId: expId, policyId, suite: 'goal', taskIndex: 0 }).find((t) => t.trialIndex === trialIndex)!;
const recordOf = (policyId: string, trialIndex: number) =>
  readFileSync(path.join(dir, 'eval', policyId, 'trials.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).find((r) => r.trialIndex === trialIndex);

/** Mean absolute difference of a w×h region of a decoded frame against an image drawn there (upright, nearest-scaled from `src`). */
function regionError(frame: Uint8Array, width: number, rect: { x: number; y: number; w: number; h: number }, src: Uint8Array, size: number): number {
  let sum = 0;
  for (let y = 0; y < rect.h; y++) {
    for (let x = 0; x < rect.w; x++) {
      const sy = size - 1 - Math.floor((y * size) / rect.h);
      const sx = size - 1 - Math.floor((x * size) / rect.w);
      for (let k = 0; k < 3; k++) sum += Math.abs(frame[((rect.y + y) * width + rect.x + x) * 3 + k] - src[(sy * size + sx) * 3 + k]);
    }
  }
  return sum / (rect.w * rect.h * 3);
}

beforeAll(async () => {
  env = testLab('render-video');
  expId = env.lab.store.createExperiment({ name: 'videos', recipe: 'distill', config: {} }).id;
  dir = env.lab.store.experimentDir(expId);
  const protocol = parseProtocol({ suites: ['goal'], tasks: [0], trialsPerTask: 2, seed: 3, maxSteps: { goal: 60 } });
  for (const entry of [{ id: 'teacher', spec: 'teacher:scripted-noisy' }, { id: 'random', spec: 'random' }]) {
    await evaluatePolicy({ entry, protocol, evalDir: path.join(dir, 'eval', entry.id), baseDir: dir, workers: 1, imageSize: 32 });
  }
}, 120_000);
afterAll(() => env?.cleanup());

describe('render-video job', () => {
  it('compare: an H.264 yuv420p MP4 of the longest trial + hold frames, each panel its policy\'s stored frame at every step, a poster, WebM and GIF', async () => {
    const done = await run({ layout: 'compare', suite: 'goal', taskIndex: 0, initIndex: 1, hold: HOLD, formats: ['mp4', 'webm', 'gif'], name: 'cmp' });
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    const mp4 = path.join(dir, 'videos', 'cmp.mp4');
    const teacher = trialOf('teacher', 1);
    const random = trialOf('random', 1);
    const g = compareGeometry(2, Math.max(teacher.steps, random.steps), 32);
    const p = probe(mp4);
    expect(p).toMatchObject({ codec: 'h264', pixFmt: 'yuv420p', width: g.width, height: g.height });
    expect(p.frames).toBe(Math.max(teacher.steps, random.steps) + 1 + HOLD);
    // +faststart: the moov atom comes before the media data
    const head = readFileSync(mp4).subarray(0, 4096).toString('latin1');
    expect(head.indexOf('moov')).toBeGreaterThan(0);
    expect(head.indexOf('moov') < head.indexOf('mdat') || head.indexOf('mdat') < 0).toBe(true);
    expect(probe(path.join(dir, 'videos', 'cmp.webm'))).toMatchObject({ codec: 'vp9', frames: p.frames });
    expect(probe(path.join(dir, 'videos', 'cmp.gif')).codec).toBe('gif');
    expect(readFileSync(path.join(dir, 'videos', 'cmp.png')).subarray(1, 4).toString()).toBe('PNG');

    // teacher first (the reference), then the random baseline; each panel is its stored frame t
    const decoded = decodeRgb(mp4, p.width, p.height);
    expect(decoded).toHaveLength(p.frames);
    for (const [i, id] of ['teacher', 'random'].entries()) {
      const r = recordOf(id, 1);
      const stored = readFramePack(path.join(dir, 'eval', id, r.frames.path), r.frames);
      for (const t of [0, Math.floor(r.frames.count / 2), r.frames.count - 1]) {
        expect(regionError(decoded[t], p.width, g.panels[i].image, stored[t], 32), `${id} frame ${t}`).toBeLessThan(6);
        // …and not another frame's pixels: the other policy's panel differs from this stored frame more
      }
      const ended = stored.at(-1)!;
      if (r.frames.count - 1 < p.frames - 1) expect(regionError(decoded[p.frames - 1], p.width, g.panels[i].image, ended, 32)).toBeGreaterThan(6); // held and dimmed
    }
    const art = env.lab.store.listArtifacts(expId).filter((a) => a.path.startsWith('videos/cmp.'));
    expect(art.map((a) => a.path).sort()).toEqual(['videos/cmp.gif', 'videos/cmp.mp4', 'videos/cmp.png', 'videos/cmp.webm']);
    expect(art.find((a) => a.path.endsWith('.mp4'))!.meta).toMatchObject({ layout: 'compare', poster: 'videos/cmp.png', frames: p.frames });
  }, 120_000);

  it('draws the spurious flips in red at the recorded steps of the gripper strip; the same inputs decode to the same frames', async () => {
    const params = { layout: 'compare', suite: 'goal', taskIndex: 0, initIndex: 0, hold: 0, size: 256, rerender: 'never', policies: ['random', 'teacher'] };
    const a = await run({ ...params, name: 'flips-a' });
    const b = await run({ ...params, name: 'flips-b' });
    expect([a.status, b.status]).toEqual(['succeeded', 'succeeded']);
    const fa = path.join(dir, 'videos', 'flips-a.mp4');
    expect(frameMd5(fa)).toEqual(frameMd5(path.join(dir, 'videos', 'flips-b.mp4')));
    const random = trialOf('random', 0);
    const teacher = trialOf('teacher', 0);
    const steps = Math.max(random.steps, teacher.steps);
    const g = compareGeometry(2, steps, 256);
    const p = probe(fa);
    const last = decodeRgb(fa, p.width, p.height).at(-1)!;
    const red = (x: number, y: number) => {
      const o = (y * p.width + x) * 3;
      return last[o] > 170 && last[o + 1] < 100 && last[o + 2] < 100;
    };
    expect(random.flipSteps.length).toBeGreaterThan(0);
    const flips = new Set(random.flipSteps);
    const strip = g.panels[0].strip;
    const y = strip.y + Math.floor(strip.h / 2);
    let checked = 0;
    for (let u = 0; u < random.steps; u++) {
      const x0 = strip.x + stepX(u, steps, strip.w);
      const x1 = strip.x + stepX(u + 1, steps, strip.w);
      if (x1 - x0 < 3) continue;
      const mid = Math.floor((x0 + x1) / 2);
      const nearFlip = flips.has(u) || flips.has(u - 1);
      if (flips.has(u)) expect(red(mid, y), `flip at step ${u}`).toBe(true);
      else if (!nearFlip) expect(red(mid, y), `no flip at step ${u}`).toBe(false);
      checked++;
    }
    expect(checked).toBeGreaterThan(random.steps / 2);
    // the upscaled panel says so in its subtitle; a rerun with the same parameters is skipped
    const again = await run({ ...params, name: 'flips-a' });
    expect(again.result).toMatchObject({ skipped: true });
  }, 120_000);

  it('re-renders at a higher resolution by replaying the recorded actions, and refuses a replay that does not reproduce the trial', async () => {
    const done = await run({ layout: 'trial', policyId: 'teacher', suite: 'goal', taskIndex: 0, trialIndex: 0, size: 64, hold: 0, name: 'rr' });
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    const logs = env.lab.store.jobLogs(done.id).map((l) => l.line).join('\n');
    expect(logs).toMatch(/reproduces the recorded trial/);
    const cached = path.join(dir, 'videos', 'rerender', 'teacher-goal-task0-trial0-64px.frames-u8.gz');
    expect(existsSync(cached)).toBe(true);
    const teacher = trialOf('teacher', 0);
    const frames = readFramePack(cached, { count: teacher.steps + 1, height: 64, width: 64 });
    expect(frames).toHaveLength(teacher.steps + 1);
    expect(probe(path.join(dir, 'videos', 'rr.mp4')).frames).toBe(teacher.steps + 1);

    // A record whose actions no longer lead where it says (edited here): the replay is refused, nothing is written.
    const log = path.join(dir, 'eval', 'teacher', 'trials.jsonl');
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    const r = JSON.parse(lines[1]);
    for (let i = 0; i < r.actions.length; i += 7) r.actions[i] = -r.actions[i];
    lines[1] = JSON.stringify(r);
    writeFileSync(log, lines.join('\n') + '\n');
    const bad = await run({ layout: 'trial', policyId: 'teacher', suite: 'goal', taskIndex: 0, trialIndex: 1, size: 64, hold: 0, name: 'rr-bad' });
    expect(bad.status).toBe('failed');
    expect(bad.error).toMatchObject({ code: 'CONFLICT' });
    expect(bad.error!.message).toMatch(/does not reproduce the recorded trial/);
    expect(existsSync(path.join(dir, 'videos', 'rr-bad.mp4'))).toBe(false);
    expect(existsSync(path.join(dir, 'videos', 'rerender', 'teacher-goal-task0-trial1-64px.frames-u8.gz'))).toBe(false);
  }, 120_000);

  it('is cancelled between frames, leaving no partial video behind', async () => {
    const job = env.lab.supervisor.start('render-video', expId, { layout: 'compare', suite: 'goal', taskIndex: 0, initIndex: 0, size: 512, rerender: 'never', hold: 600, name: 'cancelled' });
    await new Promise<void>((resolve) => {
      const iv = setInterval(() => {
        if (/^frame /.test(env.lab.store.getJob(job.id).progress.stage)) {
          clearInterval(iv);
          resolve();
        }
      }, 20);
    });
    env.lab.supervisor.cancel(job.id);
    const done = await env.lab.supervisor.waitFor(job.id);
    expect(done.status).toBe('cancelled');
    const videos = readdirSync(path.join(dir, 'videos'));
    expect(videos.filter((f) => f.startsWith('cancelled') && !f.endsWith('.json'))).toEqual([]);
  }, 120_000);

  it('grid: tasks × policies; bad parameters name the field', async () => {
    const done = await run({ layout: 'grid', suite: 'goal', hold: 0, name: 'grid' });
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    expect(probe(path.join(dir, 'videos', 'grid.mp4')).codec).toBe('h264');
    expect(() => env.lab.supervisor.start('render-video', expId, { layout: 'compare', suite: 'goal', taskIndex: 0 })).toThrow(/initIndex/);
    const missing = await run({ layout: 'compare', suite: 'goal', taskIndex: 0, initIndex: 0, policies: ['student'] });
    expect(missing.error).toMatchObject({ code: 'NOT_FOUND' });
    expect(missing.error!.message).toMatch(/student/);
  }, 120_000);
});
