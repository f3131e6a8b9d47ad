/**
 * Tag selection by AF element against the simulator: the exact set of points (compared with the
 * AF model's ground truth), template filter, recursive or not, a level wider than maxCount,
 * dangling references, changes between discoveries, `check`, and `run --once` landing exact data.
 */
import t, { type Test } from 'tap';
import { bareLogger } from '../../../agent/observe/log.js';
import { createPiAuth } from '../../../agent/pi/auth/index.js';
import { PiClient } from '../../../agent/pi/client.js';
import { check } from '../../../agent/service/check.js';
import { openAgent } from '../../../agent/service/agent.js';
import { runOnce } from '../../../agent/service/once.js';
import { PiPointDirectory } from '../../../agent/sources/pi.js';
import { emptyHint, PiElementPoints, pointPathOfConfig, type AfElementSelector } from '../../../agent/sources/tags/af-element.js';
import { discoverTags, type TagSelector } from '../../../agent/sources/tags/discover.js';
import type { Store } from '../../../agent/store/store.js';
import { expectedEvents, idOnly, landedEventsByTag, makeAgentEnv, simAgentYaml } from '../../helpers/agent-env.js';
import { landedTable } from '../../helpers/landed.js';
import { TEMPLATES } from '../../sim/piwebapi/af-gen.js';
import type { AfModel } from '../../sim/piwebapi/af.js';
import { startSimulator } from '../../sim/piwebapi/server.js';
import { Destination, PLANT, SITE, UTILITIES, setup, type Env } from '../../helpers/af-harness.js';

const AREA1 = `${PLANT}\\Enterprise 01\\Site 01\\Area 01`;
const WIDE = `${UTILITIES}\\Wide Root`;

/** Does template `t` equal `name` or derive from it (the sim's TEMPLATES with their bases)? */
function derives(t: string, name: string): boolean {
  for (let x: string | undefined = t; x; x = TEMPLATES.find((s) => s.name === x)?.base) if (x.toLowerCase() === name.toLowerCase()) return true;
  return false;
}

/** Ground truth: the IDOnly WebIDs of the live points a selector must select. */
function expected(af: AfModel, isLive: (i: number) => boolean, sel: AfElementSelector): Set<string> {
  const root = sel.af_element.toLowerCase();
  const elements = new Set(
    af
      .truthElements()
      .filter((e) => {
        const p = e.path.toLowerCase();
        const inScope = p === root || (sel.recursive === true && p.startsWith(`${root}\\`));
        return inScope && (!sel.template || derives(e.templateName, sel.template));
      })
      .map((e) => e.webId),
  );
  const out = new Set<string>();
  for (const a of af.truthAttributes()) {
    if (!elements.has(a.ownerWebId) || a.dataReference !== 'PI Point' || a.isExcluded || a.pointIndex === null) continue;
    if (isLive(a.pointIndex)) out.add(idOnly(a.pointWebId!));
  }
  return out;
}

async function discover(env: Env, store: Store, selectors: TagSelector[], pageSize?: number) {
  return discoverTags({
    site: SITE,
    selectors,
    store,
    directory: new PiPointDirectory(env.client),
    elements: new PiElementPoints(env.client, pageSize ? { pageSize } : {}),
  });
}

const ids = (tags: { webId: string }[]): string[] => tags.map((x) => x.webId).sort();
const sorted = (s: Set<string>): string[] => [...s].sort();

/**
 * A root in Utilities with 1,200 template-less children (more than maxCount, 1000) and PI point
 * references placed where a capped or shallow walk would miss them. Tags 30–35 are used nowhere else
 * in that root (template-less elements have no attributes of their own).
 */
function buildWide(af: AfModel): void {
  af.addElement({ parent: UTILITIES, name: 'Wide Root' });
  for (let i = 0; i < 1200; i++) af.addElement({ parent: WIDE, name: `W ${String(i).padStart(4, '0')}` });
  af.addAttribute({ owner: `${WIDE}\\W 1199`, name: 'Last', tagIndex: 30 });
  af.addAttribute({ owner: `${WIDE}\\W 1000`, name: 'Past Page', tagIndex: 31 });
  af.addAttribute({ owner: `${WIDE}\\W 0500`, name: 'Info', value: 'static' });
  af.addAttribute({ owner: `${WIDE}\\W 0500|Info`, name: 'Nested', tagIndex: 32 });
  af.addElement({ parent: `${WIDE}\\W 1100`, name: 'Deep' });
  af.addAttribute({ owner: `${WIDE}\\W 1100\\Deep`, name: 'Deep Point', tagIndex: 33 });
  af.addAttribute({ owner: `${WIDE}\\W 0001`, name: 'Same Point', tagIndex: 30 });
  af.addAttribute({ owner: `${WIDE}\\W 0002`, name: 'Excluded', tagIndex: 34, isExcluded: true });
  af.addAttribute({ owner: `${WIDE}\\W 0003`, name: 'Hidden', tagIndex: 35, isHidden: true });
}

t.test('ConfigString paths', async (t) => {
  t.equal(pointPathOfConfig('\\\\SIMPI\\sinusoid;ReadOnly=False'), '\\\\SIMPI\\sinusoid');
  t.equal(pointPathOfConfig('\\\\SIMPI\\sinusoid?12'), '\\\\SIMPI\\sinusoid');
  t.equal(pointPathOfConfig('\\\\%Server%\\%Element%.%Attribute%'), undefined, 'substitutions are not resolvable here');
  t.equal(pointPathOfConfig('sinusoid'), undefined, 'no server');
  t.equal(pointPathOfConfig(''), undefined);
});

t.test('exact point sets: recursive or not, template filter, dedup with other selectors', async (t) => {
  const env = await setup({ tags: 40 });
  t.teardown(() => env.close());
  const af = env.af;
  const live = (i: number) => env.sim.sim.tags.exists(i);
  const store = env.openStore();
  t.teardown(() => store.close());
  const elements = new PiElementPoints(env.client);

  const cases: AfElementSelector[] = [
    { af_element: AREA1, recursive: false },
    { af_element: AREA1, recursive: true },
    { af_element: AREA1, recursive: true, template: 'Pump' },
    { af_element: AREA1, recursive: true, template: 'Equipment' },
    { af_element: AREA1, recursive: false, template: 'Area' },
    { af_element: `${AREA1}\\Unit 01\\Compressor 02`, recursive: true, template: 'compressor' },
    { af_element: `${AREA1}\\Unit 01\\Compressor 02`, recursive: false, template: 'Asset' },
    { af_element: PLANT.replace('Plant', 'Plant\\Enterprise 01'), recursive: true },
  ];
  for (const sel of cases) {
    const r = await elements.resolve(sel);
    const want = expected(af, live, sel);
    t.ok(want.size > 0, `${JSON.stringify(sel)}: the model has points to find`);
    t.same(r.points.map((p) => idOnly(p.WebId)).sort(), sorted(want), `${JSON.stringify(sel)}: ${want.size} points, exactly`);
    t.equal(r.unresolved, 0);
  }
  const area = await elements.resolve({ af_element: AREA1, recursive: false });
  t.equal(area.elements, 1, 'not recursive: the element itself only');
  t.equal(area.points.length, 1, "the area's Power attribute");
  t.equal(area.element.templateName, 'Area');

  const pumps = await elements.resolve({ af_element: AREA1, recursive: true, template: 'Pump' });
  const pumpCount = af.truthElements().filter((e) => e.path.startsWith(`${AREA1}\\`) && e.templateName === 'Pump').length;
  t.equal(pumps.elements, pumpCount, 'template filter: only Pump elements read (the root is an Area)');

  const none = await elements.resolve({ af_element: AREA1, recursive: false, template: 'Pump' });
  t.same([none.elements, none.points.length], [0, 0], 'the root alone does not match the template');
  t.match(emptyHint({ af_element: AREA1, recursive: false, template: 'Pump' }, none), /set recursive: true/);

  // The tags source: the same set, deduplicated against a path selector and a dataserver selector.
  const sel: AfElementSelector = { af_element: AREA1, recursive: true };
  const want = expected(af, live, sel);
  const firstIndex = [...Array(40).keys()].find((i) => want.has(idOnly(env.sim.sim.tagWebId(i))))!;
  const firstPath = env.sim.sim.tagPath(firstIndex);
  const r1 = await discover(env, store, [sel, { path: firstPath }]);
  t.same(ids(r1.tags), sorted(want), 'af_element + a path selector naming one of its points: each tag once');
  t.equal(r1.added, want.size);
  const dest = new Destination();
  dest.drain(store);
  t.same([...dest.table('pi_tags').values()].map((r) => String(r['tag_webid'])).sort(), sorted(want), 'pi_tags rows, one per tag');
  const all = await discover(env, store, [{ dataserver: 'SIMPI', name_filter: '*' }, sel]);
  t.equal(all.tags.length, 40, 'with every point of the server selected too: 40 tags, no duplicates');
  t.same([all.added, all.changed, all.removed], [40 - want.size, 0, 0]);
});

t.test('a level wider than maxCount, nested attributes and elements, changes between discoveries', async (t) => {
  const env = await setup({ tags: 40 });
  t.teardown(() => env.close());
  const af = env.af;
  const sim = env.sim.sim;
  buildWide(af);
  const store = env.openStore();
  t.teardown(() => store.close());
  const want = (...ix: number[]) => ix.map((i) => idOnly(sim.tagWebId(i))).sort();
  const sel: AfElementSelector = { af_element: WIDE, recursive: true };

  const r1 = await discover(env, store, [sel]);
  t.same(ids(r1.tags), want(30, 31, 32, 33, 35), 'past the first page, nested attribute, grandchild, hidden; not the excluded one');
  t.same(ids(r1.tags), sorted(expected(af, (i) => sim.tags.exists(i), sel)), 'equals the ground truth');
  t.equal(r1.elements[0]!.result.elements, 1202, 'root + 1,200 children + 1 grandchild');
  t.equal(r1.elements[0]!.result.pointAttributes, 6, 'two attributes share tag 30');

  // Batched: the 1,202 elements' attributes and the points come through /batch, not one GET each.
  const calls: string[] = [];
  const counted = new PiClient({
    baseUrl: env.sim.url,
    auth: await createPiAuth({ type: 'anonymous' }, { baseUrl: env.sim.url }),
    onRequest: (i) => calls.push(`${i.method} ${i.path}`),
  });
  t.teardown(() => counted.close());
  const viaBatch = await new PiElementPoints(counted).resolve(sel);
  t.equal(viaBatch.points.length, 5);
  // root + its attributes (1 batch) + 2 element pages (1,000 + 202 elements: 5 + 2 attribute
  // batches of at most 200) + 1 point batch.
  t.equal(calls.length, 12, `requests: ${calls.map((c) => c.replace(/\/[^/]{20,}/g, '/…')).join(', ')}`);
  t.equal(calls.filter((c) => c.endsWith('/batch')).length, 9);

  // Small pages: the same result from many pages.
  const small = await new PiElementPoints(env.client, { pageSize: 97 }).resolve(sel);
  t.same(small.points.map((p) => idOnly(p.WebId)).sort(), want(30, 31, 32, 33, 35), 'pageSize 97: same set');
  t.equal(small.elements, 1202);

  // A non-recursive read of the wide root sees none of it.
  const flat = await new PiElementPoints(env.client).resolve({ af_element: WIDE, recursive: false });
  t.same([flat.elements, flat.points.length], [1, 0]);
  t.match(emptyHint({ af_element: WIDE, recursive: false }, flat), /recursive: true/);

  // Keep some time-series progress to show that a removed tag keeps its history.
  const tag31 = idOnly(sim.tagWebId(31));
  store.commitStep([], [{ key: `ts:${tag31}`, value: { pos: 1 } }]);
  new Destination().drain(store);

  // Renamed attribute: same point, nothing changes. Removed attribute: its tag stops.
  af.renameAttribute(`${WIDE}\\W 1199|Last`, 'Last Renamed');
  const r2 = await discover(env, store, [sel]);
  t.same([r2.added, r2.changed, r2.removed], [0, 0, 0], 'rename: no change');
  t.same(ids(r2.tags), want(30, 31, 32, 33, 35));
  af.deleteAttribute(`${WIDE}\\W 1000|Past Page`);
  const dest = new Destination();
  const r3 = await discover(env, store, [sel]);
  t.same([r3.added, r3.changed, r3.removed], [0, 0, 1], 'delete: one tag removed');
  t.same(ids(r3.tags), want(30, 32, 33, 35));
  dest.drain(store);
  t.same(dest.last.get('pi_tags'), { update: 0, insert: 0, delete: 1 }, 'pi_tags gets one delete');
  t.same(store.getProgress(`ts:${tag31}`), { pos: 1 }, 'its time-series progress (history) is kept');
  t.equal(store.getProgress(`tag:${tag31}`), undefined);

  // Renaming one of two attributes on tag 30 and deleting the other keeps tag 30 selected.
  af.deleteAttribute(`${WIDE}\\W 0001|Same Point`);
  const r4 = await discover(env, store, [sel]);
  t.same([r4.added, r4.removed], [0, 0], 'tag 30 is still referenced by W 1199');

  // Dangling references: a deleted point and a reference to it are a warning, not a failure.
  sim.deleteTag(33);
  const r5 = await discover(env, store, [sel]);
  t.same(ids(r5.tags), want(30, 32, 35), 'the deleted point is dropped');
  t.equal(r5.removed, 1);
  t.equal(r5.warnings.length, 1);
  t.match(r5.warnings[0], /W 1100\\Deep\|Deep Point references a PI point that does not exist/);

  // A missing element fails the discovery (nothing removed), with the part of the path that exists.
  const before = store.getProgressByPrefix('tag:').size;
  await t.rejects(discover(env, store, [{ af_element: `${WIDE}\\W 0007\\Nope`, recursive: true }]), {
    code: 'PI_NOT_FOUND',
    message: /AF element .*Nope was not found: .*W 0007 exists but has no child element "Nope"/,
  });
  await t.rejects(new PiElementPoints(env.client).resolve({ af_element: '\\\\SIMAF\\NoSuchDb\\X' }), { message: /AF database \\\\SIMAF\\NoSuchDb does not exist/ });
  t.equal(store.getProgressByPrefix('tag:').size, before, 'a failed discovery removes nothing');
});

async function e2eSetup(t: Test) {
  const sim = await startSimulator({ port: 0, tags: 40, seed: 11, historyStart: '2026-01-01T00:00:00Z', now: '2026-01-01T01:30:00Z' });
  const af = sim.sim.af as unknown as AfModel;
  af.addElement({ parent: UTILITIES, name: 'Line' });
  af.addElement({ parent: `${UTILITIES}\\Line`, name: 'Pump A', templateName: 'Pump' });
  af.addElement({ parent: `${UTILITIES}\\Line`, name: 'Meter' });
  af.addAttribute({ owner: `${UTILITIES}\\Line\\Meter`, name: 'Reading', tagIndex: 3 });
  const env = makeAgentEnv((paths) =>
    simAgentYaml(paths, {
      piUrl: sim.url,
      site: 'plant-af',
      logLevel: 'warn',
      tags: ["{ af_element: '\\\\SIMAF\\Utilities\\Line', recursive: true }", "{ af_element: '\\\\SIMAF\\Utilities\\Nowhere' }"],
      timeseries: {},
    }),
  );
  t.teardown(async () => {
    await sim.close();
    env.cleanup();
  });
  return { sim, af, env };
}

t.test('run --once with only af_element selectors lands exactly their points; check reports them', async (t) => {
  const { sim, af, env } = await e2eSetup(t);
  const s = sim.sim;
  const want = expected(af, (i) => s.tags.exists(i), { af_element: `${UTILITIES}\\Line`, recursive: true });
  t.ok(want.size >= 3, `${want.size} points behind the line`);

  // check: the found element with its point count, and an actionable failure for the missing one.
  const lines: string[] = [];
  const code = await check(env.config(), { print: (x) => lines.push(x), logger: bareLogger('error'), pi: true, sink: false });
  const out = lines.join('');
  t.match(
    out,
    new RegExp(
      `ok    AF element \\\\\\\\SIMAF\\\\Utilities\\\\Line found \\(template none\\): ${want.size} PI point\\(s\\) from \\d+ attribute\\(s\\) of 3 element\\(s\\)`,
    ),
  );
  t.match(
    out,
    /FAIL  tag selector af_element: PI_NOT_FOUND: AF element \\\\SIMAF\\Utilities\\Nowhere was not found: \\\\SIMAF\\Utilities exists but has no child element "Nowhere"/,
  );
  t.match(out, /ok    sample read: \d+ recorded value\(s\)/);
  t.equal(code, 'failed', 'check fails because of the missing element');
  t.notMatch(out, /not supported/);

  // run --once: the missing element fails the tags source (nothing extracted from a half-resolved set).
  const agent1 = await openAgent(env.config(), bareLogger('silent'));
  let r;
  try {
    r = await runOnce(agent1);
  } finally {
    await agent1.close();
  }
  t.equal(r.ok, false);
  t.match(r.problems[0], /^tags: PI_NOT_FOUND: AF element .*Nowhere/);

  // Fix the config: only the line.
  const { readFileSync, writeFileSync } = await import('node:fs');
  writeFileSync(env.configFile, readFileSync(env.configFile, 'utf8').replace(/^ {2}- \{ af_element: '.*Nowhere' \}\n/m, ''));
  const agent = await openAgent(env.config(), bareLogger('error'));
  try {
    t.same(await runOnce(agent), { ok: true, problems: [] });
  } finally {
    await agent.close();
  }
  const tags = await landedTable(env.outDir, 'pi_tags');
  t.same([...tags.values()].map((r) => String(r['tag_webid'])).sort(), sorted(want), 'pi_tags: exactly the points of the line');
  const landed = landedEventsByTag((await landedTable(env.outDir, 'pi_timeseries')).values());
  t.same([...landed.keys()].sort(), sorted(want), 'time series of exactly those tags');
  let events = 0;
  for (let i = 0; i < s.tagCount(); i++) {
    const w = idOnly(s.tagWebId(i));
    if (!want.has(w)) continue;
    const truth = expectedEvents(s.truth(i, '2026-01-01T00:00:00Z', s.nowIso()));
    events += truth.length;
    t.same(landed.get(w), truth, `${s.tagName(i)}: ${truth.length} events equal the archive`);
  }
  t.ok(events > 0, `${events} events compared`);
});
