import t from 'tap';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Row } from '../../../agent/batch/tables.js';
import { SinkError } from '../../../agent/errors.js';
import { DirectorySink } from '../../../agent/sinks/directory/sink.js';
import { backoffDelay, forwardAll } from '../../../agent/sinks/forward.js';
import type { SinkUnit, UploadTarget } from '../../../agent/sinks/types.js';
import { Store } from '../../../agent/store/store.js';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pi-agent-dirsink-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function row(seq: number): Row {
  return {
    site: 'plant-a',
    tag_webid: `T${seq % 4}`,
    timestamp: 1_780_000_000_000_000 + seq * 1_000_003,
    ordinal: 0,
    value_double: seq / 8,
    value_int: seq % 5 === 0 ? 2n ** 62n + BigInt(seq) : null,
    good: true,
    ingested_at: 1_795_000_000_000_001,
    op: 'insert',
  };
}
const rows = (from: number, n: number): Row[] => Array.from({ length: n }, (_, i) => row(from + i));

async function duck(t: { teardown(fn: () => void): void }) {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  t.teardown(() => {
    conn.closeSync();
    db.closeSync();
  });
  return conn;
}

t.test('forwardAll drains the store into <path>/<table>/<name>.parquet, readable by DuckDB', async (t) => {
  const dir = tempDir(t);
  const out = path.join(dir, 'out');
  const store = Store.open({ stateDir: path.join(dir, 'state'), site: 'plant-a' });
  t.teardown(() => store.close());
  for (let i = 0; i < 6; i++) store.commitStep([{ table: 'pi_timeseries', rows: rows(i * 50, 50) }], [{ key: 'p', value: i }]);
  store.commitStep(
    [{ table: 'pi_tags', rows: [{ site: 'plant-a', tag_webid: 'T0', name: 'SINUSOID', point_id: 1, ingested_at: 1_795_000_000_000_000, op: 'update' }] }],
    [],
  );
  const sink = new DirectorySink(out);
  const res = await forwardAll(store, sink, { maxBatches: 4 });
  t.same(res, { units: 3, rows: 301 });
  t.same(store.stats().sealed_batches, 0);
  t.equal(store.sinkStatus('directory').state, 'ok');
  const tsFiles = readdirSync(path.join(out, 'pi_timeseries')).sort();
  t.equal(tsFiles.length, 2);
  t.match(tsFiles[0], new RegExp(`^plant-a-pi_timeseries-\\d+-\\d+\\.${store.storeId}\\.parquet$`), 'unit name and store id');
  t.same(readdirSync(path.join(out, 'pi_tags')).length, 1);

  const conn = await duck(t);
  const glob = path.join(out, 'pi_timeseries', '*.parquet');
  const types = (
    await conn.runAndReadAll(
      `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${glob}')) WHERE column_name IN ('timestamp', 'value_int', 'ingested_at')`,
    )
  ).getRowObjectsJS();
  t.same(types, [
    { column_name: 'timestamp', column_type: 'TIMESTAMP WITH TIME ZONE' },
    { column_name: 'value_int', column_type: 'BIGINT' },
    { column_name: 'ingested_at', column_type: 'TIMESTAMP WITH TIME ZONE' },
  ]);
  const got = (
    await conn.runAndReadAll(`SELECT epoch_us("timestamp")::VARCHAR AS ts, value_double, value_int::VARCHAR AS vi FROM read_parquet('${glob}') ORDER BY "timestamp"`)
  ).getRowObjectsJS();
  const want = rows(0, 300).map((r) => ({ ts: String(r.timestamp), value_double: r.value_double, vi: r.value_int === null ? null : String(r.value_int) }));
  t.same(got, want, 'every row exactly once, exact values');
  const tags = (await conn.runAndReadAll(`SELECT name, point_id, op FROM read_parquet('${path.join(out, 'pi_tags', '*.parquet')}')`)).getRowObjectsJS();
  t.same(tags, [{ name: 'SINUSOID', point_id: 1, op: 'update' }]);
});

t.test('re-uploading a name overwrites the file (idempotent); stale temp files are cleaned', async (t) => {
  const dir = tempDir(t);
  const sink = new DirectorySink(dir);
  mkdirSync(path.join(dir, 'pi_timeseries'), { recursive: true });
  writeFileSync(path.join(dir, 'pi_timeseries', '.x-1-1.abcd.tmp'), 'half a file');
  await sink.prepare();
  t.same(readdirSync(path.join(dir, 'pi_timeseries')), []);
  const file = (bytes: number[]) => ({ id: 1, rows: 1, bytes: bytes.length, read: () => new Uint8Array(bytes) });
  const unit: SinkUnit = { name: 'plant-a-pi_timeseries-1-2', table: 'pi_timeseries', rows: 1, files: [file([1, 2, 3])], ops: new Set(['insert']) };
  await sink.upload(unit);
  await sink.upload({ ...unit, files: [file([4, 5])] });
  t.same(readdirSync(path.join(dir, 'pi_timeseries')), ['plant-a-pi_timeseries-1-2.parquet']);
  const { readFileSync } = await import('node:fs');
  t.same([...readFileSync(sink.fileFor(unit))], [4, 5]);
  await t.rejects(sink.upload({ ...unit, name: '../escape' }), { code: 'SINK_FAILED', retryable: false });
  await t.rejects(sink.upload({ ...unit, store: '../x' }), { code: 'SINK_FAILED', retryable: false });

  // A store made after a lost state directory numbers its units anew: the same unit name from two
  // stores lands in two files, never replacing the first store's rows.
  await sink.upload({ ...unit, store: '0123456789abcdef', files: [file([7])] });
  await sink.upload({ ...unit, store: 'fedcba9876543210', files: [file([8])] });
  t.same(readdirSync(path.join(dir, 'pi_timeseries')).sort(), [
    'plant-a-pi_timeseries-1-2.0123456789abcdef.parquet',
    'plant-a-pi_timeseries-1-2.fedcba9876543210.parquet',
    'plant-a-pi_timeseries-1-2.parquet',
  ]);
  await sink.close();
});

t.test("status says 'uploading' while a unit is in flight, then 'ok' or the failure", async (t) => {
  const dir = tempDir(t);
  const store = Store.open({ stateDir: path.join(dir, 'state'), site: 'plant-a' });
  t.teardown(() => store.close());
  store.recordSinkState('slow', 'idle');
  store.commitStep([{ table: 'pi_timeseries', rows: rows(0, 10) }], []);
  store.commitStep([{ table: 'pi_timeseries', rows: rows(10, 10) }], []);
  const during: (string | null)[] = [];
  let fail = false;
  const slow: UploadTarget = {
    type: 'slow',
    async upload() {
      during.push(store.sinkStatus('slow').state);
      if (fail) throw new SinkError('SINK_UNREACHABLE', 'warehouse down');
    },
    async close() {},
  };
  t.same(await forwardAll(store, slow, { maxBatches: 1 }), { units: 2, rows: 20 });
  t.same(during, ['uploading', 'uploading'], 'each unit uploads under the uploading state');
  t.equal(store.sinkStatus('slow').state, 'ok');
  store.commitStep([{ table: 'pi_timeseries', rows: rows(20, 10) }], []);
  fail = true;
  await t.rejects(forwardAll(store, slow), { code: 'SINK_UNREACHABLE' });
  t.same(during, ['uploading', 'uploading', 'uploading']);
  t.equal(store.sinkStatus('slow').state, 'retrying', 'a failed unit does not stay "uploading"');
});

t.test('a failed upload leaves the unit pending; the retry re-uses its name', async (t) => {
  const dir = tempDir(t);
  const store = Store.open({ stateDir: path.join(dir, 'state'), site: 'plant-a' });
  t.teardown(() => store.close());
  store.commitStep([{ table: 'pi_timeseries', rows: rows(0, 10) }], []);
  const seen: string[] = [];
  let fail = true;
  const flaky: UploadTarget = {
    type: 'flaky',
    async upload(u) {
      seen.push(u.name);
      if (fail) throw new SinkError('SINK_UNREACHABLE', 'warehouse down');
    },
    async close() {},
  };
  await t.rejects(forwardAll(store, flaky), { code: 'SINK_UNREACHABLE' });
  t.match(store.sinkStatus('flaky'), { state: 'retrying', last_error: 'SINK_UNREACHABLE: warehouse down' });
  store.commitStep([{ table: 'pi_timeseries', rows: rows(10, 10) }], []);
  t.equal(store.pendingUnits()[0]!.attempts, 1);
  fail = false;
  t.same(await forwardAll(store, flaky), { units: 2, rows: 20 });
  t.equal(seen[0], seen[1], 'same name after the failure');
  t.not(seen[2], seen[1]);
  t.equal(store.sinkStatus('flaky').state, 'ok');
});

t.test('a permission problem is a non-retryable SinkError', { skip: process.getuid?.() === 0 ? 'root ignores permissions' : false }, async (t) => {
  const dir = tempDir(t);
  const sink = new DirectorySink(dir);
  await sink.prepare();
  chmodSync(dir, 0o500);
  t.teardown(() => chmodSync(dir, 0o700));
  await t.rejects(sink.upload({ name: 'n', table: 'pi_tags', rows: 0, files: [{ id: 1, rows: 0, bytes: 1, read: () => new Uint8Array(1) }], ops: new Set() }), {
    code: 'SINK_PERMISSION_DENIED',
    retryable: false,
  });
});

t.test('backoffDelay grows exponentially up to the cap, with full jitter', async (t) => {
  t.equal(backoffDelay(0, { random: () => 1 }), 1000);
  t.equal(backoffDelay(3, { random: () => 1 }), 8000);
  t.equal(backoffDelay(50, { random: () => 1 }), 300000);
  t.equal(backoffDelay(5, { random: () => 0 }), 0);
  t.equal(backoffDelay(2, { baseMs: 10, maxMs: 25, random: () => 0.5 }), 13);
});
