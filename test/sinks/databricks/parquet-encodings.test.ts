/**
 * Issue 17 item 2: batch files use by default only encodings every Databricks reader takes; the
 * BYTE_STREAM_SPLIT opt-in (sink.parquet.byte_stream_split) writes it, and the warehouse emulator
 * refuses such a file with Databricks' error (test/sim/databricks/parquet-check.ts), through the
 * REAL @databricks/sql driver. Encodings are read from the footer (DuckDB's parquet_metadata).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import t from 'tap';
import { concatBatches } from '../../../agent/batch/concat.js';
import { encodeBatch } from '../../../agent/batch/encode.js';
import { TABLES, type Op, type Row } from '../../../agent/batch/tables.js';
import { READABLE_ENCODINGS } from '../../../agent/batch/write.js';
import { SinkError } from '../../../agent/errors.js';
import { DatabricksSink, type DatabricksSinkOptions } from '../../../agent/sinks/databricks/sink.js';
import type { SinkUnit } from '../../../agent/sinks/types.js';
import { Store } from '../../../agent/store/store.js';
import { startWarehouse } from '../../sim/databricks/server.js';
import { emulatorSinkOptions } from '../../helpers/dbx-sink.js';
import { secondRows } from '../../helpers/batch.js';

const root = await mkdtemp(join(tmpdir(), 'dbx-enc-'));
const w = await startWarehouse({ dataDir: join(root, 'data') });
const opts: DatabricksSinkOptions = await emulatorSinkOptions(w, root);
const sink = new DatabricksSink(opts);
/** With sink.parquet.byte_stream_split: stages BYTE_STREAM_SPLIT batches as they are. */
const bssSink = new DatabricksSink({ ...opts, stagingDir: join(root, 'staging-bss'), byteStreamSplit: true });
const duck = await (await DuckDBInstance.create(':memory:')).connect();
t.teardown(async () => {
  duck.closeSync();
  await sink.close();
  await bssSink.close();
  await w.close();
  await rm(root, { recursive: true, force: true });
});

const T0 = Date.UTC(2026, 0, 1) * 1000;
const ING = Date.UTC(2026, 11, 5) * 1000;
/** Noisy doubles (full-entropy mantissas): BYTE_STREAM_SPLIT compresses them better than PLAIN. */
const rows = (tag: string, n: number, op: Op = 'insert'): Row[] =>
  secondRows(tag, n, { t0: T0, ingestedAt: ING, op, value: (i) => 50 + Math.sin(i / 10) * 20 + ((i * 7919) % 1000) / 997 });

/** Column → encodings of its chunks (every row group), from the footer. */
let fileNo = 0;
async function encodings(data: Uint8Array): Promise<Record<string, string[]>> {
  const file = join(root, `enc-${fileNo++}.parquet`);
  await writeFile(file, data);
  const res = await duck.runAndReadAll(`SELECT path_in_schema, encodings FROM parquet_metadata('${file}')`);
  const out: Record<string, string[]> = {};
  for (const [col, enc] of res.getRowsJS()) {
    const set = new Set(out[String(col)] ?? []);
    for (const e of String(enc).split(', ')) set.add(e);
    out[String(col)] = [...set].sort();
  }
  return out;
}

const unitOf = (name: string, data: Uint8Array, n: number, ops: Op[]): SinkUnit => {
  const first = Number(/-(\d+)-\d+$/.exec(name)![1]);
  return { name, table: 'pi_timeseries', rows: n, files: [{ id: first, rows: n, bytes: data.length, read: () => data }], ops: new Set(ops) };
};
const count = async (tag: string) => Number((await w.query(`SELECT count(*) AS n FROM pi.pi_timeseries WHERE tag_webid = '${tag}'`))[0]!.n);

t.test('default files: only encodings Spark 3.3 reads (doubles PLAIN); the emulator loads them exactly', async (t) => {
  await sink.prepare();
  const data = encodeBatch(TABLES.pi_timeseries, rows('DEF', 3000));
  const enc = await encodings(data);
  const all = new Set(Object.values(enc).flat());
  t.same(
    [...all].filter((e) => !READABLE_ENCODINGS.includes(e)),
    [],
    'no encoding outside READABLE_ENCODINGS',
  );
  t.same(enc.value_double, ['PLAIN', 'RLE'], 'doubles PLAIN (RLE: definition levels)');
  t.same(enc.timestamp, ['DELTA_BINARY_PACKED', 'RLE']);
  t.same(enc.tag_webid, ['PLAIN', 'RLE', 'RLE_DICTIONARY']);
  await sink.upload(unitOf('plant-a-pi_timeseries-1-1', data, 3000, ['insert']));
  t.equal(await count('DEF'), 3000);
  const back = await w.query(`SELECT value_double AS v FROM pi.pi_timeseries WHERE tag_webid = 'DEF' ORDER BY timestamp LIMIT 3`);
  t.same(
    back.map((r) => r.v),
    rows('DEF', 3).map((r) => r.value_double),
  );
});

t.test('opt-in: BYTE_STREAM_SPLIT in the footer, and COPY INTO refuses it as Databricks does', async (t) => {
  const data = encodeBatch(TABLES.pi_timeseries, rows('BSS', 3000), { byteStreamSplit: true });
  const enc = await encodings(data);
  t.same(enc.value_double, ['BYTE_STREAM_SPLIT', 'RLE']);
  const err = await bssSink.upload(unitOf('plant-a-pi_timeseries-2-2', data, 3000, ['insert'])).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof SinkError);
  const e = err as SinkError;
  t.equal(e.code, 'SINK_FAILED');
  t.equal(e.retryable, false);
  t.match(
    e.message,
    /\[FAILED_READ_FILE\.NO_HINT\] Error while reading file \/Volumes\/main\/pi\/pi_agent\/plant-a\/pi_timeseries\/plant-a-pi_timeseries-2-2\/2\.parquet\. SQLSTATE: KD001 Caused by: java\.lang\.UnsupportedOperationException: Unsupported encoding: BYTE_STREAM_SPLIT/,
  );
  t.equal(await count('BSS'), 0, 'nothing loaded');
});

t.test('opt-in file in a MERGE (read_files) is refused the same way', async (t) => {
  const data = encodeBatch(TABLES.pi_timeseries, rows('BSSM', 2000, 'update'), { byteStreamSplit: true });
  await t.rejects(bssSink.upload(unitOf('plant-a-pi_timeseries-3-3', data, 2000, ['update'])), /FAILED_READ_FILE\.NO_HINT.*Unsupported encoding: BYTE_STREAM_SPLIT/);
  t.equal(await count('BSSM'), 0);
});

t.test('without the opt-in, a batch buffered with BYTE_STREAM_SPLIT (before the upgrade) is rewritten and loads exactly', async (t) => {
  for (const [name, ops] of [
    ['plant-a-pi_timeseries-4-4', ['insert']],
    ['plant-a-pi_timeseries-5-5', ['update']],
  ] as const) {
    const tag = `OLD-${ops[0]}`;
    const data = encodeBatch(TABLES.pi_timeseries, rows(tag, 2500, ops[0]), { byteStreamSplit: true });
    t.same((await encodings(data)).value_double, ['BYTE_STREAM_SPLIT', 'RLE'], 'the buffered batch has it');
    await sink.upload(unitOf(name, data, 2500, [...ops]));
    t.equal(await count(tag), 2500, `${ops[0]}: every row`);
    const back = await w.query(`SELECT value_double AS v FROM pi.pi_timeseries WHERE tag_webid = '${tag}' ORDER BY timestamp`);
    t.same(
      back.map((r) => r.v),
      rows(tag, 2500).map((r) => r.value_double),
      `${ops[0]}: exact values`,
    );
  }
});

t.test('the opt-in reaches the store (sealed batches) and concat (directory sink); the default does not', async (t) => {
  for (const byteStreamSplit of [false, true]) {
    const dir = await mkdtemp(join(root, 'store-'));
    const store = Store.open({ stateDir: dir, site: 'plant-a', parquet: { byteStreamSplit } });
    store.commitStep([{ table: 'pi_timeseries', rows: rows('S', 3000) }], []);
    const unit = store.nextUploadUnit(undefined, { maxBytes: 64 * 1024 * 1024, maxBatches: 1000 })!;
    const sealed = store.unitData(unit);
    store.close();
    const want = byteStreamSplit ? ['BYTE_STREAM_SPLIT', 'RLE'] : ['PLAIN', 'RLE'];
    t.same((await encodings(sealed)).value_double, want, `sealed, byteStreamSplit ${byteStreamSplit}`);
    const joined = concatBatches([sealed, encodeBatch(TABLES.pi_timeseries, rows('S2', 3000))], { byteStreamSplit });
    t.same((await encodings(joined)).value_double, want, `concatenated, byteStreamSplit ${byteStreamSplit}`);
  }
});
