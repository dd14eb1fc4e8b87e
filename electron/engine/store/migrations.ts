/**
 * Versioned schema migrations. Append only: a released migration never changes, a new one is added.
 * `PRAGMA user_version` holds the number of migrations applied.
 */
export const APP_ID = 0x564c4144; // "VLAD": stored in PRAGMA application_id, so a foreign SQLite file is refused

export const migrations: string[] = [
  // 1: experiments, jobs, job logs, artifacts, runs, results
  `
  CREATE TABLE experiments (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    recipe TEXT NOT NULL,
    config TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    experiment_id TEXT REFERENCES experiments(id) ON DELETE CASCADE,
    params TEXT NOT NULL,
    status TEXT NOT NULL,
    progress TEXT NOT NULL,
    result TEXT,
    error TEXT,
    pid INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE INDEX jobs_experiment ON jobs(experiment_id);
  CREATE TABLE job_logs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    level TEXT NOT NULL,
    line TEXT NOT NULL,
    at TEXT NOT NULL
  );
  CREATE INDEX job_logs_job ON job_logs(job_id);
  CREATE TABLE artifacts (
    id TEXT PRIMARY KEY,
    experiment_id TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
    job_id TEXT REFERENCES jobs(id) ON DELETE SET NULL,
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    meta TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (experiment_id, path)
  );
  CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    experiment_id TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
    stage TEXT NOT NULL,
    config_hash TEXT NOT NULL,
    job_id TEXT REFERENCES jobs(id) ON DELETE SET NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE TABLE results (
    id TEXT PRIMARY KEY,
    experiment_id TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
    run_id TEXT REFERENCES runs(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  `,
  // 2: settings (non-secret: VLM base URL and model; secrets live in the OS keychain, never here)
  `
  CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  `,
];
