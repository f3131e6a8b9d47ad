/** The simulator's PI Web API release profiles (versions.ts): /system, sourceFilter, stream updates. */
import t from 'tap';
import { SIM_VERSIONS } from './piwebapi/versions.js';
import { get, post, sim } from './core-util.js';

t.test('default is the newest release: 2023, sourceFilter honoured, stream updates present', async (t) => {
  const s = await sim(t, { tags: 40 });
  const sys = await get(s, '/system');
  t.equal(sys.json.ProductVersion, '1.19.0.621');
  t.equal(sys.json.ProductTitle, 'PI Web API 2023 (simulator)');
  const ds = (await get(s, '/dataservers')).json.Items[0].WebId;
  const calc = (await get(s, `/dataservers/${ds}/points?sourceFilter=CALC&maxCount=5&selectedFields=Items.Name`)).json.Items.map((p: { Name: string }) => p.Name);
  t.same(
    calc,
    [3, 10, 17, 24, 31].map((i) => s.sim.tagName(i)),
  );
});

t.test('every profile answers /system and /system/versions with its own version', async (t) => {
  for (const p of Object.values(SIM_VERSIONS)) {
    const s = await sim(t, { tags: 3, version: p.name });
    const sys = await get(s, '/system');
    t.equal(sys.json.ProductVersion, p.productVersion, p.name);
    t.equal(sys.json.ProductTitle, `${p.title} (simulator)`);
    const v = (await get(s, '/system/versions')).json['OSIsoft.REST.Core'];
    t.equal(v.FullVersion, p.productVersion);
    t.equal(v.MajorMinorRevision, p.productVersion.split('.').slice(0, 3).join('.'));
    t.equal(v.Build, p.productVersion.split('.')[3]);
  }
});

t.test('2018 SP1 ignores sourceFilter: every point comes back', async (t) => {
  const s = await sim(t, { tags: 12, version: '2018SP1' });
  const ds = (await get(s, '/dataservers')).json.Items[0].WebId;
  const items = (await get(s, `/dataservers/${ds}/points?sourceFilter=CALC&selectedFields=Items.Name`)).json.Items;
  t.equal(items.length, 12);
  t.equal((await get(s, '/system')).json.ProductVersion, '1.11.1.5383');
});

t.test('2017 R2 has no stream-updates routes; 2018 has them', async (t) => {
  const old = await sim(t, { tags: 3, version: '2017R2' });
  const w = old.sim.tagWebId(0);
  const r = await post(old, `/streams/${w}/updates`, undefined);
  t.equal(r.status, 404);
  t.match(r.json, { Message: /No HTTP resource/ });
  const s2018 = await sim(t, { tags: 3, version: '2018' });
  const ok = await post(s2018, `/streams/${s2018.sim.tagWebId(0)}/updates`, undefined);
  t.equal(ok.status, 200);
  t.equal(ok.json.Status, 'Succeeded');
});

t.test('2016 R2 and 2017 write WebID 1.0 whatever webIdType asks, and read no 2.0 id; later releases read both', async (t) => {
  for (const version of ['2016R2', '2017'] as const) {
    const old = await sim(t, { tags: 3, version });
    const ds = (await get(old, '/dataservers?webIdType=IDOnly')).json.Items[0];
    t.match(ds.WebId, /^s0/, `${version}: data server`);
    const pts = (await get(old, `/dataservers/${ds.WebId}/points?webIdType=IDOnly`)).json.Items;
    t.same(
      pts.map((p: { WebId: string }) => p.WebId),
      [0, 1, 2].map((i) => old.sim.tagWebId(i)),
    );
    t.match(pts[0].WebId, /^P0/, `${version}: points`);
    const idOnly = `I1DP${pts[0].WebId.slice(2, 30)}`;
    t.equal((await get(old, `/streams/${idOnly}/value`)).status, 400, `${version}: a 2.0 id is not read`);
    t.equal((await get(old, `/streams/${pts[0].WebId}/value`)).status, 200);
  }
  const now = await sim(t, { tags: 3, version: '2017R2' });
  const old = await sim(t, { tags: 3, version: '2016R2' });
  // The same seed: the same GUIDs and point ids, so the 1.0 id of 2016 R2 names the same point.
  const r = await get(now, `/streams/${old.sim.tagWebId(1)}/value`);
  t.equal(r.status, 200, '2017 R2 reads a 1.0 id an older release issued');
  t.same(r.json, (await get(now, `/streams/${now.sim.tagWebId(1)}/value`)).json);
});
