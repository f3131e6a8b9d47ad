/** AF and event frames through the simulator's HTTP server, with the core's streams routes. */
import t from 'tap';
import type { AfModel } from './piwebapi/af.js';
import { startSimulator } from './piwebapi/server.js';

const PUMP = '\\\\SIMAF\\Plant\\Enterprise 01\\Site 01\\Area 01\\Unit 01\\Pump 01';

async function getJson(url: string): Promise<{ status: number; body: any }> {
  const r = await fetch(url);
  return { status: r.status, body: await r.json() };
}

t.test('browse AF and read PI Point attributes through the streams routes', async (t) => {
  const s = await startSimulator({ tags: 60, seed: 11 });
  t.teardown(() => s.close());
  const af = s.sim.af as unknown as AfModel;
  t.ok(af, 'the server loaded the AF model');
  const origin = s.url.replace(/\/piwebapi$/, '');
  const q = (p: Record<string, string>): string => `?${new URLSearchParams(p)}`;

  const servers = await getJson(`${s.url}/assetservers`);
  t.equal(servers.status, 200);
  t.equal(servers.body.Items[0].Name, 'SIMAF');
  t.same((await getJson(`${s.url}/assetservers${q({ selectedFields: 'Items.Name' })}`)).body, { Items: [{ Name: 'SIMAF' }] }, 'selectedFields applies');

  const pump = await getJson(`${s.url}/elements${q({ path: PUMP })}`);
  t.equal(pump.status, 200);
  t.equal(pump.body.Path, PUMP);
  const attrs = (await getJson(`${s.url}/elements/${pump.body.WebId}/attributes`)).body.Items;
  const temp = attrs.find((a: any) => a.Name === 'Temperature');
  const idx = af.pointIndexForAttribute(temp.WebId)!;
  t.ok(idx >= 0 && idx < 60);

  // The attribute's stream is its tag's stream.
  const range = q({ startTime: '*-2h', endTime: '*' });
  t.equal(temp.Links.RecordedData, `${s.url}/streams/${temp.WebId}/recorded`, 'Links are absolute URLs of this server');
  const viaAttr = await getJson(`${temp.Links.RecordedData}${range}`);
  t.equal(viaAttr.status, 200);
  const viaTag = await getJson(`${s.url}/streams/${s.sim.tagWebId(idx)}/recorded${range}`);
  t.ok(viaTag.body.Items.length > 0);
  t.same(viaAttr.body.Items, viaTag.body.Items);

  // The element's streamset lists its PI Point attributes (hidden/excluded ones left out).
  const set = await getJson(`${s.url}/streamsets/${pump.body.WebId}/recorded${range}`);
  t.equal(set.status, 200);
  t.same(set.body.Items.map((i: any) => i.Name).sort(), ['Flow', 'Pressure', 'Temperature']);
  t.equal(set.body.Items.find((i: any) => i.Name === 'Temperature').Path, `${PUMP}|Temperature`);

  // Event frames follow the simulated clock.
  const plant = (await getJson(`${s.url}/assetdatabases${q({ path: '\\\\SIMAF\\Plant' })}`)).body;
  const efUrl = `${s.url}/assetdatabases/${plant.WebId}/eventframes${q({ startTime: '2026-01-01T00:00:00Z', maxCount: '10000' })}`;
  const before = (await getJson(efUrl)).body.Items.length;
  t.equal(before, af.truthEventFrames().filter((f) => f.parentWebId === null && f.databasePath === '\\\\SIMAF\\Plant').length);
  const adv = await fetch(`${origin}/sim/clock/advance`, { method: 'POST', body: JSON.stringify({ by: '3d' }), headers: { 'Content-Type': 'application/json' } });
  t.equal(adv.status, 200);
  const after = (await getJson(efUrl)).body.Items.length;
  t.ok(after > before, `${before} frames, then ${after} three days later`);

  // AF control routes over HTTP (`/sim/af/...` beside `/piwebapi`, no CSRF header needed).
  const truth = await getJson(`${origin}/sim/af/truth/elements`);
  t.equal(truth.status, 200);
  t.equal(truth.body.Items.length, af.truthElements().length);
  const ren = await fetch(`${origin}/sim/af/elements/rename`, {
    method: 'POST',
    body: JSON.stringify({ element: pump.body.WebId, name: 'Pump 01X' }),
    headers: { 'Content-Type': 'application/json' },
  });
  t.equal(ren.status, 200);
  t.equal(((await ren.json()) as { Path: string }).Path, `${PUMP}X`);
  t.equal((await getJson(`${s.url}/elements${q({ path: PUMP })}`)).status, 404);
  t.equal((await getJson(`${s.url}/elements${q({ path: `${PUMP}X` })}`)).body.Id, pump.body.Id);
});
