import { utilityProcess } from 'electron';
import type { JobProcess, SpawnJobProcess, ToWorker } from '../engine/jobs/protocol.js';

/**
 * Job workers in Electron: one utilityProcess per job, named after it, stdio piped into the main log.
 * A crash surfaces as the process's exit, which the supervisor turns into an `interrupted` job.
 */
export function utilitySpawner(workerPath: string): SpawnJobProcess {
  return (jobId) => {
    const child = utilityProcess.fork(workerPath, ['--job', jobId], { serviceName: `vla-ad job ${jobId}`, stdio: 'pipe' });
    child.stdout?.on('data', (d: Buffer) => process.stdout.write(`[${jobId}] ${d}`));
    child.stderr?.on('data', (d: Buffer) => process.stderr.write(`[${jobId}] ${d}`));
    let exited = false;
    const exitListeners: Array<(code: number | null) => void> = [];
    child.on('exit', (code) => {
      exited = true;
      for (const l of exitListeners) l(code);
    });
    const proc: JobProcess = {
      get pid() {
        return child.pid;
      },
      send: (m: ToWorker) => {
        if (!exited) child.postMessage(m);
      },
      onMessage: (l) => child.on('message', l),
      onExit: (l) => exitListeners.push(l),
      kill: () => {
        if (!exited) child.kill();
      },
    };
    return proc;
  };
}
