/**
 * One short exact time-series run against each PI Web API release profile of the simulator
 * (test/sim/piwebapi/versions.ts), through a `point_source` selector: on releases that ignore
 * `sourceFilter` the agent's own pointsource check must keep the selection exact; on 2016 R2 and
 * 2017 (WebID 1.0) through the client's id translation too. The full end-to-end files run against
 * every release in CI (test/sources/versions/<release>.test.ts).
 */
import t, { type Test } from 'tap';
import { landedTable } from '../../helpers/landed.js';
import { expectedEvents, idOnly, landedEventsByTag, makeAgentEnv, runAgentOnce, simAgentYaml, withAgent } from '../../helpers/agent-env.js';
import { timeseriesSource } from '../../../agent/sources/timeseries/source.js';
import { openStore } from '../../../agent/service/agent.js';
import { runOnce } from '../../../agent/service/once.js';
import { startSimulator } from '../../sim/piwebapi/server.js';
import type { SimVersionName } from '../../sim/piwebapi/versions.js';
import { check } from '../../../agent/service/check.js';
import { bareLogger } from '../../../agent/observe/log.js';

const START = '2026-01-01T00:00:00Z';
const SUPPORTED: SimVersionName[] = ['2016R2', '2017', '2017R2', '2018', '2018SP1', '2019SP1', '2021', '2023'];

async function setup(t: Test, version: SimVersionName, extra?: string) {
  const sim = await startSimulator({ port: 0, tags: 15, seed: 11, historyStart: START, now: '2026-01-01T01:00:00Z', version });
  const env = makeAgentEnv((paths) =>
    simAgentYaml(paths, {
      piUrl: sim.url,
      tags: ['{ dataserver: SIMPI, point_source: CALC }'],
      timeseries: { start: START, lookback: '30m', lookback_every: '0s' },
      ...(extra ? { extra } : {}),
    }),
  );
  t.teardown(async () => {
    await sim.close();
    env.cleanup();
  });
  return { sim, env };
}

for (const version of SUPPORTED) {
  t.test(`PI Web API ${version}: a point_source selection lands exactly its tags' events`, async (t) => {
    const { sim, env } = await setup(t, version);
    t.same(await runAgentOnce(env), { ok: true, problems: [] });
    const calc = [3, 10];
    const tags = await landedTable(env.outDir, 'pi_tags');
    t.same([...tags.values()].map((r) => r['name']).sort(), calc.map((i) => sim.sim.tagName(i)).sort(), 'pi_tags holds the CALC tags only');
    const landed = landedEventsByTag((await landedTable(env.outDir, 'pi_timeseries')).values());
    t.same([...landed.keys()].sort(), calc.map((i) => idOnly(sim.sim.tagWebId(i))).sort());
    for (const i of calc) {
      const want = expectedEvents(sim.sim.truth(i, START, sim.sim.nowIso()));
      t.ok(want.length > 0);
      t.same(landed.get(idOnly(sim.sim.tagWebId(i))), want, `${sim.sim.tagName(i)}: ${want.length} events`);
    }
  });
}

async function checkLines(env: Awaited<ReturnType<typeof setup>>['env']): Promise<string[]> {
  let out = '';
  await check(env.config(), { pi: true, sink: false, print: (s) => (out += s), logger: bareLogger('silent') });
  return out.split('\n').filter((l) => l !== '');
}

t.test('check names the release and the features it uses', async (t) => {
  const sp1 = await setup(t, '2018SP1');
  // A fault that changes nothing (no delay) counts the GET /system requests.
  sp1.sim.sim.setFaults([{ kind: 'slow', route: '/system', method: 'GET', delayMs: 0 }]);
  const lines = await checkLines(sp1.env);
  t.ok(lines.includes('ok    PI Web API 2018 SP1 (1.11.1.5383): stream updates on, point_source checked by pi-agent (pointsource attribute)'), lines.join('\n'));
  t.ok(lines.includes('ok    stream updates available: changes older than the lookback window are found'));
  t.equal(sp1.sim.sim.faults.list()[0]!.fired, 1, 'check reads GET /system once');
  const old = await checkLines((await setup(t, '2017R2')).env);
  t.ok(
    old.includes('ok    PI Web API 2017 R2 (1.10.0.2090): stream updates off (none before 2018 SP1), point_source checked by pi-agent (pointsource attribute)'),
    old.join('\n'),
  );
  t.ok(
    old.includes(
      'warn  stream updates: this PI Web API 2017 R2 (1.10.0.2090) has no stream updates; it needs PI Web API 2018 SP1 or later; changes older than the lookback window will not be detected',
    ),
    old.join('\n'),
  );
  const v2016 = await checkLines((await setup(t, '2016R2')).env);
  t.ok(
    v2016.includes(
      'ok    PI Web API 2016 R2 (1.8.0.3059): stream updates off (none before 2018 SP1), point_source checked by pi-agent (pointsource attribute), WebID 1.0 (translated by pi-agent)',
    ),
    v2016.join('\n'),
  );
  t.notOk(
    v2016.some((l) => l.startsWith('FAIL')),
    v2016.join('\n'),
  );
});

t.test('2016 R2: a restarted agent reads its tags by key before discovery runs again (WebID 1.0 ids kept in the store)', async (t) => {
  const { sim, env } = await setup(t, '2016R2');
  t.same(await runAgentOnce(env), { ok: true, problems: [] });
  const calc = [3, 10];
  // The store holds the server's own id of each selected tag against its key.
  const store = openStore(env.config());
  const pairs = new Map(store.webIdAliases().all());
  store.close();
  for (const i of calc) t.equal(pairs.get(idOnly(sim.sim.tagWebId(i))), sim.sim.tagWebId(i), `${sim.sim.tagName(i)}: its WebID 1.0 kept`);
  sim.sim.advance('20m');
  await withAgent(env, async (agent) => {
    // Time series alone, first: its reads go out by the keys in the store, as the server's ids.
    t.match(await timeseriesSource.runCycle(agent, new AbortController().signal), { problems: [] });
    t.same(await runOnce(agent), { ok: true, problems: [] });
  });
  const landed = landedEventsByTag((await landedTable(env.outDir, 'pi_timeseries')).values());
  for (const i of calc) {
    const want = expectedEvents(sim.sim.truth(i, START, sim.sim.nowIso()));
    t.same(landed.get(idOnly(sim.sim.tagWebId(i))), want, `${sim.sim.tagName(i)}: ${want.length} events, none twice`);
  }
});

t.test('PI Web API upgraded from 2017 to 2017 R2: the same keys, nothing twice', async (t) => {
  const { sim, env } = await setup(t, '2017');
  t.same(await runAgentOnce(env), { ok: true, problems: [] });
  const port = Number(new URL(sim.url).port);
  await sim.close();
  // The same server (same seed: same GUIDs, point ids, data) after the upgrade, at the same address.
  const upgraded = await startSimulator({ port, tags: 15, seed: 11, historyStart: START, now: '2026-01-01T01:00:00Z', version: '2017R2' });
  t.teardown(() => upgraded.close());
  upgraded.sim.advance('20m');
  t.same(await runAgentOnce(env), { ok: true, problems: [] });
  const calc = [3, 10];
  const tags = await landedTable(env.outDir, 'pi_tags');
  t.same([...tags.keys()].length, 2, 'pi_tags: still one row per tag');
  const landed = landedEventsByTag((await landedTable(env.outDir, 'pi_timeseries')).values());
  t.same([...landed.keys()].sort(), calc.map((i) => idOnly(upgraded.sim.tagWebId(i))).sort(), 'the keys 2017 R2 gives are the ones 2017 had');
  for (const i of calc) {
    const want = expectedEvents(upgraded.sim.truth(i, START, upgraded.sim.nowIso()));
    t.same(landed.get(idOnly(upgraded.sim.tagWebId(i))), want, `${upgraded.sim.tagName(i)}: ${want.length} events, none twice`);
  }
});
