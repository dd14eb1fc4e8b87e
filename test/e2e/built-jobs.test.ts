import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../electron/cli/paths.js';
import { openLab, type Lab } from '../../electron/engine/lab-runtime.js';
import { forkSpawner } from '../../electron/engine/jobs/fork-process.js';
import { WORKER_MODULES } from '../../electron/engine/util/runtime-paths.js';
import { MICRO } from '../unit/engine/train/helpers.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * The app as electron-vite builds it runs real jobs: the BUILT job worker (`out/main/job-worker.js`) is
 * forked under plain Node, as web mode forks its worker, through a real lab, and runs collect (2 worker
 * processes: the bundle's pool-entry.js + collect-worker.js), annotate, a 1-epoch train and evaluate
 * (2 worker processes: pool-entry.js + trial-handler.js).
 *
 * The sources are out of reach: out/, package.json, resources/ and native/build/Release are copied into a
 * temp folder with no electron/ folder, node_modules is a symlink, the jobs run with that folder as their
 * cwd, and a guard loaded into every job and pool process (NODE_OPTIONS --import) records each module
 * resolved and each file touched inside the checkout other than node_modules: the list must stay empty.
 */
const built = path.join(repoRoot, 'out', 'main');

let stage: ReturnType<typeof tempDir>;
let lab: Lab;
let cwd: string;
let violationsFile: string;
let expId: string;
let expDir: string;

const GUARD_HOOKS = (root: string, log: string) => `
import { appendFileSync } from 'node:fs';
const ROOT = ${JSON.stringify(pathToFileURL(root).href + '/')};
const NM = ROOT + 'node_modules/';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (r.url.startsWith(ROOT) && !r.url.startsWith(NM)) appendFileSync(${JSON.stringify(log)}, 'import ' + r.url + ' from ' + context.parentURL + '\\n');
  return r;
}
`;
const GUARD = (root: string, log: string, hooks: string) => `
import fs from 'node:fs';
import { register, syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
register(${JSON.stringify(pathToFileURL(hooks).href)});
const ROOT = ${JSON.stringify(root + path.sep)};
const NM = ROOT + 'node_modules' + ${JSON.stringify(path.sep)};
const append = fs.appendFileSync;
for (const name of ['existsSync', 'readFileSync', 'statSync', 'lstatSync', 'openSync', 'readdirSync', 'accessSync', 'realpathSync']) {
  const orig = fs[name];
  fs[name] = function (p, ...rest) {
    if (typeof p === 'string' || p instanceof URL) {
      const abs = path.resolve(p instanceof URL ? new URL(p).pathname : p);
      if (abs.startsWith(ROOT) && !abs.startsWith(NM)) append(${JSON.stringify(log)}, 'fs.' + name + ' ' + abs + '\\n');
    }
    return orig.call(this, p, ...rest);
  };
}
syncBuiltinESMExports();
`;

beforeAll(() => {
  for (const name of Object.keys(WORKER_MODULES)) {
    if (!existsSync(path.join(built, `${name}.js`))) throw new Error(`out/main/${name}.js is missing: run npm run build first`);
  }
  stage = tempDir('vla-ad-built-');
  const s = stage.dir;
  cpSync(path.join(repoRoot, 'out'), path.join(s, 'out'), { recursive: true });
  cpSync(path.join(repoRoot, 'resources'), path.join(s, 'resources'), { recursive: true });
  cpSync(path.join(repoRoot, 'native', 'build', 'Release', 'rasterizer.node'), path.join(s, 'native', 'build', 'Release', 'rasterizer.node'));
  cpSync(path.join(repoRoot, 'package.json'), path.join(s, 'package.json'));
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(s, 'node_modules'), 'dir');
  expect(existsSync(path.join(s, 'electron'))).toBe(false);

  violationsFile = path.join(s, 'source-access.log');
  writeFileSync(violationsFile, '');
  const hooks = path.join(s, 'guard-hooks.mjs');
  writeFileSync(hooks, GUARD_HOOKS(repoRoot, violationsFile));
  const guard = path.join(s, 'guard.mjs');
  writeFileSync(guard, GUARD(repoRoot, violationsFile, hooks));

  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: `--import ${pathToFileURL(guard).href}` };
  for (const k of Object.keys(env)) if (k.startsWith('VLA_AD_') || k === 'FFMPEG_BIN') delete env[k];
  cwd = process.cwd();
  process.chdir(s); // the job workers inherit it: nothing is found relative to the checkout's cwd either
  mkdirSync(path.join(s, 'data'));
  lab = openLab({ dataDir: path.join(s, 'data'), owner: 'built-output test', spawn: forkSpawner(path.join(s, 'out', 'main', 'job-worker.js'), env) });
  const exp = lab.store.createExperiment({ name: 'built', recipe: 'distill', config: {} });
  expId = exp.id;
  expDir = lab.store.experimentDir(exp.id);
});

afterAll(() => {
  lab?.close();
  if (cwd) process.chdir(cwd);
  stage?.cleanup();
});

const logs = (jobId: string) => lab.store.jobLogs(jobId).map((l) => l.line);
const sourceAccess = () => readFileSync(violationsFile, 'utf8').split('\n').filter(Boolean);

async function run(kind: string, params: Record<string, unknown>) {
  const job = await lab.supervisor.waitFor(lab.supervisor.start(kind, expId, params).id);
  expect(job.status, `${kind}: ${JSON.stringify(job.error)}\n${logs(job.id).join('\n')}`).toBe('succeeded');
  return job;
}

describe('the built job worker, from out/ alone', () => {
  it('collects on the built-in goal suite in 2 worker processes', async () => {
    const job = await run('collect', { suite: 'goal', tasks: [0, 1], episodesPerTask: 2, seed: 0, imageSize: 16, teacher: { kind: 'scripted' }, workers: 2 });
    const r = job.result as { successes: number; files: string[]; perTask: Record<string, unknown> };
    expect(Object.keys(r.perTask)).toHaveLength(2);
    expect(r.successes).toBeGreaterThan(0);
    expect(logs(job.id).some((l) => l.includes('2 process(es)'))).toBe(true);
    for (const t of [0, 1]) expect(existsSync(path.join(expDir, 'data', 'goal', `task_${t}.hdf5`))).toBe(true);
    expect(sourceAccess()).toEqual([]);
  });

  it('annotates offline and trains a student for one epoch', async () => {
    await run('annotate', { annotator: 'offline' });
    const job = await run('train', { runId: 'built', config: MICRO.config, configOverrides: MICRO.configOverrides, epochs: 1, batchSize: 16, valFraction: 0, threads: 1 });
    const r = job.result as { epochs: number; policy: string };
    expect(r.epochs).toBe(1);
    expect(existsSync(path.join(expDir, r.policy))).toBe(true);
    expect(sourceAccess()).toEqual([]);
  });

  it('evaluates the scripted teacher in 2 worker processes', async () => {
    const job = await run('evaluate', {
      policies: [{ id: 'teacher', spec: 'teacher:scripted' }],
      suites: ['goal'],
      tasks: [0],
      trials: 2,
      maxSteps: { goal: 60 },
      workers: 2,
      imageSize: 16,
    });
    const r = job.result as { workers: number; policies: { id: string; trials: number; ran: number; errored: number }[] };
    expect(r.workers).toBe(2);
    expect(r.policies[0]).toMatchObject({ id: 'teacher', trials: 2, ran: 2, errored: 0 });
    expect(sourceAccess()).toEqual([]);
  });

  it('renders a trial video of the evaluation, re-rendered at twice the stored size', async () => {
    const job = await run('render-video', { layout: 'trial', policyId: 'teacher', suite: 'goal', taskIndex: 0, trialIndex: 0, size: 32, hold: 0 });
    const r = job.result as { outputs: string[]; frames: number };
    expect(r.outputs).toEqual(['videos/trial-teacher-goal-task0-trial0-32px.mp4', 'videos/trial-teacher-goal-task0-trial0-32px.png']);
    for (const o of r.outputs) expect(existsSync(path.join(expDir, o))).toBe(true);
    expect(logs(job.id).some((l) => l.includes('reproduces the recorded trial'))).toBe(true);
    expect(sourceAccess()).toEqual([]);
  });
});
