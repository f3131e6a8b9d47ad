/**
 * What the Databricks sink tells a store that lost its progress (service/recovery.ts): the latest
 * event per tag of this site in pi_timeseries. `unix_micros` turns the TIMESTAMP into µs since the
 * epoch (https://docs.databricks.com/aws/en/sql/language-manual/functions/unix_micros): a TIMESTAMP
 * crosses the driver as a JS Date, milliseconds only, and PI times are finer.
 */

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
