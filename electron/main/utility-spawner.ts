import { utilityProcess } from 'electron';
import { jobProcessFrom, type SpawnJobProcess } from '../engine/jobs/protocol.js';

/**
 * Job workers in Electron: one utilityProcess per job, named after it, stdio piped into the main log.
 * A crash surfaces as the process's exit, which the supervisor turns into an `interrupted` job.
 */
export function utilitySpawner(workerPath: string): SpawnJobProcess {
  return (jobId) => {
    const child = utilityProcess.fork(workerPath, ['--job', jobId], { serviceName: `vla-ad job ${jobId}`, stdio: 'pipe' });
    child.stdout?.on('data', (d: Buffer) => process.stdout.write(`[${jobId}] ${d}`));
    child.stderr?.on('data', (d: Buffer) => process.stderr.write(`[${jobId}] ${d}`));
    return jobProcessFrom(
      child,
      (m) => child.postMessage(m),
      () => child.kill(),
    );
  };
}
