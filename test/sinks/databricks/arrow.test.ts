/**
 * The MERGE dedupe of agent/sinks/databricks/arrow.ts: last row per key across a unit's batch files, found on
 * Arrow key columns only, and files rewritten without the superseded rows.
 */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { decodeBatch } from '../../../agent/batch/decode.js';
import { encodeBatch } from '../../../agent/batch/encode.js';
import { TABLES, type Op, type Row } from '../../../agent/batch/tables.js';
import { dropRows, supersededRows } from '../../../agent/sinks/databricks/arrow.js';
import { checkOffsetIndexes } from '../../helpers/batch.js';

const T0 = Date.UTC(2026, 0, 1) * 1000;
const ts = (tag: string, us: number | bigint, ordinal: number, v: number, op: Op = 'update'): Row => ({
  site: 'plant-a',
  tag_webid: tag,
  timestamp: us,
  ordinal,
  value_double: v,
  ingested_at: T0,
  op,
});
const file = (rows: Row[]) => {
  const data = encodeBatch(TABLES.pi_timeseries, rows, { sort: false });
  return { rows: rows.length, read: () => data };
};
const bits = (d: Uint8Array | null) => (d === null ? null : [...d]);

t.test('last row per key wins, within a file and across files, in file order', async (t) => {
  const huge = 2n ** 60n; // beyond doubles: two keys that differ only in the low bits
  const f1 = file([ts('A', T0, 0, 1), ts('A', T0, 1, 2), ts('B', T0, 0, 3), ts('A', T0, 0, 4), ts('C', huge, 0, 5)]);
  const f2 = file([ts('B', T0, 0, 6, 'delete'), ts('C', huge + 1n, 0, 7)]);
  const f3 = file([ts('D', T0 + 1, 0, 8)]);
  const dropped = supersededRows([f1, f2, f3], TABLES.pi_timeseries.key);
  t.same(dropped.map(bits), [[1, 0, 1, 0, 0], null, null], 'A@0 (first) and B (superseded by file 2) dropped; C keys differ');
  const kept = decodeBatch(dropRows(f1.read(), dropped[0]!)).map((r) => [r.tag_webid, r.ordinal, r.value_double]);
  t.same(
    kept,
    [
      ['A', 1, 2],
      ['A', 0, 4],
      ['C', 0, 5],
    ],
    'rewritten file keeps the other rows in order',
  );
  t.same(decodeBatch(dropRows(f2.read(), new Uint8Array([1, 1]))), [], 'a file can lose every row');
});

t.test('a rewritten file keeps every column exactly (µs timestamps, int64, nulls, strings, booleans)', async (t) => {
  const rows: Row[] = [0, 1, 2, 3, 4].map((i) => ({
    site: 'plant-a',
    tag_webid: `T${i % 2}`,
    timestamp: T0 + 123_457 + i,
    ordinal: i,
    value_double: i % 2 ? null : i / 3,
    value_int: i === 3 ? 2n ** 60n + 1n : i === 1 ? null : i,
    value_string: i === 2 ? null : `s${i}\\x`,
    good: i % 2 === 0,
    ingested_at: T0 + 1,
    op: i ? 'update' : 'insert',
  }));
  const data = encodeBatch(TABLES.pi_timeseries, rows, { sort: false });
  const all = decodeBatch(data);
  t.same(decodeBatch(dropRows(data, new Uint8Array([0, 1, 0, 0, 1]))), [all[0], all[2], all[3]]);
  t.equal(decodeBatch(dropRows(data, new Uint8Array(5)))[4]!.timestamp, T0 + 123_457 + 4, 'µs kept');
});

t.test('another site is another key; no duplicates, nothing dropped', async (t) => {
  const other = { ...ts('A', T0, 0, 1), site: 'plant-b' };
  t.same(supersededRows([file([ts('A', T0, 0, 1), other])], TABLES.pi_timeseries.key).map(bits), [null]);
  t.same(supersededRows([], TABLES.pi_timeseries.key), []);
});

t.test('files of several row groups: keys found across groups, rows dropped group by group, joined into one file DuckDB reads', async (t) => {
  const rows = [ts('A', T0, 0, 1), ts('B', T0, 0, 2), ts('A', T0, 0, 3), ts('C', T0, 0, 4), ts('B', T0, 0, 5), ts('D', T0, 0, 6), ts('E', T0, 0, 7)];
  const data = encodeBatch(TABLES.pi_timeseries, rows, { sort: false, rowGroupRows: 2 }); // groups: AB AC BD E
  const f1 = { rows: rows.length, read: () => data };
  const f2 = file([ts('E', T0, 0, 8)]);
  const dropped = supersededRows([f1, f2], TABLES.pi_timeseries.key);
  t.same(dropped.map(bits), [[1, 1, 0, 0, 0, 0, 1], null], 'A and B of the first group, E (superseded by file 2)');
  const kept = (d: Uint8Array) => decodeBatch(dropRows(data, d)).map((r) => r.value_double);
  t.same(kept(dropped[0]!), [3, 4, 5, 6], 'the first and last groups emptied, the others kept in order');
  t.same(kept(new Uint8Array([0, 1, 1, 1, 1, 1, 0])), [1, 7]);
  t.same(kept(new Uint8Array(7).fill(1)), [], 'every row of every group');
  t.same(kept(new Uint8Array(7)), [1, 2, 3, 4, 5, 6, 7], 'none');
  // The joined file is one a Parquet reader takes as it is (what Databricks reads): DuckDB, and
  // the offset indexes (page locations) moved with their row groups.
  const rewritten = dropRows(data, new Uint8Array([0, 1, 1, 1, 1, 0, 0]));
  t.ok(checkOffsetIndexes(rewritten) > 0, 'offset indexes point at their pages');
  const dir = mkdtempSync(path.join(tmpdir(), 'pi-agent-arrow-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'rewritten.parquet');
  writeFileSync(out, rewritten);
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  t.teardown(() => {
    conn.closeSync();
    db.closeSync();
  });
  const got = (await conn.runAndReadAll(`SELECT tag_webid, value_double FROM read_parquet('${out}')`)).getRowObjectsJS();
  t.same(
    got,
    [
      { tag_webid: 'A', value_double: 1 },
      { tag_webid: 'D', value_double: 6 },
      { tag_webid: 'E', value_double: 7 },
    ],
    'DuckDB reads the kept rows',
  );
  const groups = (await conn.runAndReadAll(`SELECT count(DISTINCT row_group_id)::INTEGER AS n FROM parquet_metadata('${out}')`)).getRowObjectsJS();
  t.same(groups, [{ n: 3 }], 'three row groups: the emptied one is not in the file');
});
