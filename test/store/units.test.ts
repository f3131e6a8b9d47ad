/**
 * How the store cuts upload units (design.md "Destination"): insert-only runs and runs with changes
 * never share a unit (bulk inserts never MERGE), MERGE units are capped in rows, tables a sink
 * cannot write to are left alone, and a unit's files are read one at a time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { decodeBatch } from '../../agent/batch/decode.js';
import type { Op, Row } from '../../agent/batch/tables.js';
import { Store } from '../../agent/store/store.js';

const open = (t: { teardown(fn: () => void): void }): Store => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pi-agent-units-'));
  const store = Store.open({ stateDir: dir, site: 'plant-a' });
  t.teardown(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return store;
};
const ts = (i: number, op: Op = 'insert'): Row => ({
  site: 'plant-a',
  tag_webid: 'T1',
  timestamp: 1_780_000_000_000_000 + i,
  ordinal: 0,
  value_double: i,
  ingested_at: 1_795_000_000_000_000,
  op,
});
const batch = (store: Store, from: number, n: number, op: Op = 'insert') =>
  store.commitStep([{ table: 'pi_timeseries', rows: Array.from({ length: n }, (_, i) => ts(from + i, op)) }], []);
const LIMITS = { maxBytes: 1 << 30, maxBatches: 1000 };

t.test('insert-only runs and change runs go in separate units, in batch order', async (t) => {
  const store = open(t);
  batch(store, 0, 3);
  batch(store, 3, 3);
  batch(store, 0, 2, 'update');
  batch(store, 1, 1, 'delete');
  batch(store, 6, 3);
  const units: [number, string[]][] = [];
  for (let u = store.nextUploadUnit(undefined, LIMITS); u; u = store.nextUploadUnit(undefined, LIMITS)) {
    units.push([u.batchIds.length, [...u.ops].sort()]);
    store.markUnitCommitted(u.name);
  }
  t.same(units, [
    [2, ['insert']],
    [2, ['delete', 'update']],
    [1, ['insert']],
  ]);
});

t.test('a MERGE unit stops at maxMergeRows (its first batch always goes)', async (t) => {
  const store = open(t);
  batch(store, 0, 3, 'update');
  batch(store, 3, 3, 'update');
  batch(store, 6, 5, 'update');
  const sizes: number[] = [];
  for (let u = store.nextUploadUnit(undefined, { ...LIMITS, maxMergeRows: 4 }); u; u = store.nextUploadUnit(undefined, { ...LIMITS, maxMergeRows: 4 })) {
    sizes.push(u.rows);
    store.markUnitCommitted(u.name);
  }
  t.same(sizes, [3, 3, 5]);
  batch(store, 0, 3);
  batch(store, 3, 3);
  t.equal(store.nextUploadUnit(undefined, { ...LIMITS, maxMergeRows: 4 })!.rows, 6, 'insert-only units have no row cap');
});

t.test('excluded tables: their pending unit and their batches are left alone', async (t) => {
  const store = open(t);
  store.commitStep([{ table: 'pi_tags', rows: [{ site: 'plant-a', tag_webid: 'P1', ingested_at: 1, op: 'update' }] }], []);
  const tags = store.nextUploadUnit(undefined, LIMITS)!;
  t.equal(tags.table, 'pi_tags');
  batch(store, 0, 2);
  const next = store.nextUploadUnit(undefined, { ...LIMITS, exclude: new Set(['pi_tags'] as const) })!;
  t.equal(next.table, 'pi_timeseries', 'the older pending pi_tags unit is skipped');
  t.equal(store.nextUploadUnit('pi_tags', { ...LIMITS, exclude: ['pi_tags'] }), undefined);
  t.equal(store.nextUploadUnit(undefined, LIMITS)!.name, tags.name, 'without the exclusion the pending unit comes first again');
});

t.test('unitFiles: one entry per batch, read on demand', async (t) => {
  const store = open(t);
  batch(store, 0, 2);
  batch(store, 2, 3);
  const u = store.nextUploadUnit(undefined, LIMITS)!;
  const files = store.unitFiles(u);
  t.same(
    files.map((f) => [f.id, f.rows]),
    [
      [u.batchIds[0], 2],
      [u.batchIds[1], 3],
    ],
  );
  t.same(
    files.flatMap((f) => decodeBatch(f.read()).map((r) => r.value_double)),
    [0, 1, 2, 3, 4],
  );
  t.ok(files.every((f) => f.bytes === f.read().length));
  store.markUnitCommitted(u.name);
  t.throws(() => files[0]!.read(), { code: 'STORE_FAILED', message: /no data/ });
});
