import { closeSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { LabError } from '../errors.js';

/**
 * A lock file that one live process holds at a time, for files that several processes could write (a
 * task's collection: its HDF5, sidecar and journal). Acquiring is an O_EXCL create of `<file>` holding the
 * holder's pid and start time; a holder that is alive is waited for (it may be a killed job's rollout
 * process finishing the episode it is in), one that is gone (killed, or its pid reused by a process that
 * started at another time) is stale and its lock is taken over. Within one process a lock is held once:
 * a second acquire waits for the first release.
 *
 * Not the data directory's lock (store/data-dir.ts, one owner per data directory): this one guards a few
 * files under it. A stale lock is taken over by renaming it away after checking that it is still the one
 * found stale; two processes taking over the same stale lock in the same instant could both succeed (they
 * would have to start together on the same task after its collector died), which the supervisor does not do.
 */
export interface LockHolder {
  pid: number;
  /** /proc/<pid>/stat starttime where there is a /proc, else null. */
  procStart: string | null;
  nonce: string;
  /** What holds it, for messages ("collect object task 4"). */
  what: string;
  since: string;
}

export interface PidLock {
  readonly file: string;
  release(): void;
}

/** A process's start time (clock ticks since boot) from /proc, or null where there is none or it is gone. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** Is a process with this pid running (EPERM: it is, but not ours)? */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // A zombie (dead, not yet reaped) holds nothing.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return true; // no /proc: kill(0) is all there is
  }
}

/** Whether the process that wrote `h` still runs: its pid is alive and, where known, started when it did. */
export function holderAlive(h: Partial<LockHolder>): boolean {
  if (typeof h.pid !== 'number' || !pidAlive(h.pid)) return false;
  if (typeof h.procStart === 'string') {
    const now = processStartTime(h.pid);
    if (now !== null && now !== h.procStart) return false;
  }
  return true;
}

/** Locks this process holds (by file), so a second acquire in the same process waits instead of taking over. */
const heldHere = new Set<string>();
const BEING_WRITTEN_MS = 2_000; // an empty or unparsable lock younger than this is one being written

function readHolder(file: string): { text: string; holder: Partial<LockHolder> | null; young: boolean } | null {
  let text: string;
  let mtimeMs: number;
  try {
    text = readFileSync(file, 'utf8');
    mtimeMs = statSync(file).mtimeMs;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let holder: Partial<LockHolder> | null = null;
  try {
    const v: unknown = JSON.parse(text);
    if (v && typeof v === 'object') holder = v as Partial<LockHolder>;
  } catch {
    /* empty (being written) or damaged */
  }
  return { text, holder, young: Date.now() - mtimeMs < BEING_WRITTEN_MS };
}

function createExclusive(file: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  return true;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Take `file`, waiting while a live process holds it (`onWait` is told once who), up to `waitMs`; then a
 * CONFLICT naming the lock and its holder. A cancel (`signal`) while waiting throws CANCELLED.
 */
export async function acquirePidLock(
  file: string,
  opts: { what: string; waitMs?: number; pollMs?: number; signal?: AbortSignal; onWait?: (holder: Partial<LockHolder>) => void },
): Promise<PidLock> {
  const me: LockHolder = { pid: process.pid, procStart: processStartTime(process.pid), nonce: randomBytes(8).toString('hex'), what: opts.what, since: new Date().toISOString() };
  const content = JSON.stringify(me);
  const deadline = Date.now() + (opts.waitMs ?? 300_000);
  let told = false;
  for (;;) {
    if (opts.signal?.aborted) throw new LabError('CANCELLED', `${opts.what}: cancelled while waiting for ${file}`, { file });
    if (!heldHere.has(file) && createExclusive(file, content)) {
      heldHere.add(file);
      return {
        file,
        release() {
          heldHere.delete(file);
          const r = readHolder(file);
          if (r?.holder?.nonce === me.nonce) rmSync(file, { force: true });
        },
      };
    }
    const r = heldHere.has(file) ? { text: '', holder: me as Partial<LockHolder>, young: true } : readHolder(file);
    if (r === null) continue; // released just now
    const live = heldHere.has(file) || (r.holder ? holderAlive(r.holder) : r.young);
    if (!live) {
      // Stale: its holder is gone. Move it away if it is still the one found stale, then compete again.
      const again = readHolder(file);
      if (again && again.text === r.text) {
        const aside = `${file}.stale-${randomBytes(4).toString('hex')}`;
        try {
          renameSync(file, aside);
          rmSync(aside, { force: true });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      }
      continue;
    }
    if (!told) {
      told = true;
      opts.onWait?.(r.holder ?? {});
    }
    if (Date.now() > deadline) {
      const h = r.holder ?? {};
      throw new LabError('CONFLICT', `${opts.what}: ${file} is held by process ${h.pid ?? '?'} (${h.what ?? 'unknown'}, since ${h.since ?? '?'}), still running after ${Math.round((opts.waitMs ?? 300_000) / 1000)} s`, {
        file,
        pid: h.pid ?? null,
      });
    }
    await sleep(opts.pollMs ?? 100);
  }
}
