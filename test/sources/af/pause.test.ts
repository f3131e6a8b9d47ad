/**
 * Backpressure: with the buffer full the AF and event frame sources stop early, delete nothing and
 * keep their progress; once the buffer drains, the next run completes the tables exactly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { extractAf } from '../../../agent/sources/af/extract.js';
import { extractEventFrames } from '../../../agent/sources/eventframes/extract.js';
import { Store } from '../../../agent/store/store.js';
import { actualAf, expectedAttributes, expectedElements } from '../../helpers/af-expect.js';
import { Destination, PLANT, SITE, differences, setup } from '../../helpers/af-harness.js';
import { START_US, compareFrames } from '../../helpers/eventframes-expect.js';

t.test('a full buffer pauses the sources without deleting; the next run completes', async (t) => {
  const env = await setup({ seed: 3 });
  t.teardown(() => env.close());
  const af = env.af;
  const dest = new Destination();
  const nowUs = env.sim.sim.nowMs() * 1000;
  const first = env.openStore();
  await extractAf({ site: SITE, client: env.client, store: first, databases: [PLANT] });
  dest.drain(first);
  first.close();

  // Something vanished, but the buffer is "full" (1 byte): nothing is deleted, the window stays.
  af.deleteElement(`${PLANT}\\Enterprise 01\\Site 02`);
  const tiny = env.openStore({ maxBufferBytes: 1 });
  await extractEventFrames({ site: SITE, client: env.client, store: tiny, databases: [PLANT], startUs: START_US, nowUs });
  const before = tiny.getProgress('efw:\\\\SIMAF\\Plant');
  const r = await extractAf({ site: SITE, client: env.client, store: tiny, databases: [PLANT] });
  t.equal(r.paused, true, 'AF paused');
  t.equal(r.deletes, 0, 'nothing deleted by a paused walk');
  const e = await extractEventFrames({ site: SITE, client: env.client, store: tiny, databases: [PLANT], startUs: START_US, nowUs: nowUs + 3_600_000_000 });
  t.equal(e.paused, true, 'event frames paused');
  t.strictSame(tiny.getProgress('efw:\\\\SIMAF\\Plant'), before, 'the window did not advance');
  dest.drain(tiny);
  t.equal(dest.last.get('pi_af_elements')?.delete ?? 0, 0);
  tiny.close();

  const store = env.openStore();
  t.teardown(() => store.close());
  const r2 = await extractAf({ site: SITE, client: env.client, store, databases: [PLANT] });
  t.equal(r2.paused, false);
  t.ok(r2.deletes > 0, `${r2.deletes} deletes once the buffer has room`);
  await extractEventFrames({ site: SITE, client: env.client, store, databases: [PLANT], startUs: START_US, nowUs });
  dest.drain(store);
  const plantOnly = new Map([...expectedElements(af)].filter(([, v]) => v['database_path'] === PLANT));
  t.strictSame(differences(actualAf(dest, 'pi_af_elements'), plantOnly), [], 'elements exact');
  compareFrames(t, dest, af, 'frames exact');
});

t.test('a walk that fails half way deletes nothing; the next complete walk does', async (t) => {
  const env = await setup({ seed: 6 });
  t.teardown(() => env.close());
  const af = env.af;
  const store = env.openStore();
  t.teardown(() => store.close());
  const dest = new Destination();
  const run = () => extractAf({ site: SITE, client: env.client, store, databases: [PLANT] });
  await run();
  dest.drain(store);
  const unit = `${PLANT}\\Enterprise 01\\Site 01\\Area 01\\Unit 01`;
  const gone = af.truthElements().filter((e) => e.path.startsWith(unit)).length;
  const goneAttrs = af.truthAttributes().filter((a) => a.path.startsWith(unit + '\\') || a.path.startsWith(unit + '|')).length;
  af.deleteElement(unit);
  // The attribute reads (through /batch) fail after the first call: the walk breaks half way.
  env.sim.sim.faults.set([{ kind: 'status', status: 404, route: '/batch', method: 'POST' }]);
  await t.rejects(run(), 'the failed walk throws');
  env.sim.sim.faults.set([]);
  dest.drain(store);
  t.equal(dest.last.get('pi_af_elements')?.delete ?? 0, 0, 'no element delete rows from a failed walk');
  t.equal(dest.last.get('pi_af_attributes')?.delete ?? 0, 0, 'no attribute delete rows');
  const r = await run();
  dest.drain(store);
  t.equal(r.deletes, gone + goneAttrs, `the complete walk deletes the unit, its ${gone - 1} children and ${goneAttrs} attributes`);
  const plantOnly = new Map([...expectedElements(af)].filter(([, v]) => v['database_path'] === PLANT));
  t.strictSame(differences(actualAf(dest, 'pi_af_elements'), plantOnly), [], 'elements exact');
  const plantAttrs = new Map([...expectedAttributes(af)].filter(([, v]) => String(v['path']).startsWith(PLANT + '\\')));
  t.strictSame(differences(actualAf(dest, 'pi_af_attributes'), plantAttrs), [], 'attributes exact');
});

t.test('template and category filters', async (t) => {
  const env = await setup({ seed: 4 });
  t.teardown(() => env.close());
  const store = env.openStore();
  t.teardown(() => store.close());
  const nowUs = env.sim.sim.nowMs() * 1000;
  const dest = new Destination();
  const r = await extractEventFrames({ site: SITE, client: env.client, store, databases: [PLANT], startUs: START_US, nowUs, templates: ['Downtime'] });
  dest.drain(store);
  const truth = env.af.truthEventFrames().filter((f) => f.templateName === 'Downtime');
  t.ok(truth.length > 0);
  t.equal(r.frames, truth.length, 'only Downtime frames');
  t.strictSame([...dest.table('pi_event_frames').values()].map((f) => f['name']).sort(), truth.map((f) => f.name).sort());
  // A second state directory: the first one's window has moved on.
  const dir2 = mkdtempSync(path.join(tmpdir(), 'pi-agent-ef-'));
  const store2 = Store.open({ stateDir: dir2, site: SITE });
  t.teardown(() => {
    store2.close();
    rmSync(dir2, { recursive: true, force: true });
  });
  const store2Dest = new Destination();
  const r2 = await extractEventFrames({ site: SITE, client: env.client, store: store2, databases: [PLANT], startUs: START_US, nowUs, categories: ['Production'] });
  store2Dest.drain(store2);
  t.equal(store2Dest.table('pi_event_frames').size, r2.frames);
  const prod = env.af.truthEventFrames().filter((f) => f.categoryNames.includes('Production'));
  t.equal(r2.frames, prod.length, 'Production frames, child phases included');
  t.ok(
    prod.some((f) => f.parentWebId !== null),
    'the truth has child frames',
  );
});
