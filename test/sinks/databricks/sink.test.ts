/**
 * The Databricks sink against the warehouse emulator (the REAL @databricks/sql driver underneath):
 * setup DDL, COPY INTO and MERGE commits, idempotent re-uploads, and errors mapped to SinkError.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { encodeBatch } from '../../../agent/batch/encode.js';
import { TABLES, type Op, type Row, type TableName } from '../../../agent/batch/tables.js';
import { SinkError } from '../../../agent/errors.js';
import { DatabricksSink, type DatabricksSinkOptions } from '../../../agent/sinks/databricks/sink.js';
import type { SinkUnit } from '../../../agent/sinks/types.js';
import { startWarehouse } from '../../sim/databricks/server.js';
import { emulatorSinkOptions } from '../../helpers/dbx-sink.js';

const root = await mkdtemp(join(tmpdir(), 'dbx-sink-'));
const oauth = { clientId: 'sp-pi-agent', clientSecret: 'sp-secret-value' };
const w = await startWarehouse({ dataDir: join(root, 'data'), oauth });
const base = await emulatorSinkOptions(w, root);
const sinks: DatabricksSink[] = [];
const makeSink = (over: Partial<DatabricksSinkOptions> = {}) => {
  const s = new DatabricksSink({ ...base, ...over });
  sinks.push(s);
  return s;
};
const sink = makeSink();
t.teardown(async () => {
  for (const s of sinks) await s.close();
  await w.close();
  await rm(root, { recursive: true, force: true });
});
t.afterEach(() => w.faults.reset());

const T0 = Date.UTC(2026, 0, 1) * 1000; // µs
const ING = Date.UTC(2026, 10, 26) * 1000;
/** A unit of one batch file per row list (batch ids from the unit name's first id). */
const unit = (table: TableName, name: string, ...batches: Row[][]): SinkUnit => {
  const first = Number(/-(\d+)-\d+$/.exec(name)![1]);
  const files = batches.map((rows, i) => {
    const data = encodeBatch(TABLES[table], rows);
    return { id: first + i, rows: rows.length, bytes: data.length, read: () => data };
  });
  const all = batches.flat();
  return { name, table, rows: all.length, files, ops: new Set(all.map((r) => r.op as Op)) };
};
const ts = (tag: string, i: number, v: number, op: Op = 'insert'): Row => ({
  site: 'plant-a',
  tag_webid: tag,
  timestamp: T0 + i * 1_000_000,
  ordinal: 0,
  value_double: v,
  good: true,
  ingested_at: ING,
  op,
});
const elem = (id: string, path: string, op: Op): Row => ({ site: 'plant-a', element_webid: id, path, depth: path.split('\\').length - 3, ingested_at: ING, op });
const q = (sql: string) => w.query(sql);

t.test('prepare creates schema, volume and every table; repeat is cheap', async (t) => {
  await sink.prepare();
  await sink.prepare();
  const tables = (await q(`SELECT table_name FROM duckdb_tables() WHERE schema_name = 'pi' ORDER BY 1`)).map((r) => r.table_name);
  t.same(tables, Object.keys(TABLES).sort());
  const cols = (await q(`SELECT column_name FROM duckdb_columns() WHERE schema_name = 'pi' AND table_name = 'pi_tags' ORDER BY column_index`)).map((r) => r.column_name);
  t.same(
    cols,
    TABLES.pi_tags.columns.map((c) => c.name),
  );
  t.same(await q(`SELECT comment FROM duckdb_columns() WHERE schema_name = 'pi' AND table_name = 'pi_tags' AND column_name = 'path'`), [
    { comment: 'Tag path \\\\server\\tag' },
  ]);
  t.same(await q(`SELECT columns FROM _emulator.clustering WHERE table_name = 'pi_timeseries'`), [{ columns: 'tag_webid,timestamp' }]);
  // A fresh sink (new agent version) adds columns it defines and the table lacks.
  await q(`ALTER TABLE pi.pi_tags DROP COLUMN future`);
  await makeSink().prepare();
  t.ok((await q(`SELECT 1 FROM duckdb_columns() WHERE schema_name = 'pi' AND table_name = 'pi_tags' AND column_name = 'future'`)).length === 1);
  t.match(sink.setupSql().join('\n'), /CREATE TABLE IF NOT EXISTS `main`.`pi`.`pi_timeseries` \([\s\S]*\) USING DELTA CLUSTER BY \(`tag_webid`, `timestamp`\)/);
});

const tsCount = async () => Number((await q(`SELECT count(*) AS n FROM pi.pi_timeseries`))[0]!.n);

t.test('insert-only units go through COPY INTO, once', async (t) => {
  const rows = [ts('T1', 0, 1.5), ts('T1', 1, 2.5), ts('T2', 0, -3)];
  const u = unit('pi_timeseries', 'plant-a-pi_timeseries-1-1', rows);
  await sink.upload(u);
  await sink.upload(u); // a re-upload after a crash
  t.same(await q(`SELECT tag_webid, strftime(timestamp, '%Y-%m-%dT%H:%M:%S.%fZ') AS ts, value_double, good, op FROM pi.pi_timeseries ORDER BY tag_webid, timestamp`), [
    { tag_webid: 'T1', ts: '2026-01-01T00:00:00.000000Z', value_double: 1.5, good: true, op: 'insert' },
    { tag_webid: 'T1', ts: '2026-01-01T00:00:01.000000Z', value_double: 2.5, good: true, op: 'insert' },
    { tag_webid: 'T2', ts: '2026-01-01T00:00:00.000000Z', value_double: -3, good: true, op: 'insert' },
  ]);
  t.same(await q(`SELECT count(*)::INT AS n FROM _emulator.copy_history WHERE table_name = 'pi_timeseries'`), [{ n: 1 }]);
  t.same(await q(`SELECT count(*)::INT AS n FROM glob('${join(root, 'data', 'volumes')}/**/*.parquet')`), [{ n: 0 }], 'staged files removed after commit');
});

t.test('a failure after the COPY is retryable and the retry does not duplicate', async (t) => {
  const u = unit('pi_timeseries', 'plant-a-pi_timeseries-2-2', [ts('T3', 0, 7), ts('T3', 1, 8)]);
  w.faults.failNextCommit('after');
  const err = await sink.upload(u).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof SinkError, 'SinkError');
  t.match(err, { code: 'SINK_UNREACHABLE', retryable: true });
  t.equal(await tsCount(), 5, 'applied although the client saw an error');
  await sink.upload(u);
  t.equal(await tsCount(), 5);
});

t.test('a failure before the COPY leaves nothing and the retry loads', async (t) => {
  const u = unit('pi_timeseries', 'plant-a-pi_timeseries-3-3', [ts('T4', 0, 1)]);
  w.faults.failNextCommit('before');
  await t.rejects(sink.upload(u), { code: 'SINK_FAILED', retryable: true });
  t.equal(await tsCount(), 5);
  await sink.upload(u);
  t.equal(await tsCount(), 6);
});

t.test('changes go through one MERGE; duplicates in a coalesced unit keep the last row', async (t) => {
  await sink.upload(
    unit('pi_af_elements', 'plant-a-pi_af_elements-1-1', [
      elem('E1', '\\\\AF\\DB\\A', 'insert'),
      elem('E2', '\\\\AF\\DB\\A\\B', 'insert'),
      elem('E3', '\\\\AF\\DB\\A\\C', 'insert'),
    ]),
  );
  const b1 = [elem('E2', '\\\\AF\\DB\\A\\B1', 'update'), elem('E4', '\\\\AF\\DB\\A\\D', 'insert')];
  const b2 = [elem('E2', '\\\\AF\\DB\\A\\B2', 'update'), elem('E3', '\\\\AF\\DB\\A\\C', 'delete')];
  const u = unit('pi_af_elements', 'plant-a-pi_af_elements-2-3', b1, b2);
  await sink.upload(u);
  await sink.upload(u); // idempotent
  // AF deletions are marked, not removed (design.md "Destination").
  t.same(await q(`SELECT element_webid, path, op FROM pi.pi_af_elements ORDER BY element_webid`), [
    { element_webid: 'E1', path: '\\\\AF\\DB\\A', op: 'insert' },
    { element_webid: 'E2', path: '\\\\AF\\DB\\A\\B2', op: 'update' },
    { element_webid: 'E3', path: '\\\\AF\\DB\\A\\C', op: 'delete' },
    { element_webid: 'E4', path: '\\\\AF\\DB\\A\\D', op: 'insert' },
  ]);
  // In the time series a delete removes the event.
  await sink.upload(unit('pi_timeseries', 'plant-a-pi_timeseries-4-4', [ts('T1', 0, 9, 'update'), ts('T1', 1, 0, 'delete'), ts('T9', 0, 1, 'delete')]));
  t.same(await q(`SELECT tag_webid, value_double, op FROM pi.pi_timeseries WHERE tag_webid IN ('T1', 'T9') ORDER BY timestamp`), [
    { tag_webid: 'T1', value_double: 9, op: 'update' },
  ]);
});

t.test('errors map to SinkError codes', async (t) => {
  const u = unit('pi_timeseries', 'plant-a-pi_timeseries-5-5', [ts('T5', 0, 1)]);
  w.faults.failRequests(503, 1);
  await t.rejects(sink.upload(u), { code: 'SINK_UNREACHABLE', retryable: true });
  w.faults.failRequests(503, 1, 'upload');
  await t.rejects(sink.upload(u), { code: 'SINK_UNREACHABLE', retryable: true });
  await t.rejects(makeSink({ auth: { type: 'token', token: 'dapi-wrong' } }).upload(u), { code: 'SINK_AUTH_FAILED', retryable: false });
  await t.rejects(makeSink({ caPem: undefined as unknown as string }).upload(u), { code: 'SINK_FAILED', message: /TLS verification failed/ });
  await w.faults.refuseConnections(true);
  await t.rejects(sink.upload(u), { code: 'SINK_UNREACHABLE', retryable: true });
  await w.faults.refuseConnections(false);
  await sink.upload(u);
  t.same(await q(`SELECT count(*)::INT AS n FROM pi.pi_timeseries WHERE tag_webid = 'T5'`), [{ n: 1 }], 'loaded once after the outages');
  const err = await makeSink({ auth: { type: 'token', token: 'dapi-wrong' } })
    .upload(u)
    .catch((e: unknown) => e);
  t.notMatch(String((err as Error).message), /dapi-wrong/, 'no secret in the message');
});

t.test('OAuth M2M: the sink fetches and uses a token', async (t) => {
  const s = makeSink({ auth: { type: 'oauth', client_id: oauth.clientId, client_secret: oauth.clientSecret } });
  await s.upload(unit('pi_tags', 'plant-a-pi_tags-1-1', [{ site: 'plant-a', tag_webid: 'P1', name: 'SINUSOID', ingested_at: ING, op: 'insert' }]));
  t.same(await q(`SELECT tag_webid, name FROM pi.pi_tags`), [{ tag_webid: 'P1', name: 'SINUSOID' }]);
  const bad = makeSink({ auth: { type: 'oauth', client_id: oauth.clientId, client_secret: 'wrong' } });
  await t.rejects(bad.upload(unit('pi_tags', 'plant-a-pi_tags-2-2', [{ site: 'plant-a', tag_webid: 'P2', ingested_at: ING, op: 'insert' }])), {
    code: 'SINK_AUTH_FAILED',
    retryable: false,
  });
  // A token the warehouse refuses is an expired one: retryable with OAuth, and the next try gets a new token.
  w.faults.expireTokens(true);
  await t.rejects(s.upload(unit('pi_tags', 'plant-a-pi_tags-3-3', [{ site: 'plant-a', tag_webid: 'P3', ingested_at: ING, op: 'insert' }])), {
    code: 'SINK_AUTH_FAILED',
    retryable: true,
  });
  w.faults.expireTokens(false);
  await s.upload(unit('pi_tags', 'plant-a-pi_tags-3-3', [{ site: 'plant-a', tag_webid: 'P3', ingested_at: ING, op: 'insert' }]));
  t.same(await q(`SELECT tag_webid FROM pi.pi_tags ORDER BY tag_webid`), [{ tag_webid: 'P1' }, { tag_webid: 'P3' }]);
});
