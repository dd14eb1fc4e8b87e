import { SimEnv } from '../../engine/sim/env.js';
import { Rng } from '../../engine/util/rng.js';
import type { BenchReport, BenchRow } from './report.js';

/**
 * `npm run bench -- sim [steps]`: control steps per second (20 Hz steps, 25 physics substeps each) on one
 * core, physics only and with both 128×128 cameras, per suite scene, with the breakdown into controller
 * (IK), physics (MuJoCo WASM), scene update (geom poses → render list) and raster (native addon).
 * Seeded random actions; episodes that end are reset.
 */
async function measure(suite: string, task: number, steps: number, images: boolean) {
  const env = await SimEnv.create({ renderImages: images });
  const rng = new Rng(1234);
  try {
    await env.reset(suite, task, 0);
    for (let i = 0; i < 5; i++) env.step([0, 0, 0, 0, 0, 0, -1]); // warm-up (JIT)
    const timing = env.simulation.timing;
    Object.assign(timing, { physicsMs: 0, sceneMs: 0, rasterMs: 0, controlMs: 0 });
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) {
      const a = [0, 1, 2, 3, 4, 5].map(() => rng.uniform(-0.5, 0.5));
      a.push(rng.next() < 0.5 ? -1 : 1);
      const r = env.step(a);
      if (r.done) await env.reset(suite, task, (i % 49) + 1);
    }
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const t = env.simulation.timing;
    return {
      stepsPerSec: (steps / wall) * 1000,
      stepsPerCpuSec: (steps / ((cpu.user + cpu.system) / 1000)) * 1000,
      msPerStep: { total: wall / steps, controller: t.controlMs / steps, physics: t.physicsMs / steps, sceneUpdate: t.sceneMs / steps, raster: t.rasterMs / steps },
    };
  } finally {
    env.dispose();
  }
}

export default async function simBench(args: string[]): Promise<BenchReport> {
  const steps = Number(args[0] ?? 200);
  const rows: BenchRow[] = [];
  const extra: Record<string, unknown> = {};
  for (const [suite, task] of [['object', 0], ['spatial', 0], ['goal', 0]] as const) {
    const phys = await measure(suite, task, steps, false);
    const cams = await measure(suite, task, steps, true);
    rows.push({ name: `${suite} scene, physics only`, unit: 'steps/s', ours: phys.stepsPerSec, note: `${phys.stepsPerCpuSec.toFixed(0)} steps per CPU-second` });
    rows.push({
      name: `${suite} scene, with both 128×128 cameras`,
      unit: 'steps/s',
      ours: cams.stepsPerSec,
      target: '≥ 300 control steps/s per core',
      note: `${cams.stepsPerCpuSec.toFixed(0)} steps per CPU-second; ms/step: controller ${cams.msPerStep.controller.toFixed(3)}, physics ${cams.msPerStep.physics.toFixed(3)}, scene update ${cams.msPerStep.sceneUpdate.toFixed(3)}, raster ${cams.msPerStep.raster.toFixed(3)}`,
    });
    extra[suite] = { physicsOnly: phys, withCameras: cams };
  }
  return { suite: 'sim', command: `npm run bench -- sim ${steps}`, rows, extra };
}
