/**
 * Issue 17 item 1: a lost state directory loses nothing and duplicates nothing. Simulator → agent
 * (run once) → warehouse emulator (real @databricks/sql driver): land data, delete the state
 * directory, run again with the same site and config. The new store numbers its batches exactly
 * like the lost one did (a reinstall with the clock set back, a cloned image): with staged paths
 * named without the store id, COPY INTO would skip its files as already loaded. The time series
 * resumes where the warehouse is (the overlap re-sent as upserts), AF and event frames are re-read
 * and MERGEd by key: every event, element, attribute and frame is there exactly once.
 */
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import type { TableName } from '../../agent/batch/tables.js';
import { timeseriesSource } from '../../agent/sources/timeseries/source.js';
import { STORE_FILE, Store } from '../../agent/store/store.js';
import { assertExact, duplicateKeys, once, startRig, warehouseRows } from './dbx-env.js';

const AF_TABLES: TableName[] = ['pi_af_elements', 'pi_af_attributes', 'pi_af_templates', 'pi_event_frames', 'pi_event_frame_attributes', 'pi_event_frame_elements'];
const EXTRA = `af:
  databases: ['\\\\SIMAF\\Plant']
event_frames:
  databases: ['\\\\SIMAF\\Plant']
  start: "2026-01-01T00:00:00Z"
`;

/**
 * A table's rows without ingested_at (re-reading changes only that), sorted. Attribute values of an
 * event frame still in progress move with PI's clock: of those, the keys.
 */
async function content(w: Parameters<typeof warehouseRows>[0], table: TableName): Promise<string[]> {
  const rows = await warehouseRows(w, table);
  if (table === 'pi_event_frame_attributes') return rows.map((r) => `${String(r.event_frame_webid)}|${String(r.attribute_webid)}|${String(r.path)}`).sort();
  return rows.map(({ ingested_at: _i, ...r }) => JSON.stringify(r)).sort();
}

t.test('delete the state directory, run again: every event exactly once, AF and event frames once', async (t) => {
  const { sim, w, env } = await startRig(t, { tags: 6, now: '2026-01-01T01:30:00Z', maxCount: 500, extra: EXTRA });
  t.same(await once(env), { ok: true, problems: [] }, 'first run ok');
  const landed = await assertExact(t, sim, w, sim.sim.nowIso(), 'after the first run');
  const before = new Map<TableName, string[]>();
  for (const table of AF_TABLES) {
    before.set(table, await content(w, table));
    t.ok(before.get(table)!.length > 0, `${table} has rows`);
  }

  // The batch sequence of the lost store, given to the new one below.
  const old = new Database(path.join(env.stateDir, STORE_FILE), { readonly: true });
  const seq = (old.prepare(`SELECT min(id) - 1 AS s FROM batches`).get() as { s: number }).s;
  const oldId = (old.prepare(`SELECT value FROM meta WHERE key = 'store_id'`).get() as { value: string }).value;
  old.close();

  // Newer events while the disk is being replaced; then the state directory is gone.
  sim.sim.advance('20m');
  rmSync(env.stateDir, { recursive: true, force: true });
  mkdirSync(env.stateDir, { mode: 0o700 });
  const fresh = Store.open({ stateDir: env.stateDir, site: 'plant-a' });
  t.not(fresh.storeId, oldId, 'the new store has a new id');
  fresh.close();
  const raw = new Database(path.join(env.stateDir, STORE_FILE));
  raw.prepare(`UPDATE sqlite_sequence SET seq = ? WHERE name = 'batches'`).run(seq);
  raw.close();

  t.same(await once(env), { ok: true, problems: [] }, 'run after the lost state directory ok');
  const after = await assertExact(t, sim, w, sim.sim.nowIso(), 'after the lost state directory');
  t.ok(after > landed, 'the newer events landed too');
  for (const table of AF_TABLES) {
    t.equal(await duplicateKeys(w, table), 0, `${table}: no key twice`);
    t.same(await content(w, table), before.get(table), `${table}: the same rows, once`);
  }
  t.equal((await warehouseRows(w, 'pi_tags')).length, 6, 'pi_tags: one row per tag');
  t.equal((await warehouseRows(w, 'pi_agent_status')).length, 2, "both runs' heartbeats landed");

  const store = Store.openReadonly({ stateDir: env.stateDir });
  const notes = timeseriesSource.status!(store, env.config()).notes ?? [];
  store.close();
  t.match(notes[0], /^progress recovered from the warehouse at \S+Z: 6 tag\(s\), latest 2026-01-01T01:\d\d:\d\d/, 'status says progress was recovered and from where');

  // A third run goes on from its own progress: nothing asked, nothing duplicated.
  sim.sim.advance('5m');
  t.same(await once(env), { ok: true, problems: [] }, 'third run ok');
  await assertExact(t, sim, w, sim.sim.nowIso(), 'after a third run');
});
