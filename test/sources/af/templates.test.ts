/**
 * Element templates have no startIndex (issue 18, item 4): `/assetdatabases/{webId}/elementtemplates`
 * takes field, maxCount, query, selectedFields, sortField, sortOrder and webIdType only (swagger
 * AssetDatabase_GetElementTemplates), so a server returns the first page again whatever startIndex
 * says. A database with 1,050 templates: every one extracted exactly once, and the walk ends.
 */
import t from 'tap';
import { PiError } from '../../../agent/errors.js';
import { oneCall } from '../../../agent/sources/af/read.js';
import { extractAf } from '../../../agent/sources/af/extract.js';
import type { PiItems } from '../../../agent/pi/types.js';
import { Destination, PLANT, SITE, UTILITIES, setup } from '../../helpers/af-harness.js';

const EXTRA = 1050;

t.test('1,050 element templates: each extracted exactly once, the walk terminates', async (t) => {
  const env = await setup();
  t.teardown(() => env.close());
  for (let i = 0; i < EXTRA; i++) env.af.addTemplate({ database: PLANT, name: `Extra ${String(i).padStart(4, '0')}` });

  // The simulator, like the spec: startIndex is ignored on this route.
  const db = await env.client.get<{ WebId: string }>('/assetdatabases', { path: PLANT });
  const route = `/assetdatabases/${db.WebId}/elementtemplates`;
  const first = await env.client.get<PiItems<{ Name: string }>>(route, {});
  const again = await env.client.get<PiItems<{ Name: string }>>(route, { startIndex: 1000 });
  t.equal(first.Items.length, 1000, 'maxCount defaults to 1000');
  t.same(
    again.Items.map((x) => x.Name),
    first.Items.map((x) => x.Name),
    'startIndex=1000 answers the first page again',
  );

  const store = env.openStore();
  t.teardown(() => store.close());
  const dest = new Destination();
  const before = env.client.stats.requests;
  const r = await extractAf({ site: SITE, client: env.client, store, databases: [PLANT, UTILITIES], signal: AbortSignal.timeout(120_000) });
  dest.drain(store);
  const truth = env.af.truthElements().length;
  t.equal(r.elements, truth);
  t.equal(r.templates, 22 + EXTRA, 'the 22 built-in templates of both databases and 1,050 more');
  const rows = dest.table('pi_af_templates');
  t.equal(rows.size, 22 + EXTRA);
  t.equal(dest.last.get('pi_af_templates')!.update, 22 + EXTRA, 'each template sent exactly once');
  const names = [...rows.values()].filter((x) => String(x['database_path']) === PLANT).map((x) => String(x['name']));
  const missing = Array.from({ length: EXTRA }, (_, i) => `Extra ${String(i).padStart(4, '0')}`).filter((n) => !names.includes(n));
  t.same(missing, [], 'every added template is there');
  t.equal(new Set(names).size, names.length, 'no template twice');
  t.ok(env.client.stats.requests - before < 100, `${env.client.stats.requests - before} requests`);

  const r2 = await extractAf({ site: SITE, client: env.client, store, databases: [PLANT, UTILITIES] });
  t.equal(r2.upserts + r2.deletes, 0, 'an unchanged database emits nothing on the next run');
});

t.test('a full answer to one call fails loudly (PI_TRUNCATED), never a silent partial list', async (t) => {
  const env = await setup();
  t.teardown(() => env.close());
  const db = await env.client.get<{ WebId: string }>('/assetdatabases', { path: PLANT });
  const route = `/assetdatabases/${db.WebId}/elementtemplates`;
  t.equal((await oneCall(env.client, route, {}, undefined, 12)).length, 11, 'under the cap: the whole list');
  const err = await oneCall(env.client, route, {}, undefined, 11).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof PiError, 'a PiError');
  t.match(err, { code: 'PI_TRUNCATED', message: /cannot be paged/ });
});
