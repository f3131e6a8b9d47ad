/**
 * The outbound buffer: a step's rows sealed into Parquet batches and committed with the progress
 * they justify, and what the buffer holds (design.md "Delivery guarantee").
 */
import type Database from 'better-sqlite3';
import { sealBatch, type SealedBatch } from '../batch/encode.js';
import type { ParquetOptions } from '../batch/write.js';
import { TABLES, type Row, type TableName } from '../batch/tables.js';
import { progressJson, type ProgressEntry } from './progress-table.js';
import { iso, prepared, storeFailed } from './sqlite.js';

export interface StepTable {
  table: TableName;
  rows: Row[];
}

export interface BufferStats {
  pending_rows: number;
  sealed_batches: number;
  bytes: number;
  /** ISO time of the oldest batch not yet committed, or null when the buffer is empty. */
  oldest_batch_at: string | null;
}

/**
 * Encodes each table's rows into a batch (before the transaction: encoding is the slow part), then
 * commits the batches, the progress and the progress deletions in one immediate transaction.
 * Either all of it is durable when this returns, or none of it.
 */
export function commitStep(db: Database.Database, step: StepTable[], progress: ProgressEntry[], deleteKeys: string[], parquet: ParquetOptions = {}): void {
  const sealed: SealedBatch[] = step.filter((s) => s.rows.length > 0).map((s) => sealBatch(TABLES[s.table], s.rows, parquet));
  const values = progressJson(progress);
  const now = Date.now();
  const insertBatch = prepared(
    db,
    `INSERT INTO batches (tbl, created_at, rows, bytes, first_key, last_key, ops, schema, state, data)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'sealed', ?)`,
  );
  const upsert = prepared(
    db,
    `INSERT INTO progress (key, value, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
  );
  const del = prepared(db, `DELETE FROM progress WHERE key = ?`);
  try {
    db.transaction(() => {
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

/** Bytes of Parquet batches not yet committed by a sink. */
export function bufferBytes(db: Database.Database): number {
  const row = prepared(db, `SELECT coalesce(sum(bytes), 0) AS b FROM batches WHERE state IN ('sealed', 'uploading')`).get() as { b: number };
  return row.b;
}

export function bufferStats(db: Database.Database): BufferStats {
  const r = db
    .prepare(
      `SELECT count(*) AS n, coalesce(sum(rows), 0) AS rows, coalesce(sum(bytes), 0) AS bytes, min(created_at) AS oldest
         FROM batches WHERE state IN ('sealed', 'uploading')`,
    )
    .get() as { n: number; rows: number; bytes: number; oldest: number | null };
  return { pending_rows: r.rows, sealed_batches: r.n, bytes: r.bytes, oldest_batch_at: iso(r.oldest) };
}
