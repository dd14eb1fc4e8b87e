import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { evaluatePolicy } from '../../engine/evaluate/evaluation.js';
import { parseProtocol } from '../../engine/evaluate/protocol.js';
import { forkSpawner } from '../../engine/jobs/fork-process.js';
import { openLab } from '../../engine/lab-runtime.js';
import { workerEntry } from '../paths.js';
import { flag, type BenchReport, type BenchRow } from './report.js';

/**
 * `npm run bench -- video [--size 512] [--steps 300]`: the render-video job (issue 15) on a 2-panel
 * compare whose longest trial runs `steps` steps — the noisy scripted teacher and the random baseline from
 * the same initial state of a goal task, evaluated here at 128 px — at `size` px per panel, through the
 * real job path (a forked job worker): once upscaling the stored frames, once re-rendering both trials on
 * the built-in simulator by replaying their recorded actions. Goal: under 30 s on 2 cores.
 */
export default async function videoBench(args: string[]): Promise<BenchReport> {
  const size = Number(flag(args, '--size') ?? 512);
  const steps = Number(flag(args, '--steps') ?? 300);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'vla-ad-bench-video-'));
  const lab = openLab({ dataDir: path.join(tmp, 'data'), owner: 'bench-video', spawn: forkSpawner(workerEntry) });
  try {
    const exp = lab.store.createExperiment({ name: 'video bench', recipe: 'distill', config: {} });
    const dir = lab.store.experimentDir(exp.id);
    const protocol = parseProtocol({ suites: ['goal'], tasks: [1], trialsPerTask: 1, seed: 0, maxSteps: { goal: steps } });
    for (const entry of [{ id: 'teacher', spec: 'teacher:scripted-noisy' }, { id: 'random', spec: 'random' }]) {
      await evaluatePolicy({ entry, protocol, evalDir: path.join(dir, 'eval', entry.id), baseDir: dir, workers: 1, imageSize: 128 });
    }
    const rows: BenchRow[] = [];
    const extra: Record<string, unknown> = { size, steps };
    for (const rerender of ['never', 'auto'] as const) {
      rmSync(path.join(dir, 'videos'), { recursive: true, force: true });
      const t0 = performance.now();
      const job = lab.supervisor.start('render-video', exp.id, { layout: 'compare', suite: 'goal', taskIndex: 1, initIndex: 0, size, rerender, name: `bench-${rerender}` });
      const done = await lab.supervisor.waitFor(job.id);
      const seconds = (performance.now() - t0) / 1000;
      if (done.status !== 'succeeded') throw new Error(`render-video (${rerender}): ${done.status} ${JSON.stringify(done.error)}`);
      const r = done.result as { frames: number; width: number; height: number };
      extra[rerender] = r;
      rows.push({
        name: `compare video, 2 panels × ${size} px, longest trial ${steps} steps (${r.frames} frames, ${r.width}×${r.height}), ${rerender === 'never' ? 'stored 128 px frames upscaled' : 'both trials re-rendered by replay'}, job wall time`,
        unit: 's',
        ours: seconds,
        target: '< 30 s on 2 cores',
      });
    }
    return { suite: 'video', command: `npm run bench -- video ${args.join(' ')}`.trim(), rows, extra };
  } finally {
    lab.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}
