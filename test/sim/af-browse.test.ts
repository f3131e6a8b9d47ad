/** AF browsing in the simulator (fidelity §6, §9): servers, databases, elements, attributes, templates. */
import t from 'tap';
import { decodeWebId, encodeWebId, pathOnlyWebId } from '../../agent/pi/webid.js';
import { fakeTags, harness } from './af-helpers.js';

const PLANT = '\\\\SIMAF\\Plant';
const PUMP = `${PLANT}\\Enterprise 01\\Site 01\\Area 01\\Unit 01\\Pump 01`;

t.test('asset server and databases', async (t) => {
  const h = harness();
  const list = await h.get('/assetservers');
  t.equal(list.status, 200);
  t.equal(list.body.Items.length, 1);
  const srv = list.body.Items[0];
  t.match(srv, { Name: 'SIMAF', Path: '\\\\SIMAF', IsConnected: true });
  t.equal(decodeWebId(srv.WebId).marker, 'RS');
  t.equal(srv.Links.Self, `/piwebapi/assetservers/${srv.WebId}`);
  t.same(list.body.Links, {});

  t.equal((await h.get('/assetservers', { path: '\\\\simaf' })).body.WebId, srv.WebId, 'path is case-insensitive');
  t.equal((await h.get('/assetservers', { name: 'SIMAF' })).body.WebId, srv.WebId);
  const bad = await h.get('/assetservers', { path: '\\\\NOPE' });
  t.equal(bad.status, 404);
  t.type(bad.body.Errors[0], 'string');

  const dbs = await h.get(`/assetservers/${srv.WebId}/assetdatabases`);
  t.same(
    dbs.body.Items.map((d: any) => d.Name),
    ['Plant', 'Utilities'],
  );
  const plant = dbs.body.Items[0];
  t.equal(plant.Path, PLANT);
  t.equal(decodeWebId(plant.WebId).marker, 'RD');
  t.same(decodeWebId(plant.WebId).guids[0], srv.Id, 'RD carries the server GUID first');
  t.equal((await h.get('/assetdatabases', { path: PLANT })).body.WebId, plant.WebId);
  t.equal((await h.get(`/assetdatabases/${plant.WebId}`)).body.Name, 'Plant');
  t.equal((await h.get('/assetdatabases', { path: `${PLANT}X` })).status, 404);
  t.equal((await h.get('/assetdatabases')).status, 400, 'path is required');
});

t.test('element hierarchy, filters and WebID forms', async (t) => {
  const h = harness();
  const plant = (await h.get('/assetdatabases', { path: PLANT })).body;
  const top = await h.get(`/assetdatabases/${plant.WebId}/elements`);
  t.same(
    top.body.Items.map((e: any) => e.Name),
    ['Enterprise 01'],
    'searchFullHierarchy defaults to false',
  );
  t.equal(top.body.Items[0].HasChildren, true);

  const truth = h.af.truthElements().filter((e) => e.databasePath === PLANT);
  t.equal(truth.length, 1 + 2 + 6 + 18 + 54, 'default fan-out 1/2/3/3/3');
  t.same(new Set(truth.map((e) => e.depth)), new Set([1, 2, 3, 4, 5]));
  const all = await h.get(`/assetdatabases/${plant.WebId}/elements`, { searchFullHierarchy: 'true' });
  t.equal(all.body.Items.length, truth.length);
  t.same(new Set(all.body.Items.map((e: any) => e.WebId)), new Set(truth.map((e) => e.webId)));
  const names = all.body.Items.map((e: any) => e.Name.toUpperCase());
  t.same(names, [...names].sort(), 'sorted by Name');
  const desc = await h.get(`/assetdatabases/${plant.WebId}/elements`, { searchFullHierarchy: 'true', sortOrder: 'Descending' });
  t.same(
    desc.body.Items.map((e: any) => e.Name.toUpperCase()),
    [...names].reverse(),
  );

  const byTemplate = await h.get(`/assetdatabases/${plant.WebId}/elements`, { searchFullHierarchy: 'true', templateName: 'Equipment' });
  t.equal(byTemplate.body.Items.length, 54, 'templateName matches derived templates (Pump, Compressor)');
  t.same(new Set(byTemplate.body.Items.map((e: any) => e.TemplateName)), new Set(['Pump', 'Compressor']));
  const units = await h.get(`/assetdatabases/${plant.WebId}/elements`, { searchFullHierarchy: 'true', categoryName: 'production' });
  t.equal(units.body.Items.length, 18);
  const pumps = await h.get(`/assetdatabases/${plant.WebId}/elements`, { searchFullHierarchy: 'true', nameFilter: 'pump*' });
  t.equal(pumps.body.Items.length, truth.filter((e) => e.name.startsWith('Pump')).length);
  const sites = await h.get(`/assetdatabases/${plant.WebId}/elements`, { searchFullHierarchy: 'true', nameFilter: 'Site 0[!1]' });
  t.same(
    sites.body.Items.map((e: any) => e.Name),
    ['Site 02'],
  );

  const pump = await h.get('/elements', { path: PUMP });
  t.equal(pump.status, 200);
  t.match(pump.body, { Name: 'Pump 01', Path: PUMP, TemplateName: 'Pump', HasChildren: false, CategoryNames: ['Equipment', 'Rotating Equipment'] });
  t.equal(decodeWebId(pump.body.WebId).name, PUMP.slice(2).toUpperCase(), 'Full WebID carries the upper-cased path');
  const parent = await h.get('/elements', { path: PUMP.replace(/\\Pump 01$/, '') });
  t.equal(pump.body.Links.Parent, `/piwebapi/elements/${parent.body.WebId}`);
  const kids = await h.get(`/elements/${parent.body.WebId}/elements`);
  t.same(
    kids.body.Items.map((e: any) => e.Name),
    ['Compressor 02', 'Pump 01', 'Pump 03'],
  );

  // The same element by IDOnly and PathOnly WebIDs, and the webIdType output option.
  // The AF server's GUID, then the element's (issue 18: the spec's `I1Em` example holds both).
  const guids = decodeWebId(pump.body.WebId).guids;
  t.same(guids[1], pump.body.Id);
  const idOnly = encodeWebId({ type: 'IDOnly', marker: 'Em', guids });
  t.equal((await h.get(`/elements/${idOnly}`)).body.Id, pump.body.Id);
  t.equal((await h.get(`/elements/${pathOnlyWebId('Em', PUMP)}`)).body.Id, pump.body.Id);
  t.equal((await h.get(`/elements/${pump.body.WebId}`, { webIdType: 'IDOnly' })).body.WebId, idOnly);
  t.equal((await h.get(`/elements/${pump.body.WebId}`, { webIdType: 'PathOnly' })).body.WebId, pathOnlyWebId('Em', PUMP));
  // A fresh model resolves an IDOnly id of an element it has not generated yet.
  t.equal((await harness().get(`/elements/${idOnly}`)).body.Path, PUMP);

  t.equal((await h.get('/elements/F1EmXXXX')).status, 400, 'malformed WebID');
  t.equal((await h.get(`/elements/${encodeWebId({ type: 'IDOnly', marker: 'Em', guids: [guids[0]!, '00000000-0000-0000-0000-000000000001'] })}`)).status, 404);
  // An element GUID of this server under another AF server's GUID is nothing here.
  t.equal(
    (await h.get(`/elements/${encodeWebId({ type: 'IDOnly', marker: 'Em', guids: ['00000000-0000-0000-0000-000000000001', guids[1]!] })}`)).status,
    404,
    'another AF server',
  );
  t.equal((await h.get(`/elements/${plant.WebId}`)).status, 400, 'a database WebID is not an element');
  const missing = await h.get('/elements', { path: `${PLANT}\\Enterprise 01\\Nope` });
  t.equal(missing.status, 404);
  t.type(missing.body.Errors[0], 'string');
});

t.test('attributes: hidden, excluded, child attributes, PI Point references, values', async (t) => {
  const tags = fakeTags(200);
  const h = harness({ tags });
  const pump = (await h.get('/elements', { path: PUMP })).body;
  const visible = await h.get(`/elements/${pump.WebId}/attributes`);
  t.same(
    visible.body.Items.map((a: any) => a.Name),
    ['Commissioned', 'Flow', 'Pressure', 'Rated Power', 'Serial Number', 'Temperature'],
  );
  const every = await h.get(`/elements/${pump.WebId}/attributes`, { showHidden: 'true', showExcluded: 'true' });
  t.same(
    every.body.Items.map((a: any) => a.Name),
    ['Asset Id', 'Commissioned', 'Flow', 'Pressure', 'Rated Power', 'Serial Number', 'Temperature', 'Vibration'],
  );
  t.match(
    every.body.Items.find((a: any) => a.Name === 'Asset Id'),
    { IsHidden: true, IsExcluded: false },
  );
  t.match(
    every.body.Items.find((a: any) => a.Name === 'Vibration'),
    { IsHidden: false, IsExcluded: true, DataReferencePlugIn: 'PI Point' },
  );
  const deep = await h.get(`/elements/${pump.WebId}/attributes`, { searchFullHierarchy: 'true' });
  t.same(
    deep.body.Items.map((a: any) => a.Path.slice(PUMP.length)),
    ['|Commissioned', '|Flow', '|Temperature|High Limit', '|Temperature|Low Limit', '|Pressure', '|Rated Power', '|Serial Number', '|Temperature'],
  );
  t.same(
    (await h.get(`/elements/${pump.WebId}/attributes`, { valueType: 'String' })).body.Items.map((a: any) => a.Name),
    ['Serial Number'],
  );

  const temp = visible.body.Items.find((a: any) => a.Name === 'Temperature');
  t.match(temp, {
    Path: `${PUMP}|Temperature`,
    Type: 'Double',
    DefaultUnitsName: 'degree Celsius',
    DefaultUnitsNameAbbreviation: '°C',
    DataReferencePlugIn: 'PI Point',
    HasChildren: true,
    IsConfigurationItem: false,
  });
  t.equal(decodeWebId(temp.WebId).owner, 'E');
  t.same(decodeWebId(temp.WebId).guids, [decodeWebId(pump.WebId).guids[0], pump.Id, temp.Id], 'AF server, owner element, attribute (issue 18)');
  const idx = h.af.pointIndexForAttribute(temp.WebId);
  t.type(idx, 'number');
  t.ok(idx! >= 0 && idx! < 200);
  t.equal(temp.ConfigString, tags.path(idx!));
  t.equal(temp.Links.Point, `/piwebapi/points/${tags.webId(idx!)}`);
  t.equal(temp.Links.RecordedData, `/piwebapi/streams/${temp.WebId}/recorded`);
  t.equal(h.af.pointIndexForAttribute(pathOnlyWebId('Ab', `${PUMP}|Temperature`, 'E')), idx, 'PathOnly');
  t.equal(
    h.af.pointIndexForAttribute(encodeWebId({ type: 'IDOnly', marker: 'Ab', owner: 'E', guids: [decodeWebId(pump.WebId).guids[0]!, pump.Id, temp.Id] })),
    idx,
    'IDOnly',
  );

  const children = await h.get(`/attributes/${temp.WebId}/attributes`);
  t.same(
    children.body.Items.map((a: any) => [a.Name, a.Links.Parent]),
    [
      ['High Limit', `/piwebapi/attributes/${temp.WebId}`],
      ['Low Limit', `/piwebapi/attributes/${temp.WebId}`],
    ],
  );
  const hi = await h.get('/attributes', { path: `${PUMP}|Temperature|High Limit` });
  t.equal(hi.body.WebId, children.body.Items[0].WebId);
  t.same((await h.get(`/attributes/${hi.body.WebId}/value`)).body, {
    Timestamp: '1970-01-01T00:00:00Z',
    Value: 90,
    UnitsAbbreviation: '°C',
    Good: true,
    Questionable: false,
    Substituted: false,
    Annotated: false,
  });
  t.equal(h.af.pointIndexForAttribute(hi.body.WebId), undefined, 'static attributes have no tag');
  t.equal((await h.get(`/attributes/${temp.WebId}/value`)).status, 400, 'PI Point values come from the streams routes');

  const rated = visible.body.Items.find((a: any) => a.Name === 'Rated Power');
  t.match(rated, { IsConfigurationItem: true, DataReferencePlugIn: '', ConfigString: '' });
  const truthRated = h.af.truthAttributes().find((a) => a.webId === rated.WebId)!;
  t.equal((await h.get(`/attributes/${rated.WebId}/value`)).body.Value, truthRated.value);
  t.type(truthRated.value, 'number');

  t.same(new Set(h.af.attributesOfElement(pump.WebId)), new Set(visible.body.Items.map((a: any) => a.WebId)));
  t.same(h.af.describeAttribute(temp.WebId), { Name: 'Temperature', Path: `${PUMP}|Temperature` });
  t.equal(h.af.attributesOfElement('garbage'), undefined);

  // Every PI Point attribute in the truth points at a real tag.
  const truth = h.af.truthAttributes();
  const pi = truth.filter((a) => a.dataReference === 'PI Point');
  t.ok(pi.length > 100);
  for (const a of pi) if (a.pointWebId !== tags.webId(a.pointIndex!) || a.configString !== tags.path(a.pointIndex!)) t.fail(`bad reference ${a.path}`);
  t.equal(new Set(truth.map((a) => a.webId)).size, truth.length, 'attribute WebIDs are unique');
});

t.test('element templates', async (t) => {
  const h = harness();
  const plant = (await h.get('/assetdatabases', { path: PLANT })).body;
  const list = await h.get(`/assetdatabases/${plant.WebId}/elementtemplates`);
  t.same(
    list.body.Items.map((x: any) => x.Name),
    ['Area', 'Asset', 'Batch', 'Compressor', 'Downtime', 'Enterprise', 'Equipment', 'Phase', 'ProcessUnit', 'Pump', 'Site'],
  );
  const pump = list.body.Items.find((x: any) => x.Name === 'Pump');
  t.match(pump, { BaseTemplate: 'Equipment', InstanceType: 'Element', Path: `${PLANT}\\ElementTemplates[Pump]` });
  t.equal(decodeWebId(pump.WebId).marker, 'ET');
  t.match(
    list.body.Items.find((x: any) => x.Name === 'Downtime'),
    { InstanceType: 'EventFrame', CanBeAcknowledged: true },
  );
  t.equal((await h.get(`/elementtemplates/${pump.WebId}`)).body.Name, 'Pump');
  t.equal((await h.get('/elementtemplates', { path: `${PLANT}\\ElementTemplates[pump]` })).body.WebId, pump.WebId);
  t.same(
    (await h.get(`/assetdatabases/${plant.WebId}/elementtemplates`, { query: 'P*' })).body.Items.map((x: any) => x.Name),
    ['Phase', 'ProcessUnit', 'Pump'],
  );
  const el = (await h.get('/elements', { path: PUMP })).body;
  t.equal(el.Links.Template, `/piwebapi/elementtemplates/${pump.WebId}`);
});

t.test('determinism: same seed, same bodies; other seed, other ids', async (t) => {
  const bodies = async (seed: number): Promise<string> => {
    const h = harness({ seed, now: Date.UTC(2026, 2, 1) });
    const plant = (await h.get('/assetdatabases', { path: PLANT })).body;
    const els = await h.get(`/assetdatabases/${plant.WebId}/elements`, { searchFullHierarchy: 'true' });
    const attrs = await h.get(`/elements/${els.body.Items[10].WebId}/attributes`, { searchFullHierarchy: 'true', showHidden: 'true' });
    const efs = await h.get(`/assetdatabases/${plant.WebId}/eventframes`, { startTime: '*-30d', searchFullHierarchy: 'true' });
    const efAttrs = await h.get(`/eventframes/${efs.body.Items[0].WebId}/attributes`);
    return JSON.stringify([plant, els.body, attrs.body, efs.body, efAttrs.body, h.af.truthElements(), h.af.truthEventFrames()]);
  };
  const a = await bodies(7);
  t.equal(await bodies(7), a);
  const b = await bodies(8);
  t.not(b, a);
  t.not(JSON.parse(b)[0].Id, JSON.parse(a)[0].Id);
});
