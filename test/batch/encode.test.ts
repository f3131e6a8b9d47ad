import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { concatBatches } from '../../agent/batch/concat.js';
import { decodeBatch } from '../../agent/batch/decode.js';
import { encodeBatch, sealBatch } from '../../agent/batch/encode.js';
import { TABLES, type Row } from '../../agent/batch/tables.js';
import { AgentError } from '../../agent/errors.js';
import { tsRow as fullRow } from '../helpers/batch.js';

const TS = TABLES.pi_timeseries;

/** The helper's row with is_system_state null: these rows leave that nullable boolean unset. */
const tsRow = (over: Partial<Row>): Row => fullRow({ is_system_state: null, ...over });

const mixed: Row[] = [
  tsRow({ tag_webid: 'A', timestamp: 1_780_000_000_000_001, value_double: 1.5, units: 'degC' }),
  tsRow({ tag_webid: 'A', timestamp: 1_780_000_000_000_002, value_double: -0, value_int: 9_007_199_254_740_991 }),
  tsRow({ tag_webid: 'A', timestamp: 1_780_000_000_000_002, ordinal: 1, value_int: 9_223_372_036_854_775_807n, value_string: 'ünïcødé ✓ 漢字' }),
  tsRow({ tag_webid: 'B', timestamp: -1, value_int: -9_223_372_036_854_775_808n, value_bool: false, value_timestamp: 0 }),
  tsRow({ tag_webid: 'B', timestamp: 253_402_300_799_999_999n, value_bool: true, value_timestamp: 1_234_567 }),
  tsRow({
    tag_webid: 'C',
    timestamp: 5,
    digital_name: 'I/O Timeout',
    digital_code: 246,
    is_system_state: true,
    good: false,
    questionable: null,
    substituted: null,
    annotated: null,
    op: 'delete',
  }),
  tsRow({ tag_webid: 'C', timestamp: 6, value_string: '', value_double: Number.MAX_VALUE, digital_code: -2147483648, op: 'update' }),
];

t.test('decodeBatch(encodeBatch(rows)) equals rows for every column type, nulls, big int64, µs timestamps', async (t) => {
  const back = decodeBatch(encodeBatch(TS, mixed));
  t.same(back, mixed);
  t.equal(typeof back[2]!.value_int, 'bigint', 'int64 beyond 2^53 stays exact as bigint');
  t.equal(back[1]!.value_int, 9_007_199_254_740_991, 'safe int64 comes back as number');
  t.ok(Object.is(back[1]!.value_double, -0), 'negative zero survives');
  t.equal(back[4]!.timestamp, 253_402_300_799_999_999n, 'µs timestamp exact at year 9999 (bigint beyond 2^53)');
  t.throws(() => encodeBatch(TS, [tsRow({ timestamp: 2 ** 60 })]), { code: 'BATCH_ENCODE_FAILED', message: /column timestamp/ }, 'unsafe number rejected, not rounded');
});

t.test('rows are stably sorted by the clustering key; same-key rows keep their order', async (t) => {
  const rows = [
    tsRow({ tag_webid: 'B', timestamp: 2 }),
    tsRow({ tag_webid: 'A', timestamp: 3, op: 'insert', value_double: 1 }),
    tsRow({ tag_webid: 'A', timestamp: 1 }),
    tsRow({ tag_webid: 'A', timestamp: 3, op: 'delete', value_double: 2 }),
  ];
  const back = decodeBatch(encodeBatch(TS, rows));
  t.same(
    back.map((r) => `${r.tag_webid}${r.timestamp}${r.op}`),
    ['A1insert', 'A3insert', 'A3delete', 'B2insert'],
  );
  t.same(decodeBatch(encodeBatch(TS, rows, { sort: false })), rows, 'sort: false keeps input order');
  const sealed = sealBatch(TS, rows);
  t.same(sealed.ops, ['delete', 'insert']);
  t.equal(sealed.firstKey, JSON.stringify(['plant-a', 'A', 1, 0]));
  t.equal(sealed.lastKey, JSON.stringify(['plant-a', 'B', 2, 0]));
});

t.test('sorting many rows matches a reference stable sort', async (t) => {
  let seed = 7;
  const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  const rows = Array.from({ length: 3000 }, (_, i) => tsRow({ tag_webid: `W${rand(40)}`, timestamp: 1_780_000_000_000_000 + rand(200), value_int: i }));
  const want = rows
    .map((r, i) => ({ r, i }))
    .sort((a, b) => (a.r.tag_webid! < b.r.tag_webid! ? -1 : a.r.tag_webid! > b.r.tag_webid! ? 1 : (a.r.timestamp as number) - (b.r.timestamp as number) || a.i - b.i))
    .map((x) => x.r.value_int);
  t.same(
    decodeBatch(encodeBatch(TS, rows)).map((r) => r.value_int),
    want,
  );
});

t.test('encoding errors name the column', async (t) => {
  const code = { code: 'BATCH_ENCODE_FAILED' };
  t.throws(() => encodeBatch(TS, [tsRow({ tag_webid: null })]), { ...code, message: /column tag_webid is not nullable/ });
  const missing = tsRow({});
  delete missing.timestamp;
  t.throws(() => encodeBatch(TS, [missing]), { ...code, message: /column timestamp is not nullable/ });
  t.throws(() => encodeBatch(TS, [tsRow({ value_double: '1.5' })]), { ...code, message: /column value_double row 0: expected double/ });
  t.throws(() => encodeBatch(TS, [tsRow({ ordinal: 2 ** 31 })]), { ...code, message: /column ordinal/ });
  t.throws(() => encodeBatch(TS, [tsRow({ value_int: 1.5 })]), { ...code, message: /column value_int/ });
  t.throws(() => encodeBatch(TS, [tsRow({ value_int: 2n ** 63n })]), { ...code, message: /column value_int/ });
  t.throws(() => encodeBatch(TS, [tsRow({ good: 1 })]), { ...code, message: /column good/ });
  t.throws(() => encodeBatch(TS, [tsRow({}), tsRow({ valeu_double: 1 })]), { ...code, message: /row 1 has column valeu_double/ });
  t.throws(() => sealBatch(TS, [tsRow({ op: 'upsert' })]), { ...code, message: /op must be insert, update or delete/ });
  try {
    encodeBatch(TS, [tsRow({ site: null })]);
    t.fail('should throw');
  } catch (err) {
    t.ok(err instanceof AgentError);
  }
});

t.test('concatBatches keeps every row in order', async (t) => {
  const a = [tsRow({ tag_webid: 'A', timestamp: 1 }), tsRow({ tag_webid: 'B', timestamp: 1 })];
  const b = [tsRow({ tag_webid: 'A', timestamp: 2, value_int: 2n ** 60n })];
  const c: Row[] = [tsRow({ tag_webid: 'A', timestamp: 0, op: 'delete' })];
  t.same(decodeBatch(concatBatches([encodeBatch(TS, a), encodeBatch(TS, b), encodeBatch(TS, c)])), [...a, ...b, ...c]);
});

t.test('every table encodes an all-null row of its optional columns', async (t) => {
  for (const def of Object.values(TABLES)) {
    const row: Row = {};
    for (const c of def.columns) {
      if (c.nullable) row[c.name] = null;
      else row[c.name] = c.name === 'op' ? 'insert' : c.type === 'string' ? `${c.name}-1` : c.type === 'boolean' ? true : 7;
    }
    t.same(decodeBatch(encodeBatch(def, [row])), [row], def.name);
  }
});

t.test('DuckDB reads the file with the declared types and exact values', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pi-agent-encode-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'b.parquet');
  writeFileSync(file, encodeBatch(TS, mixed));
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  t.teardown(() => {
    conn.closeSync();
    db.closeSync();
  });
  const types = (await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${file}')`)).getRowObjectsJS();
  t.same(Object.fromEntries(types.map((r) => [r.column_name, r.column_type])), {
    site: 'VARCHAR',
    tag_webid: 'VARCHAR',
    timestamp: 'TIMESTAMP WITH TIME ZONE',
    ordinal: 'INTEGER',
    value_double: 'DOUBLE',
    value_int: 'BIGINT',
    value_string: 'VARCHAR',
    value_bool: 'BOOLEAN',
    value_timestamp: 'TIMESTAMP WITH TIME ZONE',
    digital_name: 'VARCHAR',
    digital_code: 'INTEGER',
    is_system_state: 'BOOLEAN',
    good: 'BOOLEAN',
    questionable: 'BOOLEAN',
    substituted: 'BOOLEAN',
    annotated: 'BOOLEAN',
    units: 'VARCHAR',
    ingested_at: 'TIMESTAMP WITH TIME ZONE',
    op: 'VARCHAR',
  });
  // The Parquet logical type is UTC-adjusted microseconds: Spark reads TIMESTAMP (not _NTZ).
  const logical = (await conn.runAndReadAll(`SELECT logical_type FROM parquet_schema('${file}') WHERE name = 'timestamp'`)).getRowObjectsJS();
  t.match(String(logical[0]!.logical_type), /isAdjustedToUTC=1.*MICROS=MicroSeconds/);
  const rows = (
    await conn.runAndReadAll(
      `SELECT tag_webid, epoch_us("timestamp")::VARCHAR AS ts, ordinal, value_int::VARCHAR AS vi, value_string, digital_code, good, questionable, op
     FROM read_parquet('${file}') ORDER BY tag_webid, "timestamp", ordinal`,
    )
  ).getRowObjectsJS();
  t.same(rows, [
    { tag_webid: 'A', ts: '1780000000000001', ordinal: 0, vi: null, value_string: null, digital_code: null, good: true, questionable: false, op: 'insert' },
    { tag_webid: 'A', ts: '1780000000000002', ordinal: 0, vi: '9007199254740991', value_string: null, digital_code: null, good: true, questionable: false, op: 'insert' },
    {
      tag_webid: 'A',
      ts: '1780000000000002',
      ordinal: 1,
      vi: '9223372036854775807',
      value_string: 'ünïcødé ✓ 漢字',
      digital_code: null,
      good: true,
      questionable: false,
      op: 'insert',
    },
    { tag_webid: 'B', ts: '-1', ordinal: 0, vi: '-9223372036854775808', value_string: null, digital_code: null, good: true, questionable: false, op: 'insert' },
    { tag_webid: 'B', ts: '253402300799999999', ordinal: 0, vi: null, value_string: null, digital_code: null, good: true, questionable: false, op: 'insert' },
    { tag_webid: 'C', ts: '5', ordinal: 0, vi: null, value_string: null, digital_code: 246, good: false, questionable: null, op: 'delete' },
    { tag_webid: 'C', ts: '6', ordinal: 0, vi: null, value_string: '', digital_code: -2147483648, good: true, questionable: false, op: 'update' },
  ]);
});

t.test('no rows: a file with the table schema and no rows (encodeBatch used to loop forever)', async (t) => {
  const bytes = encodeBatch(TS, []);
  t.same(decodeBatch(bytes), []);
  const dir = mkdtempSync(path.join(tmpdir(), 'pi-agent-encode-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'empty.parquet');
  writeFileSync(file, bytes);
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  t.teardown(() => {
    conn.closeSync();
    db.closeSync();
  });
  const rows = (await conn.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM read_parquet('${file}')`)).getRowObjectsJS();
  t.same(rows, [{ n: 0 }]);
  const cols = (await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${file}')`)).getRowObjectsJS();
  t.same(
    cols.map((r) => r.column_name),
    TS.columns.map((c) => c.name),
  );
});
