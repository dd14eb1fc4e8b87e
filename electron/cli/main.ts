import { Command, InvalidArgumentError } from 'commander';
import { openLab, type Lab } from '../engine/lab-runtime.js';
import { forkSpawner } from '../engine/jobs/fork-process.js';
import { resolveDataDir } from '../engine/store/data-dir.js';
import { runDoctor } from '../engine/doctor.js';
import { LabError } from '../engine/errors.js';
import { JOB_KINDS, type JobKind } from '../api/job-kinds.js';
import { startWebServer } from '../server/web-server.js';
import { benchSuites } from './bench/index.js';
import { recordBench } from './bench/report.js';
import { followJob } from './progress.js';
import { callLab } from './lab-call.js';
import { rendererDir, repoRoot, workerEntry } from './paths.js';
import { runDemo } from './demo.js';
import { writeFileAtomic } from '../engine/util/atomic.js';
import { encodeMp4 } from '../engine/video/encode.js';

const program = new Command();
program
  .name('vla-ad')
  .description('VLA-AD Lab: distill a VLA teacher into a small student, with a VLM as an offline annotator')
  .option('--data-dir <dir>', 'data directory (default: $VLA_AD_DATA or ~/.local/share/vla-ad-lab)');

/** The lab on the data directory; commands that only read open it read-only (no lock: they run beside the app, and on read-only media). */
function lab(owner: string, opts: { readOnly?: boolean } = {}): Lab {
  const dataDir = resolveDataDir(program.opts().dataDir);
  return openLab({ dataDir, owner, spawn: forkSpawner(workerEntry), readOnly: opts.readOnly });
}

function parseParam(value: string, previous: Record<string, unknown> = {}): Record<string, unknown> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`expected key=value, got "${value}"`);
  const raw = value.slice(eq + 1);
  let parsed: unknown = raw;
  try {
    parsed = JSON.parse(raw);
  } catch {
    /* a plain string */
  }
  return { ...previous, [value.slice(0, eq)]: parsed };
}

program
  .command('doctor')
  .description('say what this machine has: Electron, ONNX Runtime EPs, ffmpeg, Chromium, python/torch/h5py, VLM, LIBERO')
  .option('--json', 'print JSON')
  .action(async (o: { json?: boolean }) => {
    const report = await runDoctor();
    if (o.json) return console.log(JSON.stringify(report, null, 2));
    for (const c of report.checks) {
      console.log(`${c.ok ? 'ok  ' : 'MISS'}  ${c.name.padEnd(28)} ${c.detail}${!c.ok && c.hint ? `\n      → ${c.hint}` : ''}`);
    }
  });

program
  .command('serve')
  .description('web mode: serve the renderer and the lab API on loopback')
  .option('--host <host>', 'bind address', '127.0.0.1')
  .option('--port <port>', 'port (0 = any free)', (v) => Number.parseInt(v, 10), 5178)
  .option('--allow-remote', 'allow a non-loopback bind (the token still guards the API)')
  .option('--token <token>', 'use this token instead of a random one')
  .action(async (o: { host: string; port: number; allowRemote?: boolean; token?: string }) => {
    const l = lab('web server');
    const server = await startWebServer({ lab: l, rendererDir, host: o.host, port: o.port, allowRemote: o.allowRemote, token: o.token }).catch((err) => {
      l.close();
      throw err;
    });
    console.log(`VLA-AD Lab web mode: ${server.url}`);
    console.log(`data directory: ${l.dataDir}`);
    const stop = async () => {
      await server.close();
      l.close();
      process.exit(0);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });

const experiment = program.command('experiment').description('experiments');
experiment
  .command('create <name>')
  .option('--recipe <recipe>', 'recipe', 'distill')
  .action(async (name: string, o: { recipe: string }) => {
    const l = lab('cli');
    try {
      // As IPC and web mode store it: the recipe's full, defaulted config.
      const r = await callLab(l, 'experiments.create', { name, recipe: o.recipe });
      console.log(`${r.id}\t${r.name}`);
    } finally {
      l.close();
    }
  });
experiment.command('list').action(async () => {
  const l = lab('cli', { readOnly: true });
  try {
    for (const e of await callLab(l, 'experiments.list', {})) console.log(`${e.id}\t${e.name}\t${e.recipe}\t${e.createdAt}`);
  } finally {
    l.close();
  }
});

const job = program.command('job').description('long jobs');
job
  .command('run <kind>')
  .description(`run a job with a progress bar (kinds: ${JOB_KINDS.join(', ')})`)
  .option('--experiment <id>', 'experiment the job belongs to')
  .option('--param <key=value>', 'job parameter (repeatable; values parsed as JSON when they parse)', parseParam, {})
  .action(async (kind: string, o: { experiment?: string; param: Record<string, unknown> }) => {
    const l = lab('cli');
    try {
      // The kind is checked by the API (an unknown one is an INVALID_INPUT naming the known ones).
      const started = await callLab(l, 'jobs.start', { kind: kind as JobKind, experimentId: o.experiment ?? null, params: o.param });
      const final = await followJob(l, started);
      reportFinal(final);
    } finally {
      l.close();
    }
  });
job
  .command('resume <id>')
  .description('resume an interrupted, failed or cancelled job from its checkpoint')
  .action(async (id: string) => {
    const l = lab('cli');
    try {
      const final = await followJob(l, await callLab(l, 'jobs.resume', { id }));
      reportFinal(final);
    } finally {
      l.close();
    }
  });
job.command('list').action(async () => {
  const l = lab('cli', { readOnly: true });
  try {
    for (const j of await callLab(l, 'jobs.list', {})) console.log(`${j.id}\t${j.kind}\t${j.status}\t${(j.progress.fraction * 100).toFixed(0)}%\t${j.progress.stage}`);
  } finally {
    l.close();
  }
});

/** `vla-ad video compare|grid|trial`: the render-video job with its parameters as options (docs/video.md). */
const video = program.command('video').description('supplementary videos of stored trials (the render-video job)');
const int = (v: string) => Number.parseInt(v, 10);
function videoCommand(layout: 'compare' | 'grid' | 'trial', args: string, describe: string) {
  return video
    .command(`${layout} ${args}`)
    .description(describe)
    .requiredOption('--experiment <id>', 'experiment whose evaluation is rendered')
    .option('--size <px>', 'panel size (larger than the stored frames: re-rendered on the built-in simulator)', int)
    .option('--rerender <mode>', 'auto | always | never', 'auto')
    .option('--formats <list>', 'comma-separated: mp4,webm,gif', 'mp4')
    .option('--fps <n>', 'frames per second', int, 20)
    .option('--hold <n>', 'frames held after the longest trial ends', int, 20)
    .option('--name <name>', 'output base name under videos/');
}
type VideoOpts = { experiment: string; size?: number; rerender: string; formats: string; fps: number; hold: number; name?: string; policies?: string; tasks?: string; trial?: number };
async function runVideo(params: Record<string, unknown>, o: VideoOpts) {
  const l = lab('cli');
  try {
    const common = { ...(o.size ? { size: o.size } : {}), rerender: o.rerender, formats: csv(o.formats), fps: o.fps, hold: o.hold, ...(o.name ? { name: o.name } : {}) };
    const started = await callLab(l, 'jobs.start', { kind: 'render-video', experimentId: o.experiment, params: { ...params, ...common } });
    reportFinal(await followJob(l, started));
  } finally {
    l.close();
  }
}
const csv = (v: string) => v.split(',').map((x) => x.trim()).filter(Boolean);
videoCommand('compare', '<suite> <task> <init>', 'policies side by side from the same initial state')
  .option('--policies <ids>', 'comma-separated policy ids (default: every evaluated policy, teachers first)')
  .action((suite: string, task: string, init: string, o: VideoOpts) => runVideo({ layout: 'compare', suite, taskIndex: int(task), initIndex: int(init), ...(o.policies ? { policies: csv(o.policies) } : {}) }, o));
videoCommand('grid', '<suite>', "a suite's tasks × policies, one trial each")
  .option('--policies <ids>', 'comma-separated policy ids')
  .option('--tasks <list>', 'comma-separated task indices (default: every stored task)')
  .option('--trial <i>', 'trial index shown for each task', int, 0)
  .action((suite: string, o: VideoOpts) => runVideo({ layout: 'grid', suite, trialIndex: o.trial ?? 0, ...(o.policies ? { policies: csv(o.policies) } : {}), ...(o.tasks ? { tasks: csv(o.tasks).map(int) } : {}) }, o));
videoCommand('trial', '<policy> <suite> <task> <trial>', 'one trial: both cameras and its action timeline')
  .action((policyId: string, suite: string, task: string, trial: string, o: VideoOpts) => runVideo({ layout: 'trial', policyId, suite, taskIndex: int(task), trialIndex: int(trial) }, o));

const sim = program.command('sim').description('look at the built-in simulator\'s scenes');
sim
  .command('view <suite> <task>')
  .description('render a task\'s initial state to PNG (task: index 0–9)')
  .option('--init <i>', 'initial state index (0–49)', (v) => Number.parseInt(v, 10), 0)
  .option('--size <px>', 'image size', (v) => Number.parseInt(v, 10), 512)
  .option('--camera <name>', 'agentview or eye_in_hand', 'agentview')
  .option('--out <file>', 'PNG file (default: <suite>-<task>-init<i>.png)')
  .action(async (suite: string, task: string, o: { init: number; size: number; camera: 'agentview' | 'eye_in_hand'; out?: string }) => {
    const { renderInitialStatePng } = await import('../engine/sim/index.js');
    const png = await renderInitialStatePng(suite, Number.isNaN(Number(task)) ? task : Number(task), o.init, o.size, o.camera);
    const out = o.out ?? `${suite}-${task}-init${o.init}.png`;
    await writeFileAtomic(out, png);
    console.log(out);
  });
sim
  .command('rollout <suite> <task>')
  .description('a short rollout of seeded random actions to MP4')
  .option('--init <i>', 'initial state index (0–49)', (v) => Number.parseInt(v, 10), 0)
  .option('--steps <n>', 'control steps', (v) => Number.parseInt(v, 10), 60)
  .option('--size <px>', 'frame size', (v) => Number.parseInt(v, 10), 256)
  .option('--seed <n>', 'random seed', (v) => Number.parseInt(v, 10), 0)
  .option('--out <file>', 'MP4 file (default: <suite>-<task>-random.mp4)')
  .action(async (suite: string, task: string, o: { init: number; steps: number; size: number; seed: number; out?: string }) => {
    const { renderRandomRolloutFrames } = await import('../engine/sim/index.js');
    const r = await renderRandomRolloutFrames(suite, Number.isNaN(Number(task)) ? task : Number(task), o.init, { steps: o.steps, size: o.size, seed: o.seed });
    const out = o.out ?? `${suite}-${task}-random.mp4`;
    await encodeMp4(out, r.frames, { width: r.width, height: r.height, fps: r.fps });
    console.log(`${out} (${r.frames.length} frames, seed ${r.seed}${r.reason ? `, ended: ${r.reason}` : ''})`);
  });

program
  .command('demo')
  .description('the whole experiment on the built-in suites: collect → annotate → train → evaluate → tables (≈20 min on 2 cores)')
  .option('--full', "the paper's protocol: 3 suites × 10 tasks × 20 trials, λ sweep (hours on a CPU)")
  .option('--config <file>', 'JSON with distill settings that override the demo\'s')
  .action(async (o: { full?: boolean; config?: string }) => {
    const l = lab('cli demo');
    try {
      const final = await runDemo(l, { full: o.full, configFile: o.config });
      reportFinal(final, true);
    } finally {
      l.close();
    }
  });

program
  .command('bench <suite> [args...]')
  .allowUnknownOption() // suite flags (--threads, --frames, …) belong to the suite
  .description(`benchmarks, written to docs/bench/<suite>.json and a line in docs/BENCHMARKS.md (suites: ${Object.keys(benchSuites).join(', ') || 'none yet'})`)
  .action(async (suite: string, args: string[]) => {
    const load = benchSuites[suite];
    if (!load) throw new LabError('INVALID_INPUT', `Unknown bench suite "${suite}" (known: ${Object.keys(benchSuites).join(', ')})`, { suite });
    const report = await (await load())(args);
    const file = await recordBench(report, repoRoot);
    for (const r of report.rows) {
      console.log(`${r.name}: ${r.ours} ${r.unit}${r.peer !== undefined ? ` | ${r.peerName ?? 'peer'} ${r.peer}` : ''}${r.ratio !== undefined ? ` | ratio ${r.ratio.toFixed(3)}` : ''}`);
    }
    console.log(`written: ${file}, docs/BENCHMARKS.md`);
  });

function reportFinal(final: import('../api/schemas.js').Job, quiet = false): void {
  if (final.status === 'succeeded') {
    if (!quiet) console.log(JSON.stringify(final.result, null, 2));
  } else {
    console.error(`job ${final.id} ${final.status}: ${final.error ? `error [${final.error.code}]: ${final.error.message}` : ''}`);
    if (final.status === 'interrupted' || final.status === 'cancelled') console.error(`resume with: vla-ad job resume ${final.id}`);
    process.exitCode = 1;
  }
}

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof LabError) {
    console.error(`error [${err.code}]: ${err.message}`);
  } else {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  }
  process.exit(1);
});
