import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { jobProcessFrom, type SpawnJobProcess } from './protocol.js';

/**
 * Job workers for the CLI and web mode: `child_process.fork` of the same worker entry that Electron
 * starts as a utilityProcess. A `.ts` entry (running from a source checkout) is loaded through tsx,
 * resolved by absolute URL so the worker does not depend on the current directory.
 */
export function forkSpawner(workerEntry: string, env: NodeJS.ProcessEnv = process.env): SpawnJobProcess {
  const execArgv: string[] = [];
  if (workerEntry.endsWith('.ts')) {
    const tsx = createRequire(import.meta.url).resolve('tsx');
    execArgv.push('--import', pathToFileURL(tsx).href);
  }
  return (jobId) => {
    const child = fork(workerEntry, ['--job', jobId], { execArgv, env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
    return jobProcessFrom(
      child,
      (m) => {
        if (child.connected) child.send(m);
      },
      () => child.kill('SIGKILL'),
    );
  };
}
