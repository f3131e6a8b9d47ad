/**
 * Upload units and their ledger: a sink takes a unit whose name and batches are recorded before it
 * is returned, so a retry after any crash uploads the same batches under the same name (idempotent
 * at the sink); batch data is deleted in the transaction that marks its unit committed.
 */
import type Database from 'better-sqlite3';
import { concatBatches } from '../batch/concat.js';
import type { Op, TableName } from '../batch/tables.js';
import { StoreError } from '../errors.js';
import { storeFailed } from './sqlite.js';

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

interface CandidateBatch {
  id: number;
  rows: number;
  bytes: number;
  ops: string;
  schema: string;
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

const isChange = (ops: string): boolean => ops.split(',').some((op) => op !== '' && op !== 'insert');

/** The oldest candidates that go together in one unit (never empty: the oldest always goes). */
function coalesce(candidates: CandidateBatch[], limits: UnitLimits, maxMergeRows: number): CandidateBatch[] {
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
  return chosen;
}

/** Records a new pending unit of `chosen` in the ledger and assigns its batches to it. */
function recordUnit(db: Database.Database, site: string, tbl: TableName, chosen: CandidateBatch[]): UploadUnit {
  const ids = chosen.map((c) => c.id);
  const ops = [...new Set(chosen.flatMap((c) => c.ops.split(',').filter(Boolean)))].sort();
  const rows = chosen.reduce((s, c) => s + c.rows, 0);
  const bytes = chosen.reduce((s, c) => s + c.bytes, 0);
  const name = `${site}-${tbl}-${ids[0]}-${ids[ids.length - 1]}`;
  const now = Date.now();
  db.prepare(
    `INSERT INTO units (name, tbl, first_batch, last_batch, batch_ids, rows, bytes, ops, state, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)`,
  ).run(name, tbl, ids[0], ids[ids.length - 1], JSON.stringify(ids), rows, bytes, ops.join(','), now);
  const assign = db.prepare(`UPDATE batches SET state = 'uploading', unit = ? WHERE id = ? AND state = 'sealed'`);
  for (const id of ids) assign.run(name, id);
  return { name, table: tbl, batchIds: ids, rows, bytes, ops: new Set(ops as Op[]), attempts: 0, createdAt: new Date(now) };
}

/**
 * The next unit to upload: a pending unit if one exists (a retry, possibly after a crash, gets the
 * same name and batches), else a new unit of the oldest sealed batches of one table, coalesced up
 * to `maxBytes`/`maxBatches`, recorded in the ledger before it is returned.
 */
export function nextUploadUnit(db: Database.Database, site: string, table: TableName | undefined, limits: UnitLimits): UploadUnit | undefined {
  // Tables a sink cannot write to right now (a permanent error on one table): skipped, not stopped.
  const excluded = [...(limits.exclude ?? [])];
  if (table !== undefined && excluded.includes(table)) return undefined;
  const skip = table === undefined ? excluded : [];
  const notIn = skip.length === 0 ? '' : ` AND tbl NOT IN (${skip.map(() => '?').join(', ')})`;
  const maxMergeRows = limits.maxMergeRows ?? 200_000;
  try {
    return db
      .transaction((): UploadUnit | undefined => {
        const pending = (
          table === undefined
            ? db.prepare(`SELECT * FROM units WHERE state = 'pending'${notIn} ORDER BY first_batch LIMIT 1`).get(...skip)
            : db.prepare(`SELECT * FROM units WHERE state = 'pending' AND tbl = ? ORDER BY first_batch LIMIT 1`).get(table)
        ) as UnitRow | undefined;
        if (pending) return toUnit(pending);

        const tbl =
          table ?? (db.prepare(`SELECT tbl FROM batches WHERE state = 'sealed'${notIn} ORDER BY id LIMIT 1`).get(...skip) as { tbl: TableName } | undefined)?.tbl;
        if (tbl === undefined) return undefined;
        const candidates = db
          .prepare(`SELECT id, rows, bytes, ops, schema FROM batches WHERE state = 'sealed' AND tbl = ? ORDER BY id LIMIT ?`)
          .all(tbl, Math.max(1, limits.maxBatches)) as CandidateBatch[];
        if (candidates.length === 0) return undefined;
        return recordUnit(db, site, tbl, coalesce(candidates, limits, maxMergeRows));
      })
      .immediate();
  } catch (err) {
    throw storeFailed('cannot create an upload unit', err);
  }
}

/**
 * The unit's batch files in upload order, each read from the store only when asked: a sink that
 * stages them one by one needs the memory of one batch, whatever the size of the unit.
 */
export function unitFiles(db: Database.Database, unit: Pick<UploadUnit, 'name' | 'batchIds'>): UnitFile[] {
  const meta = db.prepare(`SELECT rows, bytes FROM batches WHERE id = ? AND unit = ?`);
  const get = db.prepare(`SELECT data FROM batches WHERE id = ? AND unit = ?`);
  return unit.batchIds.map((id) => {
    const m = meta.get(id, unit.name) as { rows: number; bytes: number } | undefined;
    if (!m) throw new StoreError('STORE_FAILED', `upload unit ${unit.name}: batch ${id} is not in the store`);
    return {
      id,
      rows: m.rows,
      bytes: m.bytes,
      read: (): Uint8Array => {
        const row = get.get(id, unit.name) as { data: Buffer | null } | undefined;
        if (!row || row.data === null) throw new StoreError('STORE_FAILED', `upload unit ${unit.name}: batch ${id} has no data (already committed?)`);
        return new Uint8Array(row.data.buffer, row.data.byteOffset, row.data.byteLength);
      },
    };
  });
}

/** The Parquet file of a whole unit: its batches merged in order (one batch: as stored). */
export function unitData(db: Database.Database, unit: Pick<UploadUnit, 'name' | 'batchIds'>): Uint8Array {
  const get = db.prepare(`SELECT data FROM batches WHERE id = ? AND unit = ?`);
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
export function markUnitCommitted(db: Database.Database, name: string, sink?: string): void {
  const now = Date.now();
  try {
    db.transaction(() => {
      const u = db.prepare(`SELECT state FROM units WHERE name = ?`).get(name) as { state: string } | undefined;
      if (!u) throw new StoreError('STORE_FAILED', `no upload unit named ${name}`);
      if (u.state === 'committed') return;
      db.prepare(`UPDATE units SET state = 'committed', committed_at = ?, sink = ? WHERE name = ?`).run(now, sink ?? null, name);
      db.prepare(`UPDATE batches SET state = 'committed', committed_at = ?, data = NULL WHERE unit = ?`).run(now, name);
      if (sink !== undefined) {
        db.prepare(
          `INSERT INTO sinks (type, state, last_commit, updated_at) VALUES (?, 'ok', ?, ?)
               ON CONFLICT (type) DO UPDATE SET last_commit = excluded.last_commit, updated_at = excluded.updated_at`,
        ).run(sink, now, now);
      }
    }).immediate();
  } catch (err) {
    throw storeFailed(`cannot mark upload unit ${name} committed`, err);
  }
}

/** Counts a failed upload attempt of a pending unit (status shows it; the unit stays pending). */
export function recordUnitFailure(db: Database.Database, name: string, error: string): void {
  db.prepare(`UPDATE units SET attempts = attempts + 1, last_error = ? WHERE name = ? AND state = 'pending'`).run(error, name);
}

/** Pending (not yet committed) upload units, oldest first: for status and `flush`. */
export function pendingUnits(db: Database.Database): UploadUnit[] {
  return (db.prepare(`SELECT * FROM units WHERE state = 'pending' ORDER BY first_batch`).all() as UnitRow[]).map(toUnit);
}

/** Forgets committed ledger rows older than `retentionMs` and returns freed pages to the file system. */
export function pruneLedger(db: Database.Database, retentionMs: number): void {
  const before = Date.now() - retentionMs;
  db.transaction(() => {
    db.prepare(`DELETE FROM batches WHERE state = 'committed' AND committed_at < ?`).run(before);
    db.prepare(`DELETE FROM units WHERE state = 'committed' AND committed_at < ?`).run(before);
  }).immediate();
  const free = db.pragma('freelist_count', { simple: true }) as number;
  const total = db.pragma('page_count', { simple: true }) as number;
  if (free > 1024 && free > total / 4) db.pragma(`incremental_vacuum(${free})`);
}
