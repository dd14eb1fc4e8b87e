import { z } from 'zod';
import { LabError } from '../../errors.js';
import { loadJobHandler } from '../registry.js';
import path from 'node:path';
import { ChunkExecutionSchema } from '../../evaluate/trial.js';
import { readTrials } from '../../evaluate/trial-log.js';
import { perTaskTable, suiteTable, type ResultTable } from '../../evaluate/tables.js';
import { publishTables } from '../kinds/evaluate.js';
import type { JobContext } from '../context.js';
import { runPipeline, stageJobContext, type Stage, type StageContext } from './pipeline.js';

/**
 * The `distill` recipe (issue 8): one experiment = teacher + suites + taxonomy + annotator + student +
 * λ grid + K + seeds, run as collect → annotate → train (one student per λ and the no-VLM baseline) →
 * evaluate (teacher and every student under one protocol) → report (the paper's tables). Each stage is the job kind of the same name
 * run inside the pipeline, so a stage behaves exactly as when started alone; the pipeline skips stages
 * already done with the same settings and resumes a crashed one from its own checkpoints.
 */
export const DistillConfig = z
  .object({
    suites: z.array(z.enum(['object', 'spatial', 'goal'])).min(1).default(['object']),
    /** Task indices (0–9) of each suite. */
    tasks: z.array(z.number().int().min(0).max(9)).min(1).default([0, 1]),
    episodesPerTask: z.number().int().min(2).default(12),
    /** The built-in teacher: the scripted expert, with OpenVLA-like noise (teacher/noise.ts defaults) or without. */
    teacher: z.enum(['scripted-noisy', 'scripted']).default('scripted-noisy'),
    imageSize: z.number().int().min(16).max(512).default(128),
    taxonomy: z.number().int().default(9),
    annotator: z.enum(['auto', 'vlm', 'offline']).default('auto'),
    annotateMode: z.enum(['segment', 'frame']).default('segment'),
    student: z.string().default('tiny'),
    studentOverrides: z.record(z.string(), z.unknown()).default({}),
    lambdas: z.array(z.number().nonnegative()).min(1).default([0.5]),
    /** Also train the no-VLM baseline (instruction only, λ = 0). */
    baseline: z.boolean().default(true),
    epochs: z.number().int().positive().default(30),
    batchSize: z.number().int().positive().default(32),
    lr: z.number().positive().default(3e-4),
    trials: z.number().int().positive().default(20),
    /** How a predicted chunk is executed (evaluate/chunk-executor.ts). */
    execution: ChunkExecutionSchema.default({ mode: 'whole' }),
    seed: z.number().int().default(0),
    threads: z.number().int().positive().optional(),
  })
  .strict();
export type DistillConfig = z.infer<typeof DistillConfig>;

/** Run a registered job kind as this stage (see stageJobContext). */
async function runKind(stage: StageContext<unknown>, kind: string, params: Record<string, unknown>): Promise<unknown> {
  const handler = await loadJobHandler(kind);
  return handler(stageJobContext(stage, params));
}

/** Sub-steps of one stage share its progress bar. */
function part(stage: StageContext<unknown>, i: number, n: number): StageContext<unknown> {
  return { ...stage, progress: (f, d) => stage.progress((i + Math.min(1, Math.max(0, f))) / n, d) };
}

export const studentRuns = (c: DistillConfig) => [
  ...c.lambdas.map((lambda) => ({ runId: `lambda-${lambda}`, lambda, descriptions: 'sidecar' as const })),
  ...(c.baseline ? [{ runId: 'no-vlm', lambda: 0, descriptions: 'none' as const }] : []),
];

export const distillStages: Stage<DistillConfig>[] = [
  {
    name: 'collect',
    weight: 3,
    settings: (c) => ({ suites: c.suites, tasks: c.tasks, n: c.episodesPerTask, teacher: c.teacher, size: c.imageSize, seed: c.seed }),
    async run(stage) {
      const c = stage.config;
      const out: unknown[] = [];
      for (const [i, suite] of c.suites.entries()) {
        out.push(
          await runKind(part(stage as StageContext<unknown>, i, c.suites.length), 'collect', {
            suite,
            tasks: c.tasks,
            episodesPerTask: c.episodesPerTask,
            teacher: { kind: c.teacher },
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
    settings: (c) => ({ taxonomy: c.taxonomy, annotator: c.annotator, mode: c.annotateMode, seed: c.seed }),
    run: (stage) =>
      runKind(stage as StageContext<unknown>, 'annotate', { dataset: 'data', annotator: stage.config.annotator, taxonomy: stage.config.taxonomy, mode: stage.config.annotateMode, seed: stage.config.seed }),
  },
  {
    name: 'train',
    weight: 6,
    settings: (c) => ({ student: c.student, o: c.studentOverrides, runs: studentRuns(c), epochs: c.epochs, batch: c.batchSize, lr: c.lr, seed: c.seed }),
    async run(stage) {
      const c = stage.config;
      const runs = studentRuns(c);
      const out: Record<string, unknown> = {};
      for (const [i, r] of runs.entries()) {
        out[r.runId] = await runKind(part(stage as StageContext<unknown>, i, runs.length), 'train', {
          dataset: 'data',
          runId: r.runId,
          descriptions: r.descriptions,
          lambda: r.lambda,
          config: c.student,
          configOverrides: c.studentOverrides,
          epochs: c.epochs,
          batchSize: c.batchSize,
          lr: c.lr,
          seed: c.seed,
          threads: c.threads,
        });
      }
      return out;
    },
  },
  {
    name: 'evaluate',
    weight: 4,
    settings: (c) => ({ suites: c.suites, tasks: c.tasks, trials: c.trials, execution: c.execution, seed: c.seed }),
    run: (stage) => {
      const c = stage.config;
      const policies = [
        { id: 'teacher', spec: `teacher:${c.teacher}` },
        ...studentRuns(c).map((r) => ({ id: r.runId, spec: `student:students/${r.runId}/policy.onnx`, textMode: 'masked' })),
      ];
      return runKind(stage as StageContext<unknown>, 'evaluate', {
        policies,
        reference: 'teacher',
        suites: c.suites,
        tasks: c.tasks,
        trials: c.trials,
        execution: c.execution,
        seed: c.seed,
        imageSize: c.imageSize,
      });
    },
  },
];

/**
 * The paper's comparison tables from the stored trials: Table 1/2 (suite × method, relative gap of the
 * first student vs the teacher, paired bootstrap) and Table 5/6 (per task, every λ student vs the no-VLM
 * baseline; cells that beat it in bold, * where McNemar/Fisher says the difference is significant).
 */
const reportStage: Stage<DistillConfig> = {
  name: 'report',
  weight: 0.2,
  settings: () => ({}),
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
    stage.progress(0.5, 'tables');
    await publishTables(stage.job, expDir, tables);
    return { tables: tables.map((t) => t.id) };
  },
};

export function parseDistillConfig(raw: unknown): DistillConfig {
  const parsed = DistillConfig.safeParse(raw ?? {});
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new LabError('INVALID_INPUT', `distill config: ${i.path.join('.')}: ${i.message}`, { field: i.path.join('.') });
  }
  return parsed.data;
}

/** The `distill` job: the experiment's config (job params override it) through the pipeline. */
export async function distillJob(ctx: JobContext): Promise<unknown> {
  const config = parseDistillConfig(ctx.params);
  ctx.log(`distill: ${JSON.stringify(config)}`);
  const r = await runPipeline(ctx, [...distillStages, reportStage], config);
  ctx.progress(1, 'done');
  return { config, ran: r.ran, skipped: r.skipped, outputs: r.outputs };
}
