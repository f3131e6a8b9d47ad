import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { decodeBatch } from '../../agent/batch/decode.js';
import type { Row } from '../../agent/batch/tables.js';
import { NoStoreError } from '../../agent/errors.js';
import { STORE_FILE, Store } from '../../agent/store/store.js';
import { SCHEMA_VERSION } from '../../agent/store/schema.js';

function stateDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pi-agent-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function row(seq: number, tag = `T${seq % 3}`): Row {
  return { site: 'plant-a', tag_webid: tag, timestamp: 1_780_000_000_000_000 + seq, ordinal: 0, value_double: seq, ingested_at: 1_795_000_000_000_000, op: 'insert' };
}
const rows = (from: number, n: number): Row[] => Array.from({ length: n }, (_, i) => row(from + i));
const LIMITS = { maxBytes: 64 * 1024 * 1024, maxBatches: 1000 };

t.test('a new store: WAL, synchronous FULL, incremental auto-vacuum, 2 MB page cache, current schema version', async (t) => {
  const dir = stateDir(t);
  const store = Store.open({ stateDir: dir, site: 'plant-a' });
  store.close();
  const db = new Database(path.join(dir, STORE_FILE), { readonly: true });
  t.teardown(() => db.close());
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  t.equal(db.pragma('auto_vacuum', { simple: true }), 2, 'INCREMENTAL');
  t.equal(db.pragma('page_size', { simple: true }), 8192);
  t.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  // synchronous is per connection: check what the store's own connection uses.
  const s2 = Store.open({ stateDir: dir, site: 'plant-a' });
  t.equal((s2 as unknown as { db: Database.Database }).db.pragma('synchronous', { simple: true }), 2, 'FULL');
  // better-sqlite3's build default is a 16 MB page cache (-16000 KiB): ~30 MB of the agent's peak
  // RSS in the catch-up bench. The store's connection uses SQLite's own default, 2 MB.
  t.equal((s2 as unknown as { db: Database.Database }).db.pragma('cache_size', { simple: true }), -2000, 'page cache 2000 KiB');
  s2.close();
});

t.test('commitStep commits batches and progress together; reopen keeps everything', async (t) => {
  const dir = stateDir(t);
  let store = Store.open({ stateDir: dir, site: 'plant-a' });
  store.commitStep(
    [
      { table: 'pi_timeseries', rows: rows(0, 10) },
      { table: 'pi_tags', rows: [] },
    ],
    [
      { key: 'ts:T0', value: { watermark: 123, digest: [1, 2] } },
      { key: 'ts:T1', value: 'x' },
      { key: 'tags:srv', value: 7 },
    ],
  );
  store.commitStep([], [{ key: 'ts:T1', value: 'y' }]); // progress alone is fine
  store.close();
  store = Store.open({ stateDir: dir, site: 'plant-a' });
  t.teardown(() => store.close());
  t.same(store.getProgress('ts:T0'), { watermark: 123, digest: [1, 2] });
  t.equal(store.getProgress('ts:T1'), 'y');
  t.equal(store.getProgress('nope'), undefined);
  t.same(
    [...store.getProgressByPrefix('ts:')],
    [
      ['ts:T0', { watermark: 123, digest: [1, 2] }],
      ['ts:T1', 'y'],
    ],
  );
  store.deleteProgress(['ts:T0']);
  t.same([...store.getProgressByPrefix('ts:').keys()], ['ts:T1']);
  const st = store.stats();
  t.equal(st.pending_rows, 10);
  t.equal(st.sealed_batches, 1, 'empty row lists make no batch');
  t.ok(st.bytes > 0 && st.bytes === store.bufferBytes());
  t.type(st.oldest_batch_at, 'string');
  const unit = store.nextUploadUnit(undefined, LIMITS)!;
  t.same(
    decodeBatch(store.unitData(unit)).map((r) => r.value_double),
    [0, 3, 6, 9, 1, 4, 7, 2, 5, 8],
    'sorted by (tag, time)',
  );
});

t.test('a failure inside the transaction leaves neither batch nor progress', async (t) => {
  const dir = stateDir(t);
  let store = Store.open({ stateDir: dir, site: 'plant-a' });
  store.commitStep([{ table: 'pi_timeseries', rows: rows(0, 3) }], [{ key: 'p', value: 1 }]);
  store.close();
  // A trigger that fails the progress write, after the batch insert in the same transaction.
  const raw = new Database(path.join(dir, STORE_FILE));
  raw.exec(`CREATE TRIGGER boom BEFORE INSERT ON progress WHEN NEW.key = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END`);
  raw.close();
  store = Store.open({ stateDir: dir, site: 'plant-a' });
  t.teardown(() => store.close());
  t.throws(
    () =>
      store.commitStep(
        [{ table: 'pi_timeseries', rows: rows(3, 5) }],
        [
          { key: 'p', value: 2 },
          { key: 'boom', value: 1 },
        ],
      ),
    { code: 'STORE_FAILED' },
  );
  t.equal(store.getProgress('p'), 1, 'progress did not move');
  t.equal(store.stats().pending_rows, 3, 'the batch was rolled back');
  t.throws(() => store.commitStep([{ table: 'pi_timeseries', rows: [{ ...row(9), tag_webid: null }] }], [{ key: 'p', value: 3 }]), { code: 'BATCH_ENCODE_FAILED' });
  t.throws(() => store.commitStep([{ table: 'pi_timeseries', rows: rows(10, 1) }], [{ key: 'p', value: 10n }]), { code: 'STORE_FAILED' });
  t.equal(store.getProgress('p'), 1);
  t.equal(store.stats().sealed_batches, 1);
});

t.test('a store written by a newer pi-agent is refused', async (t) => {
  const dir = stateDir(t);
  Store.open({ stateDir: dir, site: 'a' }).close();
  const raw = new Database(path.join(dir, STORE_FILE));
  raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
  raw.close();
  t.throws(() => Store.open({ stateDir: dir, site: 'a' }), { code: 'STORE_TOO_NEW', message: /newer pi-agent/ });
  t.throws(() => Store.openReadonly({ stateDir: dir }), { code: 'STORE_TOO_NEW' });
  // the refused open released its lock
  const raw2 = new Database(path.join(dir, STORE_FILE));
  raw2.pragma(`user_version = ${SCHEMA_VERSION}`);
  raw2.close();
  Store.open({ stateDir: dir, site: 'a' }).close();
});

t.test('a second writer is refused; a reader is not', async (t) => {
  const dir = stateDir(t);
  const store = Store.open({ stateDir: dir, site: 'a' });
  t.throws(() => Store.open({ stateDir: dir, site: 'a' }), { code: 'STORE_LOCKED', message: new RegExp(`pid ${process.pid}`) });
  store.commitStep([{ table: 'pi_timeseries', rows: rows(0, 4) }], [{ key: 'k', value: 'v' }]);
  const reader = Store.openReadonly({ stateDir: dir });
  t.equal(reader.stats().pending_rows, 4);
  t.equal(reader.getProgress('k'), 'v');
  t.throws(() => reader.commitStep([], [{ key: 'k', value: 'w' }]), { code: 'STORE_FAILED' });
  reader.close();
  store.close();
  const again = Store.open({ stateDir: dir, site: 'a' });
  again.close();
  t.throws(() => Store.openReadonly({ stateDir: path.join(dir, 'missing') }), { code: 'STORE_FAILED', message: /has not run/ });
  t.throws(() => Store.openReadonly({ stateDir: path.join(dir, 'missing') }), NoStoreError, 'a typed error: status tells "never run" by its class, not its text');
});

t.test('buffer full flag follows maxBufferBytes; commitStep never drops', async (t) => {
  const dir = stateDir(t);
  const store = Store.open({ stateDir: dir, site: 'a', maxBufferBytes: 3000 });
  t.teardown(() => store.close());
  t.equal(store.isBufferFull(), false);
  let n = 0;
  while (!store.isBufferFull()) store.commitStep([{ table: 'pi_timeseries', rows: rows(n++ * 10, 10) }], []);
  t.ok(store.bufferBytes() >= 3000);
  store.commitStep([{ table: 'pi_timeseries', rows: rows(n++ * 10, 10) }], []);
  t.equal(store.stats().pending_rows, n * 10, 'a full buffer still accepts a step (sources pause themselves)');
  while (store.isBufferFull()) {
    const u = store.nextUploadUnit(undefined, { maxBytes: 1, maxBatches: 1 })!;
    store.markUnitCommitted(u.name, 'directory');
  }
  t.ok(store.bufferBytes() < 3000);
});

t.test('upload units: named in the ledger first, same unit after a crash, coalesced, committed', async (t) => {
  const dir = stateDir(t);
  let store = Store.open({ stateDir: dir, site: 'plant-a' });
  for (let i = 0; i < 5; i++) store.commitStep([{ table: 'pi_timeseries', rows: rows(i * 10, 10) }], []);
  store.commitStep([{ table: 'pi_tags', rows: [{ site: 'plant-a', tag_webid: 'W', ingested_at: 1, op: 'update' }] }], []);
  const unit = store.nextUploadUnit(undefined, { maxBytes: 1 << 30, maxBatches: 3 })!;
  const ids = unit.batchIds;
  t.equal(ids.length, 3, 'coalesced up to maxBatches');
  t.ok(ids[0]! > 1_700_000_000_000, 'batch ids start at the store creation time (never re-used by a new store)');
  t.same(ids, [ids[0]!, ids[0]! + 1, ids[0]! + 2]);
  t.equal(unit.name, `plant-a-pi_timeseries-${ids[0]}-${ids[2]}`);
  t.equal(unit.rows, 30);
  t.same([...unit.ops], ['insert']);
  // "crash": reopen without marking anything
  store.close();
  store = Store.open({ stateDir: dir, site: 'plant-a' });
  t.teardown(() => store.close());
  const again = store.nextUploadUnit(undefined, { maxBytes: 1, maxBatches: 1 })!;
  t.equal(again.name, unit.name, 'the pending unit comes back, whatever the new limits');
  t.same(again.batchIds, ids);
  t.same(
    store.pendingUnits().map((u) => u.name),
    [unit.name],
  );
  const data = store.unitData(again);
  t.same(
    decodeBatch(data).map((r) => r.value_double),
    [...[0, 3, 6, 9, 1, 4, 7, 2, 5, 8], ...[12, 15, 18, 10, 13, 16, 19, 11, 14, 17], ...[21, 24, 27, 22, 25, 28, 20, 23, 26, 29]],
    'merged batches keep their order',
  );
  store.recordUnitFailure(unit.name, 'SINK_UNREACHABLE: down');
  t.equal(store.nextUploadUnit(undefined, LIMITS)!.attempts, 1);
  store.markUnitCommitted(unit.name, 'directory');
  store.markUnitCommitted(unit.name, 'directory'); // idempotent
  t.throws(() => store.unitData(unit), { code: 'STORE_FAILED', message: /no data/ });
  t.equal(store.stats().pending_rows, 21);
  t.type(store.sinkStatus('directory').last_commit, 'string');

  // by size: each batch alone when maxBytes is tiny; the table filter is honoured
  const tags = store.nextUploadUnit('pi_tags', LIMITS)!;
  t.equal(tags.table, 'pi_tags');
  t.same([...tags.ops], ['update']);
  store.markUnitCommitted(tags.name, 'directory');
  const one = store.nextUploadUnit(undefined, { maxBytes: 1, maxBatches: 100 })!;
  t.equal(one.batchIds.length, 1);
  t.equal(one.batchIds[0], ids[2]! + 1);
  store.markUnitCommitted(one.name);
  const rest = store.nextUploadUnit(undefined, LIMITS)!;
  t.same(rest.batchIds, [ids[2]! + 2]);
  store.markUnitCommitted(rest.name);
  t.equal(store.nextUploadUnit(undefined, LIMITS), undefined);
  t.same(store.stats(), { pending_rows: 0, sealed_batches: 0, bytes: 0, oldest_batch_at: null });
});

t.test('source and sink status', async (t) => {
  const dir = stateDir(t);
  const store = Store.open({ stateDir: dir, site: 'a' });
  t.teardown(() => store.close());
  store.recordSourceError('timeseries', 'PI_UNREACHABLE: connect refused', new Date('2026-11-26T10:00:00Z'));
  store.setSourceLag('timeseries', 42.5);
  t.same(store.sourceStatuses(), [
    { name: 'timeseries', last_success: null, last_error: 'PI_UNREACHABLE: connect refused', last_error_at: '2026-11-26T10:00:00.000Z', lag_seconds: 42.5 },
  ]);
  store.recordSourceSuccess('timeseries', { at: new Date('2026-11-26T10:05:00Z'), lagSeconds: 3 });
  store.recordSourceSuccess('af', { at: new Date('2026-11-26T10:06:00Z') });
  t.same(store.sourceStatuses(), [
    { name: 'af', last_success: '2026-11-26T10:06:00.000Z', last_error: null, last_error_at: null, lag_seconds: null },
    { name: 'timeseries', last_success: '2026-11-26T10:05:00.000Z', last_error: null, last_error_at: null, lag_seconds: 3 },
  ]);
  t.same(store.sinkStatus('databricks'), { type: 'databricks', state: null, last_commit: null, last_error: null, last_error_at: null });
  store.recordSinkState('databricks', 'retrying', 'SINK_UNREACHABLE: timeout');
  t.match(store.sinkStatus('databricks'), { state: 'retrying', last_error: 'SINK_UNREACHABLE: timeout', last_commit: null });
});
