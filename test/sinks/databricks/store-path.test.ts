/**
 * Staged paths carry the store id (SinkUnit.store): a store made after a lost state directory that
 * numbers its batches like an earlier store did still lands its rows. COPY INTO skips a path it has
 * loaded, even if the file changed (the emulator keeps that rule, test/sim/databricks/engine.ts).
 * Against the warehouse emulator with the real @databricks/sql driver.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { encodeBatch } from '../../../agent/batch/encode.js';
import { TABLES, type Row } from '../../../agent/batch/tables.js';
import { DatabricksSink } from '../../../agent/sinks/databricks/sink.js';
import type { SinkUnit } from '../../../agent/sinks/types.js';
import { startWarehouse } from '../../sim/databricks/server.js';
import { emulatorSinkOptions } from '../../helpers/dbx-sink.js';

const root = await mkdtemp(join(tmpdir(), 'dbx-store-path-'));
const w = await startWarehouse({ dataDir: join(root, 'data') });
const sink = new DatabricksSink(await emulatorSinkOptions(w, root));
t.teardown(async () => {
  await sink.close();
  await w.close();
  await rm(root, { recursive: true, force: true });
});

const T0 = Date.UTC(2026, 0, 1) * 1000;
const row = (i: number, v: number): Row => ({
  site: 'plant-a',
  tag_webid: 'T1',
  timestamp: T0 + i * 1_000_000,
  ordinal: 0,
  value_double: v,
  ingested_at: T0,
  op: 'insert',
});
const unitOf = (store: string, rows: Row[]): SinkUnit => {
  const data = encodeBatch(TABLES.pi_timeseries, rows);
  // The same unit name and batch id from both stores: the second store numbered its batches alike.
  return {
    name: 'plant-a-pi_timeseries-7-7',
    table: 'pi_timeseries',
    store,
    rows: rows.length,
    files: [{ id: 7, rows: rows.length, bytes: data.length, read: () => data }],
    ops: new Set(['insert']),
  };
};

t.test('two stores with the same unit names both land: their staged paths differ by store id', async (t) => {
  await sink.prepare();
  await sink.upload(unitOf('aaaaaaaaaaaaaaaa', [row(0, 1), row(1, 2)]));
  await sink.upload(unitOf('bbbbbbbbbbbbbbbb', [row(2, 3)]));
  t.same(
    await w.query(`SELECT value_double FROM pi.pi_timeseries ORDER BY timestamp`),
    [{ value_double: 1 }, { value_double: 2 }, { value_double: 3 }],
    'every row landed once',
  );
  const paths = (await w.query(`SELECT file_path FROM _emulator.copy_history ORDER BY loaded_at`)).map((r) => String(r.file_path));
  t.equal(paths.length, 2);
  t.match(paths[0], /plant-a\/pi_timeseries\/aaaaaaaaaaaaaaaa\/plant-a-pi_timeseries-7-7\/7\.parquet$/);
  t.match(paths[1], /plant-a\/pi_timeseries\/bbbbbbbbbbbbbbbb\/plant-a-pi_timeseries-7-7\/7\.parquet$/);
});
