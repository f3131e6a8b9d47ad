/**
 * What `pi-agent status` reads about each source and sink: its latest success, latest error and
 * lag or state, one row per source and per sink type.
 */
import type Database from 'better-sqlite3';
import { iso } from './sqlite.js';

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

export function recordSourceSuccess(db: Database.Database, name: string, opts: { at?: Date; lagSeconds?: number | null }): void {
  const at = (opts.at ?? new Date()).getTime();
  db.prepare(
    `INSERT INTO sources (name, last_success, last_error, last_error_at, lag_seconds, updated_at) VALUES (?, ?, NULL, NULL, ?, ?)
         ON CONFLICT (name) DO UPDATE SET last_success = excluded.last_success, last_error = NULL, last_error_at = NULL,
           lag_seconds = coalesce(excluded.lag_seconds, lag_seconds), updated_at = excluded.updated_at`,
  ).run(name, at, opts.lagSeconds ?? null, Date.now());
}

/** Records the latest error of a source (cleared by its next success). Pass a secret-free message. */
export function recordSourceError(db: Database.Database, name: string, error: string, at: Date): void {
  db.prepare(
    `INSERT INTO sources (name, last_error, last_error_at, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET last_error = excluded.last_error, last_error_at = excluded.last_error_at, updated_at = excluded.updated_at`,
  ).run(name, error, at.getTime(), Date.now());
}

export function setSourceLag(db: Database.Database, name: string, lagSeconds: number | null): void {
  db.prepare(
    `INSERT INTO sources (name, lag_seconds, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET lag_seconds = excluded.lag_seconds, updated_at = excluded.updated_at`,
  ).run(name, lagSeconds, Date.now());
}

export function sourceStatuses(db: Database.Database): SourceStatus[] {
  const rows = db.prepare(`SELECT * FROM sources ORDER BY name`).all() as {
    name: string;
    last_success: number | null;
    last_error: string | null;
    last_error_at: number | null;
    lag_seconds: number | null;
  }[];
  return rows.map((r) => ({
    name: r.name,
    last_success: iso(r.last_success),
    last_error: r.last_error,
    last_error_at: iso(r.last_error_at),
    lag_seconds: r.lag_seconds,
  }));
}

/** Records the sink's state (e.g. 'ok', 'retrying', 'unreachable') and, optionally, its latest error. */
export function recordSinkState(db: Database.Database, type: string, state: string, error?: string): void {
  const now = Date.now();
  db.prepare(
    `INSERT INTO sinks (type, state, last_error, last_error_at, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (type) DO UPDATE SET state = excluded.state,
           last_error = coalesce(excluded.last_error, last_error), last_error_at = coalesce(excluded.last_error_at, last_error_at),
           updated_at = excluded.updated_at`,
  ).run(type, state, error ?? null, error === undefined ? null : now, now);
}

export function sinkStatus(db: Database.Database, type: string): SinkStatus {
  const r = db.prepare(`SELECT * FROM sinks WHERE type = ?`).get(type) as
    { type: string; state: string | null; last_commit: number | null; last_error: string | null; last_error_at: number | null } | undefined;
  return { type, state: r?.state ?? null, last_commit: iso(r?.last_commit), last_error: r?.last_error ?? null, last_error_at: iso(r?.last_error_at) };
}
