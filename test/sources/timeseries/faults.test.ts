/**
 * Time series under injected faults (piwebapi-fidelity.md §10): with every kind of failure on
 * every route the agent uses, repeated `run --once` cycles still land exactly the archive. Also a
 * pi.max_count above the server's MaxReturnedItemsPerCall (§3): the agent lowers maxCount itself.
 */
import t, { type Test } from 'tap';
import type { OnceResult } from '../../../agent/service/once.js';
import { landedTable, readChangeLog } from '../../helpers/landed.js';
import { compareWithArchive, landedEventsByTag, makeAgentEnv, runAgentOnce, simAgentYaml } from '../../helpers/agent-env.js';
import type { FaultRule } from '../../sim/piwebapi/faults.js';
import { startSimulator, type RunningSim, type SimOptions } from '../../sim/piwebapi/server.js';

const START = '2026-01-01T00:00:00Z';

async function setup(t: Test, opts: { tags: number; now: string; maxCount: number; sim?: SimOptions }) {
  const sim = await startSimulator({ port: 0, tags: opts.tags, seed: 23, historyStart: START, now: opts.now, ...(opts.sim ?? {}) });
  const env = makeAgentEnv((paths) =>
    simAgentYaml(paths, {
      piUrl: sim.url,
      pi: { max_count: opts.maxCount, tags_per_request: 3, timeout: '10s' },
      timeseries: { lookback: '30m' },
    }),
  );
  t.teardown(async () => {
    await sim.close();
    env.cleanup();
  });
  return { sim, env };
}

const once = runAgentOnce;

async function compareAll(t: Test, sim: RunningSim, outDir: string): Promise<number> {
  const landed = landedEventsByTag((await landedTable(outDir, 'pi_timeseries')).values());
  const { events, equal } = compareWithArchive(t, sim.sim, landed, { start: START });
  t.equal(equal, sim.sim.tagCount(), 'every tag equal');
  return events;
}

t.test('10% faults of each kind on every route: repeated cycles land exactly the archive', async (t) => {
  // Six tags of slow kinds (no FAST tag) over 3 h: the busiest has several pages of 20.
  const { sim, env } = await setup(t, { tags: 6, now: '2026-01-01T03:00:00Z', maxCount: 20 });
  const rate = 0.1;
  const rules: FaultRule[] = [
    { kind: 'status', status: 429, retryAfter: 1, rate },
    { kind: 'status', status: 500, rate },
    { kind: 'status', status: 502, rate },
    { kind: 'status', status: 503, retryAfter: 1, rate },
    { kind: 'slow', delayMs: 200, rate },
    { kind: 'reset', rate },
    { kind: 'truncate', rate },
    { kind: 'webexception', rate },
  ];
  sim.sim.setFaults(rules);
  const results: OnceResult[] = [];
  for (let i = 0; i < 12; i++) {
    const r = await once(env);
    results.push(r);
    if (r.ok) break;
  }
  const last = results[results.length - 1]!;
  t.same(last, { ok: true, problems: [] }, `a cycle ends ok after ${results.length} cycle(s)`);
  const fired = sim.sim.faults.list();
  for (const f of fired) t.ok(f.fired > 0, `${f.kind}${f.status ? ` ${f.status}` : ''} injected ${f.fired} time(s)`);
  const events = await compareAll(t, sim, env.outDir);
  t.ok(events > 6 * 20, `${events} events compared (paging past max_count 20)`);
  // Retried pages must not have produced duplicate inserts: landedTable/applyChangeLog throws on one.
  const log = await readChangeLog(env.outDir, 'pi_timeseries');
  t.equal(log.filter((r) => r.op === 'insert').length, events, 'one insert per event, no more');
});

t.test('10% faults while stream updates carry changes older than the lookback and narrow the re-reads: exact once a cycle ends ok', async (t) => {
  const { sim, env } = await setup(t, { tags: 6, now: '2026-01-01T03:00:00Z', maxCount: 20 });
  t.same(await once(env), { ok: true, problems: [] }, 'catch-up without faults');
  const s = sim.sim;
  const rate = 0.1;
  s.setFaults([
    { kind: 'status', status: 500, rate },
    { kind: 'status', status: 503, retryAfter: 1, rate },
    { kind: 'reset', rate },
    { kind: 'truncate', rate },
    { kind: 'webexception', rate },
  ]);
  // Hours older than the 30-minute lookback: only stream updates find these.
  for (let tag = 0; tag < 6; tag++) {
    s.insertEvent(tag, { timestamp: `2026-01-01T01:0${tag}:00.5Z`, value: 100 + tag });
    const victim = s.truth(tag, '2026-01-01T00:30:00Z', '2026-01-01T01:00:00Z')[0];
    if (victim && tag % 2 === 0) s.deleteEvents(tag, victim.Timestamp, 0);
    else if (victim && typeof victim.Value === 'number') s.editEvent(tag, victim.Timestamp, { value: victim.Value + 1 });
  }
  // Inside the window the due re-read covers (02:46-03:16) and behind the watermark (03:00): found
  // by re-reads narrowed to what the poll reports (whole when a fault broke the poll).
  for (let tag = 0; tag < 6; tag++) {
    s.insertEvent(tag, { timestamp: `2026-01-01T02:5${tag}:00.25Z`, value: 200 + tag });
    const victim = s.truth(tag, '2026-01-01T02:50:00Z', '2026-01-01T02:59:00Z').find((e) => e.Value !== 200 + tag);
    if (victim && tag % 2 === 1) s.deleteEvents(tag, victim.Timestamp, 0);
    else if (victim && typeof victim.Value === 'number') s.editEvent(tag, victim.Timestamp, { value: victim.Value + 2 });
  }
  s.advance('16m'); // the lookback re-read (and its stream-updates poll) is due
  const results: OnceResult[] = [];
  for (let i = 0; i < 12; i++) {
    const r = await once(env);
    results.push(r);
    if (r.ok) break;
  }
  t.same(results[results.length - 1], { ok: true, problems: [] }, `a cycle ends ok after ${results.length} cycle(s)`);
  t.ok(s.faults.list().reduce((n, f) => n + f.fired, 0) > 0, 'faults were injected');
  await compareAll(t, sim, env.outDir);
});

t.test('pi.max_count above MaxReturnedItemsPerCall: the agent lowers maxCount and lands everything', async (t) => {
  // Tag discovery pages points by 1000, so the server's limit stays at 1000; the FAST tag (index 6)
  // has several thousand events in 20 minutes.
  const { sim, env } = await setup(t, { tags: 7, now: '2026-01-01T00:20:00Z', maxCount: 5000, sim: { maxReturnedItemsPerCall: 1000 } });
  t.same(await once(env), { ok: true, problems: [] }, 'the first cycle ends ok: PI refused maxCount 5000 and the agent asked again with 1000');
  const events = await compareAll(t, sim, env.outDir);
  const busiest = Math.max(...Array.from({ length: 7 }, (_, i) => sim.sim.truth(i, START, sim.sim.nowIso()).length));
  t.ok(busiest > 2 * 1000, `${events} events compared; the busiest tag (${busiest}) needed several pages of the server's 1000`);
});
