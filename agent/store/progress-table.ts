/**
 * The progress table: per-stream progress as JSON under a key (the keys are owned by progress
 * spaces, progress.ts). Writes go with a step's batches (batches.ts); reads and resets are here.
 */
import type Database from 'better-sqlite3';
import { StoreError } from '../errors.js';
import { prepared, storeFailed } from './sqlite.js';

export interface ProgressEntry {
  key: string;
  value: unknown;
}

/** Each entry as its key and JSON text; throws before anything is written if a value cannot be stored. */
export function progressJson(progress: ProgressEntry[]): (readonly [string, string])[] {
  return progress.map((p) => {
    let json: string | undefined;
    try {
      json = JSON.stringify(p.value);
    } catch (err) {
      throw new StoreError('STORE_FAILED', `progress ${p.key}: value is not JSON-serialisable: ${(err as Error).message}`);
    }
    if (json === undefined) throw new StoreError('STORE_FAILED', `progress ${p.key}: value is undefined`);
    return [p.key, json] as const;
  });
}

export function readProgress<T>(db: Database.Database, key: string): T | undefined {
  const row = prepared(db, `SELECT value FROM progress WHERE key = ?`).get(key) as { value: string } | undefined;
  return row === undefined ? undefined : (JSON.parse(row.value) as T);
}

/** All progress entries whose key starts with `prefix`, in key order. */
/** Keys that start with `@p`: 0xFF never occurs in UTF-8, so it bounds every key with the prefix. */
const UNDER_PREFIX = `key >= @p AND key < (@p || CAST(X'FF' AS TEXT))`;

export function readProgressByPrefix<T>(db: Database.Database, prefix: string): Map<string, T> {
  const rows = db.prepare(`SELECT key, value FROM progress WHERE ${UNDER_PREFIX} ORDER BY key`).all({ p: prefix }) as {
    key: string;
    value: string;
  }[];
  return new Map(rows.map((r) => [r.key, JSON.parse(r.value) as T]));
}

/** How many progress entries start with `prefix`, without reading their values. */
export function countProgressByPrefix(db: Database.Database, prefix: string): number {
  return (db.prepare(`SELECT count(*) AS n FROM progress WHERE ${UNDER_PREFIX}`).get({ p: prefix }) as { n: number }).n;
}

export function deleteProgress(db: Database.Database, keys: string[]): void {
  const del = db.prepare(`DELETE FROM progress WHERE key = ?`);
  try {
    db.transaction(() => {
      for (const k of keys) del.run(k);
    }).immediate();
  } catch (err) {
    throw storeFailed('cannot delete progress', err);
  }
}
