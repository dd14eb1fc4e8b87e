import type { Episode } from '../data/episode.js';
import { LabError, serializeError } from '../errors.js';
import { classifyEpisode, type PhaseLabeling } from '../phases/classifier.js';
import type { ClassifierConfigInput } from '../phases/config.js';
import { operatingSegments, phaseSegments, uniformKeyframes, type OperatingSegment } from '../phases/segments.js';
import { computeSignals } from '../phases/signals.js';
import { taxonomy, type Phase } from '../phases/taxonomy.js';
import { encodePngRgb, frameRgb, halveRgb, pngDataUrl } from '../util/png.js';
import { AnswerCache, cacheKey } from './cache.js';
import { isEndpointError, userMessage, VlmClient, type ChatUsage, type VlmClientOptions, type VlmErrorKind } from './client.js';
import { CostLedger, imageTokens, priceFor, textTokens, usdOf, type LedgerSnapshot, type Price } from './cost.js';
import { cancelled } from './limiter.js';
import { OFFLINE_ANNOTATOR, offlineContext, offlineDescription, offlineTuple, type OfflineContext } from './offline.js';
import { loadPrompts, renderPrompt, type PromptSet, type PromptTemplate } from './prompts.js';
import { DEFAULT_SINGLE_RULES, validateDescription, validateTuple, type SingleFrameRules, type Validation } from './validate.js';
import { OPERATING_DIRECTIONS, OPERATING_OBJECTS, type OperatingTuple } from './vocab.js';

/**
 * annotateDataset: phase-anchored descriptions for every frame and (object, direction) tuples for every
 * operating segment, from a VLM endpoint or the offline annotator.
 *
 *  - segment mode (default): one single-frame call per (episode, phase segment) at `keyframesPerSegment`
 *    uniformly spread keyframes; every frame takes the answer of its nearest keyframe (propagated);
 *  - frame mode: one single-frame call per frame (the paper's way);
 *  - both: one multi-frame call per operating segment on `operatingKeyframes` (5) keyframes, broadcast
 *    to the whole segment (operating frames get no single-frame description, paper §3.4).
 * An answer that fails validation is asked again with the strict prompt, then that task has failed.
 *
 * Failures (see docs/annotate.md, "Failures and fallback"):
 *  - endpoint errors (401/403 `auth`, 404 or "unknown model" 400 `config`) reject at the first answer
 *    with that LabError (naming the endpoint and status, never the key): nothing is filled in offline;
 *  - a task that still fails after the client's retries (429/5xx/timeouts/unreachable, garbage bodies,
 *    answers that never validate) with `fallback: 'none'` (default) makes annotateDataset reject with
 *    REMOTE_ERROR kind `incomplete`, naming how many tasks failed and why; with `fallback: 'offline'`
 *    its frames get the offline template, status `fallback`, counted in `summary.counts` and in the
 *    annotator label (`vlm:<model> (offline fallback for 3 of 40 tasks, …)`), and `onWarning` is told.
 * Every HTTP answer goes to the content-addressed cache first, so an interrupted run, re-run, pays nothing
 * for what it got.
 */

export type Camera = 'agentview' | 'eye_in_hand';

export interface AnnotateOptions {
  /** VLM endpoint; without one (or with annotator 'offline') the offline annotator writes every record. */
  endpoint?: VlmClientOptions;
  annotator?: 'vlm' | 'offline';
  mode?: 'segment' | 'frame';
  keyframesPerSegment?: number;
  operatingKeyframes?: number;
  /** Taxonomy whose phase names the prompts and records use (3, 5, 7, 9, 11, 13). */
  taxonomySize?: number;
  cameras?: Camera[];
  /** Rotate agentview 180° before sending (LIBERO stores it upside down; OpenVLA rotates it too). */
  rotateAgentview?: boolean;
  cacheDir?: string;
  /** Phase labels per episode; computed with `classifier` when absent. */
  labelings?: PhaseLabeling[];
  classifier?: ClassifierConfigInput;
  promptsDir?: string;
  /**
   * What a task the VLM could not answer (after retries) gets: 'none' (default) fails the annotation,
   * 'offline' fills it with the offline template, counted and named in the summary and the records.
   * Endpoint errors (auth, config) fail the annotation whatever this says.
   */
  fallback?: FallbackPolicy;
  /** On a 413, retry once with images halved. */
  shrinkOnTooLarge?: boolean;
  prices?: Record<string, Price>;
  validation?: SingleFrameRules;
}

export interface AnnotateProgress {
  stage: 'classify' | 'plan' | 'annotate' | 'done';
  fraction: number;
  done: number;
  total: number;
  message?: string;
}

export type FallbackPolicy = 'none' | 'offline';

export interface AnnotateHooks {
  onProgress?: (p: AnnotateProgress) => void;
  /** Told once, at the end, when tasks fell back to the offline template (the job logs it as a warning). */
  onWarning?: (message: string) => void;
  signal?: AbortSignal;
}

export interface FrameAnnotation {
  frame: number;
  /** Phase name in the chosen taxonomy. */
  phase: string;
  /** The classifier's 9-phase label. */
  phase9: Phase;
  /** Single-frame description (null on operating frames, which carry the tuple instead). */
  description: string | null;
  tuple: OperatingTuple | null;
  /** Who wrote the text: `vlm:<model>` or `offline-template-v1`. */
  annotator: string;
  /** ok; failed (VLM failed, no text); fallback (VLM failed, offline text used). */
  status: 'ok' | 'failed' | 'fallback';
  /** vlm: answered now; cache: answered from the cache; offline: template. */
  source: 'vlm' | 'cache' | 'offline';
  /** The frame whose answer this one took (itself when annotated directly). */
  annotatedFrame: number;
  promptVersion: string | null;
  error?: { kind: string; message: string };
}

/**
 * Who wrote what, in tasks (one VLM question: a segment's keyframe in segment mode, a frame in frame
 * mode, an operating segment in both) and frames: answered now (vlm), from the cache, filled with the
 * offline template after a failure (fallback), or left without text (failed).
 */
export interface AnnotationCounts {
  tasks: number;
  vlm: number;
  cached: number;
  fallback: number;
  failed: number;
  frames: number;
  fallbackFrames: number;
  failedFrames: number;
}

export interface EpisodeAnnotations {
  episode: number;
  frames: FrameAnnotation[];
  /** This episode's share of the counts. */
  counts: AnnotationCounts;
  /** The honest annotator label of this episode (see annotatorLabel). */
  annotator: string;
}

export interface AnnotationFailure {
  episode: number;
  start: number;
  end: number;
  kind: string;
  message: string;
}

export interface AnnotationPlan {
  frames: number;
  mode: 'segment' | 'frame';
  singleCalls: number;
  multiCalls: number;
  /** Calls the same dataset needs in frame mode (paper) and in segment mode, for the calls-saved report. */
  callsFrameMode: number;
  callsSegmentMode: number;
  estimate: { promptTokens: number; completionTokens: number; usd: number | null; model: string | null };
}

export interface AnnotationSummary {
  /** `vlm:<model>`, `offline-template-v1`, or `vlm:<model> (offline fallback for k of n tasks, f of F frames)`. */
  annotator: string;
  /** The VLM endpoint asked (base URL without credentials, model), or null offline. */
  endpoint: { baseUrl: string; model: string } | null;
  fallback: FallbackPolicy;
  counts: AnnotationCounts;
  mode: 'segment' | 'frame';
  frames: number;
  plan: AnnotationPlan;
  /** Tasks: single-frame (per keyframe) and multi-frame (per operating segment). */
  tasks: number;
  status: { ok: number; failed: number; fallback: number };
  /** HTTP answers paid for now, and answers read from the cache. */
  paidCalls: number;
  cachedCalls: number;
  /** Requests identical to one already in flight (same images and prompt), answered by that one call. */
  sharedCalls: number;
  callsSavedBySegmentMode: number;
  failures: AnnotationFailure[];
  ledger: LedgerSnapshot | null;
  promptVersions: string[];
  responseFormat: string | null;
}

export interface AnnotationResult {
  episodes: EpisodeAnnotations[];
  summary: AnnotationSummary;
}

const zeroCounts = (): AnnotationCounts => ({ tasks: 0, vlm: 0, cached: 0, fallback: 0, failed: 0, frames: 0, fallbackFrames: 0, failedFrames: 0 });

/**
 * The annotator label that says what happened: `base` when every task has VLM text, else
 * `<base> (offline fallback for 3 of 40 tasks, 120 of 1400 frames)` (and/or `k of n tasks failed`).
 */
export function annotatorLabel(base: string, c: AnnotationCounts): string {
  const parts: string[] = [];
  if (c.fallback > 0) parts.push(`offline fallback for ${c.fallback} of ${c.tasks} tasks, ${c.fallbackFrames} of ${c.frames} frames`);
  if (c.failed > 0) parts.push(`${c.failed} of ${c.tasks} tasks failed, ${c.failedFrames} of ${c.frames} frames without text`);
  return parts.length ? `${base} (${parts.join('; ')})` : base;
}

/** The per-demo sidecar notes of one annotated episode: its honest annotator label and its counts. */
export function sidecarAnnotationNotes(result: AnnotationResult, episode: number): { annotator: string; annotation: AnnotationCounts & { fallbackPolicy: FallbackPolicy; model: string | null } } {
  const ep = result.episodes[episode];
  return { annotator: ep.annotator, annotation: { ...ep.counts, fallbackPolicy: result.summary.fallback, model: result.summary.endpoint?.model ?? null } };
}

/** The text the student sees for one frame: phase label + description, or + the tuple on operating frames. */
export function studentText(record: Pick<FrameAnnotation, 'phase' | 'description' | 'tuple'>): string {
  if (record.tuple) return `${record.phase}: (${record.tuple.object}, ${record.tuple.direction})`;
  if (record.description) return `${record.phase}: ${record.description}`;
  return record.phase;
}

interface Task {
  kind: 'single' | 'multi';
  episode: number;
  /** Frames whose images are sent. */
  keyframes: number[];
  /** Frames that take this task's answer, and from which keyframe. */
  covers: { frame: number; from: number }[];
  label: string;
  segment: { start: number; end: number };
  operating?: OperatingSegment;
}

interface Prepared {
  labelings: PhaseLabeling[];
  labels: string[][];
  contexts: OfflineContext[];
  operating: OperatingSegment[][];
}

function prepare(episodes: readonly Episode[], options: AnnotateOptions, hooks: AnnotateHooks): Prepared {
  const tax = taxonomy(options.taxonomySize ?? 9);
  if (options.labelings && options.labelings.length !== episodes.length) {
    throw new LabError('INVALID_INPUT', `annotate: ${options.labelings.length} labelings for ${episodes.length} episodes`, { field: 'labelings' });
  }
  const labelings: PhaseLabeling[] = [];
  episodes.forEach((ep, i) => {
    if (hooks.signal?.aborted) throw cancelled();
    const l = options.labelings?.[i] ?? classifyEpisode(ep, options.classifier ?? {});
    if (l.phases.length !== ep.length) throw new LabError('SHAPE_MISMATCH', `annotate: labeling ${i} has ${l.phases.length} frames, episode has ${ep.length}`, { episode: i });
    labelings.push(l);
    hooks.onProgress?.({ stage: 'classify', fraction: (0.05 * (i + 1)) / episodes.length, done: i + 1, total: episodes.length });
  });
  const labels = labelings.map((l) => l.phases.map((p, t) => tax.map(p, l.details[t])));
  const contexts = episodes.map((ep, i) => offlineContext(ep, labelings[i], computeSignals(ep, labelings[i].config)));
  const operating = episodes.map((ep, i) => operatingSegments(labelings[i], ep, options.operatingKeyframes ?? 5));
  return { labelings, labels, contexts, operating };
}

function planTasks(p: Prepared, mode: 'segment' | 'frame', keyframesPerSegment: number): Task[] {
  const tasks: Task[] = [];
  p.labelings.forEach((l, e) => {
    for (const seg of p.operating[e]) {
      tasks.push({
        kind: 'multi',
        episode: e,
        keyframes: seg.keyframes,
        covers: Array.from({ length: seg.end - seg.start }, (_, i) => ({ frame: seg.start + i, from: seg.start + i })),
        label: p.labels[e][seg.start],
        segment: { start: seg.start, end: seg.end },
        operating: seg,
      });
    }
    // Single-frame tasks over runs of the same taxonomy label, operating frames excluded.
    const labels = p.labels[e];
    const runs = phaseSegments(l.phases.map((ph, t) => (ph === 'operating' ? ('operating' as Phase) : (labels[t] as Phase))));
    for (const run of runs) {
      if (l.phases[run.start] === 'operating') continue;
      const segment = { start: run.start, end: run.end };
      if (mode === 'frame') {
        for (let t = run.start; t < run.end; t++) tasks.push({ kind: 'single', episode: e, keyframes: [t], covers: [{ frame: t, from: t }], label: labels[t], segment });
        continue;
      }
      const keys = uniformKeyframes(run.start, run.end, keyframesPerSegment);
      for (const k of keys) {
        const covers: Task['covers'] = [];
        for (let t = run.start; t < run.end; t++) {
          const nearest = keys.reduce((best, c) => (Math.abs(c - t) < Math.abs(best - t) ? c : best), keys[0]);
          if (nearest === k) covers.push({ frame: t, from: k });
        }
        tasks.push({ kind: 'single', episode: e, keyframes: [k], covers, label: labels[k], segment });
      }
    }
  });
  return tasks;
}

interface Images {
  /** Raw RGB of each image as sent (after rotation / halving): hashed for the cache key. */
  rgb: Uint8Array[];
  height: number;
  width: number;
  /** PNG bytes, encoded on first use (a cache hit never needs them). */
  png(): Uint8Array[];
}

function taskImages(ep: Episode, frames: number[], cameras: Camera[], rotate: boolean, halvings = 0): Images {
  const { height, width } = ep.imageSize;
  const rgb: Uint8Array[] = [];
  let h = height;
  let w = width;
  for (const f of frames)
    for (const cam of cameras) {
      let img = frameRgb(cam === 'agentview' ? ep.obs.agentview_rgb : ep.obs.eye_in_hand_rgb, f, height, width, cam === 'agentview' && rotate);
      h = height;
      w = width;
      for (let i = 0; i < halvings; i++) ({ rgb: img, width: w, height: h } = halveRgb(img, w, h));
      rgb.push(img);
    }
  let png: Uint8Array[] | null = null;
  return { rgb, height: h, width: w, png: () => (png ??= rgb.map((img) => encodePngRgb(img, w, h))) };
}

const CAMERA_WORDS: Record<Camera, string> = { agentview: 'front (third-person) camera', eye_in_hand: 'wrist camera' };

function promptValues(ep: Episode, task: Task, tax: ReturnType<typeof taxonomy>, cameras: Camera[], reason?: string): Record<string, string | number> {
  const def = tax.phases.find((p) => p.name === task.label)?.definition ?? '';
  return {
    instruction: ep.instruction,
    cameras: cameras.map((c) => CAMERA_WORDS[c]).join(' and '),
    phase: task.label,
    definition: def,
    other_phases: tax.phases
      .map((p) => p.name)
      .filter((n) => n !== task.label)
      .join(', '),
    count: task.keyframes.length,
    objects: OPERATING_OBJECTS.join(', '),
    directions: OPERATING_DIRECTIONS.join(', '),
    reason: reason ?? '',
  };
}


const singleSchema = (phase: string) => ({
  name: 'phase_description',
  schema: { type: 'object', properties: { phase: { type: 'string', enum: [phase] }, description: { type: 'string' } }, required: ['phase', 'description'], additionalProperties: false },
});
const tupleSchema = {
  name: 'operating_direction',
  schema: {
    type: 'object',
    properties: { object: { type: 'string', enum: [...OPERATING_OBJECTS] }, direction: { type: 'string', enum: [...OPERATING_DIRECTIONS] } },
    required: ['object', 'direction'],
    additionalProperties: false,
  },
};

/** Dry run: the calls both modes need and the estimated tokens and cost, without any request. */
export function planAnnotation(episodes: readonly Episode[], options: AnnotateOptions = {}): AnnotationPlan {
  return planFrom(episodes, prepare(episodes, options, {}), options, loadPrompts(options.promptsDir));
}

function planFrom(episodes: readonly Episode[], p: Prepared, options: AnnotateOptions, prompts: PromptSet): AnnotationPlan {
  const mode = options.mode ?? 'segment';
  const k = options.keyframesPerSegment ?? 1;
  const cameras = options.cameras ?? ['agentview'];
  const tax = taxonomy(options.taxonomySize ?? 9);
  const tasks = planTasks(p, mode, k);
  let promptTokens = 0;
  let completionTokens = 0;
  for (const t of tasks) {
    const ep = episodes[t.episode];
    const tpl = t.kind === 'single' ? prompts.single : prompts.multi;
    promptTokens += textTokens(renderPrompt(tpl, promptValues(ep, t, tax, cameras))) + t.keyframes.length * cameras.length * imageTokens(ep.imageSize.height, ep.imageSize.width);
    completionTokens += t.kind === 'single' ? 110 : 25; // typical answer lengths: 2–4 sentences in JSON, or a tuple
  }
  const model = options.endpoint?.model ?? null;
  const price = model ? priceFor(model, options.prices) : undefined;
  return {
    frames: episodes.reduce((s, e) => s + e.length, 0),
    mode,
    singleCalls: tasks.filter((t) => t.kind === 'single').length,
    multiCalls: tasks.filter((t) => t.kind === 'multi').length,
    callsFrameMode: mode === 'frame' ? tasks.length : planTasks(p, 'frame', k).length,
    callsSegmentMode: mode === 'segment' ? tasks.length : planTasks(p, 'segment', k).length,
    estimate: { promptTokens, completionTokens, usd: usdOf({ promptTokens, completionTokens }, price), model },
  };
}

type TaskOutcome =
  | { ok: true; description?: string; tuple?: OperatingTuple; fromCache: boolean; promptVersion: string }
  | { ok: false; kind: string; message: string; promptVersion: string };

export async function annotateDataset(episodes: readonly Episode[], options: AnnotateOptions = {}, hooks: AnnotateHooks = {}): Promise<AnnotationResult> {
  const signal = hooks.signal;
  const prompts = loadPrompts(options.promptsDir);
  const useVlm = (options.annotator ?? (options.endpoint ? 'vlm' : 'offline')) === 'vlm';
  if (useVlm && !options.endpoint) throw new LabError('INVALID_INPUT', 'annotate: annotator "vlm" needs an endpoint (baseUrl, model)', { field: 'endpoint' });
  const mode = options.mode ?? 'segment';
  const cameras = options.cameras ?? ['agentview'];
  const rotate = options.rotateAgentview ?? true;
  const tax = taxonomy(options.taxonomySize ?? 9);
  const phaseNames = tax.phases.map((p) => p.name);
  const rules = options.validation ?? DEFAULT_SINGLE_RULES;
  const fallbackPolicy: FallbackPolicy = options.fallback ?? 'none';
  if (fallbackPolicy !== 'none' && fallbackPolicy !== 'offline') throw new LabError('INVALID_INPUT', `annotate: fallback is 'none' or 'offline', got ${String(fallbackPolicy)}`, { field: 'fallback' });
  const fallback = fallbackPolicy === 'offline';

  const prepared = prepare(episodes, options, hooks);
  const plan = planFrom(episodes, prepared, options, prompts);
  hooks.onProgress?.({ stage: 'plan', fraction: 0.05, done: 0, total: 0, message: `${plan.singleCalls + plan.multiCalls} tasks (${mode} mode)` });

  // Offline: every frame gets its own template text, every operating segment its template tuple.
  if (!useVlm) {
    const out = episodes.map((ep, e) => {
      const ctx = prepared.contexts[e];
      const frames: FrameAnnotation[] = [];
      const tupleAt = new Map<number, OperatingTuple>();
      for (const seg of prepared.operating[e]) {
        const tuple = offlineTuple(ctx, seg);
        for (let t = seg.start; t < seg.end; t++) tupleAt.set(t, tuple);
      }
      for (let t = 0; t < ep.length; t++) {
        const tuple = tupleAt.get(t) ?? null;
        frames.push({
          frame: t,
          phase: prepared.labels[e][t],
          phase9: prepared.labelings[e].phases[t],
          description: tuple ? null : offlineDescription(ctx, t, prepared.labels[e][t]),
          tuple,
          annotator: OFFLINE_ANNOTATOR,
          status: 'ok',
          source: 'offline',
          annotatedFrame: t,
          promptVersion: null,
        });
      }
      hooks.onProgress?.({ stage: 'annotate', fraction: 0.05 + (0.95 * (e + 1)) / episodes.length, done: e + 1, total: episodes.length });
      return { episode: e, frames, counts: { ...zeroCounts(), frames: frames.length }, annotator: OFFLINE_ANNOTATOR };
    });
    const frames = out.reduce((s, e) => s + e.frames.length, 0);
    hooks.onProgress?.({ stage: 'done', fraction: 1, done: episodes.length, total: episodes.length });
    return {
      episodes: out,
      summary: {
        annotator: OFFLINE_ANNOTATOR,
        endpoint: null,
        fallback: fallbackPolicy,
        counts: { ...zeroCounts(), frames },
        mode: 'frame',
        frames,
        plan,
        tasks: 0,
        status: { ok: frames, failed: 0, fallback: 0 },
        paidCalls: 0,
        cachedCalls: 0,
        sharedCalls: 0,
        callsSavedBySegmentMode: plan.callsFrameMode - plan.callsSegmentMode,
        failures: [],
        ledger: null,
        promptVersions: [],
        responseFormat: null,
      },
    };
  }

  const client = new VlmClient(options.endpoint!);
  const annotator = `vlm:${client.model}`;
  const cache = options.cacheDir ? new AnswerCache(options.cacheDir) : null;
  const ledger = new CostLedger(client.model, priceFor(client.model, options.prices));
  const tasks = planTasks(prepared, mode, options.keyframesPerSegment ?? 1);
  const inflight = new Map<string, Promise<{ content: string; usage: ChatUsage; cached: boolean }>>();
  /** An endpoint error (auth, config): stops every request at once and is what annotateDataset rejects with. */
  let fatal: LabError | null = null;
  /** The endpoint unreachable after the retries: the remaining requests fail fast with it (no hammering). */
  let down: LabError | null = null;
  const stop = new AbortController();
  const requestSignal = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
  let sharedCalls = 0;

  /** One prompt → answer, through the cache; identical concurrent requests share one call. */
  const ask = async (template: PromptTemplate, prompt: string, images: Images, ep: Episode, task: Task, schema: object) => {
    const key = cacheKey({ model: client.model, promptVersion: template.version, prompt, images: images.rgb, imageShape: `${images.width}x${images.height}` });
    const hit = await cache?.get(key);
    if (hit) {
      ledger.addCached(hit.usage);
      return { content: hit.content, cached: true };
    }
    if (fatal) throw fatal;
    if (down) throw down;
    let pending = inflight.get(key);
    if (pending) sharedCalls++;
    else {
      pending = (async () => {
        let imgs = images;
        for (let halvings = 0; ; halvings++) {
          try {
            const r = await client.chat({ messages: [userMessage(prompt, imgs.png().map(pngDataUrl))], schema: schema as never, signal: requestSignal });
            ledger.addPaid(r.usage, r.usageReported);
            await cache?.put({ key, model: client.model, promptVersion: template.version, content: r.content, usage: r.usage, createdAt: new Date().toISOString() });
            return { content: r.content, usage: r.usage, cached: false };
          } catch (err) {
            const kind = err instanceof LabError ? (err.details.kind as VlmErrorKind | undefined) : undefined;
            if (kind === 'too_large' && (options.shrinkOnTooLarge ?? true) && halvings < 2 && imgs.width > 8) {
              imgs = taskImages(ep, task.keyframes, cameras, rotate, halvings + 1);
              continue;
            }
            if (isEndpointError(err)) {
              if (!fatal) {
                fatal = err;
                stop.abort(); // in-flight requests and backoff sleeps end now
              }
            } else if (kind === 'unreachable') down ??= err as LabError;
            throw err;
          }
        }
      })();
      inflight.set(key, pending);
      pending.finally(() => inflight.delete(key)).catch(() => undefined);
    }
    const r = await pending;
    return { content: r.content, cached: false };
  };

  const runTask = async (task: Task): Promise<TaskOutcome> => {
    const ep = episodes[task.episode];
    const images = taskImages(ep, task.keyframes, cameras, rotate);
    const [first, strict] = task.kind === 'single' ? [prompts.single, prompts.singleStrict] : [prompts.multi, prompts.multiStrict];
    const schema = task.kind === 'single' ? singleSchema(task.label) : tupleSchema;
    const validate = (content: string): Validation<string | OperatingTuple> =>
      task.kind === 'single' ? validateDescription(content, task.label, phaseNames, rules) : validateTuple(content);
    try {
      const a = await ask(first, renderPrompt(first, promptValues(ep, task, tax, cameras)), images, ep, task, schema);
      let v = validate(a.content);
      let fromCache = a.cached;
      let version = first.version;
      if (!v.ok) {
        const b = await ask(strict, renderPrompt(strict, promptValues(ep, task, tax, cameras, v.reason)), images, ep, task, schema);
        fromCache &&= b.cached;
        version = strict.version;
        v = validate(b.content);
        if (!v.ok) return { ok: false, kind: 'invalid_answer', message: v.reason, promptVersion: version };
      }
      return typeof v.value === 'string'
        ? { ok: true, description: v.value, fromCache, promptVersion: version }
        : { ok: true, tuple: v.value, fromCache, promptVersion: version };
    } catch (err) {
      if ((err instanceof LabError && err.code === 'CANCELLED') || isEndpointError(err)) throw err;
      if (fatal) throw fatal;
      const e = serializeError(err);
      return { ok: false, kind: String(e.details?.kind ?? e.code), message: client.redact(e.message), promptVersion: first.version };
    }
  };

  // Worker pool over the task list; the client's limiter bounds the HTTP concurrency.
  const outcomes = new Array<TaskOutcome | undefined>(tasks.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < tasks.length && !requestSignal.aborted) {
      const i = next++;
      try {
        outcomes[i] = await runTask(tasks[i]);
      } catch (err) {
        if ((err instanceof LabError && err.code === 'CANCELLED') || isEndpointError(err)) return;
        throw err;
      }
      done++;
      hooks.onProgress?.({ stage: 'annotate', fraction: 0.05 + (0.95 * done) / tasks.length, done, total: tasks.length });
    }
  };
  await Promise.all(Array.from({ length: Math.min(client.options.concurrency, Math.max(1, tasks.length)) }, worker));
  if (fatal) throw fatal;
  if (signal?.aborted) throw cancelled();

  // Assemble per-frame records.
  const records = episodes.map((ep) => new Array<FrameAnnotation | undefined>(ep.length));
  const failures: AnnotationFailure[] = [];
  const perEpisode = episodes.map((ep) => ({ ...zeroCounts(), frames: ep.length }));
  tasks.forEach((task, i) => {
    const o = outcomes[i]!;
    const ctx = prepared.contexts[task.episode];
    const c = perEpisode[task.episode];
    c.tasks++;
    if (o.ok) c[o.fromCache ? 'cached' : 'vlm']++;
    else {
      failures.push({ episode: task.episode, start: task.segment.start, end: task.segment.end, kind: o.kind, message: o.message });
      if (fallback) {
        c.fallback++;
        c.fallbackFrames += task.covers.length;
      } else {
        c.failed++;
        c.failedFrames += task.covers.length;
      }
    }
    for (const { frame, from } of task.covers) {
      const base = { frame, phase: prepared.labels[task.episode][frame], phase9: prepared.labelings[task.episode].phases[frame], annotatedFrame: from, promptVersion: o.promptVersion };
      if (o.ok) {
        records[task.episode][frame] = { ...base, description: o.description ?? null, tuple: o.tuple ?? null, annotator, status: 'ok', source: o.fromCache ? 'cache' : 'vlm' };
      } else if (fallback) {
        const tuple = task.operating ? offlineTuple(ctx, task.operating) : null;
        records[task.episode][frame] = {
          ...base,
          annotatedFrame: frame,
          description: tuple ? null : offlineDescription(ctx, frame, base.phase),
          tuple,
          annotator: OFFLINE_ANNOTATOR,
          status: 'fallback',
          source: 'offline',
          error: { kind: o.kind, message: o.message },
        };
      } else {
        records[task.episode][frame] = { ...base, description: null, tuple: null, annotator, status: 'failed', source: 'vlm', error: { kind: o.kind, message: o.message } };
      }
    }
  });
  const out: EpisodeAnnotations[] = records.map((frames, e) => {
    const missing = frames.findIndex((f) => f === undefined);
    if (missing >= 0) throw new LabError('INTERNAL', `annotate: episode ${e} frame ${missing} got no record`, { episode: e, frame: missing });
    return { episode: e, frames: frames as FrameAnnotation[], counts: perEpisode[e], annotator: annotatorLabel(annotator, perEpisode[e]) };
  });
  const counts = perEpisode.reduce((a, c) => {
    for (const k of Object.keys(a) as (keyof AnnotationCounts)[]) a[k] += c[k];
    return a;
  }, zeroCounts());
  if (failures.length > 0 && !fallback) throw incomplete(client, counts, failures);
  const all = out.flatMap((e) => e.frames);
  const snapshot = ledger.snapshot();
  if (counts.fallback > 0) hooks.onWarning?.(fallbackWarning(client, counts, failures));
  hooks.onProgress?.({ stage: 'done', fraction: 1, done: tasks.length, total: tasks.length });
  return {
    episodes: out,
    summary: {
      annotator: annotatorLabel(annotator, counts),
      endpoint: { ...client.endpoint },
      fallback: fallbackPolicy,
      counts,
      mode,
      frames: all.length,
      plan,
      tasks: tasks.length,
      status: {
        ok: all.filter((r) => r.status === 'ok').length,
        failed: all.filter((r) => r.status === 'failed').length,
        fallback: all.filter((r) => r.status === 'fallback').length,
      },
      paidCalls: snapshot.paidCalls,
      cachedCalls: snapshot.cachedCalls,
      sharedCalls,
      callsSavedBySegmentMode: plan.callsFrameMode - plan.callsSegmentMode,
      failures,
      ledger: snapshot,
      promptVersions: [...new Set(all.map((r) => r.promptVersion).filter((v): v is string => v !== null))].sort(),
      responseFormat: client.responseFormat,
    },
  };
}

/** "server ×3, invalid_answer ×1": the failures' kinds, most frequent first. */
function kindsText(failures: readonly AnnotationFailure[]): { byKind: Record<string, number>; text: string } {
  const byKind: Record<string, number> = {};
  for (const f of failures) byKind[f.kind] = (byKind[f.kind] ?? 0) + 1;
  const text = Object.entries(byKind)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ×${n}`)
    .join(', ');
  return { byKind, text };
}

const failureText = (f: AnnotationFailure) => `episode ${f.episode} frames ${f.start}–${f.end - 1}: ${f.message.slice(0, 240)}`;

/** fallback 'none' and tasks that failed after the retries: the annotation fails, naming how many and why. */
function incomplete(client: VlmClient, counts: AnnotationCounts, failures: readonly AnnotationFailure[]): LabError {
  const { byKind, text } = kindsText(failures);
  return new LabError(
    'REMOTE_ERROR',
    `VLM annotation failed for ${counts.failed} of ${counts.tasks} tasks (${counts.failedFrames} of ${counts.frames} frames; ${text}) at ${client.endpointText}; first: ${failureText(failures[0])}. ` +
      `Nothing was written. Answers received are cached, so a re-run pays only for the tasks that got none (answers that failed validation are kept and fail again); the parameter fallback: 'offline' fills failed tasks with the offline template instead (counted, and named in the annotator label).`,
    { kind: 'incomplete', endpoint: { ...client.endpoint }, counts, byKind, failures: failures.slice(0, 20).map((f) => ({ ...f, message: f.message.slice(0, 300) })) },
  );
}

function fallbackWarning(client: VlmClient, counts: AnnotationCounts, failures: readonly AnnotationFailure[]): string {
  return (
    `offline fallback: ${counts.fallback} of ${counts.tasks} tasks (${counts.fallbackFrames} of ${counts.frames} frames) got the offline template instead of VLM text from ${client.endpointText}` +
    ` (${kindsText(failures).text}); first: ${failureText(failures[0])}`
  );
}
