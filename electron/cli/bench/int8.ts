import os from 'node:os';
import path from 'node:path';
import { splitEpisodes } from '../../engine/data/batching.js';
import { z } from 'zod';
import { LabError } from '../../engine/errors.js';
import { readJsonFile } from '../../engine/util/json-file.js';
import { loadStudentEpisodes } from '../../engine/jobs/kinds/train.js';
import { readTrainedStudent } from '../../engine/model/policy.js';
import { StudentRuntime, measureInt8Agreement } from '../../engine/policies/student-onnx.js';
import { videoFrame } from '../../engine/model/preprocess.js';
import { type BenchReport, type BenchRow, flag, summarize, timeSamples } from './report.js';

/**
 * `npm run bench -- int8 <student dir> <dataset dir> [--frames N] [--threads N]`: the int8 export's
 * acceptance check (issue 4: ≥ 99 % next-action token agreement with fp32 on validation frames) on a
 * *trained* student — `students/<run>` of an experiment (student.safetensors + student.json +
 * metrics.json) and the experiment's `data` folder. The validation episodes are the trainer's own split
 * (same valFraction and seed, read from metrics.json); text is the instruction (test-time `masked` mode).
 * Also times fp32 vs int8 inference of that student at batch 1 (text features cached).
 */
export default async function int8Bench(args: string[]): Promise<BenchReport> {
  const positional = args.filter((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--')));
  const [studentDir, dataDir] = positional;
  if (!studentDir || !dataDir) throw new LabError('INVALID_INPUT', 'usage: npm run bench -- int8 <student dir> <dataset dir> [--frames N] [--threads N]', { field: 'args' });
  const threads = Number(flag(args, '--threads') ?? os.cpus().length);
  const maxFrames = Number(flag(args, '--frames') ?? 200);
  const student = readTrainedStudent(studentDir);
  // the trainer's own split: its recorded valFraction and seed
  const { options } = readJsonFile(path.join(studentDir, 'metrics.json'), z.object({ options: z.object({ valFraction: z.number(), seed: z.number() }) }));
  const { val } = splitEpisodes(await loadStudentEpisodes(dataDir, false), { valFraction: options.valFraction, seed: options.seed });
  if (!val.length) throw new LabError('INVALID_INPUT', `${studentDir} was trained without a validation split (valFraction ${options.valFraction})`, { field: 'valFraction' });
  // Every validation frame up to maxFrames, spread evenly over the validation episodes.
  const all = val.flatMap(({ episode: e }) => Array.from({ length: e.length }, (_, t) => ({ image: videoFrame(e.obs.agentview_rgb, t, e.imageSize.height, e.imageSize.width), text: e.instruction })));
  const stride = Math.max(1, all.length / maxFrames);
  const frames = Array.from({ length: Math.min(maxFrames, all.length) }, (_, i) => all[Math.floor(i * stride)]);
  const agreement = await measureInt8Agreement(student, frames, { threads });

  const rows: BenchRow[] = [];
  const name = `${student.config.name} student ${student.runId}`;
  rows.push({ name: `${name}: next-action token agreement int8 vs fp32 (${frames.length} validation frames, ${val.length} episodes)`, unit: '%', ours: 100 * agreement.tokenAgreement, target: '≥ 99 %', note: `all 7 tokens equal on ${(100 * agreement.frameAgreement).toFixed(1)} % of frames` });
  for (const int8 of [false, true]) {
    const policy = await StudentRuntime.fromWeights(student, { threads, int8 });
    try {
      const f = frames[0];
      const ms = summarize(await timeSamples(() => policy.act(f.image, f.text), 3, 20));
      rows.push({ name: `${name}: inference b1, text features cached${int8 ? ', int8 matmuls' : ''}`, unit: 'ms/step', ours: ms.median });
    } finally {
      await policy.release();
    }
  }
  return { suite: 'int8', command: `npm run bench -- int8 ${args.join(' ')}`.trim(), rows, extra: { threads, agreement, studentDir, dataDir } };
}
