import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface ServerChild {
  origin: string;
  token: string;
  /** The child's temp folder (data/ and renderer/ inside it). */
  dir: string;
  dataDir: string;
  child: ChildProcess;
  /** Everything the child wrote to stderr so far. */
  stderr(): string;
  /** null while it runs; its exit code or signal once it has stopped. */
  exited(): { code: number | null; signal: NodeJS.Signals | null } | null;
  stop(): Promise<void>;
}

/** Start zz-serve-orig.ts (through tsx) and wait for its listening line. */
export async function startServerChild(): Promise<ServerChild> {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const child = spawn(process.execPath, ['--import', tsx, path.join(here, 'zz-serve-orig.ts')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  child.on('exit', (code, signal) => (exit = { code, signal }));
  const info = await new Promise<{ origin: string; token: string; dir: string; dataDir: string }>((resolve, reject) => {
    let out = '';
    const onData = (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        child.stdout!.off('data', onData);
        try {
          resolve(JSON.parse(out.slice(0, nl)));
        } catch (e) {
          reject(new Error(`server child printed ${out.slice(0, nl)}: ${(e as Error).message}`));
        }
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server child exited (${code}) before listening: ${err}`)));
  });
  child.stdout!.resume();
  return {
    ...info,
    child,
    stderr: () => err,
    exited: () => exit,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exit) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }),
  };
}
