/**
 * One short exact time-series run against each PI Web API release profile of the simulator
 * (test/sim/piwebapi/versions.ts), through a `point_source` selector: on releases that ignore
 * `sourceFilter` the agent's own pointsource check must keep the selection exact. 2016 R2 (WebID
 * 1.0) is refused with a message naming the release and what is needed. The full end-to-end files
 * run against any release with `PI_SIM_VERSION=<name>`.
 */
import t, { type Test } from 'tap';
import { landedTable } from '../../helpers/landed.js';
import { expectedEvents, idOnly, landedEventsByTag, makeAgentEnv, runAgentOnce, simAgentYaml, withAgent } from '../../helpers/agent-env.js';
import { afSource } from '../../../agent/sources/af/source.js';
import { eventFramesSource } from '../../../agent/sources/eventframes/source.js';
import { startSimulator } from '../../sim/piwebapi/server.js';
import type { SimVersionName } from '../../sim/piwebapi/versions.js';
import { check } from '../../../agent/service/check.js';
import { bareLogger } from '../../../agent/observe/log.js';

const START = '2026-01-01T00:00:00Z';
const SUPPORTED: SimVersionName[] = ['2017R2', '2018', '2018SP1', '2019SP1', '2021', '2023'];

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

t.test('PI Web API 2016 R2 (WebID 1.0): refused, naming the release and what is needed', async (t) => {
  const { env } = await setup(t, '2016R2');
  const r = await runAgentOnce(env).catch((err: unknown) => err);
  t.match(JSON.stringify(r, Object.getOwnPropertyNames(r)), /PI Web API 2016 R2 \(1\.8\.0\.3059\) writes WebID 1\.0.*needs PI Web API 2017 R2 or later/);
});

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
      'FAIL  PI Web API 2016 R2 (1.8.0.3059): PI_VERSION_UNSUPPORTED: PI Web API 2016 R2 (1.8.0.3059) writes WebID 1.0, which pi-agent does not read; it needs PI Web API 2017 R2 or later (WebID 2.0)',
    ),
    v2016.join('\n'),
  );
  t.equal(v2016.at(-1), '1 check(s) failed');
});

t.test('2016 R2: the AF and event frame sources refuse it by name too', async (t) => {
  const db = "['\\\\SIMAF\\Plant']";
  const { env } = await setup(t, '2016R2', `af:\n  databases: ${db}\nevent_frames:\n  databases: ${db}\n  start: "2026-01-01T00:00:00Z"\n`);
  await withAgent(env, async (agent) => {
    for (const source of [afSource, eventFramesSource]) {
      await t.rejects(source.runCycle(agent), { code: 'PI_VERSION_UNSUPPORTED', message: /PI Web API 2016 R2 \(1\.8\.0\.3059\) writes WebID 1\.0/ }, source.name);
    }
  });
});
