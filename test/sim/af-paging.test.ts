/** Paging of AF collections (fidelity §6, §7): startIndex/maxCount at every level, no silent cap. */
import t from 'tap';
import { harness, pageAll } from './af-helpers.js';

const PLANT = '\\\\SIMAF\\Plant';

t.test('more than 1000 children at every level of the hierarchy', async (t) => {
  const wide = { 1: 1100, 2: 1010, 3: 1020, 4: 1200, 5: 1005 };
  const h = harness({ wide });
  const plant = (await h.get('/assetdatabases', { path: PLANT })).body;
  const truth = h.af.truthElements().filter((e) => e.databasePath === PLANT);
  // Base tree 1/2/3/3/3 plus the extra (leaf) children of the first node of each level.
  t.equal(truth.length, 81 + (1100 - 1) + (1010 - 2) + (1020 - 3) + (1200 - 3) + (1005 - 3));

  const parents = [{ path: PLANT, route: `/assetdatabases/${plant.WebId}/elements`, parentWebId: null as string | null }];
  let p = PLANT;
  for (const word of ['Enterprise', 'Site', 'Area', 'Unit']) {
    p += `\\${word} 0001`;
    const el = await h.get('/elements', { path: p });
    t.equal(el.status, 200, p);
    parents.push({ path: p, route: `/elements/${el.body.WebId}/elements`, parentWebId: el.body.WebId });
  }
  for (const [i, parent] of parents.entries()) {
    const want = truth.filter((e) => e.parentWebId === parent.parentWebId);
    t.equal(want.length, wide[(i + 1) as 1 | 2 | 3 | 4 | 5], `truth children of ${parent.path}`);
    const first = await h.get(parent.route);
    t.equal(first.body.Items.length, 1000, 'maxCount defaults to 1000');
    const { items, calls } = await pageAll(h, parent.route, {}, 1000);
    t.equal(calls, 2);
    t.equal(items.length, want.length, `all children of ${parent.path}`);
    t.same(new Set(items.map((e) => e.WebId)), new Set(want.map((e) => e.webId)));
    const big = await h.get(parent.route, { maxCount: '5000' });
    t.equal(big.body.Items.length, want.length, 'a large maxCount returns everything (no silent cap)');
    t.same(
      big.body.Items.map((e: any) => e.WebId),
      items.map((e) => e.WebId),
      'pages concatenate to the full, sorted list',
    );
  }
  const beyond = await h.get(parents[0]!.route, { startIndex: '5000' });
  t.same(beyond.body, { Items: [], Links: {} });
  t.equal((await h.get(parents[0]!.route, { maxCount: 'ten' })).status, 400);

  const full = await pageAll(h, `/assetdatabases/${plant.WebId}/elements`, { searchFullHierarchy: 'true' }, 1000);
  t.equal(full.items.length, truth.length, 'searchFullHierarchy pages over the whole database');
  t.same(new Set(full.items.map((e) => e.WebId)), new Set(truth.map((e) => e.webId)));
  const sub = await pageAll(h, parents[3]!.route, { searchFullHierarchy: 'true' }, 700);
  t.equal(sub.items.length, truth.filter((e) => e.path.startsWith(`${parents[3]!.path}\\`)).length, 'subtree of Area 0001');
});

t.test('attributes and event frames page the same way', async (t) => {
  const h = harness();
  const plant = (await h.get('/assetdatabases', { path: PLANT })).body;
  const pump = (await h.get('/elements', { path: `${PLANT}\\Enterprise 01\\Site 01\\Area 01\\Unit 01\\Pump 01` })).body;
  const route = `/elements/${pump.WebId}/attributes`;
  const q = { searchFullHierarchy: 'true', showHidden: 'true', showExcluded: 'true' };
  const all = (await h.get(route, q)).body.Items;
  t.equal(all.length, 10);
  const paged = await pageAll(h, route, q, 3);
  t.equal(paged.calls, 4);
  t.same(
    paged.items.map((a) => a.WebId),
    all.map((a: any) => a.WebId),
  );

  const frames = h.af.truthEventFrames();
  const top = frames.filter((f) => f.parentWebId === null && f.databasePath === PLANT);
  t.ok(top.length > 1000, `${top.length} top-level frames since 2026-01-01`);
  const efRoute = `/assetdatabases/${plant.WebId}/eventframes`;
  const range = { startTime: '2026-01-01T00:00:00Z', endTime: '*' };
  t.equal((await h.get(efRoute, range)).body.Items.length, 1000, 'maxCount defaults to 1000');
  const efs = await pageAll(h, efRoute, range, 1000);
  t.equal(efs.items.length, top.length);
  t.same(new Set(efs.items.map((f) => f.WebId)), new Set(top.map((f) => f.webId)));
  const deep = await pageAll(h, efRoute, { ...range, searchFullHierarchy: 'true' }, 1000);
  t.equal(deep.items.length, frames.length, 'searchFullHierarchy adds the batch phases');
  t.ok(frames.length > top.length);
});
