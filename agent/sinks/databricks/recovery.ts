/**
 * What the Databricks sink tells of this site: to a store that lost its progress
 * (service/recovery.ts), the latest event per tag in pi_timeseries; at `run` start
 * (service/takeover.ts), the stores that beat in pi_agent_status lately. `unix_micros` turns the TIMESTAMP into µs since the
 * epoch (https://docs.databricks.com/aws/en/sql/language-manual/functions/unix_micros): a TIMESTAMP
 * crosses the driver as a JS Date, milliseconds only, and PI times are finer.
 */

import type { SiteBeat } from '../types.js';

/** `` `name` `` (backquotes doubled). */
const q = (name: string): string => `\`${name.replace(/`/g, '``')}\``;
/** A Databricks SQL string literal (backslashes are escapes there). */
const lit = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** The query, on the qualified table name `table`. */
export function headsSql(table: string, site: string): string {
  return `SELECT ${q('tag_webid')} AS tag, unix_micros(max(${q('timestamp')})) AS us FROM ${table} WHERE ${q('site')} = ${lit(site)} GROUP BY ${q('tag_webid')}`;
}

/** Its rows as tag WebID → µs. */
export function headsOf(rows: Record<string, unknown>[]): Map<string, number> {
  return new Map(rows.map((r) => [String(r.tag), Number(r.us)]));
}

/** The stores with a heartbeat of `site` at or after `sinceUs` in the pi_agent_status table `table`, each with its latest. */
export function beatsSql(table: string, site: string, sinceUs: number): string {
  const at = `unix_micros(${q('reported_at')})`;
  return (
    `SELECT ${q('store_id')} AS store, ${q('host')} AS host, ${q('shard')} AS shard, max(${at}) AS us FROM ${table} ` +
    `WHERE ${q('site')} = ${lit(site)} AND ${q('store_id')} IS NOT NULL AND ${at} >= ${Math.floor(sinceUs)} GROUP BY ${q('store_id')}, ${q('host')}, ${q('shard')}`
  );
}

export function beatsOf(rows: Record<string, unknown>[]): SiteBeat[] {
  const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
  return rows.map((r) => ({ storeId: String(r.store), host: str(r.host), shard: str(r.shard), atUs: Number(r.us) }));
}
