import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { LabError, parseOr } from '../../errors.js';
import { readEvaluationMeta } from '../../evaluate/evaluation.js';
import { evaluatedPolicies, findTrial, policyTrials } from '../../evaluate/trial-browser.js';
import type { TrialRecord } from '../../evaluate/trial.js';
import { folderStore, loadPanel, SimPool, type SourceOptions } from '../../evaluate/trial-video-source.js';
import { TEACHER_KINDS } from '../../policies/spec.js';
import { writeFileAtomic, writeJsonAtomic } from '../../util/atomic.js';
import { canonicalJson } from '../../util/canonical-json.js';
import { readJsonFile } from '../../util/json-file.js';
import { encodePngRgb } from '../../util/png.js';
import { encodeMp4, transcode } from '../../video/encode.js';
import { compareLayout, gridLayout, trialLayout, type Layout } from '../../video/layouts.js';
import type { PanelSource } from '../../video/panel-source.js';
import type { JobContext } from '../context.js';
import { RenderVideoParams } from './render-video-params.js';

/**
 * The `render-video` job (docs/video.md): a compare, grid or trial video of an experiment's stored
 * trials, as H.264 MP4 (yuv420p, +faststart) with a poster PNG, and optionally WebM (VP9) and GIF, under
 * `videos/<name>.*`, registered as artifacts with their parameters. Labels are drawn with the project's
 * bitmap font (video/font.ts), so the same inputs give the same frames on every machine. Resumable: a
 * `<name>.json` beside the outputs records the parameters and which outputs are finished; a rerun with
 * the same parameters skips those (re-rendered frame packs are cached under videos/rerender/).
 */
export const renderVideoJob = async (ctx: JobContext) => runRenderVideo(parseOr(RenderVideoParams, ctx.params, 'render-video: parameter'), ctx);

type Output = 'mp4' | 'webm' | 'gif' | 'png';
const State = z.object({ params: z.string(), done: z.array(z.enum(['mp4', 'webm', 'gif', 'png'])) });

export function defaultVideoName(p: RenderVideoParams): string {
  const px = p.size ? `-${p.size}px` : '';
  if (p.layout === 'compare') return `compare-${p.suite}-task${p.taskIndex}-init${p.initIndex}${px}`;
  if (p.layout === 'grid') return `grid-${p.suite}-trial${p.trialIndex}${px}`;
  return `trial-${p.policyId}-${p.suite}-task${p.taskIndex}-trial${p.trialIndex}${px}`;
}

/** Teachers first (the reference of every comparison), then the others by id. */
function policyOrder(expDir: string, ids: string[]): string[] {
  const teacher = (id: string) => {
    const kind = readEvaluationMeta(path.join(expDir, 'eval', id))?.policy?.spec.kind;
    return kind !== undefined && (TEACHER_KINDS as readonly string[]).includes(kind);
  };
  return [...ids].sort((a, b) => Number(teacher(b)) - Number(teacher(a)) || a.localeCompare(b));
}

function pickPolicies(expDir: string, expId: string, asked: string[] | undefined): string[] {
  const have = evaluatedPolicies(folderStore(expId, expDir), expId);
  if (!have.length) throw new LabError('NOT_FOUND', `no evaluation in ${expDir}: run the evaluate job first`, { field: 'policies' });
  for (const id of asked ?? []) if (!have.includes(id)) throw new LabError('NOT_FOUND', `render-video: policy '${id}' has no evaluation here (evaluated: ${have.join(', ')})`, { field: 'policies', value: id });
  return asked ?? policyOrder(expDir, have);
}

async function buildLayout(p: RenderVideoParams, expDir: string, expId: string, sims: SimPool, src: SourceOptions, ctx: JobContext): Promise<Layout> {
  const store = folderStore(expId, expDir);
  // Each policy's trial log is read once, however many of its trials are shown.
  const logs = new Map<string, TrialRecord[]>();
  const trialsOf = (id: string) => logs.get(id) ?? logs.set(id, policyTrials(store, expId, id)).get(id)!;
  const load = async (records: TrialRecord[]): Promise<PanelSource[]> => {
    const out: PanelSource[] = [];
    for (const [i, r] of records.entries()) {
      ctx.throwIfCancelled();
      ctx.progress((0.3 * i) / records.length, `trial ${r.policyId} ${r.suite}/${r.taskIndex}/${r.trialIndex}`);
      out.push(await loadPanel(expId, expDir, r, sims, src));
    }
    return out;
  };
  const panelSize = (panels: PanelSource[]) => p.size ?? Math.max(...panels.map((s) => s.size.width));
  if (p.layout === 'compare') {
    const ids = pickPolicies(expDir, expId, p.policies);
    const records = ids.map((id) => {
      const r = trialsOf(id).find((x) => x.suite === p.suite && x.taskIndex === p.taskIndex && x.initIndex === p.initIndex);
      if (!r) throw new LabError('NOT_FOUND', `render-video: ${id} has no trial of ${p.suite} task ${p.taskIndex} from initial state ${p.initIndex}`, { field: 'initIndex', policyId: id });
      return r;
    });
    if (!p.policies && records.length < 2) ctx.log(`compare: only ${records[0].policyId} has a trial from initial state ${p.initIndex}`, 'warn');
    const panels = await load(records);
    return compareLayout(panels, { panel: panelSize(panels), hold: p.hold });
  }
  if (p.layout === 'grid') {
    const ids = pickPolicies(expDir, expId, p.policies);
    const shown = ids.flatMap((id) => trialsOf(id).filter((r) => r.suite === p.suite && r.trialIndex === p.trialIndex && (p.tasks ?? [r.taskIndex]).includes(r.taskIndex)));
    const tasks = p.tasks ?? [...new Set(shown.map((r) => r.taskIndex))].sort((a, b) => a - b);
    if (!tasks.length) throw new LabError('NOT_FOUND', `render-video: no trial ${p.trialIndex} of suite ${p.suite} is stored`, { field: 'suite', value: p.suite });
    const records = tasks.flatMap((task) => ids.flatMap((id) => shown.filter((r) => r.policyId === id && r.taskIndex === task)));
    const panels = await load(records);
    const at = (task: number, id: string) => panels[records.findIndex((r) => r.taskIndex === task && r.policyId === id)] ?? null;
    return gridLayout(tasks.map((task) => ({ label: `T${task}`, cells: ids.map((id) => at(task, id)) })), ids, { panel: panelSize(panels), hold: p.hold });
  }
  const [panel] = await load([findTrial(store, { experimentId: expId, policyId: p.policyId, suite: p.suite, taskIndex: p.taskIndex, trialIndex: p.trialIndex })]);
  return trialLayout(panel, { panel: panelSize([panel]), hold: p.hold, caption: `${p.policyId} · ${p.suite} task ${p.taskIndex} · trial ${p.trialIndex}` });
}

export async function runRenderVideo(p: RenderVideoParams, ctx: JobContext) {
  if (!ctx.experimentDir) throw new LabError('INVALID_INPUT', 'render-video runs inside an experiment', {});
  const expDir = ctx.experimentDir;
  const expId = path.basename(expDir);
  const name = p.name ?? defaultVideoName(p);
  const rel = (ext: string) => path.join('videos', `${name}.${ext}`);
  const abs = (ext: string) => path.join(expDir, rel(ext));
  const stateFile = abs('json');
  const key = canonicalJson(p);
  const prev = existsSync(stateFile) ? readJsonFile(stateFile, State) : null;
  const done = new Set<Output>(prev && prev.params === key ? prev.done.filter((o) => existsSync(abs(o))) : []);
  const wanted: Output[] = [...p.formats, 'png'];
  const title = `${p.layout} ${name}`;
  const register = (o: Output, extra: Record<string, unknown>) =>
    ctx.artifact(o === 'png' ? 'image' : 'video', rel(o), { title, layout: p.layout, params: p, ...(o === 'png' ? { posterOf: rel('mp4') } : { poster: rel('png') }), ...extra });
  if (wanted.every((o) => done.has(o))) {
    ctx.log(`${name}: already rendered with these parameters (videos/${name}.*)`);
    ctx.progress(1, 'done');
    return { name, outputs: wanted.map(rel), skipped: true };
  }
  // A worker killed mid-encode leaves its ffmpeg output under a temporary name: gone before this attempt.
  const videosDir = path.join(expDir, 'videos');
  if (existsSync(videosDir)) for (const f of readdirSync(videosDir)) if (f.startsWith(`${name}.`) && f.includes('.partial.')) rmSync(path.join(videosDir, f), { force: true });
  const markDone = async (o: Output) => {
    done.add(o);
    await writeJsonAtomic(stateFile, { params: key, done: [...done] });
  };
  await writeJsonAtomic(stateFile, { params: key, done: [...done] });

  const sims = new SimPool();
  try {
    const layout = await buildLayout(p, expDir, expId, sims, { size: p.size, rerender: p.rerender, cacheDir: path.join(expDir, 'videos', 'rerender'), signal: ctx.signal, log: (l) => ctx.log(l) }, ctx);
    const info = { frames: layout.frames, width: layout.width, height: layout.height, fps: p.fps };
    ctx.log(`${name}: ${layout.width}×${layout.height}, ${layout.frames} frames at ${p.fps} fps`);
    // The MP4 is the one encode of the composed frames; WebM and GIF are made from it.
    const needMp4 = !done.has('mp4') || wanted.some((o) => (o === 'webm' || o === 'gif') && !done.has(o));
    const mp4 = p.formats.includes('mp4') ? abs('mp4') : path.join(ctx.jobDir, `${name}.mp4`);
    if (needMp4 && !(done.has('mp4') && existsSync(mp4))) {
      const frames = function* () {
        for (let t = 0; t < layout.frames; t++) {
          ctx.throwIfCancelled();
          if (t % 10 === 0) ctx.progress(0.3 + (0.6 * t) / layout.frames, `frame ${t}/${layout.frames}`);
          yield layout.draw(t);
        }
      };
      await encodeMp4(mp4, frames(), { width: layout.width, height: layout.height, fps: p.fps });
      if (p.formats.includes('mp4')) await markDone('mp4');
    }
    if (!done.has('png')) {
      await writeFileAtomic(abs('png'), encodePngRgb(layout.draw(layout.frames - 1), layout.width, layout.height));
      await markDone('png');
    }
    for (const f of ['webm', 'gif'] as const) {
      if (!p.formats.includes(f) || done.has(f)) continue;
      ctx.throwIfCancelled();
      ctx.progress(0.92, f);
      await transcode(mp4, abs(f), f, p.fps);
      await markDone(f);
    }
    if (!p.formats.includes('mp4')) rmSync(mp4, { force: true });
    for (const o of wanted) register(o, info);
    ctx.progress(1, 'done');
    return { name, outputs: wanted.map(rel), skipped: false, ...info };
  } finally {
    await sims.close();
  }
}
