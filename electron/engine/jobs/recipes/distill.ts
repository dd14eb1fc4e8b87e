import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { LabError, parseOr } from '../../errors.js';
import { readJsonFile } from '../../util/json-file.js';
import { writeJsonAtomic } from '../../util/atomic.js';
import { bestValidationEpoch, readTrainingHistory, taxonomyAblationTable, type AblationRow } from '../../evaluate/taxonomy-ablation.js';
import type { PolicySpec } from '../../policies/spec.js';
import { readTrials } from '../../evaluate/trial-log.js';
import { perTaskTable, suiteTable, type ResultTable } from '../../evaluate/tables.js';
import { efficiencyFromTrials } from '../../evaluate/report.js';
import { annotationFallbacks } from '../../annotate/provenance.js';
import { countParams, parseStudentConfig } from '../../model/config.js';
import { runCollect } from '../kinds/collect.js';
import { CollectParams } from '../kinds/collect-params.js';
import { runAnnotate } from '../kinds/annotate.js';
import { AnnotateParams } from '../kinds/annotate-params.js';
import { runTrain } from '../kinds/train.js';
import { TrainParams } from '../kinds/train-params.js';
import { publishTables, runEvaluate } from '../kinds/evaluate.js';
import { EvaluateParams } from '../kinds/evaluate-params.js';
import type { JobContext } from '../context.js';
import { canonicalJson } from '../../util/canonical-json.js';
import { runPipeline, stageJobContext, type Stage, type StageContext } from './pipeline.js';
import { DistillConfig, parseDistillConfig } from './distill-config.js';

export { DistillConfig, parseDistillConfig, type DistillConfigInput } from './distill-config.js';

/**
 * The `distill` recipe (issue 8): one experiment = teacher + suites + taxonomy + annotator + student +
 * λ grid + K + seeds, run as collect → annotate → train (one student per λ and the no-VLM baseline) →
 * evaluate (teacher and every student under one protocol) → report (the paper's tables). Each stage is the job kind of the same name
 * run inside the pipeline, so a stage behaves exactly as when started alone; the pipeline skips stages
 * already done with the same settings and resumes a crashed one from its own checkpoints. The optional
 * taxonomy ablation (annotate + train once per listed taxonomy) branches off after train: it does not
 * wait for, nor invalidate, the closed-loop evaluation.
 */

/**
 * The teacher as fingerprints see it: the plain scripted teachers keep the string they were written as
 * before the teacher became a PolicySpec, so existing experiments keep their fingerprints (tested).
 */
/** The annotation fallback in fingerprints only when opted in, so experiments from before the setting keep theirs. */
const annotateFallbackKey = (c: DistillConfig) => (c.annotateFallback === 'none' ? {} : { fallback: c.annotateFallback });

export function teacherKey(t: PolicySpec): unknown {
  const json = canonicalJson(t);
  if (json === canonicalJson({ kind: 'scripted' })) return 'scripted';
  if (json === canonicalJson({ kind: 'scripted-noisy', noise: {} })) return 'scripted-noisy';
  return t;
}

/**
 * Run a job kind as this stage: its params (typed as the kind's schema takes them) parsed by the kind's
 * schema, as its handler would, then its typed run in a JobContext of the stage (see stageJobContext).
 */
async function runKind<S extends z.ZodType, R>(
  stage: StageContext<unknown>,
  kind: string,
  schema: S,
  run: (params: z.output<S>, ctx: JobContext) => Promise<R>,
  params: z.input<S>,
): Promise<R> {
  const parsed = parseOr(schema, params, `${kind}: parameter`);
  return run(parsed, stageJobContext(stage, params as Record<string, unknown>));
}

/** A sub-step that owns the [from, to] share of the stage's progress bar. */
function span(stage: StageContext<unknown>, from: number, to: number): StageContext<unknown> {
  return { ...stage, progress: (f, d) => stage.progress(from + (to - from) * Math.min(1, Math.max(0, f)), d) };
}

/** Sub-steps of one stage share its progress bar. */
function part(stage: StageContext<unknown>, i: number, n: number): StageContext<unknown> {
  return { ...stage, progress: (f, d) => stage.progress((i + Math.min(1, Math.max(0, f))) / n, d) };
}

/** Initial weights and tokenizer folder, only when set (so fingerprints of experiments without them stay as they were). */
const studentWeights = (c: DistillConfig) => ({ ...(c.studentInit ? { init: c.studentInit } : {}), ...(c.tokenizerDir ? { tokenizerDir: c.tokenizerDir } : {}) });

/** The execution provider, only when not the default cpu (so fingerprints of experiments without it stay as they were). */
const epSetting = (c: DistillConfig) => (c.ep !== 'cpu' ? { ep: c.ep } : {});

/** The student's settings every training run of the experiment shares (the train job's params; fingerprinted by studentKey). */
export const studentSettings = (c: DistillConfig) => ({
  config: c.student,
  configOverrides: c.studentOverrides,
  ...studentWeights(c),
  epochs: c.epochs,
  batchSize: c.batchSize,
  lr: c.lr,
  seed: c.seed,
  ...epSetting(c),
});

/** The names studentKey has always hashed these settings under (the rest keep theirs). */
const KEY_NAMES: Partial<Record<keyof ReturnType<typeof studentSettings>, string>> = { config: 'student', configOverrides: 'o', batchSize: 'batch' };

/**
 * The student's settings as fingerprints see them — the one student fingerprint, shared by the train
 * stage and the taxonomy ablation's runs: every setting of studentSettings (so a training setting added
 * there invalidates what it changes), under the names the fingerprints were first written with, so
 * existing experiments keep theirs (pinned in test/unit/jobs/distill-fingerprints.test.ts).
 */
export function studentKey(c: DistillConfig): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(studentSettings(c))
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [KEY_NAMES[k as keyof typeof KEY_NAMES] ?? k, v]),
  );
}

export const studentRuns = (c: DistillConfig) => [
  ...c.lambdas.map((lambda) => ({ runId: `lambda-${lambda}`, lambda, descriptions: 'sidecar' as const })),
  ...(c.baseline ? [{ runId: 'no-vlm', lambda: 0, descriptions: 'none' as const }] : []),
];

export const distillStages: Stage<DistillConfig>[] = [
  {
    name: 'collect',
    weight: 3,
    settings: (c) => ({ suites: c.suites, tasks: c.tasks, n: c.episodesPerTask, teacher: teacherKey(c.teacher), size: c.imageSize, seed: c.seed }),
    async run(stage) {
      const c = stage.config;
      const out: unknown[] = [];
      for (const [i, suite] of c.suites.entries()) {
        out.push(
          await runKind(part(stage as StageContext<unknown>, i, c.suites.length), 'collect', CollectParams, runCollect, {
            suite,
            tasks: c.tasks,
            episodesPerTask: c.episodesPerTask,
            teacher: c.teacher,
            imageSize: c.imageSize,
            seed: c.seed,
          }),
        );
      }
      return out;
    },
  },
  {
    name: 'annotate',
    weight: 1,
    settings: (c) => ({ taxonomy: c.taxonomy, annotator: c.annotator, mode: c.annotateMode, seed: c.seed, ...annotateFallbackKey(c) }),
    run: (stage) =>
      runKind(stage as StageContext<unknown>, 'annotate', AnnotateParams, runAnnotate, { dataset: 'data', annotator: stage.config.annotator, taxonomy: stage.config.taxonomy, mode: stage.config.annotateMode, seed: stage.config.seed, fallback: stage.config.annotateFallback }),
  },
  {
    name: 'train',
    weight: 6,
    settings: (c) => ({ ...studentKey(c), runs: studentRuns(c) }),
    async run(stage) {
      const c = stage.config;
      const runs = studentRuns(c);
      const out: Record<string, unknown> = {};
      for (const [i, r] of runs.entries()) {
        out[r.runId] = await runKind(part(stage as StageContext<unknown>, i, runs.length), 'train', TrainParams, runTrain, {
          dataset: 'data',
          runId: r.runId,
          descriptions: r.descriptions,
          lambda: r.lambda,
          ...studentSettings(c),
          threads: c.threads,
        });
      }
      return out;
    },
  },
  {
    name: 'evaluate',
    weight: 4,
    settings: (c) => ({ suites: c.suites, tasks: c.tasks, trials: c.trials, execution: c.execution, seed: c.seed, ...epSetting(c) }),
    run: (stage) => {
      const c = stage.config;
      const policies = [
        { id: 'teacher', spec: c.teacher },
        ...studentRuns(c).map((r) => ({ id: r.runId, spec: { kind: 'student' as const, file: `students/${r.runId}/policy.onnx`, textMode: 'masked' as const } })),
      ];
      return runKind(stage as StageContext<unknown>, 'evaluate', EvaluateParams, runEvaluate, {
        policies,
        reference: 'teacher',
        suites: c.suites,
        tasks: c.tasks,
        trials: c.trials,
        execution: c.execution,
        seed: c.seed,
        imageSize: c.imageSize,
        ...epSetting(c),
      });
    },
  },
];

/** Hard-link (else copy) a dataset's HDF5 files and copy their sidecars, keeping the folder layout. */
function mirrorDataset(src: string, dst: string): void {
  mkdirSync(dst, { recursive: true });
  for (const name of readdirSync(src)) {
    const from = path.join(src, name);
    const to = path.join(dst, name);
    if (statSync(from).isDirectory()) mirrorDataset(from, to);
    else if (/\.(hdf5|h5)$/.test(name)) {
      try {
        linkSync(from, to);
      } catch {
        copyFileSync(from, to); // another volume, or a file system without hard links
      }
    } else if (name.endsWith('.lab.json')) copyFileSync(from, to); // rewritten by annotate: a copy, never shared
  }
}

const AblationState = z.object({ key: z.string(), done: z.boolean() });

/** A run's state file; an unreadable one counts as absent (the run starts clean). */
function readAblationState(file: string): z.infer<typeof AblationState> | null {
  if (!existsSync(file)) return null;
  try {
    const r = AblationState.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

/** What the ablation stage hands the report: one row per listed taxonomy, in the order given. */
export interface AblationOutput {
  lambda: number;
  rows: { taxonomy: number; runId: string; reused: boolean }[];
}

/**
 * The key of one taxonomy ablation run (ablation/taxonomy-<n>/run.json): the collect stage's settings,
 * the annotation with that taxonomy, and the student (studentKey) with the first λ.
 */
export function ablationRunKey(c: DistillConfig, taxonomy: number): string {
  const collect = distillStages.find((s) => s.name === 'collect')!.settings(c);
  const annotate = { taxonomy, annotator: c.annotator, mode: c.annotateMode, seed: c.seed, ...annotateFallbackKey(c) };
  const train = { ...studentKey(c), lambda: c.lambdas[0] };
  return createHash('sha256').update(canonicalJson({ collect, annotate, train })).digest('hex').slice(0, 16);
}

/**
 * The taxonomy ablation: per listed taxonomy, the collected data mirrored into ablation/taxonomy-<n>/data
 * (HDF5 hard-linked; the sidecars copied, since annotate rewrites them and the experiment's own data must
 * keep its taxonomy), annotated with that taxonomy, and one student students/taxonomy-<n> trained with the
 * first λ and the experiment's student settings (no policy export: only its validation metrics count).
 * The experiment's own taxonomy reuses its λ student. Each run is keyed by the settings it depends on
 * (ablation/taxonomy-<n>/run.json), so adding a taxonomy to the list, or re-running the stage after an
 * unrelated change upstream, trains only what is missing; a run killed midway resumes from its checkpoints.
 */
const ablationStage: Stage<DistillConfig> = {
  name: 'taxonomy-ablation',
  after: ['train'],
  weight: 1, // set from the config in distillJob
  settings: (c) => ({ taxonomies: c.taxonomyAblation }),
  async run(stage): Promise<AblationOutput> {
    const c = stage.config;
    const expDir = stage.job.experimentDir!;
    const lambda = c.lambdas[0];
    const own = studentRuns(c)[0]; // lambda-<λ0>, descriptions from the experiment's annotation
    const toTrain = c.taxonomyAblation.filter((n) => n !== c.taxonomy);
    const rows: AblationOutput['rows'] = [];
    let k = 0;
    for (const taxonomy of c.taxonomyAblation) {
      if (taxonomy === c.taxonomy) {
        rows.push({ taxonomy, runId: own.runId, reused: true });
        continue;
      }
      const runId = `taxonomy-${taxonomy}`;
      const dir = path.join(expDir, 'ablation', runId);
      const studentDir = path.join(expDir, 'students', runId);
      const stateFile = path.join(dir, 'run.json');
      const key = ablationRunKey(c, taxonomy);
      const prev = readAblationState(stateFile);
      const sub = part(stage as StageContext<unknown>, k++, Math.max(1, toTrain.length));
      if (prev?.key === key && prev.done && existsSync(path.join(studentDir, 'metrics.json'))) {
        stage.job.log(`taxonomy ablation: ${taxonomy} phases already trained with these settings (${runId}); kept`);
        rows.push({ taxonomy, runId, reused: false });
        continue;
      }
      if (prev?.key !== key) {
        // Another setting (or nothing yet): start clean, so no stale checkpoint is resumed.
        rmSync(dir, { recursive: true, force: true });
        rmSync(studentDir, { recursive: true, force: true });
        mirrorDataset(path.join(expDir, 'data'), path.join(dir, 'data'));
        await writeJsonAtomic(stateFile, { key, done: false });
      } else stage.job.log(`taxonomy ablation: resuming ${runId}`);
      const dataset = path.relative(expDir, path.join(dir, 'data'));
      stage.job.log(`taxonomy ablation: ${taxonomy} phases: annotate, then train ${runId} (λ = ${lambda})`);
      await runKind(span(sub, 0, 0.2), 'annotate', AnnotateParams, runAnnotate, { dataset, annotator: c.annotator, taxonomy, mode: c.annotateMode, seed: c.seed, fallback: c.annotateFallback, granularity: false });
      await runKind(span(sub, 0.2, 1), 'train', TrainParams, runTrain, {
        dataset,
        runId,
        descriptions: 'sidecar',
        lambda,
        ...studentSettings(c),
        threads: c.threads,
        exportPolicy: false,
      });
      await writeJsonAtomic(stateFile, { key, done: true });
      rows.push({ taxonomy, runId, reused: false });
    }
    return { lambda, rows };
  },
};

/** What runs the teacher, for Table 3's caption (it is not an ONNX model: no execution provider). */
const teacherRunsOn = (t: PolicySpec) => (t.kind === 'scripted' || t.kind === 'scripted-noisy' ? 'plain JavaScript' : `its ${t.kind} server`);

/** A student's learned parameter count, from the config in the policy.json exported beside its policy.onnx. */
function studentParams(expDir: string, runId: string): number {
  const file = path.join(expDir, 'students', runId, 'policy.json');
  const meta = readJsonFile(file, z.object({ config: z.unknown() }));
  try {
    return countParams(parseStudentConfig(meta.config)).total;
  } catch (e) {
    throw new LabError('CORRUPT_FILE', `${file}: field config: ${(e as Error).message}`, { file, field: 'config' });
  }
}

/**
 * The paper's comparison tables from the stored trials: Table 1/2 (suite × method, relative gap of the
 * first student vs the teacher, paired bootstrap), Table 3 (efficiency: per-query policy time of the
 * teacher and every student in the closed-loop trials, speedup vs the teacher) and Table 5/6 (per task,
 * every λ student vs the no-VLM baseline; cells that beat it in bold, * where McNemar/Fisher says the
 * difference is significant).
 */
const reportStage: Stage<DistillConfig> = {
  name: 'report',
  after: ['evaluate', 'taxonomy-ablation'],
  weight: 0.2,
  // What the report publishes: adding a table re-runs this stage alone on an existing experiment.
  settings: () => ({ tables: ['table1-suites', 'table3-efficiency', 'table5-per-task-lambda', 'taxonomy-ablation'] }),
  async run(stage) {
    const c = stage.config;
    const expDir = stage.job.experimentDir!;
    const runs = studentRuns(c);
    const ids = ['teacher', ...runs.map((r) => r.runId)];
    const records = ids.flatMap((id) => readTrials(path.join(expDir, 'eval', id, 'trials.jsonl')).records);
    const method = (id: string) => ({ label: id === 'teacher' ? 'teacher' : id.startsWith('lambda-') ? `student λ=${id.slice(7)}` : 'student, no VLM', policy: id });
    const tables: ResultTable[] = [
      suiteTable(records, {
        id: 'table1-suites',
        title: 'Closed-loop success (%) per suite: teacher vs students (paper Table 1/2)',
        suites: c.suites,
        teacher: method('teacher'),
        methods: runs.map((r) => method(r.runId)),
        gapOf: method(runs[0].runId).label,
        bootstrap: { seed: c.seed },
      }),
    ];
    const workers = z.object({ workers: z.number().int().positive() }).safeParse(stage.outputs.evaluate);
    tables.push(
      efficiencyFromTrials(
        records,
        [{ id: 'teacher', label: method('teacher').label, params: null, provider: teacherRunsOn(c.teacher) }, ...runs.map((r) => ({ id: r.runId, label: method(r.runId).label, params: studentParams(expDir, r.runId) }))],
        {
          id: 'table3-efficiency',
          title: 'Inference efficiency in the closed-loop trials (paper Table 3)',
          reference: 'teacher',
          // each student's EP comes from its trial records (evaluate records it); older records ran on the CPU
          provider: 'the cpu execution provider (onnxruntime-node)',
          notes: [
            `Evaluation workers share the CPU${workers.success ? ` (${workers.data.workers} worker process${workers.data.workers === 1 ? '' : 'es'} here)` : ''}, so absolute times depend on the worker count and on the machine's load.`,
            `Params: students counted from the config in students/<run>/policy.json (countParams, total); the scripted teacher has no learned parameters (—).`,
          ],
        },
      ),
    );
    const lambdaRuns = runs.filter((r) => r.descriptions === 'sidecar');
    if (c.baseline && lambdaRuns.length) {
      tables.push(
        perTaskTable(records, {
          id: 'table5-per-task-lambda',
          title: 'Per-task success (%) of each λ vs the no-VLM baseline (paper Table 5/6)',
          suites: c.suites,
          tasks: c.tasks,
          baseline: method('no-vlm'),
          variants: lambdaRuns.map((r) => method(r.runId)),
        }),
      );
    }
    const ablation = stage.outputs['taxonomy-ablation'] as AblationOutput | undefined;
    if (ablation && ablation.rows.length > 0) {
      const rows: AblationRow[] = ablation.rows.map((r) => ({
        taxonomy: r.taxonomy,
        runId: r.runId,
        point: bestValidationEpoch(readTrainingHistory(path.join(expDir, 'students', r.runId, 'metrics.json')).history),
      }));
      const reused = ablation.rows.find((r) => r.reused);
      tables.push(taxonomyAblationTable(rows, { lambda: ablation.lambda, epochs: c.epochs, reused }));
    }
    // Rows trained on descriptions say where the descriptions are not the VLM's (offline text, fallbacks).
    const provenance = annotationFallbacks(path.join(expDir, 'data')).note;
    const ablationNotes = (ablation?.rows ?? [])
      .filter((r) => !r.reused)
      .map((r) => annotationFallbacks(path.join(expDir, 'ablation', r.runId, 'data')).note)
      .filter((n): n is string => n !== null);
    for (const t of tables) {
      const notes = t.id === 'taxonomy-ablation' ? [...new Set([...(provenance ? [provenance] : []), ...ablationNotes])] : provenance ? [provenance] : [];
      if (notes.length) t.notes = [...(t.notes ?? []), ...notes];
    }
    stage.progress(0.5, 'tables');
    await publishTables(stage.job, expDir, tables);
    return { tables: tables.map((t) => t.id) };
  },
};

/** The recipe's stages for a config, in order: the main chain, the taxonomy ablation (off train) and the report. */
export function distillRecipe(config: DistillConfig): Stage<DistillConfig>[] {
  // The ablation's bar share: one student's training each, like the train stage's (weight 6 over its runs).
  const ablation = { ...ablationStage, weight: (6 * config.taxonomyAblation.filter((n) => n !== config.taxonomy).length) / studentRuns(config).length };
  return [...distillStages, ablation, reportStage];
}

/** The `distill` job's handler: the experiment's config (job params override it), then the typed run. */
export const distillJob = async (ctx: JobContext) => runDistill(parseDistillConfig(ctx.params), ctx);

/** The recipe through the pipeline (the typed run). */
export async function runDistill(config: DistillConfig, ctx: JobContext) {
  ctx.log(`distill: ${JSON.stringify(config)}`);
  const r = await runPipeline(ctx, distillRecipe(config), config);
  ctx.progress(1, 'done');
  return { config, ran: r.ran, skipped: r.skipped, outputs: r.outputs };
}
