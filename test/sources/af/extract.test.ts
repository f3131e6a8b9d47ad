/**
 * The AF source against the simulator's ground truth: a wide level (more children than maxCount),
 * unchanged second snapshot, rename / move / delete between snapshots (a failed walk: af-pause.test.ts).
 */
import t from 'tap';
import { extractAf } from '../../../agent/sources/af/extract.js';
import { compareAf } from '../../helpers/af-expect.js';
import { Destination, PLANT, SITE, UTILITIES, setup } from '../../helpers/af-harness.js';

const AREA1 = `${PLANT}\\Enterprise 01\\Site 01\\Area 01`;

t.test('AF snapshot: wide level, unchanged re-run, rename/move/delete', async (t) => {
  const env = await setup();
  t.teardown(() => env.close());
  const af = env.af;
  // A level wider than maxCount (1000): 1,200 units under Area 01, each with its template attributes.
  // A level wider than maxCount (1000): 1,200 units under Area 01 (the first ten with template
  // attributes), and one unit with more attributes than maxCount.
  for (let i = 0; i < 1200; i++) af.addElement({ parent: AREA1, name: `Wide ${String(i).padStart(4, '0')}`, ...(i < 10 ? { templateName: 'ProcessUnit' } : {}) });
  af.addAttribute({ owner: `${AREA1}\\Wide 0001|Rated Capacity`, name: 'Margin', value: 2.5 });
  for (let i = 0; i < 1005; i++) af.addAttribute({ owner: `${AREA1}\\Wide 0100`, name: `Extra ${i}`, value: i % 3 === 0 ? `text ${i}` : i });

  const store = env.openStore();
  t.teardown(() => store.close());
  const dest = new Destination();
  const run = () => extractAf({ site: SITE, client: env.client, store, databases: [PLANT, UTILITIES] });

  const r1 = await run();
  dest.drain(store);
  t.equal(r1.elements, af.truthElements().length, 'every element walked');
  t.equal(r1.deletes, 0);
  t.equal(r1.paused, false);
  t.ok(r1.elements > 1200 && r1.attributes > 1005, `sizes ${r1.elements} elements, ${r1.attributes} attributes`);
  compareAf(t, dest, af, 'first snapshot');
  const depth4 = [...dest.table('pi_af_elements').values()].filter((r) => r['depth'] === 4 && String(r['path']).startsWith(AREA1));
  t.equal(depth4.length, 1203, 'the wide level is complete (3 generated units + 1,200)');
  t.equal(dest.table('pi_af_templates').size, 22, 'element and event frame templates of both databases');
  const pointRefs = [...dest.table('pi_af_attributes').values()].filter((r) => r['data_reference'] === 'PI Point');
  t.ok(pointRefs.length > 0 && pointRefs.every((r) => String(r['point_webid']).startsWith('I1DP')), 'PI Point references carry the IDOnly point WebID');

  const r2 = await run();
  t.equal(r2.upserts + r2.deletes, 0, 'an unchanged hierarchy emits nothing');
  t.equal(dest.drain(store), 0, 'no rows in the store');

  // Rename a site (every path below changes), move a unit, delete a pump (and its attributes).
  af.renameElement(`${PLANT}\\Enterprise 01\\Site 02`, 'Site 2B', 'renamed');
  af.moveElement(`${AREA1}\\Unit 02`, `${PLANT}\\Enterprise 01\\Site 01`);
  const pump = af.truthElements().find((e) => e.path === `${AREA1}\\Unit 01\\Pump 01`)!;
  const pumpAttrs = af.truthAttributes().filter((a) => a.ownerWebId === pump.webId).length;
  af.deleteElement(pump.webId);
  af.deleteElement(`${AREA1}\\Wide 0007`);
  af.deleteElement(`${AREA1}\\Wide 0100`);
  const r3 = await run();
  dest.drain(store);
  t.equal(r3.deletes, 3 + pumpAttrs + 4 + 1005, 'three elements and their attributes deleted (4, 1,005 and the pump attributes)');
  compareAf(t, dest, af, 'after rename, move and delete');
  t.equal(dest.last.get('pi_af_elements')!.delete, 3);
  const moved = [...dest.table('pi_af_elements').values()].find((r) => r['path'] === `${PLANT}\\Enterprise 01\\Site 01\\Unit 02`)!;
  t.equal(moved['depth'], 3, 'moved unit is one level up');
});
