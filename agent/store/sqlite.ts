/**
 * How the store's modules use SQLite: a failure becomes STORE_FAILED with a hint an operator can act
 * on, epoch-millisecond columns read back as ISO text, and hot-path statements compiled once per
 * connection.
 */
import type Database from 'better-sqlite3';
import { AgentError, StoreError } from '../errors.js';

export const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

export function storeFailed(what: string, err: unknown): StoreError {
  if (err instanceof AgentError) return err;
  const code = (err as { code?: unknown }).code;
  const hint = code === 'SQLITE_FULL' ? ' (disk full: free space in the state directory)' : code === 'SQLITE_READONLY' ? ' (store opened read-only)' : '';
  return new StoreError('STORE_FAILED', `${what}: ${(err as Error).message ?? String(err)}${hint}`, { cause: err });
}

/** Statements of the hot paths, compiled once per connection (a prepare per call was a measurable share of a catch-up's CPU). */
const compiled = new WeakMap<Database.Database, Map<string, Database.Statement>>();

/** `sql` compiled once for this connection. */
export function prepared(db: Database.Database, sql: string): Database.Statement {
  let statements = compiled.get(db);
  if (!statements) {
    statements = new Map();
    compiled.set(db, statements);
  }
  let st = statements.get(sql);
  if (!st) {
    st = db.prepare(sql);
    statements.set(sql, st);
  }
  return st;
}
