/**
 * A database removed from the AF config: its elements, attributes and templates are soft-deleted
 * exactly (op=delete rows, progress removed), the configured database is untouched; a failed or
 * paused walk of the configured databases removes nothing. Event frames of a database removed from
 * the event frame config are kept (history), only their progress is forgotten.
 */
import t from 'tap';
import { extractAf } from '../../../agent/sources/af/extract.js';
import { extractEventFrames } from '../../../agent/sources/eventframes/extract.js';
import { actualAf, compareAf, expectedAttributes, expectedElements } from '../../helpers/af-expect.js';
import { PLANT, SITE, UTILITIES, differences, idOnly, scenario } from '../../helpers/af-harness.js';
import { START_US, compareFrames } from '../../helpers/eventframes-expect.js';

t.test('AF: a database removed from the config is soft-deleted exactly', async (t) => {
  const { env, af, sim, store, dest } = await scenario(t, { seed: 8 });
  const run = (databases: string[]) => extractAf({ site: SITE, client: env.client, store, databases });

  const r1 = await run([PLANT, UTILITIES]);
  dest.drain(store);
  t.equal(r1.removed, 0);
  compareAf(t, dest, af, 'both databases');

  const utilElements = af
    .truthElements()
    .filter((e) => e.databasePath === UTILITIES)
    .map((e) => idOnly(e.webId));
  const utilSet = new Set(utilElements);
  const utilAttributes = af
    .truthAttributes()
    .filter((a) => utilSet.has(idOnly(a.ownerWebId)))
    .map((a) => idOnly(a.webId));
  const utilTemplates = [...dest.table('pi_af_templates').values()].filter((r) => r['database_path'] === UTILITIES).map((r) => r['template_webid'] as string);
  t.ok(
    utilElements.length > 0 && utilAttributes.length > 0 && utilTemplates.length > 0,
    `Utilities: ${utilElements.length} elements, ${utilAttributes.length} attributes, ${utilTemplates.length} templates`,
  );
  const plantTemplates = new Map([...dest.table('pi_af_templates')].filter(([, r]) => r['database_path'] === PLANT));

  // Plant fails half way through its walk: nothing is removed, not even Utilities.
  const plantId = idOnly(af.webIdOf(af.server.databases.find((d) => d.name === 'Plant')!));
  sim.faults.set([{ kind: 'status', status: 503, retryAfter: 0, route: `/assetdatabases/${plantId}/elements` }]);
  await t.rejects(run([PLANT]), 'the configured database is unreachable: the cycle fails');
  sim.faults.set([]);
  t.equal(dest.drain(store), 0, 'no rows from the failed cycle');
  t.equal(store.getProgressByPrefix('afe:').size, af.truthElements().length, 'progress untouched');

  // A paused walk (buffer full) removes nothing either.
  store.close();
  const tiny = env.openStore({ maxBufferBytes: 1 });
  // The buffer is empty after the drain: event frame rows fill it, so the walk pauses.
  await extractEventFrames({ site: SITE, client: env.client, store: tiny, databases: [PLANT], startUs: START_US, nowUs: sim.nowMs() * 1000 });
  const rp = await extractAf({ site: SITE, client: env.client, store: tiny, databases: [PLANT] });
  t.equal(rp.paused, true, 'paused');
  t.equal(rp.removed, 0, 'a paused walk removes nothing');
  dest.drain(tiny);
  t.equal(dest.last.get('pi_af_elements')?.delete ?? 0, 0);
  tiny.close();
  const store2 = env.openStore();
  t.teardown(() => store2.close());

  const r2 = await extractAf({ site: SITE, client: env.client, store: store2, databases: [PLANT] });
  dest.drain(store2);
  t.equal(r2.paused, false);
  t.equal(r2.removed, utilElements.length + utilAttributes.length + utilTemplates.length, 'every Utilities object removed');
  t.equal(r2.deletes, r2.removed, 'nothing else deleted');
  t.strictSame(dest.last.get('pi_af_elements'), { update: 0, insert: 0, delete: utilElements.length }, 'element deletes only');
  t.strictSame(dest.last.get('pi_af_attributes'), { update: 0, insert: 0, delete: utilAttributes.length }, 'attribute deletes only');
  t.strictSame(dest.last.get('pi_af_templates'), { update: 0, insert: 0, delete: utilTemplates.length }, 'template deletes only');
  const plantOnly = <V extends Record<string, unknown>>(m: Map<string, V>, pred: (v: V) => boolean) => new Map([...m].filter(([, v]) => pred(v)));
  t.strictSame(
    differences(
      actualAf(dest, 'pi_af_elements'),
      plantOnly(expectedElements(af), (v) => v['database_path'] === PLANT),
    ),
    [],
    'elements: exactly Plant',
  );
  t.strictSame(
    differences(
      actualAf(dest, 'pi_af_attributes'),
      plantOnly(expectedAttributes(af), (v) => !utilSet.has(v['element_webid'] as string)),
    ),
    [],
    'attributes: exactly Plant',
  );
  t.strictSame(differences(new Map(dest.table('pi_af_templates')), plantTemplates), [], 'templates: exactly Plant');
  const progressDbs = new Set(['aft:', 'afe:', 'afa:'].flatMap((p) => [...store2.getProgressByPrefix<[string, string]>(p).values()].map((v) => v[1])));
  t.strictSame([...progressDbs], [PLANT], 'progress of Utilities removed');

  const r3 = await extractAf({ site: SITE, client: env.client, store: store2, databases: [PLANT] });
  t.equal(r3.upserts + r3.deletes, 0, 'the next cycle emits nothing');

  // Configured again: everything comes back.
  await extractAf({ site: SITE, client: env.client, store: store2, databases: [PLANT, UTILITIES] });
  dest.drain(store2);
  compareAf(t, dest, af, 'Utilities configured again');
  t.equal(dest.table('pi_af_templates').size, 22);
});

t.test('event frames of a database removed from the config are kept; their progress is forgotten', async (t) => {
  const { env, af, sim, store, dest } = await scenario(t, { seed: 9 });
  const run = (databases: string[]) => extractEventFrames({ site: SITE, client: env.client, store, databases, startUs: START_US, nowUs: sim.nowMs() * 1000 });
  af.openEventFrame({ database: UTILITIES, name: 'Open outage', templateName: 'Downtime', startTime: sim.nowMs() - 60_000, attributes: { Reason: 'Grid' } });

  await run([PLANT, UTILITIES]);
  dest.drain(store);
  compareFrames(t, dest, af, 'both databases');
  const utilKeys = [...store.getProgressByPrefix<{ d: string }>('ef:')].filter(([, p]) => p.d === UTILITIES);
  t.equal(utilKeys.length, 1, 'the open Utilities frame is known');

  const r = await run([PLANT]);
  dest.drain(store);
  t.equal(r.deletes, 0, 'no frame deleted');
  t.equal(dest.last.get('pi_event_frames')?.delete ?? 0, 0);
  compareFrames(t, dest, af, 'Utilities frames still in the table');
  t.equal([...store.getProgressByPrefix<{ d: string }>('ef:').values()].filter((p) => p.d === UTILITIES).length, 0, 'its progress forgotten');
});
