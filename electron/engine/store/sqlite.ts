import { createRequire } from 'node:module';

/**
 * The few SQLite calls the store makes, over two drivers: better-sqlite3 under Node (CLI, web mode,
 * tests) and the built-in `node:sqlite` under Electron, whose Node has it. One node_modules then serves
 * both runtimes without rebuilding a native module for Electron's ABI.
 */
export interface SqliteStatement {
  run(...params: unknown[]): { changes: number | bigint };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

export interface SqliteDb {
  exec(sql: string): void;
  prepare(sql: string): SqliteStatement;
  close(): void;
  readonly isOpen: boolean;
  /** Value of a pragma that returns one value (e.g. user_version). */
  pragmaValue(name: string): unknown;
  transaction(fn: () => void): void;
}

const require = createRequire(import.meta.url);

/**
 * Open (or, read-write, create) the database file. `readonly` opens an existing file without ever writing
 * to it (better-sqlite3's `readonly`, node:sqlite's `readOnly`); a WAL database on read-only media also
 * needs its -shm file, which `LabStore` provides for by reading a snapshot when it is missing.
 */
export function openSqlite(file: string, opts: { readonly?: boolean } = {}): SqliteDb {
  const readonly = opts.readonly === true;
  if (process.versions.electron) {
    const { DatabaseSync } = require('node:sqlite') as { DatabaseSync: new (f: string, o?: { readOnly?: boolean }) => NodeSqlite };
    return wrap(new DatabaseSync(file, readonly ? { readOnly: true } : undefined), () => true);
  }
  const Database = require('better-sqlite3') as new (f: string, o?: { readonly?: boolean; fileMustExist?: boolean }) => BetterSqlite;
  const db = readonly ? new Database(file, { readonly: true, fileMustExist: true }) : new Database(file);
  return wrap(db, () => db.open);
}

interface NodeSqlite {
  exec(sql: string): void;
  prepare(sql: string): SqliteStatement;
  close(): void;
}
interface BetterSqlite extends NodeSqlite {
  open: boolean;
}

function wrap(db: NodeSqlite, isOpen: () => boolean): SqliteDb {
  let open = true;
  return {
    exec: (sql) => db.exec(sql),
    prepare: (sql) => db.prepare(sql),
    close() {
      if (open && isOpen()) db.close();
      open = false;
    },
    get isOpen() {
      return open && isOpen();
    },
    pragmaValue(name) {
      const row = db.prepare(`PRAGMA ${name}`).get() as Record<string, unknown> | undefined;
      return row ? Object.values(row)[0] : undefined;
    },
    transaction(fn) {
      db.exec('BEGIN IMMEDIATE');
      try {
        fn();
        db.exec('COMMIT');
      } catch (err) {
        db.exec('ROLLBACK');
        throw err;
      }
    },
  };
}
