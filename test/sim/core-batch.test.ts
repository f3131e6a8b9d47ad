import t from 'tap';
import { pathOnlyWebId } from '../../agent/pi/webid.js';
import { get, post, sim } from './core-util.js';

const RANGE = 'startTime=2026-01-01T00:00:00Z&endTime=2026-01-02T00:00:00Z';

t.test('streamsets/recorded: maxCount per stream; a bad WebID gets Errors without failing the call', async (t) => {
  const s = await sim(t, { tags: 20 });
  const ids = [s.sim.tagWebId(0), s.sim.tagWebId(3), 'garbage', pathOnlyWebId('DP', '\\\\SIMPI\\NOPE'), s.sim.tagWebId(6, 'IDOnly')];
  const r = await get(s, `/streamsets/recorded?${ids.map((w) => 'webId=' + encodeURIComponent(w)).join('&')}&${RANGE}&maxCount=25`);
  t.equal(r.status, 200);
  const items = r.json.Items;
  t.equal(items.length, 5);
  for (const [k, i] of [
    [0, 0],
    [1, 3],
    [4, 6],
  ] as const) {
    const truth = s.sim.truth(i, '2026-01-01T00:00:00Z', i === 6 ? '2026-01-01T00:10:00Z' : '2026-01-02T00:00:00Z');
    t.ok(truth.length > 25);
    t.equal(items[k].Items.length, 25, `stream ${i} truncated on its own`);
    t.same(items[k].Items, truth.slice(0, 25));
    t.equal(items[k].Name, s.sim.tagName(i));
    t.equal(items[k].Path, s.sim.tagPath(i));
    t.equal(items[k].WebId, s.sim.tagWebId(i));
    t.equal(items[k].UnitsAbbreviation, s.sim.tagMeta(i).units);
  }
  t.same(Object.keys(items[2]).sort(), ['Errors', 'WebId']);
  t.equal(items[2].WebId, 'garbage');
  t.match(items[2].Errors[0], /WebID/);
  t.match(items[3].Errors[0], /not found/);
  // A gappy stream with fewer events than maxCount is complete while others are truncated.
  const r2 = await get(
    s,
    `/streamsets/recorded?webId=${s.sim.tagWebId(5)}&webId=${s.sim.tagWebId(1)}&startTime=2026-01-01T00:00:00Z&endTime=2026-01-01T06:00:00Z&maxCount=60`,
  );
  const ts = s.sim.truth(5, '2026-01-01T00:00:00Z', '2026-01-01T06:00:00Z');
  t.ok(ts.length < 60);
  t.same(r2.json.Items[0].Items, ts);
  t.equal(r2.json.Items[1].Items.length, 60);
  const cap = await get(s, `/streamsets/recorded?webId=${s.sim.tagWebId(0)}&maxCount=200000`);
  t.equal(cap.status, 400);
  const sel = await get(s, `/streamsets/recorded?webId=${s.sim.tagWebId(0)}&${RANGE}&maxCount=2&selectedFields=Items.WebId;Items.Items.Timestamp`);
  t.same(sel.json, {
    Items: [
      {
        WebId: s.sim.tagWebId(0),
        Items: s.sim
          .truth(0, '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z')
          .slice(0, 2)
          .map((e) => ({ Timestamp: e.Timestamp })),
      },
    ],
  });
});

t.test('batch: 207, keys kept, ParentIds, JsonPath Resource, Parameters, RequestTemplate, failing sub-request', async (t) => {
  const s = await sim(t, { tags: 20 });
  const base = s.url;
  const batch = {
    ds: { Method: 'GET', Resource: `${base}/dataservers?path=${encodeURIComponent('\\\\SIMPI')}` },
    pts: { Method: 'GET', Resource: '$.ds.Content.Links.Points', ParentIds: ['ds'] },
    one: {
      Method: 'GET',
      Resource: `${base}/streams/{0}/recorded?${RANGE}&maxCount=3&selectedFields=Items.Value`,
      Parameters: ['$.pts.Content.Items[2].WebId'],
      ParentIds: ['pts'],
    },
    fan: {
      Method: 'GET',
      RequestTemplate: { Resource: `${base}/points/{0}?selectedFields=Name` },
      Parameters: ['$.pts.Content.Items[*].WebId'],
      ParentIds: ['pts'],
    },
    set: {
      Method: 'GET',
      Resource: `${base}/streamsets/recorded?webId={0}&${RANGE}&maxCount=1&selectedFields=Items.Name`,
      Parameters: ['$.pts.Content.Items[0:2].WebId'],
      ParentIds: ['pts'],
    },
    bad: { Method: 'GET', Resource: `${base}/streams/NOTAWEBID/recorded` },
    child: { Method: 'GET', Resource: `${base}/streams/{0}/value`, Parameters: ['$.bad.Content.WebId'], ParentIds: ['bad'] },
    missing: { Method: 'GET', Resource: `${base}/nowhere` },
    // A writing sub-request carries its own X-Requested-With (CSRF defence, issue 18); without it 403.
    post: { Method: 'POST', Resource: `${base}/streamsets/updates?webId=${s.sim.tagWebId(0)}`, Content: '', Headers: { 'X-Requested-With': 'XMLHttpRequest' } },
    postNoCsrf: { Method: 'POST', Resource: `${base}/streamsets/updates?webId=${s.sim.tagWebId(1)}`, Content: '' },
  };
  const r = await post(s, '/batch', batch);
  t.equal(r.status, 207);
  const b = r.json;
  t.same(Object.keys(b).sort(), Object.keys(batch).sort());
  t.equal(b.ds.Status, 200);
  t.equal(b.ds.Content.Name, 'SIMPI');
  t.equal(b.pts.Status, 200);
  t.equal(b.pts.Content.Items.length, 20);
  t.equal(b.one.Status, 200);
  t.same(b.one.Content, {
    Items: s.sim
      .truth(2, '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z')
      .slice(0, 3)
      .map((e) => ({ Value: e.Value })),
  });
  t.equal(b.fan.Status, 200);
  t.equal(b.fan.Content.Items.length, 20);
  t.same(b.fan.Content.Items[5], { Status: 200, Headers: { 'Content-Type': 'application/json; charset=utf-8' }, Content: { Name: 'SIM.TIMESTAMP.00005' } });
  // `[0:2]` is no JsonPath this simulator supports: a 400 in Status only, the call stays 207.
  t.equal(b.set.Status, 400);
  t.equal(b.bad.Status, 400);
  t.match(b.bad.Content.Errors[0], /WebID/);
  t.equal(b.child.Status, 409, 'a child of a failed parent is not executed');
  t.equal(b.missing.Status, 404);
  t.match(b.missing.Content.Message, /No HTTP resource/);
  t.equal(b.post.Status, 200);
  t.equal(b.post.Content.Items[0].Status, 'Succeeded');
  t.equal(b.postNoCsrf.Status, 403, "the outer POST's header does not cover a sub-request");
  t.match(b.postNoCsrf.Content.Errors[0], /X-Requested-With/);
});

t.test('batch: several tokens fill a repeated query parameter; Content is parsed JSON', async (t) => {
  const s = await sim(t, { tags: 20 });
  const base = s.url;
  const r = await post(s, '/batch', {
    '1': { Method: 'GET', Resource: `${base}/dataservers/${(await get(s, '/dataservers')).json.Items[0].WebId}/points?maxCount=3` },
    '2': {
      Method: 'GET',
      Resource: `${base}/streamsets/recorded?webId={0}&${RANGE}&maxCount=1&selectedFields=Items.Name`,
      Parameters: ['$.1.Content.Items[*].WebId'],
      ParentIds: ['1'],
    },
    '3': { Method: 'GET', Resource: `${base}/points/{0}?selectedFields=Name`, Parameters: [s.sim.tagWebId(7)] },
    '4': { Method: 'POST', Resource: `${base}/batch`, Content: '{}' },
    '5': { Method: 'GET', Resource: `${base}/points/{0}`, Parameters: ['$.9.Content.WebId'] },
  });
  t.equal(r.status, 207);
  t.same(r.json['2'].Content, { Items: [0, 1, 2].map((i) => ({ Name: s.sim.tagName(i) })) });
  t.same(r.json['3'].Content, { Name: 'SIM.GAPPY.00007' });
  t.equal(r.json['4'].Status, 400, 'no nested batch');
  t.equal(r.json['5'].Status, 400, 'JsonPath outside ParentIds');
  const notObject = await post(s, '/batch', [1, 2]);
  t.equal(notObject.status, 400);
});
