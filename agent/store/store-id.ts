/**
 * The store's id: made once, when the store is created (or when a store older than the id first
 * opens: migration 2 in schema.ts), and kept in its `meta` table. Two stores never share it, so
 * what a store names at a destination (the Databricks sink's staged paths, the heartbeat's
 * `store_id`) never meets another store's names: COPY INTO skips a path it has loaded before, even
 * if the file changed, and a store made after a lost state directory numbers batches on its own.
 */
import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import { StoreError } from '../errors.js';

const KEY = 'store_id';

/** 16 hex digits (64 random bits): short in a path, and never equal to another store's. */
export function newStoreId(): string {
  return randomBytes(8).toString('hex');
}

/** Gives the store an id if it has none (a migration: runs in its transaction). */
export function ensureStoreId(db: Database.Database): void {
  db.prepare(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`).run(KEY, newStoreId());
}

/** The store's id; every migrated store has one. */
export function readStoreId(db: Database.Database): string {
  const row = db.prepare(`SELECT value FROM meta WHERE key = ?`).get(KEY) as { value: string } | undefined;
  if (row === undefined) throw new StoreError('STORE_FAILED', 'the store has no store id (meta.store_id); start the agent once to upgrade it');
  return row.value;
}
