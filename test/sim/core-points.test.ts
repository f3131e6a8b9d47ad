import t from 'tap';
import { decodeWebId, encodeWebId, pathOnlyWebId } from '../../agent/pi/webid.js';
import { nameFilterToRegExp } from './piwebapi/namefilter.js';
import { get, post, sim } from './core-util.js';

t.test('landing page, system and data server discovery', async (t) => {
  const s = await sim(t, { tags: 30 });
  const root = await get(s, '');
  t.same(Object.keys(root.json.Links).sort(), ['AssetServers', 'DataServers', 'Search', 'Self', 'System']);
  t.equal(root.json.Links.DataServers, `${s.url}/dataservers`);
  const sys = await get(s, '/system');
  t.match(sys.json.ProductTitle, /PI Web API/);
  const ds = await get(s, '/dataservers');
  t.equal(ds.json.Items.length, 1);
  const d = ds.json.Items[0];
  t.equal(d.Name, 'SIMPI');
  t.equal(d.Path, '\\\\PIServers[SIMPI]');
  t.equal(d.Id, s.sim.serverGuid);
  t.same(decodeWebId(d.WebId), { type: 'Full', marker: 'DS', guids: [s.sim.serverGuid], name: 'SIMPI' });
  t.equal(d.ServerTime, '2026-01-02T00:00:00Z');
  const byPath = await get(s, '/dataservers?path=' + encodeURIComponent('\\\\SIMPI'));
  t.same(byPath.json, d);
  t.equal((await get(s, '/dataservers?path=' + encodeURIComponent('\\\\NOPE'))).status, 404);
  t.same((await get(s, `/dataservers/${d.WebId}`)).json, d);
  t.same((await get(s, `/dataservers/${pathOnlyWebId('DS', '\\\\SIMPI')}`)).json, d);
});

t.test('unknown routes 404 with Message; POST without X-Requested-With is 403', async (t) => {
  const s = await sim(t, { tags: 5 });
  const r = await get(s, '/nosuchthing/here');
  t.equal(r.status, 404);
  t.same(r.json, { Message: "No HTTP resource was found that matches the request URI '/nosuchthing/here'." });
  const csrf = await post(s, '/batch', {}, {});
  t.equal(csrf.status, 403);
  t.match(csrf.json.Errors[0], /X-Requested-With/);
  t.equal((await post(s, '/batch', {})).status, 207);
});

t.test('point metadata follows fidelity §2 and WebIDs of every form resolve the same tag', async (t) => {
  const s = await sim(t, { tags: 30 });
  const ds = (await get(s, '/dataservers')).json.Items[0].WebId;
  const page = await get(s, `/dataservers/${ds}/points?maxCount=10`);
  t.same(
    page.json.Items.map((p: { PointType: string }) => p.PointType),
    ['Float32', 'Float64', 'Int32', 'Digital', 'String', 'Timestamp', 'Float64', 'Float32', 'Float64', 'Float32'],
  );
  const p3 = page.json.Items[3];
  t.same(Object.keys(p3).sort(), [
    'Descriptor',
    'DigitalSetName',
    'DisplayDigits',
    'EngineeringUnits',
    'Future',
    'Id',
    'Links',
    'Name',
    'Path',
    'PointClass',
    'PointType',
    'Span',
    'Step',
    'WebId',
    'Zero',
  ]);
  t.equal(p3.Name, 'SIM.DIGITAL.00003');
  t.equal(p3.Path, '\\\\SIMPI\\SIM.DIGITAL.00003');
  t.equal(p3.DigitalSetName, 'Modes');
  t.equal(p3.Id, 4);
  t.equal(p3.PointClass, 'classic');
  t.equal(p3.Step, true);
  t.equal(p3.Future, false);
  t.equal(page.json.Items[0].EngineeringUnits !== '', true);

  const full = s.sim.tagWebId(3);
  t.same(decodeWebId(full), { type: 'Full', marker: 'DP', guids: [s.sim.serverGuid], pointId: 4, name: 'SIMPI\\SIM.DIGITAL.00003' });
  const idOnly = encodeWebId({ type: 'IDOnly', marker: 'DP', guids: [s.sim.serverGuid], pointId: 4 });
  const pathOnly = pathOnlyWebId('DP', '\\\\SIMPI\\sim.digital.00003');
  t.equal(idOnly, s.sim.tagWebId(3, 'IDOnly'));
  for (const w of [full, idOnly, pathOnly]) {
    const r = await get(s, `/points/${w}?selectedFields=Name;Id`);
    t.same(r.json, { Name: 'SIM.DIGITAL.00003', Id: 4 }, `resolves ${w.slice(0, 4)}`);
    const rec = await get(s, `/streams/${w}/recorded?startTime=2026-01-01T05:00:00Z&endTime=2026-01-01T06:00:00Z`);
    t.same(rec.json.Items, s.sim.truth(3, '2026-01-01T05:00:00Z', '2026-01-01T06:00:00Z'));
  }
  const byPath = await get(s, '/points?path=' + encodeURIComponent('\\\\SIMPI\\SIM.DIGITAL.00003'));
  t.equal(byPath.json.WebId, full);
  t.equal((await get(s, '/points?path=' + encodeURIComponent('\\\\SIMPI\\NOPE'))).status, 404);
  const attrs = await get(s, `/points/${full}/attributes`);
  const map = new Map((attrs.json.Items as Array<{ Name: string; Value: unknown }>).map((a) => [a.Name, a.Value]));
  t.equal(map.get('pointsource'), s.sim.tagMeta(3).pointSource);
  t.equal(map.get('digitalset'), 'Modes');
  t.equal(map.get('pointtype'), 'Digital');
  const one = await get(s, `/points/${full}/attributes/descriptor`);
  t.equal(one.json.Value, s.sim.tagMeta(3).descriptor);
  // A PathOnly id of another server, or of a missing tag, does not resolve.
  t.equal((await get(s, `/points/${pathOnlyWebId('DP', '\\\\OTHER\\SIM.DIGITAL.00003')}`)).status, 404);
});

t.test('name filters: * ? [abc] [!abc] and \\ escape', async (t) => {
  const m = (f: string, n: string): boolean => nameFilterToRegExp(f).test(n);
  t.ok(m('SIM.*', 'SIM.FLOAT32.00001'));
  t.ok(m('sim.float32.0000?', 'SIM.FLOAT32.00001'));
  t.notOk(m('SIM.FLOAT32.0000?', 'SIM.FLOAT32.000012'));
  t.ok(m('SIM.[DF]*', 'SIM.DIGITAL.00003'));
  t.notOk(m('SIM.[!DF]*', 'SIM.DIGITAL.00003'));
  t.ok(m('SIM.[!DF]*', 'SIM.INT32.00002'));
  t.ok(m('A\\*B', 'A*B'));
  t.notOk(m('A\\*B', 'AxB'));
  t.ok(m('A\\?', 'A?'));
  t.notOk(m('SIM', 'SIM.X'), 'no wildcard = exact');

  const s = await sim(t, { tags: 2500 });
  const ds = (await get(s, '/dataservers')).json.Items[0].WebId;
  const names = async (q: string): Promise<string[]> =>
    (await get(s, `/dataservers/${ds}/points?${q}&selectedFields=Items.Name`)).json.Items.map((p: { Name: string }) => p.Name);
  t.same(await names('nameFilter=SIM.DIGITAL.0000?'), ['SIM.DIGITAL.00003']);
  t.same(await names('nameFilter=' + encodeURIComponent('SIM.[ST]*.0000[0-9]')), ['SIM.STRING.00004', 'SIM.TIMESTAMP.00005']);
  t.same(await names('nameFilter=' + encodeURIComponent('SIM.[!F]*.0000?')), [
    'SIM.INT32.00002',
    'SIM.DIGITAL.00003',
    'SIM.STRING.00004',
    'SIM.TIMESTAMP.00005',
    'SIM.GAPPY.00007',
    'SIM.BURST.00008',
  ]);
  t.same(await names('nameFilter=sim.int32.00002'), ['SIM.INT32.00002']);
  const calc = await names('sourceFilter=CALC&maxCount=5');
  t.same(
    calc,
    [3, 10, 17, 24, 31].map((i) => s.sim.tagName(i)),
  );
});

t.test('point paging over more than 1000 points: default 1000, startIndex continues, no overlap', async (t) => {
  const s = await sim(t, { tags: 2500 });
  const ds = (await get(s, '/dataservers')).json.Items[0].WebId;
  const first = await get(s, `/dataservers/${ds}/points?selectedFields=Items.Name`);
  t.equal(first.json.Items.length, 1000, 'default maxCount 1000');
  const all: string[] = [];
  for (let start = 0; ; start += 1000) {
    const p = (await get(s, `/dataservers/${ds}/points?startIndex=${start}&maxCount=1000&selectedFields=Items.Name`)).json.Items as Array<{ Name: string }>;
    all.push(...p.map((x) => x.Name));
    if (p.length < 1000) break;
  }
  t.equal(all.length, 2500);
  t.equal(new Set(all).size, 2500);
  t.same(all.slice(0, 3), ['SIM.FLOAT32.00000', 'SIM.FLOAT64.00001', 'SIM.INT32.00002']);
  t.equal(all[2499], s.sim.tagName(2499));
  const filtered = await get(s, `/dataservers/${ds}/points?nameFilter=SIM.DIGITAL.*&startIndex=100&maxCount=5&selectedFields=Items.Name`);
  const digital = [...Array(2500).keys()].filter((i) => s.sim.tagMeta(i).pointType === 'Digital').map((i) => s.sim.tagName(i));
  t.same(
    filtered.json.Items.map((p: { Name: string }) => p.Name),
    digital.slice(100, 105),
  );
});
