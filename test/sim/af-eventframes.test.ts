/** Event frames in the simulator (fidelity §7): search modes, defaults, open frames closing, details. */
import t from 'tap';
import type { TruthEventFrame } from './piwebapi/af.js';
import { harness, type AfHarness } from './af-helpers.js';

/** Four months of history: enough frames for every mode, few enough to list them all quickly. */
const NOW = Date.UTC(2026, 4, 1, 12);

const PLANT = '\\\\SIMAF\\Plant';
const H = 3_600_000;
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

async function plantFrames(h: AfHarness, query: string | Record<string, string>): Promise<{ status: number; body: any }> {
  const plant = (await h.get('/assetdatabases', { path: PLANT })).body;
  return h.get(`/assetdatabases/${plant.WebId}/eventframes`, query);
}

const names = (r: { body: any }): string[] => r.body.Items.map((f: any) => f.Name);
const byName = (list: TruthEventFrame[]): string[] => list.map((f) => f.name).sort((a, b) => (a.toUpperCase() < b.toUpperCase() ? -1 : 1));
const END = (f: TruthEventFrame): number => f.endTime ?? Number.POSITIVE_INFINITY;

t.test('search modes against the ground truth', async (t) => {
  const h = harness({ now: NOW });
  const top = h.af.truthEventFrames().filter((f) => f.parentWebId === null && f.databasePath === PLANT);
  t.ok(top.length > 300);

  // Defaults: Overlapped, startTime=*-8h, endTime=*.
  const dflt = await plantFrames(h, {});
  t.equal(dflt.status, 200);
  const want = top.filter((f) => f.startTime <= NOW && END(f) >= NOW - 8 * H);
  t.ok(want.length > 0);
  t.same(names(dflt), byName(want), 'default window is the last 8 hours');

  const S = Date.UTC(2026, 2, 1);
  const E = Date.UTC(2026, 2, 8);
  const range = { startTime: iso(S), endTime: iso(E) };
  const cases: Array<[string, (f: TruthEventFrame) => boolean]> = [
    ['Overlapped', (f) => f.startTime <= E && END(f) >= S],
    ['StartInclusive', (f) => f.startTime >= S && f.startTime <= E],
    ['EndInclusive', (f) => END(f) >= S && END(f) <= E],
    ['Inclusive', (f) => f.startTime >= S && END(f) <= E],
    ['InProgress', (f) => f.endTime === null && f.startTime >= S && f.startTime <= E],
    ['None', () => true],
  ];
  for (const [mode, pred] of cases) {
    const r = await plantFrames(h, { ...range, searchMode: mode, maxCount: '5000' });
    t.equal(r.status, 200, mode);
    t.same(names(r), byName(top.filter(pred)), mode);
  }
  const ov = top.filter((f) => f.startTime <= E && END(f) >= S);
  t.ok(ov.length > 20 && top.filter((f) => f.startTime >= S && END(f) <= E).length < ov.length, 'modes differ on this range');

  // Directional modes: ordered by time from startTime; endTime/sortField/sortOrder are rejected.
  const T = Date.UTC(2026, 2, 15, 6);
  const back = await plantFrames(h, { searchMode: 'BackwardFromStartTime', startTime: iso(T), maxCount: '7' });
  t.same(
    names(back),
    top
      .filter((f) => f.startTime <= T)
      .sort((a, b) => b.startTime - a.startTime)
      .slice(0, 7)
      .map((f) => f.name),
  );
  const fwd = await plantFrames(h, { searchMode: 'ForwardFromEndTime', startTime: iso(T), maxCount: '7' });
  t.same(
    names(fwd),
    top
      .filter((f) => END(f) > T)
      .sort((a, b) => END(a) - END(b))
      .slice(0, 7)
      .map((f) => f.name),
  );
  const fws = await plantFrames(h, { searchMode: 'forwardfromstarttime', startTime: iso(T), maxCount: '3' });
  t.same(
    names(fws),
    top
      .filter((f) => f.startTime >= T)
      .sort((a, b) => a.startTime - b.startTime)
      .slice(0, 3)
      .map((f) => f.name),
  );
  for (const extra of [{ endTime: '*' }, { sortField: 'Name' }, { sortOrder: 'Descending' }] as Array<Record<string, string>>) {
    const r = await plantFrames(h, { searchMode: 'BackwardFromStartTime', startTime: iso(T), ...extra });
    t.equal(r.status, 400, `Backward mode rejects ${Object.keys(extra)[0]}`);
    t.match(r.body.Errors[0], /cannot be specified/);
  }
  t.equal((await plantFrames(h, { searchMode: 'Sideways' })).status, 400);
  t.equal((await plantFrames(h, { startTime: '*', endTime: '*-1d' })).status, 400, 'endTime before startTime');
  t.equal((await plantFrames(h, { startTime: 'not a time' })).status, 400);

  // Sorting and filters.
  const byStart = await plantFrames(h, { ...range, sortField: 'StartTime', sortOrder: 'Descending' });
  t.same(
    names(byStart),
    ov.sort((a, b) => b.startTime - a.startTime).map((f) => f.name),
  );
  const jan = { startTime: '2026-01-01T00:00:00Z', endTime: '2026-02-01T00:00:00Z', maxCount: '5000' };
  const janTop = top.filter((f) => f.startTime <= Date.UTC(2026, 1, 1));
  t.same(names(await plantFrames(h, { ...jan, nameFilter: 'Batch_*' })), byName(janTop.filter((f) => f.name.startsWith('Batch_'))));
  t.same(names(await plantFrames(h, { ...jan, templateName: 'downtime' })), byName(janTop.filter((f) => f.templateName === 'Downtime')));
  t.same(names(await plantFrames(h, { ...jan, categoryName: 'Production' })), byName(janTop.filter((f) => f.templateName === 'Batch')));
  const sev = await plantFrames(h, { ...jan, severity: 'Major' });
  const sev2 = await plantFrames(h, `startTime=2026-01-01T00:00:00Z&endTime=2026-02-01T00:00:00Z&severity=Major&severity=Critical`);
  t.same(names(sev), byName(janTop.filter((f) => f.severity === 'Major')));
  t.same(names(sev2), byName(janTop.filter((f) => f.severity === 'Major' || f.severity === 'Critical')));
  t.ok(sev.body.Items.length > 0 && sev2.body.Items.length > sev.body.Items.length);
  const pumpRefs = await plantFrames(h, { ...jan, referencedElementNameFilter: 'Pump*' });
  const elements = new Map(h.af.truthElements().map((e) => [e.webId, e]));
  t.same(names(pumpRefs), byName(janTop.filter((f) => f.refElementWebIds.some((w) => elements.get(w)!.name.startsWith('Pump')))));
  t.ok(pumpRefs.body.Items.length > 0);
});

t.test('frame details, attributes, references and child frames', async (t) => {
  const h = harness({ now: NOW });
  const r = await plantFrames(h, { startTime: '2026-04-01T00:00:00Z', endTime: '2026-04-03T00:00:00Z', searchMode: 'StartInclusive' });
  const dt = r.body.Items.find((f: any) => f.TemplateName === 'Downtime');
  const batch = r.body.Items.find((f: any) => f.TemplateName === 'Batch');
  t.ok(dt && batch);
  t.match(dt, {
    Path: `${PLANT}\\EventFrames[${dt.Name}]`,
    CategoryNames: ['Downtime'],
    CanBeAcknowledged: true,
    IsLocked: false,
    AreValuesCaptured: true,
    HasChildren: false,
  });
  t.match(dt.Severity, /^(Minor|Major|Critical)$/);
  t.same((await h.get(`/eventframes/${dt.WebId}`)).body, dt);
  t.same((await h.get('/eventframes', { path: dt.Path })).body, dt);

  const attrs = await h.get(`/eventframes/${dt.WebId}/attributes`);
  t.same(names(attrs), ['Duration', 'Lost Production', 'Reason']);
  const duration = attrs.body.Items[0];
  t.match(duration, { Path: `${dt.Path}|Duration`, DefaultUnitsNameAbbreviation: 'min', Links: { EventFrame: `/piwebapi/eventframes/${dt.WebId}` } });
  const minutes = (Date.parse(dt.EndTime) - Date.parse(dt.StartTime)) / 60000;
  t.equal((await h.get(`/attributes/${duration.WebId}/value`)).body.Value, Math.round(minutes * 100) / 100);
  t.equal((await h.get(`/attributes/${duration.WebId}/value`)).body.Timestamp, dt.StartTime);

  t.same((await h.get(`/eventframes/${dt.WebId}/annotations`)).body, { Items: [], Links: {} });
  const refs = await h.get(`/eventframes/${dt.WebId}/referencedelements`);
  t.same(
    refs.body.Items.map((e: any) => e.WebId),
    dt.RefElementWebIds,
  );
  t.equal(refs.body.Items.length, 1);
  t.match(refs.body.Items[0].TemplateName, /^(Pump|Compressor)$/);
  t.equal(dt.Links.PrimaryReferencedElement, `/piwebapi/elements/${dt.RefElementWebIds[0]}`);
  const elFrames = await h.get(`/elements/${dt.RefElementWebIds[0]}/eventframes`, { startTime: '2026-01-01T00:00:00Z', maxCount: '5000' });
  t.ok(names(elFrames).includes(dt.Name), 'the element lists frames referencing it');

  t.equal(batch.HasChildren, true);
  const phases = await h.get(`/eventframes/${batch.WebId}/eventframes`, { startTime: '2026-01-01T00:00:00Z' });
  t.same(names(phases), ['Charge', 'Discharge', 'React']);
  const charge = phases.body.Items[0];
  t.equal(charge.Path, `${batch.Path}\\EventFrames[Charge]`);
  t.equal(charge.StartTime, batch.StartTime);
  t.equal(charge.Links.Parent, `/piwebapi/eventframes/${batch.WebId}`);
  t.same((await h.get('/eventframes', { path: charge.Path })).body.WebId, charge.WebId);
  const phaseIds = new Set(phases.body.Items.map((f: any) => f.WebId));
  const topOnly = await plantFrames(h, { startTime: '2026-04-01T00:00:00Z', endTime: '2026-04-03T00:00:00Z', searchMode: 'StartInclusive' });
  t.notOk(
    topOnly.body.Items.some((f: any) => phaseIds.has(f.WebId)),
    'top level only by default',
  );
  const deep = await plantFrames(h, { startTime: '2026-04-01T00:00:00Z', endTime: '2026-04-03T00:00:00Z', searchMode: 'StartInclusive', searchFullHierarchy: 'true' });
  t.ok(
    [...phaseIds].every((w) => deep.body.Items.some((f: any) => f.WebId === w)),
    'searchFullHierarchy finds the phases',
  );
  const batchAttrs = await h.get(`/eventframes/${batch.WebId}/attributes`);
  t.same(names(batchAttrs), ['Batch ID', 'Duration', 'Product', 'Yield']);
  t.type((await h.get(`/attributes/${batchAttrs.body.Items[3].WebId}/value`)).body.Value, 'number', 'closed batch has a captured yield');
});

t.test('an open frame closes when the clock passes its end', async (t) => {
  // Find a long frame on the schedule, then look at the world one hour after it started.
  const long = harness({ now: NOW })
    .af.truthEventFrames()
    .find((f) => f.parentWebId === null && f.endTime !== null && f.endTime - f.startTime > 24 * H)!;
  t.ok(long, 'the schedule has multi-day frames');
  const h = harness({ now: long.startTime + H });
  const inProgress = await plantFrames(h, { searchMode: 'InProgress', startTime: '2026-01-01T00:00:00Z' });
  const open = inProgress.body.Items.find((f: any) => f.Name === long.name);
  t.ok(open, 'listed as in progress');
  t.equal(open.EndTime, '9999-12-31T23:59:59Z');
  t.equal(open.AreValuesCaptured, false);
  t.equal(open.WebId, long.webId, 'same WebID whatever the clock');
  t.same(h.af.truthEventFrames().find((f) => f.webId === long.webId)!.endTime, null);
  const dur = (await h.get(`/eventframes/${open.WebId}/attributes`, { nameFilter: 'Duration' })).body.Items[0];
  t.equal((await h.get(`/attributes/${dur.WebId}/value`)).body.Value, 60, 'evaluated live while open');
  t.same(names(await plantFrames(h, { searchMode: 'BackwardInProgress', startTime: '*' })).includes(long.name), true);

  h.clock.now = long.endTime! + H;
  const closed = (await h.get(`/eventframes/${open.WebId}`)).body;
  t.equal(closed.EndTime, iso(long.endTime!));
  t.equal(closed.AreValuesCaptured, true);
  t.equal((await h.get(`/attributes/${dur.WebId}/value`)).body.Value, Math.round(((long.endTime! - long.startTime) / 60000) * 100) / 100);
  const after = await plantFrames(h, { searchMode: 'InProgress', startTime: '2026-01-01T00:00:00Z' });
  t.notOk(names(after).includes(long.name), 'no longer in progress');
  t.ok(names(await plantFrames(h, { searchMode: 'EndInclusive', startTime: iso(long.endTime! - 1000), endTime: '*' })).includes(long.name));
  // New frames appeared as the clock moved on.
  t.ok(h.af.truthEventFrames().length > 0 && h.af.truthEventFrames().some((f) => f.startTime > long.startTime + H));
});
