import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { LabStore } from '../../../electron/engine/store/lab-store.js';
import { DataDirLock } from '../../../electron/engine/store/data-dir.js';
import { migrations } from '../../../electron/engine/store/migrations.js';
import { LabError } from '../../../electron/engine/errors.js';
import { tempDir } from '../../helpers/tmp.js';

let t: ReturnType<typeof tempDir>;
beforeEach(() => {
  t = tempDir();
});
afterEach(() => t.cleanup());

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof LabError ? err.code : `untyped: ${(err as Error).message}`;
  }
  return 'no error';
};

describe('LabStore', () => {
  it('creates the schema in WAL mode at the latest version and keeps experiments across reopen', () => {
    const s = new LabStore(t.dir);
    expect(String(s.db.pragmaValue('journal_mode'))).toBe('wal');
    expect(Number(s.db.pragmaValue('user_version'))).toBe(migrations.length);
    const e = s.createExperiment({ name: 'first', recipe: 'distill', config: { lambda: [0, 0.5] } });
    expect(e.id).toMatch(/^exp_/);
    expect(existsSync(s.experimentDir(e.id))).toBe(true);
    s.close();
    const s2 = new LabStore(t.dir);
    expect(s2.listExperiments().map((x) => [x.name, x.config])).toEqual([['first', { lambda: [0, 0.5] }]]);
    s2.close();
  });

  it('renames and deletes, with NOT_FOUND for unknown ids', () => {
    const s = new LabStore(t.dir);
    const e = s.createExperiment({ name: 'a', recipe: 'distill', config: {} });
    expect(s.renameExperiment(e.id, 'b').name).toBe('b');
    expect(code(() => s.renameExperiment('exp_doesnotexist00', 'x'))).toBe('NOT_FOUND');
    expect(code(() => s.getExperiment('exp_doesnotexist00'))).toBe('NOT_FOUND');
    s.deleteExperiment(e.id);
    expect(s.listExperiments()).toEqual([]);
    expect(existsSync(s.experimentDir(e.id))).toBe(false);
    s.close();
  });

  it('refuses to delete an experiment with a running job', () => {
    const s = new LabStore(t.dir);
    const e = s.createExperiment({ name: 'a', recipe: 'distill', config: {} });
    const j = s.createJob({ kind: 'selftest', experimentId: e.id, params: {} });
    s.updateJob(j.id, { status: 'running' });
    expect(code(() => s.deleteExperiment(e.id))).toBe('CONFLICT');
    expect(s.listExperiments()).toHaveLength(1);
    s.close();
  });

  it('marks jobs left running by a dead process as interrupted', () => {
    const s = new LabStore(t.dir);
    const j = s.createJob({ kind: 'selftest', experimentId: null, params: {} });
    s.updateJob(j.id, { status: 'running', progress: { fraction: 0.4, stage: 'train', etaSeconds: 3 } });
    s.close();
    const s2 = new LabStore(t.dir);
    const [job] = s2.markOrphanedJobsInterrupted();
    expect(job.status).toBe('interrupted');
    expect(job.progress.fraction).toBe(0.4);
    expect(job.error?.code).toBe('INTERRUPTED');
    s2.close();
  });

  it('refuses a file that is not SQLite and leaves it byte-for-byte intact', () => {
    const file = path.join(t.dir, 'lab.sqlite');
    writeFileSync(file, 'this is not a database, it is a note');
    expect(code(() => new LabStore(t.dir))).toBe('CORRUPT_FILE');
    expect(readFileSync(file, 'utf8')).toBe('this is not a database, it is a note');
  });

  it('refuses a foreign SQLite database and does not migrate it', () => {
    const file = path.join(t.dir, 'lab.sqlite');
    const foreign = new Database(file);
    foreign.exec('CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers (name) VALUES (\'ada\')');
    foreign.close();
    const before = readFileSync(file);
    expect(code(() => new LabStore(t.dir))).toBe('CORRUPT_FILE');
    const again = new Database(file, { readonly: true });
    expect(again.prepare('SELECT name FROM sqlite_master WHERE type = \'table\'').all()).toEqual([{ name: 'customers' }]);
    again.close();
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it('refuses a database from a newer build', () => {
    const s = new LabStore(t.dir);
    s.db.exec(`PRAGMA user_version = ${migrations.length + 5}`);
    s.close();
    expect(code(() => new LabStore(t.dir))).toBe('UNSUPPORTED');
  });

  it('reports a damaged row instead of passing it on', () => {
    const s = new LabStore(t.dir);
    const e = s.createExperiment({ name: 'a', recipe: 'distill', config: {} });
    s.db.prepare("UPDATE experiments SET name = '' WHERE id = ?").run(e.id);
    expect(code(() => s.getExperiment(e.id))).toBe('CORRUPT_FILE');
    s.close();
  });

  it('registers artifacts only inside the experiment folder', () => {
    const s = new LabStore(t.dir);
    const e = s.createExperiment({ name: 'a', recipe: 'distill', config: {} });
    writeFileSync(path.join(s.experimentDir(e.id), 'table.md'), '| a |');
    const a = s.addArtifact({ experimentId: e.id, jobId: null, kind: 'table', relPath: 'table.md' });
    expect(a.bytes).toBe(5);
    expect(s.listArtifacts(e.id).map((x) => x.path)).toEqual(['table.md']);
    copyFileSync(path.join(s.experimentDir(e.id), 'table.md'), path.join(t.dir, 'outside.md'));
    expect(code(() => s.addArtifact({ experimentId: e.id, jobId: null, kind: 'x', relPath: '../../outside.md' }))).toBe('INVALID_INPUT');
    s.close();
  });
});

describe('DataDirLock', () => {
  it('refuses a second live owner and takes over a stale lock', () => {
    const lock = DataDirLock.acquire(t.dir, 'first');
    // A lock held by another live process (our parent, which is alive) is a conflict.
    writeFileSync(path.join(t.dir, 'lab.lock'), JSON.stringify({ pid: process.ppid, owner: 'other app' }));
    expect(code(() => DataDirLock.acquire(t.dir, 'second'))).toBe('CONFLICT');
    // A lock left by a dead pid is stale.
    writeFileSync(path.join(t.dir, 'lab.lock'), JSON.stringify({ pid: 2 ** 22 + 12345, owner: 'crashed' }));
    const taken = DataDirLock.acquire(t.dir, 'third');
    expect(JSON.parse(readFileSync(path.join(t.dir, 'lab.lock'), 'utf8')).owner).toBe('third');
    taken.release();
    lock.release();
    expect(existsSync(path.join(t.dir, 'lab.lock'))).toBe(false);
  });

  it('refuses a data directory path that is a file', () => {
    const file = path.join(t.dir, 'afile');
    writeFileSync(file, 'x');
    expect(code(() => new LabStore(file))).toBe('INVALID_INPUT');
  });
});
