/**
 * The PI Web API release read once from /system (agent/pi/version.ts) and what the agent does with
 * it: point_source filtered by the agent where the server ignores sourceFilter, stream updates off
 * before 2018 SP1, WebID 1.0 releases translated, releases before 2016 R2 refused; against the simulator's release profiles.
 */
import t, { type Test } from 'tap';
import { findDataServer, listPoints, piFilterRegExp } from '../../agent/pi/points.js';
import { describePiVersion, parsePiVersion, piVersion, requireSupportedPi, unsupportedReason } from '../../agent/pi/version.js';
import { PiPointDirectory, PiUpdatesFeed } from '../../agent/sources/pi.js';
import type { SimVersionName } from '../sim/piwebapi/versions.js';
import { simWithClient } from '../helpers/sim-client.js';

const open = (t: Test, version: SimVersionName, tags = 40) => simWithClient(t, { tags, seed: 7, version });

t.test('parsePiVersion: release names and features', async (t) => {
  t.match(parsePiVersion('1.11.1.5383'), { version: '1.11.1.5383', release: '2018 SP1', features: { webId2: true, streamUpdates: 'current', sourceFilter: false } });
  t.match(parsePiVersion('1.11.0.3902'), { release: '2018', features: { streamUpdates: 'preview' } });
  t.match(parsePiVersion('1.10.0.2090'), { release: '2017 R2', features: { webId2: true, streamUpdates: 'absent' } });
  t.match(parsePiVersion('1.9.1.12'), { release: '2017', features: { webId2: false } });
  t.match(parsePiVersion('1.8.0.3059'), { release: '2016 R2', features: { webId2: false } });
  t.match(parsePiVersion('1.19.0.621'), { release: '2023', features: { sourceFilter: true, streamUpdates: 'current' } });
  t.match(parsePiVersion('1.14.2'), { release: '1.14', features: { sourceFilter: false, streamUpdates: 'current' } });
  t.equal(parsePiVersion('n/a'), undefined);
  t.equal(parsePiVersion(undefined), undefined);
  t.equal(
    describePiVersion(parsePiVersion('1.11.1.5383')!),
    'PI Web API 2018 SP1 (1.11.1.5383): stream updates on, point_source checked by pi-agent (pointsource attribute)',
  );
});

t.test('piFilterRegExp: PI wildcards, case-insensitive, the rest literal', async (t) => {
  t.ok(piFilterRegExp('opc*').test('OPC_UA'));
  t.ok(piFilterRegExp('L?').test('la'));
  t.notOk(piFilterRegExp('L?').test('LAB'));
  t.notOk(piFilterRegExp('a.c').test('abc'));
});

t.test('2018 SP1 ignores sourceFilter: point_source is checked on each point, exactly', async (t) => {
  const { running, client } = await open(t, '2018SP1');
  const ds = await findDataServer(client, 'SIMPI');
  const names: string[] = [];
  for await (const p of listPoints(client, ds.WebId, { sourceFilter: 'calc' })) names.push(p.Name);
  // The simulator's point sources (tags.ts): every 7th tag from 3 is CALC.
  t.same(
    names,
    [3, 10, 17, 24, 31, 38].map((i) => running.sim.tagName(i)),
  );
  // The pointsource reads went through /batch (one request for the page), not one request a point.
  t.equal(running.sim.served.requests <= 6, true, `${running.sim.served.requests} requests`);
  // The sample of `check` (page size 1) finds the first match too.
  for await (const p of listPoints(client, ds.WebId, { sourceFilter: 'CALC', pageSize: 1 })) {
    t.equal(p.Name, running.sim.tagName(3));
    break;
  }
});

t.test('2023 honours sourceFilter: the server filters, no pointsource reads', async (t) => {
  const { running, client } = await open(t, '2023');
  const ds = await findDataServer(client, 'SIMPI');
  const before = running.sim.served.requests;
  const names: string[] = [];
  for await (const p of listPoints(client, ds.WebId, { sourceFilter: 'CALC' })) names.push(p.Name);
  t.same(
    names,
    [3, 10, 17, 24, 31, 38].map((i) => running.sim.tagName(i)),
  );
  t.equal(running.sim.served.requests - before, 2, 'GET /system once, one page of points');
});

t.test('the version is read once per client', async (t) => {
  const { running, client } = await open(t, '2019SP1', 3);
  const a = await piVersion(client);
  const n = running.sim.served.requests;
  const b = await piVersion(client);
  t.equal(a, b);
  t.equal(running.sim.served.requests, n);
  t.match(a, { release: '2019 SP1', version: '1.13.0.6518' });
});

t.test('before 2018 SP1 stream updates are not asked for; 2018 SP1 registers', async (t) => {
  for (const [v, what] of [
    ['2017R2', /PI Web API 2017 R2 \(1\.10\.0\.2090\) has no stream updates; it needs PI Web API 2018 SP1 or later/],
    ['2018', /PI Web API 2018 \(1\.11\.0\.3902\) has stream updates as a preview only; it needs PI Web API 2018 SP1 or later/],
  ] as const) {
    const { running, client } = await open(t, v, 3);
    const w = running.sim.tagWebId(0);
    const out = await new PiUpdatesFeed(client).register([w]);
    t.match(out.get(w), { kind: 'unsupported', error: { message: what } });
    t.equal(running.sim.served.requests, 1, 'only GET /system');
  }
  const { running, client } = await open(t, '2018SP1', 3);
  const w = running.sim.tagWebId(0);
  t.match((await new PiUpdatesFeed(client).register([w])).get(w), { kind: 'ok' });
});

t.test('2016 R2 (WebID 1.0) is taken: the client translates its ids; releases before it are refused by name', async (t) => {
  const { client } = await open(t, '2016R2', 3);
  t.match(await requireSupportedPi(client), { release: '2016 R2', features: { webId2: false } });
  t.ok(client.webIds.isActive, 'reading the release turned the translation on');
  const ds = await new PiPointDirectory(client).dataServer('SIMPI');
  t.match(ds.WebId, /^I1DS/, 'the data server comes back by its IDOnly 2.0 key');
  t.equal(
    unsupportedReason(parsePiVersion('1.7.0.1234')!),
    'PI Web API 2016 (1.7.0.1234) is older than any release pi-agent is tested with; it needs PI Web API 2016 R2 (1.8) or later',
  );
  t.equal(unsupportedReason(parsePiVersion('1.8.0.3059')!), undefined);
  t.equal(unsupportedReason(parsePiVersion('1.9.1.12')!), undefined);
});
