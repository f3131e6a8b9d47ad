/**
 * The store's SQLite schema and its migrations, versioned with `PRAGMA user_version`.
 * Append a migration for every change; never edit one that has shipped.
 */
import type Database from 'better-sqlite3';
import { StoreError } from '../errors.js';
import { ensureStoreId } from './store-id.js';

/** Page size for new stores: batches are blobs of tens of KiB to MiB, bigger pages mean fewer overflow pages. */
const PAGE_SIZE = 8192;

const MIGRATIONS: ((db: Database.Database) => void)[] = [
  // 1: progress, batches (the outbound buffer), upload units (the ledger), source and sink status.
  (db) => {
    db.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

      CREATE TABLE progress (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,          -- JSON
        updated_at INTEGER NOT NULL   -- ms since epoch
      ) WITHOUT ROWID;

      -- AUTOINCREMENT: ids never come back after deletion, so upload names are never re-used.
      CREATE TABLE batches (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        tbl TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        rows INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        first_key TEXT NOT NULL,
        last_key TEXT NOT NULL,
        ops TEXT NOT NULL,            -- comma separated, sorted
        schema TEXT NOT NULL,         -- column layout fingerprint; only equal ones are coalesced
        state TEXT NOT NULL CHECK (state IN ('sealed', 'uploading', 'committed')),
        unit TEXT,                    -- upload unit name once assigned
        committed_at INTEGER,
        data BLOB                     -- the Parquet file; NULL once committed
      );
      CREATE INDEX batches_pending ON batches (state, tbl, id);
      CREATE INDEX batches_unit ON batches (unit);

      CREATE TABLE units (
        name TEXT PRIMARY KEY,
        tbl TEXT NOT NULL,
        first_batch INTEGER NOT NULL,
        last_batch INTEGER NOT NULL,
        batch_ids TEXT NOT NULL,      -- JSON array, in upload order
        rows INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        ops TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'committed')),
        sink TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at INTEGER NOT NULL,
        committed_at INTEGER
      ) WITHOUT ROWID;
      CREATE INDEX units_pending ON units (state, first_batch);

      CREATE TABLE sources (
        name TEXT PRIMARY KEY,
        last_success INTEGER,
        last_error TEXT,
        last_error_at INTEGER,
        lag_seconds REAL,
        updated_at INTEGER NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE sinks (
        type TEXT PRIMARY KEY,
        state TEXT,
        last_commit INTEGER,
        last_error TEXT,
        last_error_at INTEGER,
        updated_at INTEGER NOT NULL
      ) WITHOUT ROWID;
    `);
    // Start batch ids at the creation time in ms: a store re-created in an empty state directory
    // then never produces an upload name an earlier store used (COPY INTO would skip that file).
    db.prepare(`INSERT INTO sqlite_sequence (name, seq) VALUES ('batches', ?)`).run(Date.now());
    db.prepare(`INSERT INTO meta (key, value) VALUES ('created_at', ?)`).run(new Date().toISOString());
  },
  // 2: the store's id (store-id.ts), for stores created before it existed; new stores get theirs here too.
  (db) => ensureStoreId(db),
  // 3: a WebID 1.0 server's ids (PI Web API 2016 R2, 2017) against the agent's keys (pi/webid-aliases.ts).
  (db) => {
    db.exec(`CREATE TABLE pi_webids (key TEXT PRIMARY KEY, webid TEXT NOT NULL) WITHOUT ROWID;`);
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Settings that only take effect before the first table exists (platform-notes.md, better-sqlite3). */
export function initNewFile(db: Database.Database): void {
  const tables = db.prepare(`SELECT count(*) AS n FROM sqlite_master`).get() as { n: number };
  if (tables.n > 0) return;
  db.pragma(`page_size = ${PAGE_SIZE}`);
  db.pragma('auto_vacuum = INCREMENTAL');
  db.exec('VACUUM'); // applies page_size/auto_vacuum to the empty file
}

export function checkVersion(db: Database.Database, file: string): number {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new StoreError(
      'STORE_TOO_NEW',
      `store ${file} has schema version ${version}, this pi-agent knows up to ${SCHEMA_VERSION}: it was written by a newer pi-agent. Run that version (or newer), or move the state directory aside to start afresh.`,
    );
  }
  return version;
}

/** Applies pending migrations, each in its own immediate transaction with its version bump. */
export function migrate(db: Database.Database, file: string): void {
  const from = checkVersion(db, file);
  for (let v = from; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      MIGRATIONS[v]!(db);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}
