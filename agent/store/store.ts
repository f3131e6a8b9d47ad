/**
 * The durable store: per-stream progress, the outbound buffer of sealed Parquet batches and the
 * upload ledger, in one SQLite file `<state_dir>/pi-agent.db` (design.md "Data flow", "Delivery
 * guarantee").
 *
 * - A step's batches and the progress they justify commit in ONE immediate transaction.
 * - A sink takes an upload unit whose name and batches are recorded before it is returned, so a
 *   retry after any crash uploads the same batches under the same name (idempotent at the sink).
 * - Batch data is deleted in the transaction that marks its unit committed.
 * WAL with `synchronous = FULL`: a commit that returned survives a power loss.
 */
import { mkdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { concatBatches, sealBatch, type SealedBatch } from '../batch/encode.js';
import { TABLES, type Op, type Row, type TableName } from '../batch/tables.js';
import { AgentError, NoStoreError, StoreError } from '../errors.js';
import { acquireWriterLock, type WriterLock } from './lock.js';
import { checkVersion, initNewFile, migrate, SCHEMA_VERSION } from './schema.js';

export const STORE_FILE = 'pi-agent.db';

export interface StoreOptions {
  stateDir: string;
  /** Prefix of upload unit names, normally the site. Agents sharing a site (tag sharding) need distinct prefixes. */
  site: string;
  /** Buffer size at which sources pause (default 1 GiB). */
  maxBufferBytes?: number;
  /** Wait this long for a SQLite lock held by a reader (default 5000 ms). */
  busyTimeoutMs?: number;
  /** better-sqlite3 addon path or loaded addon (the single binary extracts its own; the typings only know paths). */
  nativeBinding?: string | object;
  /** Keep committed ledger rows this long (default 7 days). */
  ledgerRetentionMs?: number;
}

export interface StepTable {
  table: TableName;
  rows: Row[];
}

export interface ProgressEntry {
  key: string;
  value: unknown;
}

export interface UploadUnit {
  name: string;
  table: TableName;
  batchIds: number[];
  rows: number;
  bytes: number;
  ops: Set<Op>;
  /** Upload attempts that failed so far. */
  attempts: number;
  createdAt: Date;
}

export interface UnitLimits {
  /** Coalesce batches up to this many bytes (the oldest batch always goes, alone if bigger). */
  maxBytes: number;
  maxBatches: number;
  /** Rows of a unit with updates/deletes (MERGE); default 200,000. Insert-only units have no row cap. */
  maxMergeRows?: number;
  /** Tables to leave alone (their pending units and batches stay as they are). */
  exclude?: Iterable<TableName>;
}

/** One batch file of an upload unit; `read()` loads its Parquet bytes from the store. */
export interface UnitFile {
  /** Batch id: unique, never re-used, stable across retries. */
  id: number;
  rows: number;
  bytes: number;
  read(): Uint8Array;
}

export interface BufferStats {
  pending_rows: number;
  sealed_batches: number;
  bytes: number;
  /** ISO time of the oldest batch not yet committed, or null when the buffer is empty. */
  oldest_batch_at: string | null;
}

export interface SourceStatus {
  name: string;
  last_success: string | null;
  last_error: string | null;
  last_error_at: string | null;
  lag_seconds: number | null;
}

export interface SinkStatus {
  type: string;
  state: string | null;
  last_commit: string | null;
  last_error: string | null;
  last_error_at: string | null;
}

interface UnitRow {
  name: string;
  tbl: string;
  batch_ids: string;
  rows: number;
  bytes: number;
  ops: string;
  attempts: number;
  created_at: number;
}

const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

function storeFailed(what: string, err: unknown): StoreError {
  if (err instanceof AgentError) return err;
  const code = (err as { code?: unknown }).code;
  const hint = code === 'SQLITE_FULL' ? ' (disk full: free space in the state directory)' : code === 'SQLITE_READONLY' ? ' (store opened read-only)' : '';
  return new StoreError('STORE_FAILED', `${what}: ${(err as Error).message ?? String(err)}${hint}`, { cause: err });
}

export class Store {
  readonly file: string;
  readonly readonly: boolean;
  readonly maxBufferBytes: number;
  private readonly db: Database.Database;
  private readonly site: string;
  private readonly lock: WriterLock | undefined;
  private readonly ledgerRetentionMs: number;
  private commitsSincePrune = 0;
  /** Statements of the hot paths, compiled once (a prepare per call was 1–2.5% of a catch-up's CPU). */
  private readonly statements = new Map<string, Database.Statement>();

  private constructor(db: Database.Database, file: string, opts: StoreOptions, lock: WriterLock | undefined) {
    this.db = db;
    this.file = file;
    this.site = opts.site;
    this.readonly = lock === undefined;
    this.lock = lock;
    this.maxBufferBytes = opts.maxBufferBytes ?? 1024 ** 3;
    this.ledgerRetentionMs = opts.ledgerRetentionMs ?? 7 * 24 * 3600 * 1000;
  }

  /** Opens (creating and migrating as needed) the store for writing. Throws STORE_LOCKED if another process writes it. */
  static open(opts: StoreOptions): Store {
    mkdirSync(opts.stateDir, { recursive: true });
    const file = path.join(opts.stateDir, STORE_FILE);
    const lock = acquireWriterLock(opts.stateDir, opts.nativeBinding);
    let db: Database.Database | undefined;
    try {
      db = new Database(file, { timeout: opts.busyTimeoutMs ?? 5000, ...(opts.nativeBinding === undefined ? {} : { nativeBinding: opts.nativeBinding as string }) });
      checkVersion(db, file);
      initNewFile(db);
      db.pragma('journal_mode = WAL');
      // WAL defaults to NORMAL here: a commit could be lost on power failure (platform-notes.md).
      db.pragma('synchronous = FULL');
      db.pragma('journal_size_limit = 67108864');
      // better-sqlite3 builds SQLite with a 16 MB page cache per connection; the store is written
      // once and read once per batch, so that cache only held RSS (issue 7). SQLite's own default.
      db.pragma('cache_size = -2000');
      db.pragma('foreign_keys = ON');
      migrate(db, file);
      return new Store(db, file, opts, lock);
    } catch (err) {
      db?.close();
      lock.release();
      throw storeFailed(`cannot open the store ${file}`, err);
    }
  }

  /** Opens an existing store read-only (for `pi-agent status`); works while the agent runs. */
  static openReadonly(opts: Pick<StoreOptions, 'stateDir' | 'nativeBinding'> & Partial<StoreOptions>): Store {
    const file = path.join(opts.stateDir, STORE_FILE);
    if (!existsSync(file)) throw new NoStoreError(file);
    let db: Database.Database | undefined;
    try {
      db = new Database(file, { readonly: true, fileMustExist: true, timeout: opts.busyTimeoutMs ?? 5000, ...(opts.nativeBinding === undefined ? {} : { nativeBinding: opts.nativeBinding as string }) });
      const version = checkVersion(db, file);
      if (version < SCHEMA_VERSION) {
        throw new StoreError('STORE_FAILED', `store ${file} has schema version ${version}, this pi-agent expects ${SCHEMA_VERSION}: start the agent once to upgrade it`);
      }
      return new Store(db, file, { site: '', ...opts }, undefined);
    } catch (err) {
      db?.close();
      throw storeFailed(`cannot open the store ${file}`, err);
    }
  }

  /** `sql` compiled once for this connection. */
  private stmt(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  close(): void {
    if (this.db.open) this.db.close();
    this.lock?.release();
  }

  // ---- progress and batches -------------------------------------------------------------------

  /**
   * Encodes each table's rows into a batch (before the transaction: encoding is the slow part), then
   * commits the batches, the progress and the progress deletions in one immediate transaction.
   * Either all of it is durable when this returns, or none of it.
   */
  commitStep(step: StepTable[], progress: ProgressEntry[], deleteKeys: string[] = []): void {
    const sealed: SealedBatch[] = step.filter((s) => s.rows.length > 0).map((s) => sealBatch(TABLES[s.table], s.rows));
    const values = progress.map((p) => {
      let json: string | undefined;
      try {
        json = JSON.stringify(p.value);
      } catch (err) {
        throw new StoreError('STORE_FAILED', `progress ${p.key}: value is not JSON-serialisable: ${(err as Error).message}`);
      }
      if (json === undefined) throw new StoreError('STORE_FAILED', `progress ${p.key}: value is undefined`);
      return [p.key, json] as const;
    });
    const now = Date.now();
    const insertBatch = this.stmt(
      `INSERT INTO batches (tbl, created_at, rows, bytes, first_key, last_key, ops, schema, state, data)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'sealed', ?)`,
    );
    const upsert = this.stmt(
      `INSERT INTO progress (key, value, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
    );
    const del = this.stmt(`DELETE FROM progress WHERE key = ?`);
    try {
      this.db.transaction(() => {
        for (const b of sealed) {
          insertBatch.run(b.table, now, b.rows, b.data.length, b.firstKey, b.lastKey, b.ops.join(','), b.schema, b.data);
        }
        for (const k of deleteKeys) del.run(k);
        for (const [k, v] of values) upsert.run(k, v, now);
      }).immediate();
    } catch (err) {
      throw storeFailed('cannot commit batches and progress', err);
    }
  }

  getProgress<T>(key: string): T | undefined {
    const row = this.stmt(`SELECT value FROM progress WHERE key = ?`).get(key) as { value: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.value) as T);
  }

  /** All progress entries whose key starts with `prefix`, in key order. */
  getProgressByPrefix<T>(prefix: string): Map<string, T> {
    // 0xFF never occurs in UTF-8, so it bounds every key that starts with the prefix.
    const rows = this.db
      .prepare(`SELECT key, value FROM progress WHERE key >= @p AND key < (@p || CAST(X'FF' AS TEXT)) ORDER BY key`)
      .all({ p: prefix }) as { key: string; value: string }[];
    return new Map(rows.map((r) => [r.key, JSON.parse(r.value) as T]));
  }

  deleteProgress(keys: string[]): void {
    const del = this.db.prepare(`DELETE FROM progress WHERE key = ?`);
    try {
      this.db.transaction(() => {
        for (const k of keys) del.run(k);
      }).immediate();
    } catch (err) {
      throw storeFailed('cannot delete progress', err);
    }
  }

  /** Bytes of Parquet batches not yet committed by a sink. */
  bufferBytes(): number {
    const row = this.stmt(`SELECT coalesce(sum(bytes), 0) AS b FROM batches WHERE state IN ('sealed', 'uploading')`).get() as { b: number };
    return row.b;
  }

  /** true when sources should pause (backpressure, never loss: design.md "Delivery guarantee"). */
  isBufferFull(): boolean {
    return this.bufferBytes() >= this.maxBufferBytes;
  }

  stats(): BufferStats {
    const r = this.db
      .prepare(
        `SELECT count(*) AS n, coalesce(sum(rows), 0) AS rows, coalesce(sum(bytes), 0) AS bytes, min(created_at) AS oldest
         FROM batches WHERE state IN ('sealed', 'uploading')`,
      )
      .get() as { n: number; rows: number; bytes: number; oldest: number | null };
    return { pending_rows: r.rows, sealed_batches: r.n, bytes: r.bytes, oldest_batch_at: iso(r.oldest) };
  }

  // ---- the sink side: upload units --------------------------------------------------------------

  /**
   * The next unit to upload: a pending unit if one exists (a retry, possibly after a crash, gets the
   * same name and batches), else a new unit of the oldest sealed batches of one table, coalesced up
   * to `maxBytes`/`maxBatches`, recorded in the ledger before it is returned.
   */
  nextUploadUnit(table: TableName | undefined, limits: UnitLimits): UploadUnit | undefined {
    // Tables a sink cannot write to right now (a permanent error on one table): skipped, not stopped.
    const excluded = [...(limits.exclude ?? [])];
    if (table !== undefined && excluded.includes(table)) return undefined;
    const skip = table === undefined ? excluded : [];
    const notIn = skip.length === 0 ? '' : ` AND tbl NOT IN (${skip.map(() => '?').join(', ')})`;
    const maxMergeRows = limits.maxMergeRows ?? 200_000;
    try {
      return this.db.transaction((): UploadUnit | undefined => {
        const pending = (
          table === undefined
            ? this.db.prepare(`SELECT * FROM units WHERE state = 'pending'${notIn} ORDER BY first_batch LIMIT 1`).get(...skip)
            : this.db.prepare(`SELECT * FROM units WHERE state = 'pending' AND tbl = ? ORDER BY first_batch LIMIT 1`).get(table)
        ) as UnitRow | undefined;
        if (pending) return toUnit(pending);

        const tbl =
          table ??
          (this.db.prepare(`SELECT tbl FROM batches WHERE state = 'sealed'${notIn} ORDER BY id LIMIT 1`).get(...skip) as { tbl: TableName } | undefined)?.tbl;
        if (tbl === undefined) return undefined;
        const candidates = this.db
          .prepare(`SELECT id, rows, bytes, ops, schema FROM batches WHERE state = 'sealed' AND tbl = ? ORDER BY id LIMIT ?`)
          .all(tbl, Math.max(1, limits.maxBatches)) as { id: number; rows: number; bytes: number; ops: string; schema: string }[];
        if (candidates.length === 0) return undefined;
        const isChange = (ops: string): boolean => ops.split(',').some((op) => op !== '' && op !== 'insert');
        const chosen = [candidates[0]!];
        const change = isChange(chosen[0]!.ops);
        let bytes = candidates[0]!.bytes;
        let unitRows = candidates[0]!.rows;
        for (const c of candidates.slice(1)) {
          // One column layout per unit; the oldest batch always goes, alone if big. Insert-only runs
          // and runs with changes go in separate units, in batch order: bulk inserts never MERGE
          // (design.md "Destination"), and a MERGE unit's rows are capped (its dedupe holds a key per row).
          if (c.schema !== chosen[0]!.schema || bytes + c.bytes > limits.maxBytes || isChange(c.ops) !== change) break;
          if (change && unitRows + c.rows > maxMergeRows) break;
          chosen.push(c);
          bytes += c.bytes;
          unitRows += c.rows;
        }
        const ids = chosen.map((c) => c.id);
        const ops = [...new Set(chosen.flatMap((c) => c.ops.split(',').filter(Boolean)))].sort();
        const rows = chosen.reduce((s, c) => s + c.rows, 0);
        const name = `${this.site}-${tbl}-${ids[0]}-${ids[ids.length - 1]}`;
        const now = Date.now();
        this.db
          .prepare(
            `INSERT INTO units (name, tbl, first_batch, last_batch, batch_ids, rows, bytes, ops, state, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)`,
          )
          .run(name, tbl, ids[0], ids[ids.length - 1], JSON.stringify(ids), rows, bytes, ops.join(','), now);
        const assign = this.db.prepare(`UPDATE batches SET state = 'uploading', unit = ? WHERE id = ? AND state = 'sealed'`);
        for (const id of ids) assign.run(name, id);
        return { name, table: tbl, batchIds: ids, rows, bytes, ops: new Set(ops as Op[]), attempts: 0, createdAt: new Date(now) };
      }).immediate();
    } catch (err) {
      throw storeFailed('cannot create an upload unit', err);
    }
  }

  /**
   * The unit's batch files in upload order, each read from the store only when asked: a sink that
   * stages them one by one needs the memory of one batch, whatever the size of the unit.
   */
  unitFiles(unit: Pick<UploadUnit, 'name' | 'batchIds'>): UnitFile[] {
    const meta = this.db.prepare(`SELECT rows, bytes FROM batches WHERE id = ? AND unit = ?`);
    const get = this.db.prepare(`SELECT data FROM batches WHERE id = ? AND unit = ?`);
    return unit.batchIds.map((id) => {
      const m = meta.get(id, unit.name) as { rows: number; bytes: number } | undefined;
      if (!m) throw new StoreError('STORE_FAILED', `upload unit ${unit.name}: batch ${id} is not in the store`);
      return {
        id, rows: m.rows, bytes: m.bytes,
        read: (): Uint8Array => {
          const row = get.get(id, unit.name) as { data: Buffer | null } | undefined;
          if (!row || row.data === null) throw new StoreError('STORE_FAILED', `upload unit ${unit.name}: batch ${id} has no data (already committed?)`);
          return new Uint8Array(row.data.buffer, row.data.byteOffset, row.data.byteLength);
        },
      };
    });
  }

  /** The Parquet file of a whole unit: its batches merged in order (one batch: as stored). */
  unitData(unit: Pick<UploadUnit, 'name' | 'batchIds'>): Uint8Array {
    const get = this.db.prepare(`SELECT data FROM batches WHERE id = ? AND unit = ?`);
    const parts = unit.batchIds.map((id) => {
      const row = get.get(id, unit.name) as { data: Buffer | null } | undefined;
      if (!row || row.data === null) {
        throw new StoreError('STORE_FAILED', `upload unit ${unit.name}: batch ${id} has no data (already committed?)`);
      }
      return new Uint8Array(row.data.buffer, row.data.byteOffset, row.data.byteLength);
    });
    return concatBatches(parts);
  }

  /** Marks the unit committed at `sink` and deletes its batch data, in one transaction. Idempotent. */
  markUnitCommitted(name: string, sink?: string): void {
    const now = Date.now();
    try {
      this.db.transaction(() => {
        const u = this.db.prepare(`SELECT state FROM units WHERE name = ?`).get(name) as { state: string } | undefined;
        if (!u) throw new StoreError('STORE_FAILED', `no upload unit named ${name}`);
        if (u.state === 'committed') return;
        this.db.prepare(`UPDATE units SET state = 'committed', committed_at = ?, sink = ? WHERE name = ?`).run(now, sink ?? null, name);
        this.db.prepare(`UPDATE batches SET state = 'committed', committed_at = ?, data = NULL WHERE unit = ?`).run(now, name);
        if (sink !== undefined) {
          this.db
            .prepare(
              `INSERT INTO sinks (type, state, last_commit, updated_at) VALUES (?, 'ok', ?, ?)
               ON CONFLICT (type) DO UPDATE SET last_commit = excluded.last_commit, updated_at = excluded.updated_at`,
            )
            .run(sink, now, now);
        }
      }).immediate();
    } catch (err) {
      throw storeFailed(`cannot mark upload unit ${name} committed`, err);
    }
    this.housekeeping();
  }

  /** Counts a failed upload attempt of a pending unit (status shows it; the unit stays pending). */
  recordUnitFailure(name: string, error: string): void {
    this.db.prepare(`UPDATE units SET attempts = attempts + 1, last_error = ? WHERE name = ? AND state = 'pending'`).run(error, name);
  }

  /** Returns freed pages to the file system now and then, and forgets old committed ledger rows. */
  private housekeeping(): void {
    if (++this.commitsSincePrune < 100) return;
    this.commitsSincePrune = 0;
    const before = Date.now() - this.ledgerRetentionMs;
    this.db.transaction(() => {
      this.db.prepare(`DELETE FROM batches WHERE state = 'committed' AND committed_at < ?`).run(before);
      this.db.prepare(`DELETE FROM units WHERE state = 'committed' AND committed_at < ?`).run(before);
    }).immediate();
    const free = this.db.pragma('freelist_count', { simple: true }) as number;
    const total = this.db.pragma('page_count', { simple: true }) as number;
    if (free > 1024 && free > total / 4) this.db.pragma(`incremental_vacuum(${free})`);
  }

  // ---- status ------------------------------------------------------------------------------------

  recordSourceSuccess(name: string, opts: { at?: Date; lagSeconds?: number | null } = {}): void {
    const at = (opts.at ?? new Date()).getTime();
    this.db
      .prepare(
        `INSERT INTO sources (name, last_success, last_error, last_error_at, lag_seconds, updated_at) VALUES (?, ?, NULL, NULL, ?, ?)
         ON CONFLICT (name) DO UPDATE SET last_success = excluded.last_success, last_error = NULL, last_error_at = NULL,
           lag_seconds = coalesce(excluded.lag_seconds, lag_seconds), updated_at = excluded.updated_at`,
      )
      .run(name, at, opts.lagSeconds ?? null, Date.now());
  }

  /** Records the latest error of a source (cleared by its next success). Pass a secret-free message. */
  recordSourceError(name: string, error: string, at: Date = new Date()): void {
    this.db
      .prepare(
        `INSERT INTO sources (name, last_error, last_error_at, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET last_error = excluded.last_error, last_error_at = excluded.last_error_at, updated_at = excluded.updated_at`,
      )
      .run(name, error, at.getTime(), Date.now());
  }

  setSourceLag(name: string, lagSeconds: number | null): void {
    this.db
      .prepare(
        `INSERT INTO sources (name, lag_seconds, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET lag_seconds = excluded.lag_seconds, updated_at = excluded.updated_at`,
      )
      .run(name, lagSeconds, Date.now());
  }

  sourceStatuses(): SourceStatus[] {
    const rows = this.db.prepare(`SELECT * FROM sources ORDER BY name`).all() as {
      name: string; last_success: number | null; last_error: string | null; last_error_at: number | null; lag_seconds: number | null;
    }[];
    return rows.map((r) => ({ name: r.name, last_success: iso(r.last_success), last_error: r.last_error, last_error_at: iso(r.last_error_at), lag_seconds: r.lag_seconds }));
  }

  /** Records the sink's state (e.g. 'ok', 'retrying', 'unreachable') and, optionally, its latest error. */
  recordSinkState(type: string, state: string, error?: string): void {
    const now = Date.now();
    this.db
      .prepare(
        `INSERT INTO sinks (type, state, last_error, last_error_at, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (type) DO UPDATE SET state = excluded.state,
           last_error = coalesce(excluded.last_error, last_error), last_error_at = coalesce(excluded.last_error_at, last_error_at),
           updated_at = excluded.updated_at`,
      )
      .run(type, state, error ?? null, error === undefined ? null : now, now);
  }

  sinkStatus(type: string): SinkStatus {
    const r = this.db.prepare(`SELECT * FROM sinks WHERE type = ?`).get(type) as
      | { type: string; state: string | null; last_commit: number | null; last_error: string | null; last_error_at: number | null }
      | undefined;
    return { type, state: r?.state ?? null, last_commit: iso(r?.last_commit), last_error: r?.last_error ?? null, last_error_at: iso(r?.last_error_at) };
  }

  /** Pending (not yet committed) upload units, oldest first: for status and `flush`. */
  pendingUnits(): UploadUnit[] {
    return (this.db.prepare(`SELECT * FROM units WHERE state = 'pending' ORDER BY first_batch`).all() as UnitRow[]).map(toUnit);
  }
}

function toUnit(r: UnitRow): UploadUnit {
  return {
    name: r.name,
    table: r.tbl as TableName,
    batchIds: JSON.parse(r.batch_ids) as number[],
    rows: r.rows,
    bytes: r.bytes,
    ops: new Set(r.ops.split(',').filter(Boolean) as Op[]),
    attempts: r.attempts,
    createdAt: new Date(r.created_at),
  };
}
