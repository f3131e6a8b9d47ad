/**
 * One short exact time-series run against each PI Web API release profile of the simulator
 * (test/sim/piwebapi/versions.ts), through a `point_source` selector: on releases that ignore
 * `sourceFilter` the agent's own pointsource check must keep the selection exact. 2016 R2 (WebID
 * 1.0) is refused with a message naming the release and what is needed. The full end-to-end files
 * run against any release with `PI_SIM_VERSION=<name>`.
 */
import t, { type Test } from 'tap';
import { landedTable } from '../helpers/landed.js';
import { expectedEvents, idOnly, landedEventsByTag, makeAgentEnv, runAgentOnce, simAgentYaml } from '../helpers/agent-env.js';
import { startSimulator } from '../sim/piwebapi/server.js';
import type { SimVersionName } from '../sim/piwebapi/versions.js';

const START = '2026-01-01T00:00:00Z';
const SUPPORTED: SimVersionName[] = ['2017R2', '2018', '2018SP1', '2019SP1', '2021', '2023'];

async function setup(t: Test, version: SimVersionName) {
  const sim = await startSimulator({ port: 0, tags: 15, seed: 11, historyStart: START, now: '2026-01-01T01:00:00Z', version });
  const env = makeAgentEnv((paths) =>
    simAgentYaml(paths, {
      piUrl: sim.url,
      tags: ['{ dataserver: SIMPI, point_source: CALC }'],
      timeseries: { start: START, lookback: '30m', lookback_every: '0s' },
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

t.test('PI Web API 2016 R2 (WebID 1.0): refused, naming the release and what is needed', async (t) => {
  const { env } = await setup(t, '2016R2');
  const r = await runAgentOnce(env).catch((err: unknown) => err);
  t.match(JSON.stringify(r, Object.getOwnPropertyNames(r)), /PI Web API 2016 R2 \(1\.8\.0\.3059\) writes WebID 1\.0.*needs PI Web API 2017 R2 or later/);
});
