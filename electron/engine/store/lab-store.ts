import { accessSync, closeSync, constants as fsConstants, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { LabError, parseOr } from '../errors.js';
import { Artifact, Experiment, Job, type JobProgress, type JobStatus } from '../../api/schemas.js';
import { APP_ID, migrations } from './migrations.js';
import { dataDirNotWritable, ensureDataDir } from './data-dir.js';
import { openSqlite, type SqliteDb } from './sqlite.js';
import { newId } from './ids.js';

const now = () => new Date().toISOString();
const SQLITE_MAGIC = 'SQLite format 3\0';

/**
 * Experiments, jobs, logs, artifacts, runs and results in one SQLite database (WAL), with an artifact
 * folder per experiment under `<dataDir>/experiments/<id>/`. Rows are validated with the API's zod
 * schemas when read, so a hand-edited or damaged row is reported, not passed on.
 */
export class LabStore {
  readonly db: SqliteDb;
  readonly dataDir: string;
  readonly dbPath: string;
  /** Opened with `{ readOnly: true }`: nothing is ever written, writes are refused with a typed error. */
  readonly readOnly: boolean;
  /** Where a read-only store reads a snapshot of a WAL database that read-only media cannot open in place. */
  private snapshotDir: string | null = null;

  /**
   * `readOnly` opens an existing lab without writing anything (no directory created, no migration, no
   * orphan cleanup): for commands that only read, on a read-only data directory or beside a running owner.
   * A data directory without a database reads as an empty lab; one that needs migrating is refused.
   */
  constructor(dataDir: string, opts: { readOnly?: boolean } = {}) {
    this.readOnly = opts.readOnly === true;
    if (this.readOnly) {
      if (existsSync(dataDir) && !statSync(dataDir).isDirectory()) {
        throw new LabError('INVALID_INPUT', `Data directory ${dataDir} exists but is not a directory`, { dataDir });
      }
    } else ensureDataDir(dataDir);
    this.dataDir = dataDir;
    this.dbPath = path.join(dataDir, 'lab.sqlite');
    checkDatabaseFile(this.dbPath);
    if (this.readOnly) {
      this.db = this.openReadOnly();
    } else {
      try {
        this.db = openSqlite(this.dbPath);
        this.db.exec('PRAGMA busy_timeout = 5000;');
      } catch (err) {
        if (sqliteWriteRefused(err) && !dirWritable(dataDir)) throw dataDirNotWritable(dataDir, err, this.dbPath);
        throw new LabError('CORRUPT_FILE', `Cannot open the lab database ${this.dbPath}: ${(err as Error).message}`, { file: this.dbPath });
      }
    }
    this.migrate();
  }

  private openReadOnly(): SqliteDb {
    if (!existsSync(this.dbPath) || statSync(this.dbPath).size === 0) {
      // No lab here yet: an empty one, in memory.
      const db = openSqlite(':memory:');
      for (const m of migrations) db.exec(m);
      db.exec(`PRAGMA user_version = ${migrations.length}; PRAGMA application_id = ${APP_ID}`);
      return db;
    }
    let db: SqliteDb | null = null;
    try {
      db = openSqlite(this.dbPath, { readonly: true });
      db.exec('PRAGMA busy_timeout = 5000;');
      db.pragmaValue('user_version'); // a WAL database whose -shm cannot be created fails here, not at open
      return db;
    } catch (err) {
      db?.close();
      if (!sqliteWriteRefused(err) || dirWritable(this.dataDir)) {
        throw new LabError('CORRUPT_FILE', `Cannot open the lab database ${this.dbPath} read-only: ${(err as Error).message}`, { file: this.dbPath });
      }
    }
    // A WAL database on read-only media, closed cleanly (no -shm left): SQLite cannot open it in place, so
    // read a private snapshot (nothing can change on read-only media). Removed at close.
    this.snapshotDir = mkdtempSync(path.join(os.tmpdir(), 'vla-ad-readonly-'));
    const copy = path.join(this.snapshotDir, 'lab.sqlite');
    try {
      copyFileSync(this.dbPath, copy);
      if (existsSync(`${this.dbPath}-wal`)) copyFileSync(`${this.dbPath}-wal`, `${copy}-wal`);
      const snap = openSqlite(copy);
      snap.pragmaValue('user_version');
      return snap;
    } catch (err) {
      rmSync(this.snapshotDir, { recursive: true, force: true });
      this.snapshotDir = null;
      throw new LabError('CORRUPT_FILE', `Cannot read the lab database ${this.dbPath} on a read-only directory: ${(err as Error).message}`, { file: this.dbPath });
    }
  }

  /** Refuse a write on a store opened read-only, before SQLite does with an untyped error. */
  private writable(what: string): void {
    if (this.readOnly) {
      throw new LabError('UNSUPPORTED', `The lab in ${this.dataDir} is open read-only (for reading commands); ${what} writes — run it without read-only`, {
        dataDir: this.dataDir,
        operation: what,
      });
    }
  }

  private migrate(): void {
    let appId: number;
    let version: number;
    try {
      appId = Number(this.db.pragmaValue('application_id'));
      version = Number(this.db.pragmaValue('user_version'));
      const tables = this.db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type='table'").get() as { n: number };
      if (appId !== APP_ID && (appId !== 0 || tables.n > 0)) {
        throw new LabError('CORRUPT_FILE', `${this.dbPath} is an SQLite database of another application (application_id ${appId}); it was left untouched`, {
          file: this.dbPath,
        });
      }
    } catch (err) {
      this.close();
      if (err instanceof LabError) throw err;
      // A WAL database on a read-only directory cannot even be read by a writer (no -shm): not damage.
      if (sqliteWriteRefused(err) && !dirWritable(this.dataDir)) throw dataDirNotWritable(this.dataDir, err, this.dbPath);
      throw new LabError('CORRUPT_FILE', `The lab database ${this.dbPath} is damaged: ${(err as Error).message}; it was left untouched`, { file: this.dbPath });
    }
    if (version > migrations.length) {
      this.close();
      throw new LabError('UNSUPPORTED', `The lab database ${this.dbPath} has schema version ${version}, newer than this build's ${migrations.length}; upgrade VLA-AD Lab`, {
        file: this.dbPath,
        version,
      });
    }
    if (this.readOnly) {
      if (version < migrations.length) {
        this.close();
        throw new LabError(
          'CONFLICT',
          `The lab database ${this.dbPath} has schema version ${version} and needs migrating to ${migrations.length}, which a read-only open cannot do: open it once with a writable data directory`,
          { file: this.dbPath, version, latest: migrations.length },
        );
      }
      this.db.exec('PRAGMA foreign_keys = ON;'); // per connection; writes nothing
      return;
    }
    // Only now that the file is known to be ours (or new) may anything be written to it.
    try {
      this.db.exec('PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;');
      this.db.transaction(() => {
        for (let v = version; v < migrations.length; v++) {
          this.db.exec(migrations[v]);
          this.db.exec(`PRAGMA user_version = ${v + 1}`);
        }
        this.db.exec(`PRAGMA application_id = ${APP_ID}`);
      });
    } catch (err) {
      this.close();
      if (sqliteWriteRefused(err) && !dirWritable(this.dataDir)) throw dataDirNotWritable(this.dataDir, err, this.dbPath);
      throw err;
    }
  }

  close(): void {
    this.db.close();
    if (this.snapshotDir) rmSync(this.snapshotDir, { recursive: true, force: true });
    this.snapshotDir = null;
  }

  // ---------- experiments ----------

  experimentDir(id: string): string {
    return path.join(this.dataDir, 'experiments', id);
  }

  listExperiments(): Experiment[] {
    return (this.db.prepare('SELECT * FROM experiments ORDER BY created_at DESC').all() as Row[]).map(toExperiment);
  }

  getExperiment(id: string): Experiment {
    const row = this.db.prepare('SELECT * FROM experiments WHERE id = ?').get(id) as Row | undefined;
    if (!row) throw new LabError('NOT_FOUND', `No experiment with id ${id}`, { experimentId: id });
    return toExperiment(row);
  }

  createExperiment(input: { name: string; recipe: string; config: Record<string, unknown> }): Experiment {
    this.writable('createExperiment');
    const id = newId('exp');
    const t = now();
    this.db
      .prepare('INSERT INTO experiments (id, name, recipe, config, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(id, input.name, input.recipe, JSON.stringify(input.config), t, t);
    mkdirSync(this.experimentDir(id), { recursive: true });
    return this.getExperiment(id);
  }

  renameExperiment(id: string, name: string): Experiment {
    this.writable('renameExperiment');
    const info = this.db.prepare('UPDATE experiments SET name = ?, updated_at = ? WHERE id = ?').run(name, now(), id);
    if (Number(info.changes) === 0) throw new LabError('NOT_FOUND', `No experiment with id ${id}`, { experimentId: id });
    return this.getExperiment(id);
  }

  configureExperiment(id: string, config: Record<string, unknown>): Experiment {
    this.writable('configureExperiment');
    const info = this.db.prepare('UPDATE experiments SET config = ?, updated_at = ? WHERE id = ?').run(JSON.stringify(config), now(), id);
    if (Number(info.changes) === 0) throw new LabError('NOT_FOUND', `No experiment with id ${id}`, { experimentId: id });
    return this.getExperiment(id);
  }

  deleteExperiment(id: string): void {
    this.writable('deleteExperiment');
    this.getExperiment(id);
    const running = this.db.prepare("SELECT id FROM jobs WHERE experiment_id = ? AND status IN ('queued','running')").all(id) as { id: string }[];
    if (running.length > 0) {
      throw new LabError('CONFLICT', `Experiment ${id} has running jobs (${running.map((r) => r.id).join(', ')}); cancel them first`, {
        experimentId: id,
      });
    }
    this.db.prepare('DELETE FROM experiments WHERE id = ?').run(id);
    rmSync(this.experimentDir(id), { recursive: true, force: true });
  }

  // ---------- jobs ----------

  createJob(input: { kind: string; experimentId: string | null; params: Record<string, unknown> }): Job {
    this.writable('createJob');
    if (input.experimentId) this.getExperiment(input.experimentId);
    const id = newId('job');
    const t = now();
    const progress: JobProgress = { fraction: 0, stage: 'queued', etaSeconds: null };
    this.db
      .prepare('INSERT INTO jobs (id, kind, experiment_id, params, status, progress, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(id, input.kind, input.experimentId, JSON.stringify(input.params), 'queued', JSON.stringify(progress), t, t);
    return this.getJob(id);
  }

  getJob(id: string): Job {
    const row = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as Row | undefined;
    if (!row) throw new LabError('NOT_FOUND', `No job with id ${id}`, { jobId: id });
    return toJob(row);
  }

  listJobs(experimentId?: string): Job[] {
    const rows = experimentId
      ? (this.db.prepare('SELECT * FROM jobs WHERE experiment_id = ? ORDER BY created_at DESC').all(experimentId) as Row[])
      : (this.db.prepare('SELECT * FROM jobs ORDER BY created_at DESC').all() as Row[]);
    return rows.map(toJob);
  }

  updateJob(
    id: string,
    patch: { status?: JobStatus; progress?: JobProgress; result?: unknown; error?: Job['error']; pid?: number | null; attemptsDelta?: number },
  ): Job {
    this.writable('updateJob');
    // Only the columns the patch names change (progress arrives up to ten times a second per job).
    const sets: string[] = ['updated_at = ?', 'attempts = attempts + ?'];
    const values: unknown[] = [now(), patch.attemptsDelta ?? 0];
    const set = (column: string, value: unknown) => {
      sets.push(`${column} = ?`);
      values.push(value);
    };
    if (patch.status !== undefined) set('status', patch.status);
    if (patch.progress !== undefined) set('progress', JSON.stringify(patch.progress));
    if (patch.result !== undefined) set('result', JSON.stringify(patch.result));
    if (patch.error !== undefined) set('error', patch.error ? JSON.stringify(patch.error) : null);
    if (patch.pid !== undefined) set('pid', patch.pid);
    const info = this.db.prepare(`UPDATE jobs SET ${sets.join(', ')} WHERE id = ?`).run(...values, id);
    if (Number(info.changes) === 0) throw new LabError('NOT_FOUND', `No job with id ${id}`, { jobId: id });
    return this.getJob(id);
  }

  /** Jobs left `running` or `queued` by a process that is gone (crash, kill, power loss) become `interrupted`. */
  markOrphanedJobsInterrupted(): Job[] {
    if (this.readOnly) return []; // a reader owns nothing: those jobs may well be running under the owner
    const rows = this.db.prepare("SELECT id FROM jobs WHERE status IN ('running','queued')").all() as { id: string }[];
    return rows.map((r) =>
      this.updateJob(r.id, {
        status: 'interrupted',
        pid: null,
        error: { name: 'LabError', code: 'INTERRUPTED', message: 'The job process ended without a result (the application or the process stopped); it can be resumed' },
      }),
    );
  }

  appendLog(jobId: string, level: 'info' | 'warn' | 'error', line: string): { level: string; line: string; at: string } {
    this.writable('appendLog');
    const at = now();
    this.db.prepare('INSERT INTO job_logs (job_id, level, line, at) VALUES (?, ?, ?, ?)').run(jobId, level, line, at);
    return { level, line, at };
  }

  jobLogs(jobId: string): { level: string; line: string; at: string }[] {
    this.getJob(jobId);
    return this.db.prepare('SELECT level, line, at FROM job_logs WHERE job_id = ? ORDER BY seq').all(jobId) as { level: string; line: string; at: string }[];
  }

  jobDir(job: Job): string {
    return job.experimentId ? path.join(this.experimentDir(job.experimentId), 'jobs', job.id) : path.join(this.dataDir, 'jobs', job.id);
  }

  // ---------- settings (non-secret) ----------

  getSetting<T>(key: string, schema: z.ZodType<T>, fallback: T): T {
    const row = this.db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined;
    if (!row) return fallback;
    return parseRow(schema, JSON.parse(row.value), 'settings', key);
  }

  setSetting(key: string, value: unknown): void {
    this.writable('setSetting');
    this.db
      .prepare('INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at')
      .run(key, JSON.stringify(value), now());
  }

  // ---------- artifacts and results ----------

  /** Register a file that a job wrote (atomically) under the experiment folder. */
  addArtifact(input: { experimentId: string; jobId: string | null; kind: string; relPath: string; meta?: Record<string, unknown> }): Artifact {
    this.writable('addArtifact');
    const abs = path.join(this.experimentDir(input.experimentId), input.relPath);
    if (!abs.startsWith(this.experimentDir(input.experimentId) + path.sep)) {
      throw new LabError('INVALID_INPUT', `Artifact path ${input.relPath} leaves the experiment folder`, { path: input.relPath });
    }
    if (!existsSync(abs)) throw new LabError('NOT_FOUND', `Artifact file ${abs} does not exist`, { path: abs });
    const id = newId('art');
    this.db
      .prepare(
        `INSERT INTO artifacts (id, experiment_id, job_id, kind, path, bytes, meta, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (experiment_id, path) DO UPDATE SET job_id = excluded.job_id, kind = excluded.kind, bytes = excluded.bytes, meta = excluded.meta, created_at = excluded.created_at`,
      )
      .run(id, input.experimentId, input.jobId, input.kind, input.relPath, statSync(abs).size, JSON.stringify(input.meta ?? {}), now());
    const row = this.db.prepare('SELECT * FROM artifacts WHERE experiment_id = ? AND path = ?').get(input.experimentId, input.relPath) as Row;
    return toArtifact(row);
  }

  listArtifacts(experimentId: string): Artifact[] {
    this.getExperiment(experimentId);
    return (this.db.prepare('SELECT * FROM artifacts WHERE experiment_id = ? ORDER BY created_at').all(experimentId) as Row[]).map(toArtifact);
  }

  addResult(input: { experimentId: string; runId?: string | null; kind: string; value: unknown }): string {
    this.writable('addResult');
    const id = newId('res');
    this.db
      .prepare('INSERT INTO results (id, experiment_id, run_id, kind, value, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(id, input.experimentId, input.runId ?? null, input.kind, JSON.stringify(input.value), now());
    return id;
  }

  listResults(experimentId: string, kind?: string): { id: string; kind: string; value: unknown; createdAt: string }[] {
    const rows = (
      kind
        ? this.db.prepare('SELECT * FROM results WHERE experiment_id = ? AND kind = ? ORDER BY created_at').all(experimentId, kind)
        : this.db.prepare('SELECT * FROM results WHERE experiment_id = ? ORDER BY created_at').all(experimentId)
    ) as Row[];
    return rows.map((r) => ({ id: String(r.id), kind: String(r.kind), value: JSON.parse(String(r.value)), createdAt: String(r.created_at) }));
  }
}

type Row = Record<string, unknown>;

function parseRow<T>(schema: z.ZodType<T>, value: unknown, table: string, id: unknown): T {
  return parseOr(schema, value, `Row ${String(id)} of table ${table} is invalid`, 'CORRUPT_FILE', { table, id });
}

const json = (v: unknown) => (v === null || v === undefined ? null : JSON.parse(String(v)));

function toExperiment(r: Row): Experiment {
  return parseRow(Experiment, { id: r.id, name: r.name, recipe: r.recipe, config: json(r.config), createdAt: r.created_at, updatedAt: r.updated_at }, 'experiments', r.id);
}

function toJob(r: Row): Job {
  return parseRow(
    Job,
    {
      id: r.id,
      kind: r.kind,
      experimentId: r.experiment_id ?? null,
      params: json(r.params),
      status: r.status,
      progress: json(r.progress),
      result: json(r.result),
      error: json(r.error),
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      attempts: r.attempts,
    },
    'jobs',
    r.id,
  );
}

function toArtifact(r: Row): Artifact {
  return parseRow(
    Artifact,
    { id: r.id, experimentId: r.experiment_id, jobId: r.job_id ?? null, kind: r.kind, path: r.path, bytes: r.bytes, createdAt: r.created_at, meta: json(r.meta) },
    'artifacts',
    r.id,
  );
}

/** SQLite refusing to write or create (read-only file or directory, no -shm possible). */
function sqliteWriteRefused(err: unknown): boolean {
  const code = String((err as { code?: unknown } | null)?.code ?? '');
  return code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN') || code === 'ERR_SQLITE_ERROR' || /readonly|read-only|unable to open/i.test((err as Error)?.message ?? '');
}

function dirWritable(dir: string): boolean {
  try {
    accessSync(dir, fsConstants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Refuse a file that is not SQLite at all before better-sqlite3 gets a chance to touch it. */
function checkDatabaseFile(file: string): void {
  if (!existsSync(file)) return;
  const st = statSync(file);
  if (!st.isFile()) throw new LabError('CORRUPT_FILE', `${file} is not a file`, { file });
  if (st.size === 0) return;
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(16);
  try {
    readSync(fd, buf, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  const head = buf.toString('latin1');
  if (head !== SQLITE_MAGIC) {
    throw new LabError('CORRUPT_FILE', `${file} is not an SQLite database (bad header); it was left untouched. Move it away or choose another --data-dir`, { file });
  }
}
