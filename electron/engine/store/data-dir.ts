import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import os from 'node:os';
import { LabError } from '../errors.js';
import { pidAlive, processStartTime } from '../util/pid-lock.js';

/**
 * The data directory: `--data-dir`, else `VLA_AD_DATA`, else the shell's default (Electron's userData,
 * or ~/.local/share/vla-ad-lab for the CLI and web mode).
 */
export function resolveDataDir(explicit?: string, shellDefault?: string): string {
  const chosen = explicit ?? process.env.VLA_AD_DATA ?? shellDefault ?? path.join(os.homedir(), '.local', 'share', 'vla-ad-lab');
  return path.resolve(chosen);
}

/**
 * Make sure the directory exists (creating it is fine) and is a writable directory.
 * A path that exists as a file is a clear error, not something to overwrite.
 */
export function ensureDataDir(dir: string): void {
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new LabError('INVALID_INPUT', `Data directory ${dir} exists but is not a directory`, { dataDir: dir });
  }
  try {
    mkdirSync(dir, { recursive: true });
    mkdirSync(path.join(dir, 'experiments'), { recursive: true });
  } catch (err) {
    const io = isIoRefusal(err);
    throw new LabError(io ? 'IO_ERROR' : 'INVALID_INPUT', `Cannot create data directory ${dir}: ${(err as Error).message}`, { dataDir: dir, errno: (err as NodeJS.ErrnoException).code });
  }
}

/** Errors by which the file system refuses a write (as opposed to a bad path). */
export function isIoRefusal(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'EROFS' || code === 'EACCES' || code === 'EPERM' || code === 'ENOSPC' || code === 'EDQUOT' || code === 'EIO';
}

/** A typed error for a writer on a directory it cannot write (read-only, no permission, full). */
export function dataDirNotWritable(dataDir: string, err: unknown, what: string): LabError {
  const errno = (err as NodeJS.ErrnoException).code;
  const why = errno === 'EROFS' ? 'is read-only' : errno === 'ENOSPC' || errno === 'EDQUOT' ? 'is full' : errno === 'EIO' ? 'had an I/O error' : 'is not writable';
  return new LabError(
    'IO_ERROR',
    `Data directory ${dataDir} ${why} (${errno} on ${what}); commands that only read (experiment list, job list) still work, anything that writes needs a writable --data-dir`,
    { dataDir, errno, file: what },
  );
}


/** What a lock file holds. `start` tells a reused pid apart from the process that wrote the lock. */
interface LockOwner {
  pid: number;
  owner: string;
  since: string;
  /** The owner's start: /proc/<pid>/stat starttime (clock ticks since boot) where there is a /proc, else null. */
  procStart: string | null;
  /** The owner's start as wall-clock ms (Date.now() - uptime), informative where procStart is null. */
  startedAtMs: number;
  /** Random per acquisition: which lock a handle (or a takeover) refers to. */
  nonce: string;
}

/** Whether the process that wrote `held` is still running: its pid is alive and, where known, started when it did. */
function ownerAlive(held: Partial<LockOwner>): boolean {
  if (typeof held.pid !== 'number' || !pidAlive(held.pid)) return false;
  if (typeof held.procStart === 'string') {
    const now = processStartTime(held.pid);
    if (now !== null && now !== held.procStart) return false; // the pid was reused by another process
  }
  return true;
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const BEING_WRITTEN_MS = 2_000; // an empty or unparsable lock younger than this is one being written right now

type LockRead = { state: 'absent' } | { state: 'held'; held: Partial<LockOwner>; identity: string; young: boolean; parsed: boolean };

function readLock(file: string): LockRead {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'absent' };
    throw err;
  }
  try {
    const st = fstatSync(fd);
    const text = readFileSync(fd, 'utf8');
    // Which lock this is: its inode and content (the nonce makes every acquisition's content unique).
    const identity = createHash('sha256').update(`${st.ino}:${st.size}:${st.mtimeMs}:${text}`).digest('hex').slice(0, 24);
    let held: Partial<LockOwner> = {};
    let parsed = false;
    try {
      const v: unknown = JSON.parse(text);
      if (v && typeof v === 'object') {
        held = v as Partial<LockOwner>;
        parsed = true;
      }
    } catch {
      /* empty (being written) or damaged */
    }
    return { state: 'held', held, identity, parsed, young: Date.now() - st.mtimeMs < BEING_WRITTEN_MS };
  } finally {
    closeSync(fd);
  }
}

/** Which lock `file` holds now (its inode and content, as takeover tickets name it); null when there is none. */
export function lockIdentity(file: string): string | null {
  const r = readLock(file);
  return r.state === 'held' ? r.identity : null;
}

/** Create `file` with `content` only if it does not exist (O_EXCL); false if it does. */
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

/**
 * One owner process per data directory: a second app instance (or a CLI while the app runs) on the same
 * data gets a CONFLICT error instead of two writers racing on the same artifacts.
 *
 * Acquiring is one atomic O_EXCL create of `lab.lock` holding the owner's pid and start time, so of any
 * number of processes starting together exactly one wins. A lock whose process is gone (or whose pid now
 * belongs to a process that started at another time) is stale and is taken over without a race: the taker
 * first wins an O_EXCL "takeover ticket" named after that very lock (`lab.lock.takeover-<identity>-<n>`),
 * checks that `lab.lock` is still that lock, renames it away, and then competes in the O_EXCL create like
 * everyone else. A ticket of a taker that died is superseded by the next number, never deleted under a
 * live one, so two takers never both remove a lock and never remove a fresh one.
 */
export class DataDirLock {
  private constructor(
    readonly file: string,
    private readonly nonce: string,
  ) {}

  static acquire(dataDir: string, owner: string): DataDirLock {
    const file = path.join(dataDir, 'lab.lock');
    const self: LockOwner = {
      pid: process.pid,
      owner,
      since: new Date().toISOString(),
      procStart: processStartTime(process.pid),
      startedAtMs: Math.round(Date.now() - process.uptime() * 1000),
      nonce: randomBytes(12).toString('hex'),
    };
    const content = JSON.stringify(self);
    const deadline = Date.now() + 10_000;
    for (let attempt = 0; ; attempt++) {
      if (Date.now() > deadline) {
        throw new LabError('CONFLICT', `Could not acquire the lock of data directory ${dataDir} (${file}): it kept changing hands`, { dataDir, file });
      }
      try {
        if (createExclusive(file, content)) {
          sweepTickets(dataDir);
          return new DataDirLock(file, self.nonce);
        }
        const r = readLock(file);
        if (r.state === 'absent') continue; // released or taken away just now: try again
        const { held } = r;
        if (r.parsed && held.pid === process.pid) {
          // Already ours (a second open in this process): share it. Our pid with another start: a stale lock.
          if ((held.procStart ?? null) === self.procStart) return new DataDirLock(file, String(held.nonce ?? ''));
          takeOver(dataDir, file, r.identity, self);
          continue;
        }
        if (r.parsed ? ownerAlive(held) : r.young) {
          if (!r.parsed) {
            sleepSync(5 + attempt); // being written by a process that just created it
            continue;
          }
          throw new LabError('CONFLICT', `Data directory ${dataDir} is in use by another VLA-AD Lab process (${held.owner ?? 'unknown'}, pid ${held.pid})`, {
            dataDir,
            pid: held.pid,
          });
        }
        takeOver(dataDir, file, r.identity, self);
      } catch (err) {
        if (err instanceof LabError) throw err;
        if (isIoRefusal(err)) throw dataDirNotWritable(dataDir, err, file);
        throw err;
      }
    }
  }

  release(): void {
    try {
      const r = readLock(this.file);
      if (r.state === 'held' && r.held.pid === process.pid && String(r.held.nonce ?? '') === this.nonce) {
        unlinkSync(this.file);
      }
    } catch {
      /* already gone, or a read-only directory: nothing to release */
    }
  }
}

const TICKET = 'lab.lock.takeover-';

/**
 * Remove the stale lock whose identity is `identity`, if this process wins the right to: an O_EXCL ticket
 * for that lock. Whether it does or not, the caller retries the O_EXCL create afterwards.
 */
function takeOver(dataDir: string, file: string, identity: string, self: LockOwner): void {
  for (let n = 0; n < 1000; n++) {
    const ticket = path.join(dataDir, `${TICKET}${identity}-${n}`);
    if (createExclusive(ticket, JSON.stringify(self))) {
      try {
        // Only a ticket holder removes this lock, and its owner is gone: if it is still there, it is ours to remove.
        const now = readLock(file);
        if (now.state === 'held' && now.identity === identity) {
          const aside = `${file}.stale-${process.pid}-${randomBytes(6).toString('hex')}`;
          renameSync(file, aside);
          rmSync(aside, { force: true });
        }
      } finally {
        unlinkSync(ticket);
      }
      return;
    }
    const t = readLock(ticket);
    if (t.state === 'absent') return; // its holder just finished: retry the create
    if (t.parsed ? ownerAlive(t.held) : t.young) {
      sleepSync(2); // another process is taking this lock over right now: let it, then retry
      return;
    }
    // That taker died holding its ticket: the next number supersedes it.
  }
}

/** Tickets of takers that died (their lock long gone): clutter, removed by the next owner. */
function sweepTickets(dataDir: string): void {
  try {
    for (const name of readdirSync(dataDir)) {
      if (!name.startsWith(TICKET) && !name.startsWith('lab.lock.stale-')) continue;
      const f = path.join(dataDir, name);
      try {
        const holder = JSON.parse(readFileSync(f, 'utf8')) as Partial<LockOwner>;
        if (!ownerAlive(holder)) unlinkSync(f);
      } catch {
        try {
          if (Date.now() - statSync(f).mtimeMs > 60_000) unlinkSync(f);
        } catch {
          /* gone */
        }
      }
    }
  } catch {
    /* best effort */
  }
}
