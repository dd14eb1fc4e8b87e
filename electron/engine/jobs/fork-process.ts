import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { JobProcess, SpawnJobProcess, ToWorker } from './protocol.js';

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
      send(message: ToWorker) {
        if (!exited && child.connected) child.send(message);
      },
      onMessage(listener) {
        child.on('message', listener);
      },
      onExit(listener) {
        exitListeners.push(listener);
      },
      kill() {
        if (!exited) child.kill('SIGKILL');
      },
    };
    return proc;
  };
}
