import t, { type Test } from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { DataType, makeData, makeVector, RecordBatch, Schema, Struct, Field, Table, tableFromIPC, tableToIPC, Utf8, vectorFromArray, type Data } from 'apache-arrow';
import * as parquet from 'parquet-wasm';
import { concatBatches } from '../../agent/batch/concat.js';
import { decodeBatch } from '../../agent/batch/decode.js';
import { encodeBatch, sealBatch } from '../../agent/batch/encode.js';
import { TABLES, type Row } from '../../agent/batch/tables.js';
import { checkOffsetIndexes, tsRow } from '../helpers/batch.js';

const TS = TABLES.pi_timeseries;

/** A small plant: Float32 values quantised to instrument resolution, Float64, ints, digital, strings at 5 s. */
function plant(tags: number, events: number): Row[] {
  let seed = 11;
  const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const rows: Row[] = [];
  for (let g = 0; g < tags; g++) {
    const kind = g % 5;
    const base = 10 + rand() * 100;
    for (let e = 0; e < events; e++) {
      const r = tsRow({
        tag_webid: `F1DPtag${String(g).padStart(4, '0')}`,
        timestamp: 1_780_000_000_000_000 + e * 5_000_000 + g * 1_000_000,
        units: kind < 2 ? 'degC' : null,
      });
      if (kind === 0) r.value_double = Math.fround(Math.round((base + rand()) * 100) / 100);
      else if (kind === 1) r.value_double = base + rand();
      else if (kind === 2) r.value_int = e * 3 + g;
      else if (kind === 3) {
        r.digital_code = e % 3;
        r.digital_name = ['Open', 'Closed', 'Transit'][e % 3]!;
      } else r.value_string = `phase ${e % 4}`;
      if (e % 97 === 5) {
        r.good = false;
        r.is_system_state = true;
        r.value_double = null;
        r.value_int = null;
        r.value_string = null;
        r.digital_name = 'I/O Timeout';
        r.digital_code = 246;
      }
      rows.push(r);
    }
  }
  return rows;
}

/** Special values of every column type, each one a row of its own tag. */
const specials: Row[] = [
  tsRow({ tag_webid: 'S', timestamp: 1, value_double: Number.NaN }),
  tsRow({ tag_webid: 'S', timestamp: 2, value_double: Number.POSITIVE_INFINITY }),
  tsRow({ tag_webid: 'S', timestamp: 3, value_double: Number.NEGATIVE_INFINITY }),
  tsRow({ tag_webid: 'S', timestamp: 4, value_double: -0 }),
  tsRow({ tag_webid: 'S', timestamp: 5, value_double: Number.MIN_VALUE }),
  tsRow({ tag_webid: 'S', timestamp: 6, value_double: -Number.MAX_VALUE }),
  tsRow({ tag_webid: 'S', timestamp: 7, value_double: 0.1 + 0.2 }),
  tsRow({ tag_webid: 'T', timestamp: -62_135_596_800_000_000n, value_int: -9_223_372_036_854_775_808n }),
  tsRow({ tag_webid: 'T', timestamp: 0, value_int: 9_223_372_036_854_775_807n, value_timestamp: -1 }),
  tsRow({ tag_webid: 'T', timestamp: 9_007_199_254_740_991, value_int: -9_007_199_254_740_991, value_timestamp: 1_780_000_000_000_001 }),
  tsRow({ tag_webid: 'T', timestamp: 9_007_199_254_740_992n, value_int: 2 ** 53 - 1, value_bool: true }),
  tsRow({ tag_webid: 'T', timestamp: 253_402_300_799_999_999n, value_int: -(2n ** 53n), value_bool: false, ordinal: 2147483647 }),
  tsRow({ tag_webid: 'U', timestamp: 10, digital_name: 'Shutdown', digital_code: 254, is_system_state: true, good: false }),
  tsRow({ tag_webid: 'U', timestamp: 11, digital_name: 'Auto', digital_code: 0, is_system_state: false, questionable: null, substituted: null, annotated: null }),
  tsRow({ tag_webid: 'U', timestamp: 12, value_string: 'ünïcødé ✓ 漢字 \u0000 😀', units: '°C', op: 'delete' }),
  tsRow({ tag_webid: 'U', timestamp: 13, value_string: '', digital_code: -2147483648, good: null, is_system_state: null, op: 'update' }),
];

/** The stable (tag_webid, timestamp) order the encoder promises. */
function sorted(rows: Row[]): Row[] {
  const key = (v: Row[string]): number => Number(v);
  return rows
    .map((r, i) => ({ r, i }))
    .sort((a, b) => (a.r.tag_webid! < b.r.tag_webid! ? -1 : a.r.tag_webid! > b.r.tag_webid! ? 1 : key(a.r.timestamp!) - key(b.r.timestamp!) || a.i - b.i))
    .map((x) => x.r);
}

async function duck(t: Test): Promise<{ conn: DuckDBConnection; dir: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'pi-agent-exact-'));
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  t.teardown(() => {
    conn.closeSync();
    db.closeSync();
    rmSync(dir, { recursive: true, force: true });
  });
  return { conn, dir };
}

/** Every column of every row as DuckDB reads it, in file order; exact text for 64-bit values. */
async function duckRows(conn: DuckDBConnection, file: string): Promise<Row[]> {
  const cols = TS.columns.map((c) => {
    const q = JSON.stringify(c.name);
    if (c.type === 'timestamp_us') return `epoch_us(${q})::VARCHAR AS ${q}`;
    if (c.type === 'int64') return `${q}::VARCHAR AS ${q}`;
    return q;
  });
  const out = (await conn.runAndReadAll(`SELECT ${cols.join(', ')} FROM read_parquet('${file}', file_row_number = true) ORDER BY file_row_number`)).getRowObjectsJS();
  return out as Row[];
}

/** A row as DuckDB shows it: 64-bit integers and timestamps as decimal text. */
function asDuck(r: Row): Row {
  const out: Row = {};
  for (const c of TS.columns) {
    const v = r[c.name] ?? null;
    out[c.name] = v !== null && (c.type === 'int64' || c.type === 'timestamp_us') ? String(v) : v;
  }
  return out;
}

/** Exact comparison of doubles (NaN, -0 included): t.same treats -0 and 0 alike. */
function sameDoubles(t: Test, got: Row[], want: Row[], what: string): void {
  const bad = got.findIndex((r, i) => !Object.is(r.value_double, want[i]!.value_double));
  t.equal(bad, -1, `${what}: value_double bit-exact${bad >= 0 ? ` (row ${bad}: ${String(got[bad]!.value_double)} vs ${String(want[bad]!.value_double)})` : ''}`);
}

/** A copy of a file whose last offset index points 1 byte off (to prove checkOffsetIndexes fails). */
function corruptFirstOffsetIndex(bytes: Uint8Array): Uint8Array {
  // The offset indexes are written just before the footer; their first field is a list of
  // PageLocation structs whose first field (offset, zigzag varint) follows a 1-byte list header and
  // a 1-byte field header. Bump the low byte of the last one's offset varint.
  const out = bytes.slice();
  const n = out.length;
  const len = new DataView(out.buffer).getUint32(n - 8, true);
  const footerStart = n - 8 - len;
  // Walk back to the last "0x19 ?? 0x16" (list of structs, then i64 field 1) before the footer.
  for (let i = footerStart - 4; i > 0; i--) {
    if (out[i] === 0x16 && (out[i - 1]! & 0x0f) === 0x0c && out[i - 2] === 0x19) {
      out[i + 1] = out[i + 1]! ^ 0x02;
      return out;
    }
  }
  throw new Error('no offset index found');
}

const input = [...plant(25, 120), ...specials];

t.test('DuckDB reads every value of an encoded batch exactly (as Databricks would: plain Parquet types)', async (t) => {
  const { conn, dir } = await duck(t);
  const file = path.join(dir, 'plant.parquet');
  const sealed = sealBatch(TS, input);
  writeFileSync(file, sealed.data);
  const want = sorted(input);
  const got = await duckRows(conn, file);
  t.equal(got.length, input.length);
  t.same(got, want.map(asDuck), 'every column of every row, in (tag, time) order');
  sameDoubles(t, got, want, 'DuckDB');
  t.same(sealed.ops, ['delete', 'insert', 'update']);

  // The encodings chosen for time series, all of them read by Spark's vectorized reader since 3.3.
  const meta = (await conn.runAndReadAll(`SELECT path_in_schema AS col, encodings, compression FROM parquet_metadata('${file}')`)).getRowObjectsJS();
  const enc = Object.fromEntries(meta.map((m) => [String(m.col), String(m.encodings)]));
  t.match(enc.timestamp, /DELTA_BINARY_PACKED/);
  t.match(enc.ordinal, /DELTA_BINARY_PACKED/);
  t.match(enc.value_int, /DELTA_BINARY_PACKED/);
  t.match(enc.value_double, /PLAIN/);
  t.notMatch(enc.value_double, /BYTE_STREAM_SPLIT/);
  t.match(enc.tag_webid, /RLE_DICTIONARY/);
  t.ok(
    meta.every((m) => m.compression === 'ZSTD'),
    'zstd everywhere',
  );
  // Strings are plain UTF8 byte arrays in Parquet (the Arrow dictionary is only a writer detail).
  const types = (
    await conn.runAndReadAll(
      `SELECT name, type::VARCHAR AS type, converted_type::VARCHAR AS ct FROM parquet_schema('${file}') WHERE name IN ('tag_webid', 'value_double', 'timestamp')`,
    )
  ).getRowObjectsJS();
  t.same(Object.fromEntries(types.map((r) => [r.name, `${String(r.type)}/${String(r.ct)}`])), {
    tag_webid: 'BYTE_ARRAY/UTF8',
    value_double: 'DOUBLE/null',
    timestamp: 'INT64/TIMESTAMP_MICROS',
  });
  // parquet-mr's `<app> version <v> (build <b>)` form: Spark keeps string statistics only when it can parse this.
  const fm = (await conn.runAndReadAll(`SELECT created_by FROM parquet_file_metadata('${file}')`)).getRowObjectsJS();
  t.match(String(fm[0]!.created_by), /^pi-agent version \d+\.\d+\.\d+\S* \(build pi-agent\)$/);
});

t.test('doubles, byteStreamSplit opt-in: BYTE_STREAM_SPLIT for noisy values, PLAIN for repeating quantised ones; default PLAIN; all read exactly', async (t) => {
  const { conn, dir } = await duck(t);
  let seed = 5;
  const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const noisy = Array.from({ length: 3000 }, (_, i) => tsRow({ tag_webid: `N${i % 3}`, timestamp: i, value_double: 50 + Math.sin(i / 100) * 10 + rand() * 0.37 }));
  const steps = Array.from({ length: 3000 }, (_, i) =>
    tsRow({ tag_webid: `Q${i % 3}`, timestamp: i, value_double: Math.fround(20 + Math.round(Math.sin(i / 300) * 20) / 10) }),
  );
  for (const [name, rows, encoding, byteStreamSplit] of [
    ['noisy', noisy, 'BYTE_STREAM_SPLIT', true],
    ['steps', steps, 'PLAIN', true],
    ['noisy-default', noisy, 'PLAIN', false],
  ] as const) {
    const file = path.join(dir, `${name}.parquet`);
    writeFileSync(file, encodeBatch(TS, rows, { byteStreamSplit }));
    const meta = (await conn.runAndReadAll(`SELECT encodings FROM parquet_metadata('${file}') WHERE path_in_schema = 'value_double'`)).getRowObjectsJS();
    t.match(String(meta[0]!.encodings), new RegExp(encoding), `${name}: ${encoding}`);
    const got = await duckRows(conn, file);
    t.same(got, sorted(rows).map(asDuck), `${name}: every value`);
    sameDoubles(t, got, sorted(rows), name);
  }
});

t.test('decodeBatch round-trips NaN, ±Inf, -0, nulls, 64-bit ints, states and µs timestamps', async (t) => {
  const want = sorted(input);
  const back = decodeBatch(encodeBatch(TS, input));
  t.same(back, want);
  sameDoubles(t, back, want, 'decodeBatch');
  const byTs = new Map(back.filter((r) => r.tag_webid === 'T').map((r) => [String(r.timestamp), r]));
  t.equal(byTs.get('0')!.value_int, 9_223_372_036_854_775_807n);
  t.equal(byTs.get('9007199254740991')!.timestamp, 9_007_199_254_740_991, 'largest safe µs stays a number');
  t.equal(byTs.get('9007199254740992')!.timestamp, 9_007_199_254_740_992n, 'beyond 2^53 comes back as bigint');
  t.equal(byTs.get('253402300799999999')!.value_int, -(2n ** 53n), '-2^53 is not a safe integer: bigint');
  t.equal(byTs.get('-62135596800000000')!.value_int, -9_223_372_036_854_775_808n);
});

t.test('time-interleaved input is sorted by tag then time; unsorted mode keeps input order', async (t) => {
  const rows = plant(12, 40);
  const interleaved = rows
    .map((r, i) => ({ r, i }))
    .sort((a, b) => (a.r.timestamp as number) - (b.r.timestamp as number) || a.i - b.i)
    .map((x) => x.r);
  t.same(decodeBatch(encodeBatch(TS, interleaved)), sorted(rows));
  t.same(decodeBatch(encodeBatch(TS, interleaved, { sort: false })), interleaved);
});

t.test('NULL sort keys come first, stably, for string and timestamp clustering columns', async (t) => {
  const attrs = TABLES.pi_af_attributes;
  const attr = (id: string, element: string | null): Row => {
    const r: Row = {};
    for (const c of attrs.columns) r[c.name] = null;
    return { ...r, site: 's', attribute_webid: id, element_webid: element, ingested_at: 1, op: 'insert' };
  };
  const a = [attr('a1', 'E2'), attr('a2', null), attr('a3', 'E1'), attr('a4', null), attr('a5', 'E2')];
  t.same(
    decodeBatch(encodeBatch(attrs, a)).map((r) => r.attribute_webid),
    ['a2', 'a4', 'a3', 'a1', 'a5'],
  );
  const efs = TABLES.pi_event_frames;
  const ef = (id: string, start: number | null): Row => {
    const r: Row = {};
    for (const c of efs.columns) r[c.name] = null;
    return { ...r, site: 's', event_frame_webid: id, start_time: start, ingested_at: 1, op: 'insert' };
  };
  const e = [ef('f1', 30), ef('f2', null), ef('f3', -5), ef('f4', 30), ef('f5', null)];
  t.same(
    decodeBatch(encodeBatch(efs, e)).map((r) => r.event_frame_webid),
    ['f2', 'f5', 'f3', 'f1', 'f4'],
  );
});

t.test('concatBatches merges parts with different string dictionaries, and files of the previous encoder', async (t) => {
  const a = plant(3, 10);
  const b = [tsRow({ tag_webid: 'ZZ', units: 'bar', value_string: 'only here' }), tsRow({ tag_webid: 'A0', op: 'delete' })];
  const c = specials;
  const parts = [encodeBatch(TS, a), encodeBatch(TS, b, { sort: false }), encodeBatch(TS, c)];
  const merged = decodeBatch(concatBatches(parts));
  t.same(merged, [...sorted(a), ...b, ...sorted(c)]);
  sameDoubles(t, merged, [...sorted(a), ...b, ...sorted(c)], 'concat');

  // The previous encoder wrote strings as plain Utf8 Arrow columns: rewrite one part that way.
  const arrow = tableFromIPC(parquet.readParquet(parts[0]!).intoIPCStream());
  const fields = arrow.schema.fields.map((f) => (DataType.isDictionary(f.type) ? new Field(f.name, new Utf8(), f.nullable) : f));
  const children: Data[] = arrow.schema.fields.map((f) => {
    const v = arrow.getChild(f.name)!;
    return DataType.isDictionary(f.type) ? vectorFromArray(v.toArray() as (string | null)[], new Utf8()).data[0]! : makeVector(v.data).data[0]!;
  });
  const schema = new Schema(fields);
  const plain = new Table([new RecordBatch(schema, makeData({ type: new Struct(fields), length: arrow.numRows, nullCount: 0, children }))]);
  const old = parquet.writeParquet(parquet.Table.fromIPCStream(tableToIPC(plain, 'stream')));
  t.notOk(DataType.isDictionary(tableFromIPC(parquet.readParquet(old).intoIPCStream()).schema.fields[1]!.type), 'the rewritten part has plain strings');
  t.same(decodeBatch(old), sorted(a), 'an old-format file decodes');
  t.same(decodeBatch(concatBatches([old, parts[1]!])), [...sorted(a), ...b], 'old and new parts merge');
});

t.test('Float32 values (low mantissa bytes zero) and regular timestamps cost well under 6 bytes per value', async (t) => {
  const rows = plant(40, 500);
  const bytes = encodeBatch(TS, rows);
  t.ok(bytes.length / rows.length < 4, `${(bytes.length / rows.length).toFixed(2)} bytes/value`);
  t.same(decodeBatch(bytes).length, rows.length);
});

t.test('a batch of many row groups (encoded slice by slice, joined into one file) reads back exactly', async (t) => {
  const { conn, dir } = await duck(t);
  const rows = [...plant(30, 100), ...specials];
  const want = sorted(rows);
  const bytes = encodeBatch(TS, rows, { rowGroupRows: 128 });
  const file = path.join(dir, 'groups.parquet');
  writeFileSync(file, bytes);
  const groups = (
    await conn.runAndReadAll(
      `SELECT count(DISTINCT row_group_id)::INTEGER AS n, sum(row_group_num_rows) FILTER (WHERE path_in_schema = 'site')::INTEGER AS rows FROM parquet_metadata('${file}')`,
    )
  ).getRowObjectsJS();
  t.same(groups, [{ n: Math.ceil(rows.length / 128), rows: rows.length }], 'one row group per slice, row counts add up');
  const got = await duckRows(conn, file);
  t.same(got, want.map(asDuck), 'DuckDB: every value');
  sameDoubles(t, got, want, 'DuckDB, row groups');
  const back = decodeBatch(bytes);
  t.same(back, want, 'decodeBatch: every value');
  sameDoubles(t, back, want, 'decodeBatch, row groups');
  // Row groups are filtered by their statistics: a time range selects the right rows.
  const n = (
    await conn.runAndReadAll(
      `SELECT count(*)::INTEGER AS n FROM read_parquet('${file}') WHERE tag_webid = 'F1DPtag0007' AND epoch_us("timestamp") BETWEEN 1780000000000000 + 7000000 + 50 * 5000000 AND 1780000000000000 + 7000000 + 59 * 5000000`,
    )
  ).getRowObjectsJS();
  t.same(n, [{ n: 10 }]);
  // Offset indexes (page locations, used by Spark's page skipping) point at the moved pages.
  t.ok(checkOffsetIndexes(bytes) >= Math.ceil(rows.length / 128) * TS.columns.length, 'every page of every row group checked');
  t.throws(() => checkOffsetIndexes(corruptFirstOffsetIndex(bytes)), /offset index/, 'the check can fail');
  // Merging joined files keeps every row too.
  const merged = concatBatches([bytes, encodeBatch(TS, specials, { rowGroupRows: 5 })]);
  t.same(decodeBatch(merged), [...want, ...sorted(specials)]);
  t.ok(checkOffsetIndexes(merged) > 0);
});

t.test('unreadable bytes and mismatched parts fail with BATCH_ENCODE_FAILED', async (t) => {
  const code = { code: 'BATCH_ENCODE_FAILED' };
  t.throws(() => decodeBatch(new Uint8Array([1, 2, 3])), { ...code, message: /cannot read Parquet batch/ });
  const good = encodeBatch(TS, specials);
  const cut = good.slice(0, good.length - 20);
  t.throws(() => decodeBatch(cut), { ...code, message: /cannot read Parquet batch/ });
  const tags = encodeBatch(TABLES.pi_tags, [
    {
      site: 's',
      tag_webid: 'W',
      point_id: 1,
      name: 'n',
      path: null,
      dataserver: null,
      descriptor: null,
      point_class: null,
      point_type: null,
      digital_set_name: null,
      engineering_units: null,
      span: 1.5,
      zero: 0,
      step: false,
      future: null,
      ingested_at: 1,
      op: 'insert',
    },
  ]);
  t.throws(() => concatBatches([good, tags]), { ...code, message: /different columns/ });
});

t.test('concatBatches streams parts of any size into full row groups, keeping every row in order', async (t) => {
  const { conn, dir } = await duck(t);
  const a = plant(7, 50); // 350 rows: spans several 128-row groups
  const b = specials; // 16 rows, written as 5-row groups
  const c = plant(2, 30);
  const parts = [encodeBatch(TS, a, { rowGroupRows: 100 }), encodeBatch(TS, b, { rowGroupRows: 5 }), encodeBatch(TS, c)];
  const want = [...sorted(a), ...sorted(b), ...sorted(c)];
  const merged = concatBatches(parts, { rowGroupRows: 128 });
  const file = path.join(dir, 'merged.parquet');
  writeFileSync(file, merged);
  const groups = (
    await conn.runAndReadAll(
      `SELECT row_group_id::INTEGER AS g, row_group_num_rows::INTEGER AS n FROM parquet_metadata('${file}') WHERE path_in_schema = 'site' ORDER BY 1`,
    )
  ).getRowObjectsJS();
  t.same(
    groups.map((g) => g.n),
    [128, 128, 128, want.length - 384],
    'full row groups, the last one partial',
  );
  const got = await duckRows(conn, file);
  t.same(got, want.map(asDuck), 'DuckDB: every value in order');
  sameDoubles(t, got, want, 'concat stream');
  t.same(decodeBatch(merged), want);
  t.ok(checkOffsetIndexes(merged) > 0);
});
