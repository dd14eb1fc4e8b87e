import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { LabError } from '../../errors.js';
import { readJsonFile } from '../../util/json-file.js';
import { writeJsonAtomic } from '../../util/atomic.js';
import { canonicalJson } from '../../util/canonical-json.js';
import { readCheckpoint, writeCheckpoint, type JobContext } from '../context.js';

/**
 * A recipe is an ordered list of stages; each stage reads the settings it depends on and the outputs of
 * the stages before it. A stage's fingerprint hashes its own settings together with the fingerprints of
 * the stages it depends on (by default the one before it), so a changed setting invalidates exactly that
 * stage and the ones downstream of it. A stage that names its dependencies (`after`) branches off the
 * chain: e.g. the taxonomy ablation depends on training, not on the closed-loop evaluation, so a new
 * trial count re-runs the evaluation without retraining the ablation's students. Completed
 * stages are recorded in `pipeline.json` in the experiment folder (written atomically), which is what
 * makes a re-run skip finished, still-valid work and a killed run resume at the stage it was in.
 */
export interface StageContext<Config> {
  job: JobContext;
  config: Config;
  /** This stage's own folder under the experiment (stages/<name>/), for its outputs and checkpoints. */
  dir: string;
  /** Outputs of earlier stages, by stage name. */
  outputs: Record<string, unknown>;
  /** Report progress within this stage, 0..1; mapped into the job's overall fraction. */
  progress(fraction: number, detail?: string): void;
}

export interface Stage<Config> {
  name: string;
  /** The settings this stage depends on (part of its fingerprint). */
  settings(config: Config): unknown;
  /**
   * The earlier stages this one depends on (their fingerprints are part of its own); default the stage
   * right before it. A stage runs again when its settings changed or any stage it depends on runs.
   */
  after?: readonly string[];
  /** Relative cost, to spread the job's progress bar over stages. */
  weight: number;
  run(ctx: StageContext<Config>): Promise<unknown>;
}

const Manifest = z.object({
  version: z.literal(1),
  stages: z.record(z.string(), z.object({ fingerprint: z.string(), completedAt: z.string(), output: z.unknown() })),
});
type Manifest = z.infer<typeof Manifest>;

export const manifestPath = (experimentDir: string) => path.join(experimentDir, 'pipeline.json');

export function readManifest(experimentDir: string): Manifest {
  const file = manifestPath(experimentDir);
  if (!existsSync(file)) return { version: 1, stages: {} };
  return readJsonFile(file, Manifest);
}

/** The stages a stage depends on, as indices (checked: earlier stages of the same recipe). */
function dependencies<C>(stages: Stage<C>[], i: number): number[] {
  const s = stages[i];
  if (!s.after) return i > 0 ? [i - 1] : [];
  return s.after.map((name) => {
    const j = stages.findIndex((x) => x.name === name);
    if (j < 0 || j >= i) throw new LabError('INTERNAL', `recipe stage ${s.name} depends on ${name}, which is not an earlier stage`, { stage: s.name, after: name });
    return j;
  });
}

export function fingerprints<C>(stages: Stage<C>[], config: C): string[] {
  const out: string[] = [];
  stages.forEach((s, i) => {
    const h = createHash('sha256');
    for (const j of dependencies(stages, i)) h.update(out[j]);
    out.push(h.update(s.name).update(canonicalJson(s.settings(config))).digest('hex').slice(0, 16));
  });
  return out;
}

/**
 * Which stages a run must execute: those whose record is missing or stale, and every stage downstream of
 * one that runs (a stage redone under the same settings may still change its outputs). With the default
 * dependencies (each stage on the one before) that is the first stale stage and all after it.
 */
export function planPipeline<C>(stages: Stage<C>[], config: C, manifest: Manifest): { skip: string[]; run: string[]; fingerprints: string[] } {
  const fps = fingerprints(stages, config);
  const runs = stages.map(() => false);
  stages.forEach((s, i) => {
    runs[i] = manifest.stages[s.name]?.fingerprint !== fps[i] || dependencies(stages, i).some((j) => runs[j]);
  });
  return { skip: stages.filter((_, i) => !runs[i]).map((s) => s.name), run: stages.filter((_, i) => runs[i]).map((s) => s.name), fingerprints: fps };
}

export async function runPipeline<C>(job: JobContext, stages: Stage<C>[], config: C): Promise<{ ran: string[]; skipped: string[]; outputs: Record<string, unknown> }> {
  if (!job.experimentDir) throw new LabError('INVALID_INPUT', 'a recipe runs inside an experiment: pass an experiment id', {});
  const expDir = job.experimentDir;
  const manifest = readManifest(expDir);
  const plan = planPipeline(stages, config, manifest);
  // Records of stale stages go first, so a crash now cannot leave a stale stage looking valid.
  for (const name of plan.run) delete manifest.stages[name];
  await writeJsonAtomic(manifestPath(expDir), manifest);

  const outputs: Record<string, unknown> = {};
  for (const name of plan.skip) outputs[name] = manifest.stages[name].output;
  const total = stages.reduce((a, s) => a + s.weight, 0);
  let done = stages.filter((s) => plan.skip.includes(s.name)).reduce((a, s) => a + s.weight, 0);
  if (plan.skip.length) job.log(`pipeline: ${plan.skip.join(', ')} already done with these settings; skipped`);

  for (const stage of stages) {
    if (!plan.run.includes(stage.name)) continue;
    job.throwIfCancelled();
    const base = done;
    job.progress(base / total, stage.name);
    job.log(`pipeline: stage ${stage.name}`);
    const dir = path.join(expDir, 'stages', stage.name);
    const fingerprint = plan.fingerprints[stages.indexOf(stage)];
    // A stage folder left by a crash under the same settings is kept (the stage resumes from its own
    // checkpoints); one made under other settings is stale and goes.
    const stamp = path.join(dir, '.fingerprint');
    if (existsSync(dir) && (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== fingerprint)) rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(stamp, fingerprint);
    const output = await stage.run({
      job,
      config,
      dir,
      outputs,
      progress: (f, detail) => job.progress((base + stage.weight * Math.min(1, Math.max(0, f))) / total, detail ? `${stage.name}: ${detail}` : stage.name),
    });
    outputs[stage.name] = output;
    manifest.stages[stage.name] = { fingerprint, completedAt: new Date().toISOString(), output };
    await writeJsonAtomic(manifestPath(expDir), manifest);
    done += stage.weight;
  }
  return { ran: plan.run, skipped: plan.skip, outputs };
}

/**
 * Run a job kind's handler as a pipeline stage: same job (cancel, logs, artifacts, records), the stage's
 * own folder as its job folder (so its checkpoints survive a crash of the whole pipeline), and its
 * progress mapped into the stage's share of the bar.
 */
export function stageJobContext(stage: StageContext<unknown>, params: Record<string, unknown>): JobContext {
  const jobDir = path.join(stage.dir, 'job');
  mkdirSync(jobDir, { recursive: true });
  return {
    ...stage.job,
    params,
    jobDir,
    progress: (fraction, detail) => stage.progress(fraction, detail),
    loadCheckpoint: <T>() => readCheckpoint<T>(jobDir),
    saveCheckpoint: (value) => writeCheckpoint(jobDir, value),
  };
}
