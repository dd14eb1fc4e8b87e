import path from 'node:path';
import { readFileSync } from 'node:fs';
import { it, expect } from 'vitest';
import { runWithKills, watchedLab } from './kill-harness.js';
import { compareHdf5Trees, filesUnder } from './kill-compare.js';
import { readLiberoHdf5 } from '../../electron/engine/data/libero-hdf5.js';

function journaled(dataDir: string): number {
  let n = 0;
  for (const rel of filesUnder(dataDir, /\.collect-state\.json$/)) n += (JSON.parse(readFileSync(path.join(dataDir, rel), 'utf8')) as { attempts: unknown[] }).attempts.length;
  return n;
}

it('race', async () => {
  const w = watchedLab();
  const size = Number(process.env.RACE_SIZE ?? 256);
  const exp = w.lab.store.createExperiment({ name: 'race', recipe: 'distill', config: {} });
  const dir = w.lab.store.experimentDir(exp.id);
  const data = path.join(dir, 'data');
  const params = { suite: 'object', tasks: [4, 9], episodesPerTask: 3, seed: 5, imageSize: size, teacher: { kind: 'scripted' }, flushEvery: 1, workers: 2 };
  const t0 = Date.now();
  const run = await runWithKills(w, 'collect', exp.id, params, { kills: 1, poll: { fraction: () => journaled(data) / 100 + 0.5 }, probe: () => journaled(data) });
  console.log('wall', Date.now() - t0, JSON.stringify(run.kills), run.attempts.map((a) => [a.orphans, a.orphansAtResume, a.progress.map((p) => p.stage)]));
  for (const t of [4, 9]) {
    const { episodes, demoKeys } = await readLiberoHdf5(path.join(data, 'object', `task_${t}.hdf5`));
    console.log(t, demoKeys, episodes.map((e) => e.initIndex));
  }
  console.log(readFileSync(path.join(data, 'object', 'task_4.collect-state.json'), 'utf8'));
  console.log(run.final.status, JSON.stringify(run.final.result));
  w.cleanup();
}, 600_000);
