/**
 * Issue 4, a permanent error on one table (the principal lost MODIFY on pi_tags: the emulator's
 * `denyWrites` fault, Databricks' [INSUFFICIENT_PERMISSIONS] answer) stops that table only: the
 * other tables keep loading exactly, pi_tags' batches stay buffered, status names the table and the
 * error, and once the grant is back the next try loads them once. Also the forwarding loop itself:
 * a stopped table is skipped until its retry time, and a one-unit-at-a-time caller (flush) still
 * uploads every other table before it hears about the stopped one.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { TABLES, type Row } from '../../agent/batch/tables.js';
import { buildStatus } from '../../agent/service/status.js';
import { DatabricksSink } from '../../agent/sinks/databricks/sink.js';
import { blockedTablesOf, forwardAll } from '../../agent/sinks/forward.js';
import { Store } from '../../agent/store/store.js';
import { startWarehouse } from '../sim/databricks/server.js';
import { assertExact, duplicateKeys, once, startRig, warehouseRows } from './dbx-env.js';
import { emulatorSinkOptions } from '../helpers/dbx-sink.js';

t.test('no MODIFY on pi_tags: the other tables load exactly, pi_tags waits, then arrives once', async (t) => {
  const { sim, w, env } = await startRig(t, { tags: 4, now: '2026-01-01T00:30:00Z' });
  w.faults.denyWrites(['pi_tags']);
  for (let i = 0; i < 2; i++) {
    const r = await once(env);
    t.equal(r.ok, false, `run ${i}: not ok while pi_tags is denied`);
    const text = r.problems.join('\n');
    t.match(
      text,
      /^sink: SINK_PERMISSION_DENIED: .*table pi_tags: .*INSUFFICIENT_PERMISSIONS.*MODIFY on Table 'main\.pi\.pi_tags'/m,
      `run ${i}: the problem names the table and the error`,
    );
    t.notMatch(text, /pi_timeseries/, `run ${i}: pi_timeseries is not a problem`);
    await assertExact(t, sim, w, sim.sim.nowIso(), `run ${i}: pi_timeseries loaded although pi_tags is denied`);
    t.equal((await warehouseRows(w, 'pi_tags')).length, 0, `run ${i}: nothing in pi_tags`);
    const st = await buildStatus(env.config());
    t.equal(st.sink.state, 'failed', `run ${i}: sink state failed`);
    t.match(st.sink.last_error ?? '', /table pi_tags: .*INSUFFICIENT_PERMISSIONS/, `run ${i}: status shows the table and the error`);
    t.ok(st.buffer.sealed_batches > 0, `run ${i}: pi_tags batches stay buffered (${st.buffer.sealed_batches})`);
    const store = Store.openReadonly({ stateDir: env.stateDir });
    try {
      t.same([...new Set(store.pendingUnits().map((u) => u.table))], ['pi_tags'], `run ${i}: only pi_tags is pending`);
      t.same(
        store.pendingUnits().map((u) => u.attempts),
        [i + 1],
        `run ${i}: its unit was tried once per run`,
      );
    } finally {
      store.close();
    }
    sim.sim.advance('10m');
  }
  w.faults.denyWrites([]);
  t.same(await once(env), { ok: true, problems: [] }, 'grant back: the next run is ok');
  await assertExact(t, sim, w, sim.sim.nowIso(), 'after the fix');
  const tags = await warehouseRows(w, 'pi_tags');
  t.equal(tags.length, 4, 'pi_tags has one row per tag');
  t.equal(await duplicateKeys(w, 'pi_tags'), 0);
  const st = await buildStatus(env.config());
  t.same({ state: st.sink.state, sealed: st.buffer.sealed_batches }, { state: 'ok', sealed: 0 });
});

t.test('forwardAll: a stopped table is skipped until its retry time; one-unit callers upload the rest first', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'pi-agent-tblerr-'));
  const w = await startWarehouse({ dataDir: join(root, 'w') });
  const store = Store.open({ stateDir: join(root, 'state'), site: 'plant-a' });
  const sink = new DatabricksSink(await emulatorSinkOptions(w, root));
  t.teardown(async () => {
    await sink.close();
    store.close();
    await w.close();
    await rm(root, { recursive: true, force: true });
  });
  const T0 = Date.UTC(2026, 0, 1) * 1000;
  const tsRows = (from: number): Row[] =>
    [0, 1, 2].map((i) => ({ site: 'plant-a', tag_webid: 'T1', timestamp: T0 + (from + i) * 1e6, ordinal: 0, value_double: from + i, ingested_at: T0, op: 'insert' }));
  const tag = (id: string): Row => ({ site: 'plant-a', tag_webid: id, name: id, ingested_at: T0, op: 'update' });
  // Oldest first: pi_tags, then three time-series batches (one unit each with maxBatches 1).
  store.commitStep([{ table: 'pi_tags', rows: [tag('P1'), tag('P2')] }], []);
  for (const from of [0, 3, 6]) store.commitStep([{ table: 'pi_timeseries', rows: tsRows(from) }], []);
  w.faults.denyWrites(['pi_tags']);
  const count = async (table: keyof typeof TABLES) => Number((await w.query(`SELECT count(*)::INT AS n FROM pi.${table}`))[0]!.n);

  // flush's loop: one unit per call until a call uploads nothing or throws.
  const calls: string[] = [];
  for (let i = 0; i < 10; i++) {
    const r = await forwardAll(store, sink, { maxBatches: 1, maxUnits: 1, tableRetryMs: 60_000 }).then(
      (x) => `units ${x.units}`,
      (e: { code?: string }) => `threw ${e.code}`,
    );
    calls.push(r);
    if (r !== 'units 1') break;
  }
  t.same(calls, ['units 1', 'units 1', 'units 1', 'threw SINK_PERMISSION_DENIED'], 'every time-series unit first, then the error');
  t.equal(await count('pi_timeseries'), 9);
  t.equal(await count('pi_tags'), 0);
  t.same([...blockedTablesOf(store).keys()], ['pi_tags']);
  t.same(
    store.pendingUnits().map((u) => [u.table, u.attempts]),
    [['pi_tags', 1]],
    'tried once, not once per call',
  );

  // Within the retry time the table is not tried again, even once the grant is back.
  w.faults.denyWrites([]);
  store.commitStep([{ table: 'pi_timeseries', rows: tsRows(9) }], []);
  await t.rejects(forwardAll(store, sink, { tableRetryMs: 60_000 }), { code: 'SINK_PERMISSION_DENIED', message: /table pi_tags: .*INSUFFICIENT_PERMISSIONS/ });
  t.same(
    store.pendingUnits().map((u) => u.attempts),
    [1],
    'skipped, not tried',
  );
  t.equal(await count('pi_timeseries'), 12, 'the other table still loads');
  // After its retry time (a clock 61 s ahead) the table is tried again and loads once.
  const later = Date.now() + 61_000;
  t.same(await forwardAll(store, sink, { clock: () => later }), { units: 1, rows: 2 });
  t.equal(await count('pi_tags'), 2);
  t.same(blockedTablesOf(store).size, 0);
  t.same(store.stats().sealed_batches, 0);
  t.equal(store.sinkStatus('databricks').state, 'ok');
});
