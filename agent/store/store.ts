/**
 * The durable store: per-stream progress, the outbound buffer of sealed Parquet batches and the
 * upload ledger, in one SQLite file `<state_dir>/pi-agent.db` (design.md "Data flow", "Delivery
 * guarantee").
 *
 * - A step's batches and the progress they justify commit in ONE immediate transaction (batches.ts).
 * - A sink takes an upload unit whose name and batches are recorded before it is returned, so a
 *   retry after any crash uploads the same batches under the same name (idempotent at the sink; units.ts).
 * - Batch data is deleted in the transaction that marks its unit committed.
 * WAL with `synchronous = FULL`: a commit that returned survives a power loss.
 *
 * This file opens and locks the store; the Store's methods are the one API its callers use, each
 * delegating to the module of its table.
 */
import { mkdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { TableName } from '../batch/tables.js';
import type { ParquetOptions } from '../batch/write.js';
import { NoStoreError, StoreError } from '../errors.js';
import { bufferBytes, bufferStats, commitStep, type BufferStats, type StepTable } from './batches.js';
import { acquireWriterLock, type WriterLock } from './lock.js';
import { countProgressByPrefix, deleteProgress, readProgress, readProgressByPrefix, type ProgressEntry } from './progress-table.js';
import { checkVersion, initNewFile, migrate, SCHEMA_VERSION } from './schema.js';
import { storeFailed } from './sqlite.js';
import { readStoreId } from './store-id.js';
import * as status from './status-records.js';
import type { SinkStatus, SourceStatus } from './status-records.js';
import * as units from './units.js';
import type { UnitFile, UnitLimits, UploadUnit } from './units.js';

export type { BufferStats, StepTable } from './batches.js';
export type { ProgressEntry } from './progress-table.js';
export type { SinkStatus, SourceStatus } from './status-records.js';
export type { UnitFile, UnitLimits, UploadUnit } from './units.js';

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
  /** How batches are written (sink.parquet): default encodings every Databricks reader takes. */
  parquet?: ParquetOptions;
}

export class Store {
  readonly file: string;
  readonly readonly: boolean;
  readonly maxBufferBytes: number;
  /** Made with the store and kept in it (store-id.ts): what tells this store's names from another's. */
  readonly storeId: string;
  private readonly db: Database.Database;
  private readonly site: string;
  private readonly lock: WriterLock | undefined;
  private readonly ledgerRetentionMs: number;
  private readonly parquet: ParquetOptions;
  private commitsSincePrune = 0;

  private constructor(db: Database.Database, file: string, opts: StoreOptions, lock: WriterLock | undefined) {
    this.db = db;
    this.file = file;
    this.site = opts.site;
    this.readonly = lock === undefined;
    this.lock = lock;
    this.maxBufferBytes = opts.maxBufferBytes ?? 1024 ** 3;
    this.ledgerRetentionMs = opts.ledgerRetentionMs ?? 7 * 24 * 3600 * 1000;
    this.parquet = opts.parquet ?? {};
    this.storeId = readStoreId(db);
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
      // better-sqlite3 builds SQLite with a larger page cache per connection than SQLite's default;
      // the store is written once and read once per batch, so that cache only held RSS.
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
      db = new Database(file, {
        readonly: true,
        fileMustExist: true,
        timeout: opts.busyTimeoutMs ?? 5000,
        ...(opts.nativeBinding === undefined ? {} : { nativeBinding: opts.nativeBinding as string }),
      });
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

  close(): void {
    if (this.db.open) this.db.close();
    this.lock?.release();
  }

  // ---- progress and batches -------------------------------------------------------------------

  /** A step's batches, progress and progress deletions, durable together or not at all (batches.ts). */
  commitStep(step: StepTable[], progress: ProgressEntry[], deleteKeys: string[] = []): void {
    commitStep(this.db, step, progress, deleteKeys, this.parquet);
  }

  getProgress<T>(key: string): T | undefined {
    return readProgress<T>(this.db, key);
  }

  /** All progress entries whose key starts with `prefix`, in key order. */
  getProgressByPrefix<T>(prefix: string): Map<string, T> {
    return readProgressByPrefix<T>(this.db, prefix);
  }

  /** How many progress entries start with `prefix` (status counts without parsing values). */
  countProgressByPrefix(prefix: string): number {
    return countProgressByPrefix(this.db, prefix);
  }

  deleteProgress(keys: string[]): void {
    deleteProgress(this.db, keys);
  }

  /** Bytes of Parquet batches not yet committed by a sink. */
  bufferBytes(): number {
    return bufferBytes(this.db);
  }

  /** true when sources should pause (backpressure, never loss: design.md "Delivery guarantee"). */
  isBufferFull(): boolean {
    return this.bufferBytes() >= this.maxBufferBytes;
  }

  stats(): BufferStats {
    return bufferStats(this.db);
  }

  // ---- the sink side: upload units (units.ts) ----------------------------------------------------

  /** The next unit to upload: the pending one if any, else a new one recorded before it is returned. */
  nextUploadUnit(table: TableName | undefined, limits: UnitLimits): UploadUnit | undefined {
    return units.nextUploadUnit(this.db, this.site, table, limits);
  }

  /** The unit's batch files in upload order, each read from the store only when asked. */
  unitFiles(unit: Pick<UploadUnit, 'name' | 'batchIds'>): UnitFile[] {
    return units.unitFiles(this.db, unit);
  }

  /** The Parquet file of a whole unit: its batches merged in order (one batch: as stored). */
  unitData(unit: Pick<UploadUnit, 'name' | 'batchIds'>): Uint8Array {
    return units.unitData(this.db, unit);
  }

  /** Marks the unit committed at `sink` and deletes its batch data, in one transaction. Idempotent. */
  markUnitCommitted(name: string, sink?: string): void {
    units.markUnitCommitted(this.db, name, sink);
    this.housekeeping();
  }

  /** Counts a failed upload attempt of a pending unit (status shows it; the unit stays pending). */
  recordUnitFailure(name: string, error: string): void {
    units.recordUnitFailure(this.db, name, error);
  }

  /** Returns freed pages to the file system now and then, and forgets old committed ledger rows. */
  private housekeeping(): void {
    if (++this.commitsSincePrune < 100) return;
    this.commitsSincePrune = 0;
    units.pruneLedger(this.db, this.ledgerRetentionMs);
  }

  // ---- status (status-records.ts) -----------------------------------------------------------------

  recordSourceSuccess(name: string, opts: { at?: Date; lagSeconds?: number | null } = {}): void {
    status.recordSourceSuccess(this.db, name, opts);
  }

  /** Records the latest error of a source (cleared by its next success). Pass a secret-free message. */
  recordSourceError(name: string, error: string, at: Date = new Date()): void {
    status.recordSourceError(this.db, name, error, at);
  }

  setSourceLag(name: string, lagSeconds: number | null): void {
    status.setSourceLag(this.db, name, lagSeconds);
  }

  sourceStatuses(): SourceStatus[] {
    return status.sourceStatuses(this.db);
  }

  /** Records the sink's state (e.g. 'ok', 'retrying', 'unreachable') and, optionally, its latest error. */
  recordSinkState(type: string, state: string, error?: string): void {
    status.recordSinkState(this.db, type, state, error);
  }

  sinkStatus(type: string): SinkStatus {
    return status.sinkStatus(this.db, type);
  }

  /**
   * A WebID 1.0 server's ids against the agent's keys (pi/webid-aliases.ts): looked up one key at
   * a time, each new or changed pair saved as the answer that carried it arrives. `all` is for
   * inspection (tests).
   */
  webIdAliases(): { hasAny(): boolean; get(key: string): string | undefined; save(pairs: [string, string][]): void; all(): [string, string][] } {
    const one = this.db.prepare(`SELECT webid FROM pi_webids WHERE key = ?`).pluck();
    const upsert = this.db.prepare(`INSERT INTO pi_webids (key, webid) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET webid = excluded.webid`);
    const saveAll = this.db.transaction((pairs: [string, string][]) => {
      for (const [k, w] of pairs) upsert.run(k, w);
    });
    return {
      hasAny: () => this.db.prepare(`SELECT 1 FROM pi_webids LIMIT 1`).get() !== undefined,
      get: (key) => one.get(key) as string | undefined,
      save: (pairs) => saveAll(pairs),
      all: () => (this.db.prepare(`SELECT key, webid FROM pi_webids ORDER BY key`).all() as { key: string; webid: string }[]).map((r) => [r.key, r.webid]),
    };
  }

  /** Pending (not yet committed) upload units, oldest first: for status and `flush`. */
  pendingUnits(): UploadUnit[] {
    return units.pendingUnits(this.db);
  }
}
