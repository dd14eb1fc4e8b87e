import cliProgress from 'cli-progress';
import type { Job, JobEvent } from '../api/schemas.js';
import type { Lab } from '../engine/lab-runtime.js';

const fmtEta = (s: number | null) => (s === null ? '--' : s >= 3600 ? `${(s / 3600).toFixed(1)}h` : s >= 60 ? `${Math.round(s / 60)}m` : `${Math.round(s)}s`);

/**
 * Follow a job in the terminal: a progress bar with stage and ETA, log lines above it, Ctrl-C cancels
 * (a second Ctrl-C leaves the job to be resumed later). Resolves with the final job.
 */
export async function followJob(lab: Lab, job: Job, quiet = false): Promise<Job> {
  const interactive = process.stderr.isTTY && !quiet;
  const bar = new cliProgress.SingleBar(
    { format: ` ${job.kind} |{bar}| {percentage}% | {stage} | ETA {eta_h}`, hideCursor: true, stream: process.stderr, noTTYOutput: false },
    cliProgress.Presets.shades_classic,
  );
  if (interactive) bar.start(1000, 0, { stage: 'starting', eta_h: '--' });
  let lastStage = '';
  let lastValue = 0;
  let lastDecile = -1;
  let lastPrintAt = 0;
  const unsubscribe = lab.supervisor.subscribe((e: JobEvent) => {
    if (e.type === 'log' && e.log.jobId === job.id) {
      if (interactive) bar.stop();
      if (!quiet) process.stderr.write(`[${e.log.level}] ${e.log.line}\n`);
      if (interactive) bar.start(1000, lastValue, { stage: lastStage, eta_h: '--' });
    } else if (e.type === 'job' && e.job.id === job.id) {
      lastStage = e.job.progress.stage;
      lastValue = Math.round(e.job.progress.fraction * 1000);
      if (interactive) bar.update(lastValue, { stage: lastStage, eta_h: fmtEta(e.job.progress.etaSeconds) });
      else if (!quiet && e.job.status === 'running') {
        // Without a terminal: a line per 10% of progress, or every 15 s while a long stage runs.
        const decile = Math.floor(e.job.progress.fraction * 10);
        if (decile !== lastDecile || Date.now() - lastPrintAt > 15_000) {
          lastDecile = decile;
          lastPrintAt = Date.now();
          process.stderr.write(`${job.kind}: ${(e.job.progress.fraction * 100).toFixed(0)}% ${lastStage} ETA ${fmtEta(e.job.progress.etaSeconds)}\n`);
        }
      }
    }
  });
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write(`\ncancelling ${job.id} (Ctrl-C again to leave it resumable)\n`);
      lab.supervisor.cancel(job.id);
    } else {
      lab.close();
      process.exit(130);
    }
  };
  process.on('SIGINT', onSigint);
  try {
    return await lab.supervisor.waitFor(job.id);
  } finally {
    process.off('SIGINT', onSigint);
    unsubscribe();
    if (interactive) bar.stop();
  }
}
