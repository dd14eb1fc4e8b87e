import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { DataDirLock, lockIdentity } from '../../../electron/engine/store/data-dir.js';
import { processStartTime } from '../../../electron/engine/util/pid-lock.js';
import { LabStore } from '../../../electron/engine/store/lab-store.js';
import { APP_ID, migrations } from '../../../electron/engine/store/migrations.js';
import { openLab } from '../../../electron/engine/lab-runtime.js';
import type { SpawnJobProcess } from '../../../electron/engine/jobs/protocol.js';
import { LabError } from '../../../electron/engine/errors.js';
import { tempDir } from '../../helpers/tmp.js';

/**
 * Issue 19 (5): the data-dir lock was check-then-write (6 processes started together: 2–6 "acquired" it),
 * and a read-only data dir was a raw EROFS stack trace even for `experiment list`.
 */
let t: ReturnType<typeof tempDir>;
beforeEach(() => {
  t = tempDir();
});
afterEach(() => t.cleanup());

const here = path.dirname(fileURLToPath(import.meta.url));
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const noJobs: SpawnJobProcess = () => {
  throw new Error('no job workers in this test');
};
const errorOf = (fn: () => unknown): LabError | Error | null => {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  return null;
};
const lockFile = () => path.join(t.dir, 'lab.lock');
const held = () => JSON.parse(readFileSync(lockFile(), 'utf8')) as { pid: number; owner: string; procStart: string | null };

/** Start n contenders, wait until all are ready, release them at once; their answers. */
async function race(dataDir: string, n: number, holdMs = 2_000): Promise<string[]> {
  const kids: ChildProcess[] = [];
  const ready: Promise<void>[] = [];
  const answers: Promise<string>[] = [];
  for (let i = 0; i < n; i++) {
    const child = spawn(process.execPath, ['--import', tsx, path.join(here, 'lock-child.ts'), dataDir, String(holdMs)], { stdio: ['pipe', 'pipe', 'inherit'] });
    kids.push(child);
    let out = '';
    let onReady: () => void;
    ready.push(new Promise<void>((r) => (onReady = r)));
    answers.push(
      new Promise<string>((resolve) => {
        child.stdout!.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.startsWith('ready\n')) onReady();
          const lines = out.split('\n');
          if (lines.length > 2) resolve(lines[1]);
        });
        child.on('exit', () => resolve(out.split('\n')[1] || `exited: ${out}`));
      }),
    );
  }
  await Promise.all(ready);
  const startAt = Date.now() + 400;
  for (const k of kids) k.stdin!.write(`${startAt}\n`);
  const got = await Promise.all(answers);
  await Promise.all(kids.map((k) => (k.exitCode !== null ? Promise.resolve() : new Promise((r) => k.once('exit', r)))));
  return got;
}

describe('DataDirLock: atomic', () => {
  it('lets exactly one of 6 processes started together acquire it, in each of 5 rounds (a stale lock present in some)', async () => {
    for (let round = 0; round < 5; round++) {
      // Rounds 1 and 3 start with a lock left by a dead process: the takeover must be race-free as well.
      if (round % 2 === 1) writeFileSync(lockFile(), JSON.stringify({ pid: 2 ** 22 + 4321, owner: 'crashed', procStart: '1', nonce: `dead${round}` }));
      const answers = await race(t.dir, 6);
      expect(answers.filter((a) => a === 'won'), `round ${round}: ${answers.join(', ')}`).toHaveLength(1);
      expect(answers.filter((a) => a === 'conflict CONFLICT')).toHaveLength(5);
      expect(existsSync(lockFile()), `round ${round}: the winner released it`).toBe(false);
      // Nothing left behind: no tickets, no renamed stale locks.
      expect(readdirSync(t.dir).filter((f) => f.startsWith('lab.lock'))).toEqual([]);
    }
  }, 120_000);

  it('waits for a lock that is being written (created, content not yet there) instead of taking it for stale', async () => {
    // The old lock's race, made deterministic: another process has created lab.lock and writes its content a
    // moment later. An empty lock is not stale; the owner's content, once there, is a live owner: CONFLICT.
    const file = lockFile();
    const writer = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('fs'); process.stdout.write('ready\\n');
         const t = setInterval(() => { if (fs.existsSync(${JSON.stringify(file)})) { clearInterval(t);
           setTimeout(() => { fs.writeFileSync(${JSON.stringify(file)}, JSON.stringify({ pid: process.pid, owner: 'slow writer' })); setTimeout(() => {}, 5000); }, 150); } }, 5);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve) => writer.stdout!.once('data', () => resolve()));
      writeFileSync(file, ''); // "created with O_EXCL, not written yet"
      const e = errorOf(() => DataDirLock.acquire(t.dir, 'impatient'));
      expect(e, 'acquired a lock that another process was writing').toBeInstanceOf(LabError);
      expect((e as LabError).code).toBe('CONFLICT');
      expect(e!.message).toContain('slow writer');
      expect(held().owner).toBe('slow writer');
    } finally {
      writer.kill('SIGKILL');
    }
  });

  it('takes over a lock whose pid is dead, and refuses one whose owner is alive', () => {
    writeFileSync(lockFile(), JSON.stringify({ pid: 2 ** 22 + 12345, owner: 'crashed', since: 'x' }));
    const lock = DataDirLock.acquire(t.dir, 'new owner');
    expect(held()).toMatchObject({ pid: process.pid, owner: 'new owner' });
    lock.release();
    expect(existsSync(lockFile())).toBe(false);

    // Our parent is alive: with its real start time (or none recorded) the lock is its.
    writeFileSync(lockFile(), JSON.stringify({ pid: process.ppid, owner: 'other app', procStart: processStartTime(process.ppid) }));
    const e = errorOf(() => DataDirLock.acquire(t.dir, 'second'));
    expect(e).toBeInstanceOf(LabError);
    expect((e as LabError).code).toBe('CONFLICT');
    expect(e!.message).toContain('other app');
    expect(held().owner).toBe('other app'); // untouched
  });

  it.skipIf(processStartTime(process.pid) === null)('takes over a lock whose pid is alive but belongs to a process started at another time (a reused pid)', () => {
    const real = processStartTime(process.ppid)!;
    writeFileSync(lockFile(), JSON.stringify({ pid: process.ppid, owner: 'before reboot', procStart: String(Number(real) + 12345) }));
    const lock = DataDirLock.acquire(t.dir, 'after reboot');
    expect(held()).toMatchObject({ pid: process.pid, owner: 'after reboot', procStart: processStartTime(process.pid) });
    lock.release();
  });

  it('writes pid and start time, and takes over an empty lock only once it is old (one being written is waited for)', () => {
    const lock = DataDirLock.acquire(t.dir, 'me');
    expect(held()).toMatchObject({ pid: process.pid, owner: 'me' });
    expect(typeof (held() as unknown as { startedAtMs: number }).startedAtMs).toBe('number');
    lock.release();
    writeFileSync(lockFile(), '');
    const old = new Date(Date.now() - 60_000);
    utimesSync(lockFile(), old, old);
    const taken = DataDirLock.acquire(t.dir, 'after crash at create');
    expect(held().owner).toBe('after crash at create');
    taken.release();
  });

  it('is not blocked by the takeover ticket of a taker that died mid-takeover', () => {
    writeFileSync(lockFile(), JSON.stringify({ pid: 2 ** 22 + 999, owner: 'crashed', nonce: 'n1' }));
    const id = lockIdentity(lockFile())!;
    writeFileSync(path.join(t.dir, `lab.lock.takeover-${id}-0`), JSON.stringify({ pid: 2 ** 22 + 998, owner: 'crashed taker' }));
    const lock = DataDirLock.acquire(t.dir, 'next');
    expect(held().owner).toBe('next');
    expect(readdirSync(t.dir).filter((f) => f.startsWith('lab.lock.'))).toEqual([]); // the dead ticket was swept
    lock.release();
  });
});

/**
 * A directory that refuses writes even to root: chmod for other users; for root (CI and the development
 * machines), a tmpfs remounted read-only. Where root may not mount, this throws and says so: the case
 * needs a machine that can set it up, rather than passing without running.
 */
function makeReadOnly(dir: string): { ro: () => void; undo: () => void } {
  if (process.getuid?.() !== 0) {
    return { ro: () => chmodSync(dir, 0o555), undo: () => chmodSync(dir, 0o755) };
  }
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    throw new Error(`a read-only data dir for root needs a tmpfs mount, which is not permitted here: ${(err as Error).message.split('\n')[0]}`);
  }
  return {
    ro: () => execFileSync('mount', ['-o', 'remount,ro', dir], { stdio: 'pipe' }),
    undo: () => execFileSync('umount', [dir], { stdio: 'pipe' }),
  };
}

describe('read-only data directories', () => {
  it('lists experiments and jobs on a read-only data dir, refuses writes with typed errors naming the directory', async () => {
    const dataDir = path.join(t.dir, 'ro-data');
    mkdirSync(dataDir);
    const ro = makeReadOnly(dataDir);
    try {
      const w = openLab({ dataDir, owner: 'writer', spawn: noJobs });
      const exp = w.store.createExperiment({ name: 'kept', recipe: 'distill', config: {} });
      w.store.createJob({ kind: 'selftest', experimentId: exp.id, params: {} });
      w.close();
      ro.ro();
      expect(() => writeFileSync(path.join(dataDir, 'probe'), 'x')).toThrow(); // really read-only, even for root

      const snapshots = () => readdirSync(os.tmpdir()).filter((f) => f.startsWith('vla-ad-readonly-'));
      const before = snapshots().length;
      const r = openLab({ dataDir, owner: 'cli', spawn: noJobs, readOnly: true });
      try {
        expect(r.store.readOnly).toBe(true);
        // The writer closed cleanly (no -shm left), which SQLite cannot open on read-only media: a snapshot is read.
        expect(snapshots().length).toBe(before + 1);
        expect(r.store.listExperiments().map((e) => e.name)).toEqual(['kept']);
        const listed = await r.handle('experiments.list', {});
        expect(listed.ok && (listed.value as { name: string }[]).map((e) => e.name)).toEqual(['kept']);
        const jobs = await r.handle('jobs.list', {});
        expect(jobs.ok && (jobs.value as unknown[]).length).toBe(1);
        const create = await r.handle('experiments.create', { name: 'nope' });
        expect(create.ok).toBe(false);
        expect(!create.ok && create.error.code).toBe('UNSUPPORTED');
        expect(errorOf(() => r.store.createExperiment({ name: 'x', recipe: 'distill', config: {} })) as LabError).toMatchObject({ code: 'UNSUPPORTED' });
      } finally {
        r.close();
      }
      expect(snapshots().length, 'the snapshot is removed at close').toBe(before);

      // A writer gets an IO_ERROR naming the directory, not a raw EROFS stack trace.
      const e = errorOf(() => openLab({ dataDir, owner: 'writer', spawn: noJobs }));
      expect(e).toBeInstanceOf(LabError);
      expect((e as LabError).code).toBe('IO_ERROR');
      expect(e!.message).toContain(dataDir);
      expect((e as LabError).details.dataDir).toBe(dataDir);
      const s = errorOf(() => new LabStore(dataDir));
      expect(s, 'a LabStore writer on a read-only dir').toBeInstanceOf(LabError);
      expect((s as LabError).code).toBe('IO_ERROR');
    } finally {
      ro.undo();
    }
  });

  it('opens read-only beside a running owner without taking its lock or touching its jobs', () => {
    const owner = openLab({ dataDir: t.dir, owner: 'app', spawn: noJobs });
    try {
      const exp = owner.store.createExperiment({ name: 'live', recipe: 'distill', config: {} });
      const job = owner.store.createJob({ kind: 'selftest', experimentId: exp.id, params: {} });
      owner.store.updateJob(job.id, { status: 'running' });
      const r = openLab({ dataDir: t.dir, owner: 'cli', spawn: noJobs, readOnly: true });
      expect(r.store.listExperiments().map((e) => e.name)).toEqual(['live']);
      expect(r.store.getJob(job.id).status).toBe('running'); // not "interrupted": the owner runs it
      r.close();
      expect(owner.store.getJob(job.id).status).toBe('running');
      expect(held().owner).toBe('app'); // the owner's lock is still there
    } finally {
      owner.close();
    }
  });

  it('reads a data dir without a database as an empty lab and creates nothing', () => {
    const missing = path.join(t.dir, 'nothing-here');
    const r = openLab({ dataDir: missing, owner: 'cli', spawn: noJobs, readOnly: true });
    expect(r.store.listExperiments()).toEqual([]);
    expect(r.store.listJobs()).toEqual([]);
    r.close();
    expect(existsSync(missing)).toBe(false);
  });

  it('refuses, with a clear error, a database that needs migrating', () => {
    const db = new Database(path.join(t.dir, 'lab.sqlite'));
    db.pragma(`application_id = ${APP_ID}`);
    db.pragma(`user_version = ${migrations.length - 1}`);
    db.exec('CREATE TABLE placeholder (x)');
    db.close();
    const e = errorOf(() => openLab({ dataDir: t.dir, owner: 'cli', spawn: noJobs, readOnly: true }));
    expect(e).toBeInstanceOf(LabError);
    expect((e as LabError).code).toBe('CONFLICT');
    expect(e!.message).toMatch(/needs migrating/);
    expect(new Database(path.join(t.dir, 'lab.sqlite')).pragma('user_version', { simple: true })).toBe(migrations.length - 1); // untouched
  });
});
