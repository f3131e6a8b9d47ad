/**
 * Reads what a sink landed in a directory (Parquet files per table, named by the ledger) with
 * DuckDB, and applies the change log in order, as the destination table would: the final rows.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { TABLES, type TableName } from '../../agent/batch/tables.js';

export type LandedRow = Record<string, string | number | boolean | null>;

/** Unit files in commit order: `<site>-<table>-<firstBatch>-<lastBatch>.<store id>.parquet`. */
export function unitFiles(dir: string, table: TableName): string[] {
  const d = path.join(dir, table);
  if (!existsSync(d)) return [];
  const first = (f: string): number => {
    const m = /-(\d+)-(\d+)(?:\.[0-9a-f]+)?\.parquet$/.exec(f);
    if (!m) throw new Error(`${f} is not named like a unit file: the change log's order would be lost`);
    return Number(m[1]);
  };
  return readdirSync(d)
    .filter((f) => f.endsWith('.parquet'))
    .sort((a, b) => first(a) - first(b))
    .map((f) => path.join(d, f));
}

/** Every row of every unit file, in order; timestamps as µs numbers, int64 as numbers. */
export async function readChangeLog(dir: string, table: TableName): Promise<LandedRow[]> {
  const files = unitFiles(dir, table);
  if (files.length === 0) return [];
  const def = TABLES[table];
  const cols = def.columns.map((c) =>
    c.type === 'timestamp_us' ? `epoch_us("${c.name}") AS "${c.name}"` : c.type === 'int64' ? `CAST("${c.name}" AS DOUBLE) AS "${c.name}"` : `"${c.name}"`,
  );
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  const out: LandedRow[] = [];
  try {
    for (const f of files) {
      const r = await con.runAndReadAll(`SELECT ${cols.join(', ')} FROM read_parquet('${f.replace(/'/g, "''")}')`);
      for (const row of r.getRowObjectsJS()) {
        const o: LandedRow = {};
        for (const [k, v] of Object.entries(row)) o[k] = typeof v === 'bigint' ? Number(v) : (v as LandedRow[string]);
        out.push(o);
      }
    }
  } finally {
    con.closeSync();
  }
  return out;
}

/** Apply insert/update (upsert) and delete by the table's key; throws on an insert of an existing key (a duplicate). */
export function applyChangeLog(table: TableName, log: LandedRow[]): Map<string, LandedRow> {
  const key = TABLES[table].key;
  const rows = new Map<string, LandedRow>();
  for (const r of log) {
    const k = key.map((c) => String(r[c])).join('|');
    if (r.op === 'insert') {
      if (rows.has(k)) throw new Error(`duplicate insert of ${table} ${k}`);
      rows.set(k, r);
    } else if (r.op === 'update') rows.set(k, r);
    else if (r.op === 'delete') rows.delete(k);
    else throw new Error(`unknown op ${String(r.op)}`);
  }
  return rows;
}

export async function landedTable(dir: string, table: TableName): Promise<Map<string, LandedRow>> {
  return applyChangeLog(table, await readChangeLog(dir, table));
}

/** The change-log rows of one tag (by key) at some timestamps (µs), in log order: "op@iso#ordinal". */
export async function changeOpsAt(dir: string, tagKey: string, timestampsUs: number[]): Promise<string[]> {
  const at = new Set(timestampsUs);
  return (await readChangeLog(dir, 'pi_timeseries'))
    .filter((r) => r.tag_webid === tagKey && at.has(Number(r.timestamp)))
    .map((r) => `${String(r.op)}@${new Date(Number(r.timestamp) / 1000).toISOString()}#${String(r.ordinal)}`);
}
