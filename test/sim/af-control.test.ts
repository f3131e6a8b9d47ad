/** The AF control API (`/sim/af/...`): changes show in the PI Web API routes and in the ground truth. */
import t from 'tap';
import { decodeWebId, encodeWebId } from '../../agent/pi/webid.js';
import { harness } from './af-helpers.js';

/** An early clock keeps the event frame history (and the truth lists) short. */
const NOW = Date.UTC(2026, 1, 1, 12);

const PLANT = '\\\\SIMAF\\Plant';
const SITE1 = `${PLANT}\\Enterprise 01\\Site 01`;
const AREA1 = `${SITE1}\\Area 01`;
const AREA2 = `${SITE1}\\Area 02`;

t.test('rename, move, add and delete elements', async (t) => {
  const h = harness({ now: NOW });
  const pump = (await h.get('/elements', { path: `${AREA1}\\Unit 01\\Pump 01` })).body;
  const temp = (await h.get('/attributes', { path: `${AREA1}\\Unit 01\\Pump 01|Temperature` })).body;
  const idx = h.af.pointIndexForAttribute(temp.WebId);

  // Rename: the old path is gone, the old Full WebID still finds the element (by GUID).
  const renamed = await h.post('/sim/af/elements/rename', { element: pump.WebId, name: 'Pump 01A' });
  t.equal(renamed.status, 200);
  t.equal(renamed.body.Path, `${AREA1}\\Unit 01\\Pump 01A`);
  t.equal(renamed.body.Id, pump.Id);
  t.equal((await h.get('/elements', { path: `${AREA1}\\Unit 01\\Pump 01` })).status, 404);
  t.equal((await h.get(`/elements/${pump.WebId}`)).body.Name, 'Pump 01A');
  t.not(renamed.body.WebId, pump.WebId, 'the Full WebID carries the new path');
  t.equal((await h.get(`/attributes/${temp.WebId}`)).body.Path, `${AREA1}\\Unit 01\\Pump 01A|Temperature`);
  t.equal(h.af.pointIndexForAttribute(temp.WebId), idx);
  t.ok(h.af.truthElements().some((e) => e.path === `${AREA1}\\Unit 01\\Pump 01A` && e.webId === renamed.body.WebId));
  t.equal((await h.post('/sim/af/elements/rename', { element: renamed.body.WebId, name: 'Pump 03' })).status, 409, 'sibling names are unique');

  // Move Unit 02 (with its equipment) from Area 01 up to Site 01: depth and paths change.
  const unit2 = (await h.get('/elements', { path: `${AREA1}\\Unit 02` })).body;
  t.equal((await h.post('/sim/af/elements/move', { element: unit2.WebId, parent: AREA2 })).status, 409, 'Area 02 has a Unit 02 already');
  const site1 = (await h.get('/elements', { path: SITE1 })).body;
  const moved = await h.post('/sim/af/elements/move', { element: unit2.WebId, parent: site1.WebId });
  t.equal(moved.status, 200);
  t.equal(moved.body.Path, `${SITE1}\\Unit 02`);
  t.same(
    (await h.get(`/elements/${site1.WebId}/elements`)).body.Items.map((e: any) => e.Name),
    ['Area 01', 'Area 02', 'Area 03', 'Unit 02'],
  );
  t.equal((await h.get('/elements', { path: `${AREA1}\\Unit 02` })).status, 404);
  const truth = h.af.truthElements();
  const tu = truth.find((e) => e.id === unit2.Id)!;
  t.equal(tu.parentWebId, site1.WebId);
  t.equal(tu.depth, 3);
  const kids = truth.filter((e) => e.path.startsWith(`${SITE1}\\Unit 02\\`));
  t.equal(kids.length, 3, 'the subtree moved along');
  t.same(
    kids.map((e) => e.depth),
    [4, 4, 4],
  );
  const area2 = (await h.get('/elements', { path: AREA2 })).body;
  t.equal((await h.post('/sim/af/elements/move', { element: site1.WebId, parent: moved.body.WebId })).status, 400, 'not below itself');
  t.equal((await h.post('/sim/af/elements/move', { element: area2.WebId, parent: '\\\\SIMAF\\Utilities' })).status, 400, 'not across databases');

  // Delete Unit 03 of Area 01: it, its equipment and their attributes disappear.
  const unit3 = (await h.get('/elements', { path: `${AREA1}\\Unit 03` })).body;
  const u3attr = (await h.get(`/elements/${unit3.WebId}/attributes`)).body.Items.find((a: any) => a.DataReferencePlugIn === 'PI Point');
  const del = await h.post('/sim/af/elements/delete', { element: unit3.WebId });
  t.equal(del.status, 204);
  t.equal((await h.get(`/elements/${unit3.WebId}`)).status, 404);
  t.equal((await h.get(`/attributes/${u3attr.WebId}`)).status, 404);
  t.equal(h.af.pointIndexForAttribute(u3attr.WebId), undefined);
  t.equal(h.af.attributesOfElement(unit3.WebId), undefined);
  const after = h.af.truthElements();
  t.equal(after.length, truth.length - 4);
  t.notOk(after.some((e) => e.path.startsWith(`${AREA1}\\Unit 03`)));
  t.notOk(h.af.truthAttributes().some((a) => a.path.startsWith(`${AREA1}\\Unit 03`)));
  const area1 = (await h.get('/elements', { path: AREA1 })).body;
  t.same(
    (await h.get(`/elements/${area1.WebId}/elements`)).body.Items.map((e: any) => e.Name),
    ['Unit 01'],
  );
  // Frames no longer reference deleted elements.
  const gone = new Set(truth.filter((e) => !after.some((a) => a.webId === e.webId)).map((e) => e.webId));
  t.notOk(h.af.truthEventFrames().some((f) => f.refElementWebIds.some((w) => gone.has(w))));

  // Add an element from a template: it gets the template's attributes.
  const added = await h.post('/sim/af/elements/add', { parent: area1.WebId, name: 'Unit 09', templateName: 'ProcessUnit', description: 'new unit' });
  t.equal(added.status, 201);
  t.match(added.body, { Path: `${AREA1}\\Unit 09`, TemplateName: 'ProcessUnit', Description: 'new unit', HasChildren: false });
  t.same(
    (await h.get(`/elements/${added.body.WebId}/attributes`)).body.Items.map((a: any) => a.Name),
    ['Rated Capacity', 'Status', 'Throughput'],
  );
  const child = await h.post('/sim/af/elements/add', { parent: `${AREA1}\\Unit 09`, name: 'Mixer 01' });
  t.equal(child.status, 201);
  t.equal((await h.get(`/elements/${added.body.WebId}`)).body.HasChildren, true);
  t.equal(h.af.truthElements().find((e) => e.webId === child.body.WebId)!.depth, 5);
  t.equal((await h.post('/sim/af/elements/add', { parent: area1.WebId, name: 'Unit 09' })).status, 409);
  t.equal((await h.post('/sim/af/elements/add', { parent: `${PLANT}\\Nope`, name: 'X' })).status, 404);
  const top = await h.post('/sim/af/elements/add', { parent: PLANT, name: 'Enterprise 02' });
  t.equal(h.af.truthElements().find((e) => e.webId === top.body.WebId)!.parentWebId, null);
});

t.test('attributes: add, rename, set value, delete', async (t) => {
  const h = harness({ now: NOW });
  const pump = (await h.get('/elements', { path: `${AREA1}\\Unit 01\\Pump 01` })).body;
  const stat = await h.post('/sim/af/attributes/add', { owner: pump.WebId, name: 'Location', value: 'Bay 4' });
  t.equal(stat.status, 201);
  t.match(stat.body, { Path: `${pump.Path}|Location`, Type: 'String', DataReferencePlugIn: '' });
  t.equal((await h.get(`/attributes/${stat.body.WebId}/value`)).body.Value, 'Bay 4');
  const pi = await h.post('/sim/af/attributes/add', { owner: pump.WebId, name: 'Current', tagIndex: 5, units: ['ampere', 'A'] });
  t.match(pi.body, { DataReferencePlugIn: 'PI Point', ConfigString: '\\\\SIMPI\\TAG5', DefaultUnitsNameAbbreviation: 'A' });
  t.equal(h.af.pointIndexForAttribute(pi.body.WebId), 5);
  t.ok(h.af.attributesOfElement(pump.WebId)!.includes(pi.body.WebId));
  const sub = await h.post('/sim/af/attributes/add', { owner: pi.body.WebId, name: 'Max', value: 40 });
  t.equal(sub.body.Path, `${pump.Path}|Current|Max`);
  t.equal((await h.get(`/attributes/${pi.body.WebId}`)).body.HasChildren, true);

  const ren = await h.post('/sim/af/attributes/rename', { attribute: stat.body.WebId, name: 'Bay' });
  t.equal(ren.body.Path, `${pump.Path}|Bay`);
  t.equal((await h.get('/attributes', { path: `${pump.Path}|Location` })).status, 404);
  await h.post('/sim/af/attributes/value', { attribute: ren.body.WebId, value: 'Bay 5' });
  t.equal((await h.get(`/attributes/${ren.body.WebId}/value`)).body.Value, 'Bay 5');
  t.equal(h.af.truthAttributes().find((a) => a.webId === ren.body.WebId)!.value, 'Bay 5');
  t.equal((await h.post('/sim/af/attributes/value', { attribute: pi.body.WebId, value: 1 })).status, 400, 'PI Point values come from the tag');

  t.equal((await h.post('/sim/af/attributes/delete', { attribute: pi.body.WebId })).status, 204);
  t.equal((await h.get(`/attributes/${sub.body.WebId}`)).status, 404, 'children go with their parent');
  t.equal(h.af.pointIndexForAttribute(pi.body.WebId), undefined);
  t.notOk(h.af.truthAttributes().some((a) => a.path.startsWith(`${pump.Path}|Current`)));
  t.equal((await h.post('/sim/af/attributes/add', { owner: pump.WebId, name: 'Bay' })).status, 409);
});

t.test('event frames: open, close, rename, re-template, set a value, delete', async (t) => {
  const h = harness({ now: NOW });
  const pump = (await h.get('/elements', { path: `${AREA1}\\Unit 01\\Pump 01` })).body;
  const plant = (await h.get('/assetdatabases', { path: PLANT })).body;
  const opened = await h.post('/sim/af/eventframes/open', {
    name: 'Trip 1',
    templateName: 'Downtime',
    refElements: [pump.WebId],
    severity: 'Critical',
    startTime: '*-30m',
    attributes: { Reason: 'Electrical fault' },
  });
  t.equal(opened.status, 201);
  t.match(opened.body, { Path: `${PLANT}\\EventFrames[Trip 1]`, EndTime: '9999-12-31T23:59:59Z', Severity: 'Critical', RefElementWebIds: [pump.WebId] });
  t.equal(opened.body.StartTime, new Date(NOW - 1_800_000).toISOString().replace('.000Z', 'Z'));
  const inProgress = await h.get(`/assetdatabases/${plant.WebId}/eventframes`, { searchMode: 'InProgress' });
  t.ok(inProgress.body.Items.some((f: any) => f.WebId === opened.body.WebId));
  const reason = (await h.get(`/eventframes/${opened.body.WebId}/attributes`, { nameFilter: 'Reason' })).body.Items[0];
  t.equal((await h.get(`/attributes/${reason.WebId}/value`)).body.Value, 'Electrical fault');
  t.equal(h.af.truthEventFrames().find((f) => f.webId === opened.body.WebId)!.endTime, null);

  // Still open after the clock moves (no planned end); closes through the control API.
  h.clock.now = NOW + 3_600_000;
  t.equal((await h.get(`/eventframes/${opened.body.WebId}`)).body.EndTime, '9999-12-31T23:59:59Z');
  const closed = await h.post('/sim/af/eventframes/close', { eventFrame: opened.body.WebId });
  t.equal(closed.body.EndTime, new Date(NOW + 3_600_000).toISOString().replace('.000Z', 'Z'));
  t.equal(closed.body.AreValuesCaptured, true);
  t.equal(h.af.truthEventFrames().find((f) => f.webId === opened.body.WebId)!.endTime, NOW + 3_600_000);
  const dur = (await h.get(`/eventframes/${opened.body.WebId}/attributes`, { nameFilter: 'Duration' })).body.Items[0];
  t.equal((await h.get(`/attributes/${dur.WebId}/value`)).body.Value, 90);

  await h.post('/sim/af/attributes/value', { attribute: reason.WebId, value: 'Operator break' });
  t.equal((await h.get(`/attributes/${reason.WebId}/value`)).body.Value, 'Operator break');
  t.equal(
    h.af
      .truthEventFrames()
      .find((f) => f.webId === opened.body.WebId)!
      .attributes.find((a) => a.name === 'Reason')!.value,
    'Operator break',
  );

  const upd = await h.post('/sim/af/eventframes/update', { eventFrame: opened.body.WebId, name: 'Trip 1b', templateName: 'Batch', severity: 'None' });
  t.match(upd.body, { Name: 'Trip 1b', TemplateName: 'Batch', CategoryNames: ['Production'], Path: `${PLANT}\\EventFrames[Trip 1b]` });
  t.equal((await h.get('/eventframes', { path: `${PLANT}\\EventFrames[Trip 1]` })).status, 404);
  t.equal((await h.post('/sim/af/eventframes/update', { eventFrame: upd.body.WebId, templateName: 'Pump' })).status, 400);

  const idOnly = encodeWebId({ type: 'IDOnly', marker: 'Fm', guids: [decodeWebId(opened.body.WebId).guids[0]!, opened.body.Id] });
  t.equal((await h.post('/sim/af/eventframes/delete', { eventFrame: idOnly })).status, 204);
  t.equal((await h.get(`/eventframes/${opened.body.WebId}`)).status, 404);
  t.equal((await h.get(`/attributes/${reason.WebId}`)).status, 404);
  t.notOk(h.af.truthEventFrames().some((f) => f.webId === opened.body.WebId));

  // A scheduled frame can be closed early and deleted too.
  const some = h.af.truthEventFrames().find((f) => f.templateName === 'Batch' && f.parentWebId === null)!;
  t.equal((await h.post('/sim/af/eventframes/delete', { eventFrame: some.webId })).status, 204);
  t.notOk(h.af.truthEventFrames().some((f) => f.webId === some.webId || f.parentWebId === some.webId));
  t.equal((await h.post('/sim/af/eventframes/close', { eventFrame: some.webId })).status, 404);
});

t.test('truth routes', async (t) => {
  const h = harness({ now: NOW });
  const els = await h.get('/sim/af/truth/elements');
  t.same(els.body.Items, h.af.truthElements());
  t.equal((await h.get('/sim/af/truth/attributes')).body.Items.length, h.af.truthAttributes().length);
  t.equal((await h.get('/sim/af/truth/eventframes')).body.Items.length, h.af.truthEventFrames().length);
  t.equal((await h.post('/sim/af/elements/rename', {})).status, 400);
});
