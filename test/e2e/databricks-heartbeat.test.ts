/**
 * Issue 4, the heartbeat read back: simulator → agent (`run --once`) → warehouse emulator, then the
 * pi_agent_status rows in Databricks (design.md "Destination": version, lag, buffer, errors), field
 * by field: agent id and site, the package version, each source's lag, the buffer at the time of
 * the beat (from the store's own ledger), no error; then a PI failure, and a sink failure on one
 * table, each visible in the next row.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { Store } from '../../agent/store/store.js';
import { once, startRig, warehouseRows } from './dbx-env.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

interface Ledger {
  maxId: number;
  open: Set<number>;
}

t.test('pi_agent_status rows carry the exact agent state of each run', async (t) => {
  const { sim, w, env } = await startRig(t, { tags: 3, now: '2026-01-01T00:30:00Z' });
  const dbFile = path.join(env.stateDir, 'pi-agent.db');
  type BatchRow = { id: number; tbl: string; rows: number; bytes: number; state: string };
  const batches = (): BatchRow[] => {
    const db = new Database(dbFile, { readonly: true });
    try {
      return db.prepare(`SELECT id, tbl, rows, bytes, state FROM batches ORDER BY id`).all() as BatchRow[];
    } finally {
      db.close();
    }
  };
  const sources = () => {
    const s = Store.openReadonly({ stateDir: env.stateDir });
    try {
      return s.sourceStatuses();
    } finally {
      s.close();
    }
  };
  const storeId = () => {
    const s = Store.openReadonly({ stateDir: env.stateDir });
    try {
      return s.storeId;
    } finally {
      s.close();
    }
  };
  let ledger: Ledger = { maxId: 0, open: new Set() };
  /** What the beat of the run that just ended must say about the buffer: the batches not committed when it was written. */
  const expectedBuffer = () => {
    const all = batches();
    const beat = all.find((b) => b.tbl === 'pi_agent_status' && b.id > ledger.maxId)!;
    const buffered = all.filter((b) => b.id < beat.id && (b.id > ledger.maxId || ledger.open.has(b.id)));
    ledger = { maxId: Math.max(...all.map((b) => b.id)), open: new Set(all.filter((b) => b.state !== 'committed').map((b) => b.id)) };
    return { buffer_rows: buffered.reduce((n, b) => n + b.rows, 0), buffer_bytes: buffered.reduce((n, b) => n + b.bytes, 0) };
  };
  const statusRows = async () => (await warehouseRows(w, 'pi_agent_status')).sort((a, b) => Number(a.reported_at) - Number(b.reported_at));
  const expectRow = (
    row: Record<string, unknown>,
    lastError: string | null,
    buffer: { buffer_rows: number; buffer_bytes: number },
    from: number,
    to: number,
    what: string,
  ) => {
    const src = sources();
    const lags = src.map((s) => s.lag_seconds).filter((l): l is number => l !== null);
    t.same(
      { ...row, reported_at: undefined, ingested_at: undefined, sources_json: JSON.parse(String(row.sources_json)) },
      {
        site: 'plant-a',
        agent_id: `${hostname()}:${env.stateDir}`,
        version: pkg.version,
        max_lag_seconds: lags.length ? Math.max(...lags) : null,
        sources_json: src.map((s) => ({ name: s.name, lag_seconds: s.lag_seconds, last_success: s.last_success, last_error: s.last_error })),
        ...buffer,
        last_error: lastError,
        store_id: storeId(),
        host: hostname(),
        shard: null,
        op: 'insert',
        reported_at: undefined,
        ingested_at: undefined,
      },
      `${what}: every field`,
    );
    t.ok(
      Number(row.reported_at) >= from * 1000 && Number(row.reported_at) <= to * 1000 && row.ingested_at === row.reported_at,
      `${what}: reported_at is the time of the run`,
    );
  };

  // Run 1: everything works.
  let t0 = Date.now();
  t.same(await once(env), { ok: true, problems: [] });
  let rows = await statusRows();
  t.equal(rows.length, 1, 'run 1: one heartbeat row');
  const b1 = expectedBuffer();
  const landed = (await warehouseRows(w, 'pi_timeseries')).length + (await warehouseRows(w, 'pi_tags')).length;
  t.equal(b1.buffer_rows, landed, `run 1: the beat saw the whole first load buffered (${landed} rows)`);
  expectRow(rows[0]!, null, b1, t0, Date.now(), 'run 1');
  const src1 = JSON.parse(String(rows[0]!.sources_json)) as { name: string; lag_seconds: number | null; last_error: string | null }[];
  t.same(
    src1.map((s) => [s.name, s.lag_seconds, s.last_error]),
    [
      ['tags', null, null],
      ['timeseries', 0, null],
    ],
    'run 1: timeseries lag 0 (extracted up to the PI clock), tags have none',
  );

  // Run 2: PI Web API refuses the recorded-values batch requests; the beat carries the source error.
  sim.sim.advance('10m');
  sim.sim.faults.set([{ kind: 'status', status: 404, route: '/batch', method: 'POST', message: 'Simulated: batch endpoint gone' }]);
  t0 = Date.now();
  const r2 = await once(env);
  sim.sim.faults.set([]);
  t.equal(r2.ok, false, 'run 2: not ok');
  rows = await statusRows();
  t.equal(rows.length, 2, 'run 2: a second row');
  const err2 = sources().find((s) => s.last_error !== null)!;
  t.match(err2.last_error ?? '', /404/, `run 2: a source failed (${err2.name})`);
  expectRow(rows[1]!, `${err2.name}: ${err2.last_error}`, expectedBuffer(), t0, Date.now(), 'run 2');

  // Run 3: the principal lost MODIFY on pi_timeseries; the beat is written before the sink runs,
  // so run 3's row has no error and run 4's row carries the sink's.
  sim.sim.advance('10m');
  w.faults.denyWrites(['pi_timeseries']);
  t0 = Date.now();
  const r3 = await once(env);
  w.faults.denyWrites([]);
  t.match(r3.problems.join('\n'), /table pi_timeseries: .*INSUFFICIENT_PERMISSIONS/, 'run 3: the sink failed on pi_timeseries only');
  rows = await statusRows();
  t.equal(rows.length, 3, 'run 3: the heartbeat table still loads');
  expectRow(rows[2]!, null, expectedBuffer(), t0, Date.now(), 'run 3');
  const sinkError = (() => {
    const s = Store.openReadonly({ stateDir: env.stateDir });
    try {
      return s.sinkStatus('databricks').last_error;
    } finally {
      s.close();
    }
  })();
  t0 = Date.now();
  t.same(await once(env), { ok: true, problems: [] }, 'run 4: ok');
  rows = await statusRows();
  t.equal(rows.length, 4);
  const b4 = expectedBuffer();
  t.ok(b4.buffer_rows > 0, `run 4: the beat counts run 3's buffered time series (${b4.buffer_rows} rows)`);
  expectRow(rows[3]!, `sink: ${sinkError}`, b4, t0, Date.now(), 'run 4');
  t.match(String(rows[3]!.last_error), /^sink: SINK_PERMISSION_DENIED: .*table pi_timeseries: .*MODIFY on Table 'main\.pi\.pi_timeseries'/);
});
