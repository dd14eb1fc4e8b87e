import { readFileSync } from 'node:fs';
import type { Job } from '../api/schemas.js';
import { ResultTableSchema } from '../api/schemas.js';
import type { Lab } from '../engine/lab-runtime.js';
import { parseDistillConfig, type DistillConfig } from '../engine/jobs/recipes/distill.js';
import { toMarkdown } from '../engine/evaluate/tables.js';
import { LabError } from '../engine/errors.js';
import { followJob } from './progress.js';
import { callLab } from './lab-call.js';

export const DEMO_EXPERIMENT_NAME = 'demo (built-in suites)';

/**
 * The demo: the paper's experiment on the built-in goal suite, sized for 2 CPU cores (≈10 minutes measured
 * on the development machine): the noisy scripted teacher on two tasks of the LIBERO-Goal scene — "turn on
 * the stove" (short reach and push) and "open the middle drawer of the cabinet" (hook and pull) — the
 * offline annotator (or the configured VLM), a `tiny` student at 64 px with descriptions (λ = 0.5) and the
 * no-VLM baseline, 10 closed-loop trials per task for teacher and students, and the taxonomy ablation
 * (3 vs 9 phases; the 9-phase row is the λ student). No pretrained CLIP weights ship with the app, so the
 * demo's `tiny` backbone starts random: it is trained whole (LoRA rank 0) rather than frozen under LoRA
 * adapters, which is what the paper does with a pretrained Long-CLIP (`--config` with "studentInit" and the
 * longclip-b16 preset). Its byte-level text is cut at 96 tokens (instruction, phase and the start of the
 * description). `--full` is the paper's protocol (3 suites × 10 tasks × 20 trials, the λ sweep, 128 px):
 * hours on a CPU.
 */
export const DEMO_CONFIG: Partial<DistillConfig> = {
  suites: ['goal'],
  tasks: [7, 0],
  episodesPerTask: 20,
  imageSize: 64,
  student: 'tiny',
  studentOverrides: { image: { size: 64 }, lora: { rank: 0 }, text: { contextLength: 96 } },
  lambdas: [0.5],
  baseline: true,
  taxonomyAblation: [3, 9],
  epochs: 20,
  batchSize: 32,
  lr: 1e-3,
  trials: 10,
};

export const FULL_CONFIG: Partial<DistillConfig> = {
  suites: ['spatial', 'object', 'goal'],
  tasks: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  episodesPerTask: 50,
  imageSize: 128,
  student: 'tiny',
  studentOverrides: {},
  lambdas: [0.25, 0.5, 0.75, 1],
  baseline: true,
  epochs: 30,
  trials: 20,
};

export async function runDemo(lab: Lab, opts: { full?: boolean; configFile?: string } = {}): Promise<Job> {
  let extra: Record<string, unknown> = {};
  if (opts.configFile) {
    try {
      extra = JSON.parse(readFileSync(opts.configFile, 'utf8'));
    } catch (err) {
      throw new LabError('INVALID_INPUT', `--config ${opts.configFile}: ${(err as Error).message}`, { file: opts.configFile });
    }
  }
  const config = parseDistillConfig({ ...(opts.full ? FULL_CONFIG : DEMO_CONFIG), ...extra });
  const name = opts.full ? `${DEMO_EXPERIMENT_NAME}, full protocol` : DEMO_EXPERIMENT_NAME;
  // Reuse the demo experiment, so a second run skips the stages already done with the same settings.
  // Through the lab API, as IPC and web mode (which store the same full, defaulted config).
  const existing = (await callLab(lab, 'experiments.list', {})).find((e) => e.name === name);
  const exp = existing
    ? await callLab(lab, 'experiments.configure', { id: existing.id, config })
    : await callLab(lab, 'experiments.create', { name, recipe: 'distill', config });
  console.error(`experiment ${exp.id} (${exp.name}) in ${lab.store.experimentDir(exp.id)}`);
  const job = await followJob(lab, await callLab(lab, 'jobs.start', { kind: 'distill', experimentId: exp.id, params: config }));
  if (job.status === 'succeeded') await printTables(lab, exp.id);
  return job;
}

/** The newest version of each result table, as Markdown (also written under eval/tables/). */
async function printTables(lab: Lab, experimentId: string): Promise<void> {
  const latest = new Map<string, ReturnType<typeof ResultTableSchema.parse>>();
  for (const r of await callLab(lab, 'results.list', { experimentId, kind: 'table' })) {
    const t = ResultTableSchema.safeParse(r.value);
    if (t.success) latest.set(t.data.id, t.data);
  }
  for (const t of latest.values()) console.error(`\n${toMarkdown(t)}`);
  console.error(`\ntables as Markdown/CSV/LaTeX: ${lab.store.experimentDir(experimentId)}/eval/tables/`);
}
