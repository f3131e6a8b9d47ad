/**
 * Late data older than the lookback window (issue 3, fidelity §8): found through PI Web API stream
 * updates, sent as upserts and deletes, and reported; where the server has no stream updates, or
 * its markers were lost, status says what is not seen. Simulator → agent → store → directory sink →
 * Parquet read back, compared with the simulator's ground truth event by event.
 */
import t, { type Test } from 'tap';
import { bareLogger } from '../../../agent/observe/log.js';
import { parsePiTimestamp } from '../../../agent/pi/time.js';
import { buildStatus } from '../../../agent/service/status.js';
import { check } from '../../../agent/service/check.js';
import { runTimeseriesSource } from '../../../agent/sources/timeseries/source.js';
import { UPDATES_STATE, type UpdatesState } from '../../../agent/sources/timeseries/progress.js';
import { Store } from '../../../agent/store/store.js';
import { changeOpsAt, landedTable, readChangeLog } from '../../helpers/landed.js';
import { compareWithArchive, idOnly, landedEventsByTag, makeAgentEnv, runAgentOnce, simAgentYaml, withAgent } from '../../helpers/agent-env.js';
import { startSimulator } from '../../sim/piwebapi/server.js';

const START = '2026-01-01T00:00:00Z';
const us = (iso: string): number => parsePiTimestamp(iso).us;
const isoOf = (iso: string): string => new Date(us(iso) / 1000).toISOString();

async function setup(
  t: Test,
  o: { tags?: number; lookbackEvery?: string; lookbackFullEvery?: string; streamUpdates?: 'auto' | 'off'; simUpdates?: boolean; maxCount?: number } = {},
) {
  const sim = await startSimulator({
    port: 0,
    tags: o.tags ?? 9,
    seed: 17,
    historyStart: START,
    now: '2026-01-01T03:00:00Z',
    ...(o.simUpdates === false ? { streamUpdates: false } : {}),
  });
  const env = makeAgentEnv((paths) =>
    simAgentYaml(paths, {
      piUrl: sim.url,
      pi: { max_count: o.maxCount ?? 1000, tags_per_request: 4 },
      timeseries: {
        lookback: '30m',
        lookback_every: o.lookbackEvery ?? '0s',
        stream_updates: o.streamUpdates ?? 'auto',
        ...(o.lookbackFullEvery ? { lookback_full_every: o.lookbackFullEvery } : {}),
      },
    }),
  );
  t.teardown(async () => {
    await sim.close();
    env.cleanup();
  });
  const once = () => runAgentOnce(env);
  /** One timeseries cycle on its own (no sink), for its counts. */
  const tsCycle = () => withAgent(env, (agent) => runTimeseriesSource(agent));
  const compareAll = async (t: Test) =>
    compareWithArchive(t, sim.sim, landedEventsByTag((await landedTable(env.outDir, 'pi_timeseries')).values()), { start: START }).events;
  /** The change-log rows of one tag at some timestamps: "op@iso#ordinal". */
  const opsAt = (tag: number, isos: string[]) => changeOpsAt(env.outDir, idOnly(sim.sim.tagWebId(tag)), isos.map(us));
  const state = () => {
    const st = Store.openReadonly({ stateDir: env.stateDir, maxBufferBytes: 1 << 30 });
    try {
      return { updates: st.getProgress<UpdatesState>(UPDATES_STATE.key), markers: st.getProgressByPrefix<{ m: string }>('su:').size };
    } finally {
      st.close();
    }
  };
  const notes = async () => (await buildStatus(env.config())).sources.find((s) => s.name === 'timeseries')?.notes ?? [];
  /**
   * Three changes in [from, to]: an insert at `tIns` on tag `insTag`, an edit of the last numeric
   * event of one tag, the deletion of the first of another (tags 3-8 with numeric events there).
   */
  const changeWindow = (t: Test, o: { insTag: number; tIns: string; from: string; to: string; edit: number }) => {
    const s = sim.sim;
    s.insertEvent(o.insTag, { timestamp: o.tIns, value: 42.5 });
    const inWindow = (tag: number) => s.truth(tag, o.from, o.to).filter((e) => typeof e.Value === 'number');
    const [edTag, delTag] = [3, 4, 5, 6, 7, 8].filter((i) => inWindow(i).length > 1);
    t.ok(edTag !== undefined && delTag !== undefined, 'two numeric tags with events in the window');
    const edited = inWindow(edTag!).at(-1)!.Timestamp;
    s.editEvent(edTag!, edited, { value: o.edit });
    const removed = inWindow(delTag!)[0]!.Timestamp;
    t.equal(s.deleteEvents(delTag!, removed, 0), 1);
    /** After the cycles: each change landed once. */
    const landedOnce = async () => {
      t.same(await opsAt(o.insTag, [o.tIns]), [`insert@${isoOf(o.tIns)}#0`], 'the late insert: one insert');
      t.same(await opsAt(edTag!, [edited]), [`insert@${isoOf(edited)}#0`, `update@${isoOf(edited)}#0`], 'the edit: one update');
      t.same(await opsAt(delTag!, [removed]), [`insert@${isoOf(removed)}#0`, `delete@${isoOf(removed)}#0`], 'the deletion: one delete');
    };
    return { landedOnce };
  };
  return { sim, s: sim.sim, env, once, tsCycle, compareAll, opsAt, state, notes, changeWindow };
}

t.test('changes older than the lookback window arrive as upserts and deletes, once, and are reported', async (t) => {
  const { s, env, once, compareAll, opsAt, state, notes } = await setup(t);
  t.same(await once(), { ok: true, problems: [] });
  t.equal(state().markers, 9, 'every tag registered for stream updates at its first read');
  t.same(await notes(), [], 'nothing to report yet');

  // 1 to 2.5 hours behind PI's now (03:00): far outside the 30-minute lookback.
  const old0 = s.truth(0, '2026-01-01T00:30:00Z', '2026-01-01T00:45:00Z');
  const old1 = s.truth(1, '2026-01-01T01:30:00Z', '2026-01-01T01:45:00Z');
  t.ok(old0.length > 2 && old1.length > 2);
  s.insertEvent(0, { timestamp: '2026-01-01T00:40:00.25Z', value: 4242 });
  s.editEvent(0, old0[1]!.Timestamp, { value: -7 });
  s.deleteEvents(1, old1[0]!.Timestamp);
  // Inside the window: the re-read finds it, as before.
  s.insertEvent(2, { timestamp: '2026-01-01T02:50:00.5Z', value: 99 });
  s.advance('5m');
  t.same(await once(), { ok: true, problems: [] });
  await compareAll(t);
  t.same(
    await opsAt(0, ['2026-01-01T00:40:00.25Z', old0[1]!.Timestamp]),
    [`insert@${isoOf(old0[1]!.Timestamp)}#0`, `update@${isoOf(old0[1]!.Timestamp)}#0`, 'update@2026-01-01T00:40:00.250Z#0'],
    'old edit and old late insert: one upsert each, in time order (after the catch-up insert of the edited event)',
  );
  t.same(await opsAt(1, [old1[0]!.Timestamp]), [`insert@${isoOf(old1[0]!.Timestamp)}#0`, `delete@${isoOf(old1[0]!.Timestamp)}#0`], 'old deletion: one delete');
  t.same(await opsAt(2, ['2026-01-01T02:50:00.5Z']), ['insert@2026-01-01T02:50:00.500Z#0'], 'in-window late insert: one insert by the re-read');
  const st = state().updates!;
  t.equal(st.late_changes, 3, 'three changes older than the window counted');
  t.match(await notes(), [/^3 change\(s\) older than the 30m lookback found through stream updates and sent; last: /]);

  // Nothing changed: the next cycle sends no row and counts nothing more.
  s.advance('1m');
  const logged = (await readChangeLog(env.outDir, 'pi_timeseries')).length;
  t.same(await once(), { ok: true, problems: [] });
  const added = (await readChangeLog(env.outDir, 'pi_timeseries')).slice(logged);
  t.ok(added.length > 0);
  t.same(
    added.filter((r) => r.op !== 'insert' || Number(r.timestamp) <= us('2026-01-01T03:05:00Z')),
    [],
    "only the minute's new events, as inserts",
  );
  t.equal(state().updates!.late_changes, 3, 'no change, nothing counted');
  await compareAll(t);
});

t.test('same-timestamp events and a bulk backfill far in the past page exactly', async (t) => {
  const { s, once, compareAll, opsAt } = await setup(t, { maxCount: 25 });
  t.same(await once(), { ok: true, problems: [] });
  // Three events at one old timestamp, then one of them deleted; 60 back-filled events in one minute.
  const ts = '2026-01-01T00:20:00.5Z';
  s.insertEvent(3, { timestamp: ts, value: 1 });
  s.insertEvent(3, { timestamp: ts, value: 2 });
  s.insertEvent(3, { timestamp: ts, value: 3 });
  for (let k = 0; k < 60; k++) s.insertEvent(4, { timestamp: new Date(Date.parse('2026-01-01T01:10:00Z') + k * 1000 + 500).toISOString(), value: k });
  s.advance('2m');
  t.same(await once(), { ok: true, problems: [] });
  await compareAll(t);
  s.deleteEvents(3, ts, 1);
  s.advance('2m');
  t.same(await once(), { ok: true, problems: [] });
  const n = await compareAll(t);
  t.ok(n > 0);
  t.same(
    await opsAt(3, [ts]),
    [
      `update@2026-01-01T00:20:00.500Z#0`,
      `update@2026-01-01T00:20:00.500Z#1`,
      `update@2026-01-01T00:20:00.500Z#2`,
      `update@2026-01-01T00:20:00.500Z#0`,
      `update@2026-01-01T00:20:00.500Z#1`,
      `delete@2026-01-01T00:20:00.500Z#2`,
    ],
    'three upserts; after one is removed, the two left are upserted and the third ordinal deleted',
  );
});

t.test('with lookback_every, updates are polled only before re-reads: steady cycles cost nothing extra', async (t) => {
  const { s, tsCycle, once, compareAll } = await setup(t, { lookbackEvery: '15m' });
  t.same(await once(), { ok: true, problems: [] });
  s.advance('1m');
  const plain = await tsCycle();
  t.same([plain.rereads, plain.streamUpdates?.requests, plain.streamUpdates?.polled], [0, 0, 0], 'a cycle without a re-read polls nothing');
  s.insertEvent(5, { timestamp: '2026-01-01T01:00:00.5Z', value: 5 });
  s.advance('14m');
  const re = await tsCycle();
  t.same([re.rereads, re.streamUpdates?.polled, re.streamUpdates?.lateChanges], [9, 9, 1], 'the re-read cycle polls every tag first and finds the old insert');
  t.equal(re.streamUpdates?.requests, 3 + 1, '9 tags at 4 per /batch: 3 polls, 1 read-back');
  t.same(await once(), { ok: true, problems: [] });
  await compareAll(t);
});

t.test('narrowed re-reads: changes inside the window are found from where PI reported them, exactly once', async (t) => {
  // Lookback 30m re-read every 15m; the whole window every week (each tag at its own phase: none
  // falls in these cycles).
  const { s, tsCycle, once, compareAll, changeWindow } = await setup(t, { lookbackEvery: '15m', lookbackFullEvery: '1w' });
  t.same(await once(), { ok: true, problems: [] });
  s.advance('15m');
  const quiet = await tsCycle();
  t.same([quiet.rereads, quiet.narrowed, quiet.streamUpdates?.polled], [9, 9, 9], 'every due re-read narrowed');
  // Read: the 15 new minutes (and at most the event at each watermark again), not the 45 minutes
  // (window + new) a whole re-read takes.
  let fresh = 0;
  let whole = 0;
  for (let i = 0; i < 9; i++) {
    fresh += s.truth(i, '2026-01-01T03:00:00.000001Z', s.nowIso()).length;
    whole += s.truth(i, '2026-01-01T02:30:00Z', s.nowIso()).length;
  }
  t.ok(quiet.values >= fresh && quiet.values <= fresh + 9 && fresh * 2 < whole, `read ${quiet.values} values: the ${fresh} new ones (a whole re-read: ${whole})`);

  // Inside the window (now 03:15, window from 02:45): an insert, an edit, a deletion.
  s.advance('5m');
  const changes = changeWindow(t, { insTag: 2, tIns: '2026-01-01T02:55:00.25Z', from: '2026-01-01T02:50:00Z', to: '2026-01-01T03:15:00Z', edit: -7 });
  s.advance('10m');
  const re = await tsCycle();
  t.same(
    [re.rereads, re.narrowed, re.streamUpdates?.lateChanges, re.inserts > 0, re.updates, re.deletes],
    [9, 9, 0, true, 1, 1],
    'narrowed, and the edit and deletion found',
  );
  t.same(await once(), { ok: true, problems: [] });
  await changes.landedOnce();
  await compareAll(t);
});

t.test("read ahead: polling every cycle, each tag's poll and read share one /batch; changes behind the watermark still found", async (t) => {
  // lookback_every 0s: every cycle polls; 9 tags at 4 per request.
  const { s, tsCycle, once, compareAll, changeWindow } = await setup(t, { lookbackEvery: '0s' });
  t.same(await once(), { ok: true, problems: [] });
  for (let k = 1; k <= 2; k++) {
    s.advance('1m');
    s.batchBodies = [];
    const c = await tsCycle();
    // Each read is a child of its own tag's poll: PI runs it after the poll (they would run in parallel).
    const pairs = s.batchBodies.flatMap((b) =>
      Object.entries(b)
        .filter(([id]) => id.startsWith('r'))
        .map(([id, e]) => [
          id.slice(1),
          (e as { ParentIds?: string[] }).ParentIds,
          /\/recorded\?/.test((e as { Resource: string }).Resource),
          /\/streams\/updates\//.test((b[`p${id.slice(1)}`] as { Resource: string }).Resource),
        ]),
    );
    t.same(
      pairs.map(([, parents, isRead, isPoll]) => [parents, isRead, isPoll]),
      pairs.map(([i]) => [[`p${String(i)}`], true, true]),
      `cycle ${k}: ${pairs.length} reads, each after its poll`,
    );
    t.equal(pairs.length, 9);
    delete s.batchBodies;
    t.same(
      [c.requests, c.streamUpdates?.requests, c.streamUpdates?.readAhead, c.rereads, c.narrowed, c.errors.size],
      [0, 3, 9, 9, 9, 0],
      `cycle ${k}: 3 requests for 9 tags (poll + read in one /batch), nothing read by the extraction`,
    );
  }
  // Changes behind the watermark (now 03:02), inside the 30-minute window.
  const changes = changeWindow(t, { insTag: 1, tIns: '2026-01-01T02:58:00.25Z', from: '2026-01-01T02:40:00Z', to: '2026-01-01T03:02:00Z', edit: -3 });
  s.advance('1m');
  const changed = await tsCycle();
  t.same(
    [changed.streamUpdates?.readAhead, changed.narrowed, changed.updates, changed.deletes, changed.errors.size],
    [6, 9, 1, 1, 0],
    'the 3 changed tags re-read from their changes by the extraction, the 6 others read ahead',
  );
  t.equal(changed.requests, 1, 'one more request for the 3 narrowed re-reads');
  s.advance('1m');
  const after = await tsCycle();
  t.same([after.requests, after.streamUpdates?.requests, after.streamUpdates?.readAhead], [0, 3, 9], 'then back to 3 requests');
  // A burst far past what the tag's rate asks for: the read-ahead page comes back truncated and the
  // extraction reads the rest.
  const burstFrom = Date.parse(s.nowIso());
  s.advance('1m');
  for (let k = 1; k <= 150; k++) s.insertEvent(0, { timestamp: new Date(burstFrom + k * 300 + 0.5).toISOString(), value: k });
  const burst = await tsCycle();
  t.same([burst.streamUpdates?.readAhead, burst.requests > 0, burst.errors.size], [9, true, 0], 'read ahead, truncated, the rest read by the extraction');
  t.same(await once(), { ok: true, problems: [] });
  await changes.landedOnce();
  await compareAll(t);
});

t.test('lookback_every: auto (the default): tags with markers polled and read ahead every cycle; a lost marker re-reads the whole window once', async (t) => {
  const { s, tsCycle, once, compareAll, changeWindow } = await setup(t, { lookbackEvery: 'auto' });
  t.same(await once(), { ok: true, problems: [] });
  s.advance('1m');
  const c = await tsCycle();
  t.same(
    [c.requests, c.streamUpdates?.requests, c.streamUpdates?.readAhead, c.rereads, c.narrowed, c.errors.size],
    [0, 3, 9, 9, 9, 0],
    'the cycle after registration: 3 requests for 9 tags, every tag re-read (read ahead with its poll)',
  );
  const changes = changeWindow(t, { insTag: 1, tIns: '2026-01-01T02:58:00.25Z', from: '2026-01-01T02:40:00Z', to: '2026-01-01T03:01:00Z', edit: -7 });
  s.advance('1m');
  const changed = await tsCycle();
  t.same(
    [changed.streamUpdates?.readAhead, changed.narrowed, changed.requests, changed.updates, changed.deletes, changed.errors.size],
    [6, 9, 1, 1, 1, 0],
    'changes behind the watermark: 3 tags re-read from their changes (1 request), 6 read ahead',
  );
  // Markers PI forgot, and a late insert behind the watermark while they are gone: the chain is
  // broken, so after re-registering, the next re-read of every tag is whole and finds it.
  s.updates!.expireAll();
  s.insertEvent(0, { timestamp: '2026-01-01T02:52:00.5Z', value: 77 });
  s.advance('1m');
  const lost = await tsCycle();
  t.same(
    [lost.streamUpdates?.lost, lost.streamUpdates?.registered, lost.rereads, lost.requests, lost.errors.size],
    [9, 9, 0, 3, 0],
    'markers lost: registered again; without them this cycle keeps to the 15-minute interval (reads from the watermarks)',
  );
  s.advance('1m');
  const whole = await tsCycle();
  t.same(
    [whole.rereads, whole.narrowed, whole.streamUpdates?.readAhead, whole.streamUpdates?.readAheadWhole, whole.inserts >= 1, whole.errors.size],
    [9, 0, 8, 8, true, 0],
    "the next cycle re-reads the whole window of every tag once, 8 with their polls (the fast tag's window is more than a page)",
  );
  s.advance('1m');
  const back = await tsCycle();
  t.same([back.requests, back.streamUpdates?.requests, back.streamUpdates?.readAhead, back.narrowed], [0, 3, 9, 9], 'then read ahead again: 3 requests');
  t.same(await once(), { ok: true, problems: [] });
  await changes.landedOnce();
  await compareAll(t);
});

t.test('whole-window re-reads read with their polls; a tag whose poll reports an older change is read back, then re-read by the extraction', async (t) => {
  // lookback_full_every 0s: every re-read whole; auto: every cycle.
  const { s, env, tsCycle, once, compareAll } = await setup(t, { lookbackEvery: 'auto', lookbackFullEvery: '0s' });
  t.same(await once(), { ok: true, problems: [] });
  s.advance('1m');
  const c = await tsCycle();
  t.same(
    [c.rereads, c.narrowed, c.streamUpdates?.readAheadWhole, c.streamUpdates?.requests, c.requests],
    [9, 0, 8, 3, 7],
    "8 whole windows read with their polls (3 requests), the fast tag's 31 minutes by the extraction (7 pages of 1000)",
  );
  // Older than the 30-minute window, on a tag whose window one page holds.
  const tOld = '2026-01-01T01:10:00.5Z';
  s.insertEvent(1, { timestamp: tOld, value: 1.25 });
  s.advance('1m');
  const old = await tsCycle();
  t.same(
    [old.streamUpdates?.lateChanges, old.streamUpdates?.readAheadWhole, old.rereads, old.narrowed, old.errors.size],
    [1, 7, 9, 0, 0],
    "the old change read back; that tag's whole re-read left to the extraction, 7 others read ahead",
  );
  t.same(await once(), { ok: true, problems: [] });
  const byTag = landedEventsByTag((await landedTable(env.outDir, 'pi_timeseries')).values());
  t.equal((byTag.get(idOnly(s.tagWebId(1))) ?? []).filter((e) => (e as unknown[])[0] === us(tOld)).length, 1, 'the old insert landed once');
  await compareAll(t);
});

t.test('lookback_every: auto without stream updates: the window is re-read every 15 minutes', async (t) => {
  const { s, tsCycle, once, compareAll, notes } = await setup(t, { lookbackEvery: 'auto', simUpdates: false });
  t.same(await once(), { ok: true, problems: [] });
  t.match(await notes(), [/^stream updates unavailable \(.*\): changes older than the 30m lookback window are not detected$/], 'no note about whole-window cycles');
  t.equal((await notes()).length, 1);
  // Behind the watermark, inside the window: found by the next re-read, 15 minutes after the last.
  s.insertEvent(2, { timestamp: '2026-01-01T02:55:00.5Z', value: 99 });
  s.advance('1m');
  const plain = await tsCycle();
  t.same([plain.rereads, plain.requests, plain.streamUpdates?.requests, plain.errors.size], [0, 3, 0, 0], 'a plain cycle: 3 requests from the watermarks');
  s.advance('14m');
  const re = await tsCycle();
  t.same([re.rereads, re.narrowed, re.inserts >= 1, re.errors.size], [9, 0, true, 0], '15 minutes after the last re-read: the whole window of every tag');
  t.same(await once(), { ok: true, problems: [] });
  await compareAll(t);
});

t.test('lookback_full_every: 0s re-reads the whole window every time', async (t) => {
  const { s, tsCycle, once, compareAll } = await setup(t, { lookbackEvery: '15m', lookbackFullEvery: '0s' });
  t.same(await once(), { ok: true, problems: [] });
  s.advance('15m');
  const re = await tsCycle();
  t.same(
    [re.rereads, re.narrowed, re.streamUpdates?.polled, re.streamUpdates?.readAheadWhole, re.requests],
    [9, 0, 9, 8, 10],
    "whole re-reads, 8 read with their polls; the fast tag's by the extraction (45 minutes in 10 pages of 1000)",
  );
  t.same(await once(), { ok: true, problems: [] });
  await compareAll(t);
});

t.test('markers PI forgot: registered again, the gap reported; later changes found again', async (t) => {
  const { s, env, once, state, notes, tsCycle } = await setup(t);
  t.same(await once(), { ok: true, problems: [] });
  s.updates!.expireAll();
  // Made while the markers are gone, older than the window: nothing can find it (and status says so).
  s.insertEvent(6, { timestamp: '2026-01-01T01:00:00.5Z', value: 6 });
  s.advance('1m');
  const r = await tsCycle();
  t.same([r.streamUpdates?.lost, r.streamUpdates?.registered, r.streamUpdates?.errors.size], [9, 9, 0], 'every marker lost and registered again, no error');
  t.equal(state().updates!.lost!.count, 9);
  t.match(await notes(), [/^stream-update markers lost 9 time\(s\), last .*: changes older than the lookback made before re-registering were not seen$/]);
  s.insertEvent(7, { timestamp: '2026-01-01T01:00:00.5Z', value: 7 });
  s.advance('1m');
  t.same(await once(), { ok: true, problems: [] });
  const byTag = landedEventsByTag((await landedTable(env.outDir, 'pi_timeseries')).values());
  const has = (tag: number) => (byTag.get(idOnly(s.tagWebId(tag))) ?? []).some((e) => (e as unknown[])[0] === us('2026-01-01T01:00:00.5Z'));
  t.same([has(6), has(7)], [false, true], 'the change in the gap is not seen; the one after re-registering is');
});

t.test('a server without stream updates: cycles exact inside the window, status says what is not seen', async (t) => {
  const { s, env, once, compareAll, state, notes, tsCycle } = await setup(t, { simUpdates: false });
  let printed = '';
  const code = await check(env.config(), {
    print: (x) => {
      printed += x;
    },
    logger: bareLogger('silent'),
    pi: true,
    sink: false,
  });
  t.equal(code, 'ok', 'check passes');
  t.match(printed, /^warn  stream updates: this PI Web API has no stream updates .*; changes older than the lookback window will not be detected$/m);
  t.same(await once(), { ok: true, problems: [] }, 'no stream updates is not a failure');
  const unsupportedNotes = await notes();
  t.equal(unsupportedNotes.length, 2);
  t.match(unsupportedNotes, [
    /^stream updates unavailable \(this PI Web API has no stream updates .*2018 SP1 or later\): changes older than the 30m lookback window are not detected$/,
    /^lookback_every 0s without stream updates: every cycle re-reads the whole 30m window of every tag \(set lookback_every to auto, the default, or to 15m or more/,
  ]);
  t.equal(state().markers, 0);
  s.insertEvent(2, { timestamp: '2026-01-01T02:50:00.5Z', value: 99 });
  s.advance('1m');
  const r = await tsCycle();
  t.same([r.streamUpdates?.requests, r.streamUpdates?.unsupported?.code], [0, 'PI_NOT_FOUND'], 'not asked again within the hour');
  t.same(await once(), { ok: true, problems: [] });
  await compareAll(t);
});

t.test('stream_updates: off registers nothing and says so', async (t) => {
  const { once, state, notes, compareAll } = await setup(t, { streamUpdates: 'off' });
  t.same(await once(), { ok: true, problems: [] });
  t.equal(state().markers, 0);
  t.equal(state().updates, undefined);
  t.same(await notes(), [
    'stream updates off: changes older than the 30m lookback window are not detected',
    'lookback_every 0s without stream updates: every cycle re-reads the whole 30m window of every tag (set lookback_every to auto, the default, or to 15m or more, to lighten the load on PI)',
  ]);
  await compareAll(t);
});
