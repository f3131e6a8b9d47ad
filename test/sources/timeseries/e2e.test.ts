/**
 * Time series end to end: simulator → agent (run once) → store → directory sink → Parquet read back
 * with DuckDB, compared with the simulator's ground truth event by event.
 */
import t, { type Test } from 'tap';
import { landedTable } from '../../helpers/landed.js';
import { compareWithArchive, idOnly, landedEventsByTag, makeAgentEnv, runAgentOnce, simAgentYaml } from '../../helpers/agent-env.js';
import { startSimulator } from '../../sim/piwebapi/server.js';

const START = '2026-01-01T00:00:00Z';

async function setup(t: Test, opts: { tags: number; now: string; maxCount: number; timeZone?: string; start?: string }) {
  const start = opts.start ?? START;
  const sim = await startSimulator({ port: 0, tags: opts.tags, seed: 11, historyStart: START, now: opts.now, ...(opts.timeZone ? { timeZone: opts.timeZone } : {}) });
  const env = makeAgentEnv((paths) =>
    simAgentYaml(paths, {
      piUrl: sim.url,
      pi: { max_count: opts.maxCount, tags_per_request: 7 },
      timeseries: { start, lookback: '2h', lookback_every: '0s' },
    }),
  );
  t.teardown(async () => {
    await sim.close();
    env.cleanup();
  });
  return { sim, env };
}

const once = runAgentOnce;

async function compareAll(t: Test, sim: Awaited<ReturnType<typeof startSimulator>>, outDir: string, endIso: string, start = START) {
  const landed = landedEventsByTag((await landedTable(outDir, 'pi_timeseries')).values());
  return compareWithArchive(t, sim.sim, landed, { start, end: endIso }).events;
}

t.test('every event of every tag kind lands exactly once, paging far past maxCount', async (t) => {
  const { sim, env } = await setup(t, { tags: 24, now: '2026-01-01T04:00:00Z', maxCount: 500 });
  const r = await once(env);
  t.same(r, { ok: true, problems: [] });
  const events = await compareAll(t, sim, env.outDir, sim.sim.nowIso());
  t.comment(`${events} events compared`);
  const tags = await landedTable(env.outDir, 'pi_tags');
  t.equal(tags.size, 24, 'every tag in pi_tags');

  // Nothing new: a second run sends nothing at all.
  const before = (await import('../../helpers/landed.js')).unitFiles(env.outDir, 'pi_timeseries').length;
  t.same(await once(env), { ok: true, problems: [] });
  t.equal((await import('../../helpers/landed.js')).unitFiles(env.outDir, 'pi_timeseries').length, before, 'an idle cycle uploads no time-series batch');
});

t.test('late inserts, edits and deletions inside the lookback window arrive as the right operations', async (t) => {
  const { sim, env } = await setup(t, { tags: 9, now: '2026-01-01T03:00:00Z', maxCount: 1000 });
  t.same(await once(env), { ok: true, problems: [] });
  const s = sim.sim;
  const tag = 0;
  const truth = s.truth(tag, '2026-01-01T02:00:00Z', s.nowIso());
  t.ok(truth.length > 3, 'the tag has events in the last hour');
  s.insertEvent(tag, { timestamp: '2026-01-01T02:30:00.5Z', value: 42.5 });
  s.editEvent(tag, truth[1]!.Timestamp, { value: -7 });
  s.deleteEvents(tag, truth[2]!.Timestamp);
  s.advance('10m');
  t.same(await once(env), { ok: true, problems: [] });
  await compareAll(t, sim, env.outDir, s.nowIso());
  const log = await (await import('../../helpers/landed.js')).readChangeLog(env.outDir, 'pi_timeseries');
  const ops = log
    .filter((r) => r.tag_webid === idOnly(s.tagWebId(tag)) && (r.op !== 'insert' || r.timestamp === Date.parse('2026-01-01T02:30:00.5Z') * 1000))
    .map((r) => r.op);
  t.ok(ops.includes('update') && ops.includes('delete') && ops.includes('insert'), `edit → update, delete → delete, late → insert (${ops.join(',')})`);
});

t.test('a non-UTC server time zone across a DST change changes nothing: the agent speaks UTC', async (t) => {
  // Amsterdam switches to summer time at 01:00 UTC on 2026-03-29; extract the hours around it.
  const start = '2026-03-28T23:00:00Z';
  const { sim, env } = await setup(t, { tags: 9, now: '2026-03-29T03:00:00Z', maxCount: 1000, timeZone: 'Europe/Amsterdam', start });
  t.same(await once(env), { ok: true, problems: [] });
  const n = await compareAll(t, sim, env.outDir, sim.sim.nowIso(), start);
  t.ok(n > 0, `${n} events across the switch`);
});
