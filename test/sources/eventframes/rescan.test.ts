/**
 * Event frame rescans against the simulator's ground truth: a back-dated frame (start and end both
 * before the window, entered late) appears with the first rescan once rescan_every passed on PI's
 * clock and not before; a closed frame deleted two days later disappears with the next rescan; an
 * unchanged rescan emits nothing and reads no attributes; per-frame progress stays bounded by the
 * horizon. Utilities has no scheduled frames, so every frame there is one this test made.
 */
import t from 'tap';
import { extractEventFrames } from '../../../agent/sources/eventframes/extract.js';
import type { Test } from 'tap';
import type { AfModel } from '../../sim/piwebapi/af.js';
import { Destination, PLANT, SITE, UTILITIES, differences, idOnly, scenario } from '../../helpers/af-harness.js';
import { START_US, actualFrames, compareFrames, expectedFrames } from '../../helpers/eventframes-expect.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const RESCAN = { rescanHorizonUs: 7 * DAY * 1000, rescanEveryUs: HOUR * 1000 };

/** The truth of one database's frames, without the frames in `without` (IDOnly WebIDs). */
function expectedIn(af: AfModel, db: string, without: string[] = []) {
  const e = expectedFrames(af);
  const ids = new Set(
    [...e.frames.values()].filter((f) => f['database_path'] === db && !without.includes(f['event_frame_webid'] as string)).map((f) => f['event_frame_webid']),
  );
  const keep = (m: Map<string, Record<string, unknown>>) => new Map([...m].filter(([, v]) => ids.has(v['event_frame_webid'])));
  return { frames: keep(e.frames), attrs: keep(e.attrs), refs: keep(e.refs) };
}

function check(t: Test, dest: Destination, af: AfModel, label: string, without: string[] = []): void {
  const e = expectedIn(af, UTILITIES, without);
  const a = actualFrames(dest);
  t.equal(a.frames.size, e.frames.size, `${label}: frame count`);
  t.strictSame(differences(a.frames, e.frames), [], `${label}: frames exact`);
  t.strictSame(differences(a.attrs, e.attrs), [], `${label}: frame attributes exact`);
  t.strictSame(differences(a.refs, e.refs), [], `${label}: referenced elements exact`);
}

t.test('rescans: back-dated frame, deleted closed frame, unchanged rescan, bounded progress', async (t) => {
  const { env, af, sim, store, dest } = await scenario(t);
  const run = () => extractEventFrames({ site: SITE, client: env.client, store, databases: [UTILITIES], startUs: START_US, nowUs: sim.nowMs() * 1000, ...RESCAN });
  const rescanKey = `efw:${UTILITIES}|rescan`;
  const leaf = af.truthElements().find((e) => e.databasePath === UTILITIES && e.depth === 5)!.path;
  const idOf = (f: Parameters<AfModel['webIdOf']>[0]) => idOnly(af.webIdOf(f));

  // An open frame with fixed attribute values (unchanged between cycles) and a closed one.
  const t0 = sim.nowMs();
  const open = af.openEventFrame({
    database: UTILITIES,
    name: 'Long outage',
    templateName: 'Downtime',
    startTime: t0 - 30 * MIN,
    refElements: [leaf],
    attributes: { Reason: 'Grid', Duration: 1, 'Lost Production': 2 },
  });
  const closed = af.openEventFrame({
    database: UTILITIES,
    name: 'Short stop',
    templateName: 'Downtime',
    startTime: t0 - 5 * HOUR,
    refElements: [leaf],
    attributes: { Reason: 'Trip', Duration: 60, 'Lost Production': 3 },
  });
  af.closeEventFrame(af.webIdOf(closed), t0 - 4 * HOUR);

  const r1 = await run();
  dest.drain(store);
  t.equal(r1.rescans, 1, 'the first cycle counts as a rescan');
  t.equal(r1.upserts, 2);
  check(t, dest, af, 'first cycle');
  t.equal(store.getProgress(rescanKey), t0 * 1000, "last rescan on PI's clock");

  // A downtime typed in late: it started and ended 12 h before a window that has already passed.
  sim.advance('20m');
  const late = af.openEventFrame({
    database: UTILITIES,
    name: 'Night downtime',
    templateName: 'Downtime',
    startTime: sim.nowMs() - 12 * HOUR,
    refElements: [leaf],
    attributes: { Reason: 'Manual entry' },
  });
  af.closeEventFrame(af.webIdOf(late), sim.nowMs() - 11 * HOUR);
  const lateId = idOf(late);
  const r2 = await run();
  dest.drain(store);
  t.equal(r2.rescans, 0, '20 min after the last rescan: no rescan');
  t.equal(r2.upserts, 0, 'the short window does not see the back-dated frame');
  check(t, dest, af, 'before the rescan', [lateId]);
  sim.advance('39m');
  const r3 = await run();
  dest.drain(store);
  t.equal(r3.rescans, 0, '59 min after the last rescan: still no rescan');
  check(t, dest, af, 'one minute before the rescan', [lateId]);
  t.notOk(dest.table('pi_event_frames').has(`${SITE}|${lateId}`));

  sim.advance('1m');
  const r4 = await run();
  dest.drain(store);
  t.equal(r4.rescans, 1, "rescan_every passed on PI's clock: rescan");
  t.equal(r4.upserts, 1, 'only the back-dated frame is new');
  t.strictSame(dest.last.get('pi_event_frames'), { update: 1, insert: 0, delete: 0 });
  t.equal(dest.received('pi_event_frame_attributes'), 3, 'its three attributes');
  t.equal(dest.received('pi_event_frame_elements'), 1, 'its referenced element');
  check(t, dest, af, 'after the rescan');
  t.equal(dest.table('pi_event_frames').get(`${SITE}|${lateId}`)!['name'], 'Night downtime');
  t.equal(store.getProgress(rescanKey), sim.nowMs() * 1000, 'rescan time moved on');

  // An unchanged rescan emits nothing: the database lookup, one search page, and the attributes and
  // values of the page's frames (two /batch calls, however many frames).
  sim.advance('1h');
  const before = sim.served.requests;
  const r5 = await run();
  t.equal(r5.rescans, 1);
  t.equal(r5.frames, 3, 'three frames searched');
  t.equal(r5.upserts + r5.deletes, 0, 'unchanged rescan: nothing emitted');
  t.equal(dest.drain(store), 0, 'no rows in the store');
  t.equal(sim.served.requests - before, 4, 'four requests: lookup, search, attributes and values');

  // A rescan sees a changed old frame (renamed after it left the window).
  sim.advance('1h');
  af.updateEventFrame(af.webIdOf(late), { name: 'Night downtime (confirmed)' });
  const r6 = await run();
  dest.drain(store);
  t.equal(r6.upserts, 1, 'the renamed old frame is updated');
  check(t, dest, af, 'after a rename of an old frame');

  // An attribute value corrected on that closed frame (nothing in the frame's own fields changes).
  sim.advance('1h');
  const reason = af.attributesOf(late).find((x) => x.name === 'Reason')!;
  af.setAttributeValue(af.webIdOf(reason), 'Manual entry (power dip)');
  const r6b = await run();
  dest.drain(store);
  t.equal(r6b.rescans, 1);
  t.strictSame(dest.last.get('pi_event_frame_attributes'), { update: 3, insert: 0, delete: 0 }, 'the frame changed: its three attributes are upserted');
  check(t, dest, af, 'after an attribute edit on an old closed frame');

  // Two days of cycles (each a rescan), then the closed frame is deleted in PI.
  for (let i = 0; i < 8; i++) {
    sim.advance('6h');
    const r = await run();
    t.equal(r.upserts + r.deletes, 0, `cycle ${i}: nothing changed`);
  }
  dest.drain(store);
  const closedId = idOf(closed);
  af.deleteEventFrame(af.webIdOf(closed));
  sim.advance('10m');
  const r7 = await run();
  dest.drain(store);
  t.equal(r7.rescans, 0);
  t.equal(r7.deletes, 0, 'outside the short window, no rescan yet: not noticed');
  t.ok(dest.table('pi_event_frames').has(`${SITE}|${closedId}`));
  sim.advance('50m');
  const r8 = await run();
  dest.drain(store);
  t.equal(r8.rescans, 1);
  t.equal(r8.deletes, 1, 'the rescan deletes the frame');
  t.strictSame(dest.last.get('pi_event_frames'), { update: 0, insert: 0, delete: 1 });
  t.strictSame(dest.last.get('pi_event_frame_attributes'), { update: 0, insert: 0, delete: 3 }, 'its attributes');
  t.strictSame(dest.last.get('pi_event_frame_elements'), { update: 0, insert: 0, delete: 1 }, 'its element reference');
  check(t, dest, af, 'after the deletion');
  t.notOk(dest.table('pi_event_frames').has(`${SITE}|${closedId}`));

  // Eight days on, the back-dated frame is older than the horizon: forgotten from progress (rows kept).
  t.equal(store.getProgressByPrefix('ef:').size, 2, 'open and back-dated frame known');
  for (let i = 0; i < 8; i++) {
    sim.advance('1d');
    await run();
  }
  dest.drain(store);
  t.strictSame([...store.getProgressByPrefix('ef:').keys()], [`ef:${idOf(open)}`], 'only the open frame is still known');
  check(t, dest, af, 'eight days later');
});

t.test('rescans with the scheduled frames of Plant: exact over days, progress bounded by the horizon', async (t) => {
  const { env, af, sim, store, dest } = await scenario(t, { seed: 5 });
  const run = () => extractEventFrames({ site: SITE, client: env.client, store, databases: [PLANT, UTILITIES], startUs: START_US, nowUs: sim.nowMs() * 1000, ...RESCAN });

  for (let i = 0; i < 12; i++) {
    sim.advance('1d');
    await run();
  }
  dest.drain(store);
  compareFrames(t, dest, af, 'after 12 days');
  const nowUs = sim.nowMs() * 1000;
  // Kept: frames open or ending within the horizon, and child frames of kept frames.
  const truth = af.truthEventFrames();
  const byId = new Map(truth.map((f) => [f.webId, f]));
  const kept = (f: (typeof truth)[number]): boolean =>
    f.endTime === null || f.endTime * 1000 >= nowUs - RESCAN.rescanHorizonUs || (f.parentWebId !== null && kept(byId.get(f.parentWebId)!));
  const inHorizon = truth.filter(kept);
  t.ok(inHorizon.length < truth.length, `${inHorizon.length} of ${truth.length} frames within the horizon`);
  t.strictSame(
    [...store.getProgressByPrefix('ef:').keys()].sort(),
    inHorizon.map((f) => `ef:${idOnly(f.webId)}`).sort(),
    'progress: exactly the frames within the horizon (and their children)',
  );

  // A closed batch (with its phases) deleted three days after it ended; its first phase ended before
  // the horizon and is known only because its parent is.
  const batch = af
    .truthEventFrames()
    .find((f) => f.templateName === 'Batch' && f.endTime !== null && f.endTime < sim.nowMs() - 3 * DAY && f.endTime * 1000 >= nowUs - RESCAN.rescanHorizonUs)!;
  t.ok(batch, 'a closed batch inside the horizon');
  const phaseList = af.truthEventFrames().filter((f) => f.parentWebId === batch.webId);
  const phases = phaseList.length;
  t.ok(phases > 0, `${phases} phases`);
  t.ok(
    phaseList.some((f) => f.endTime! * 1000 < nowUs - RESCAN.rescanHorizonUs),
    "a phase ended before the horizon: deleted as the batch's child",
  );
  af.deleteEventFrame(batch.webId);
  sim.advance('1h');
  const r = await run();
  dest.drain(store);
  t.equal(r.rescans, 2, 'both databases rescanned');
  t.equal(r.deletes, 1 + phases, 'the batch and its phases deleted');
  compareFrames(t, dest, af, 'after the deletion');
});
