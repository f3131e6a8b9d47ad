/**
 * The event frames source against the simulator's ground truth: a frame opened in one run and closed
 * two runs later ends up as one row; renames, re-templating and deletions follow; an unchanged
 * cycle emits nothing.
 */
import t from 'tap';
import { extractEventFrames } from '../../../agent/sources/eventframes/extract.js';
import { PLANT, SITE, UTILITIES, idOnly, scenario } from '../../helpers/af-harness.js';
import { START_US, compareFrames } from '../../helpers/eventframes-expect.js';

t.test('event frames: open → closed two runs later, rename, re-template, delete', async (t) => {
  const { env, af, sim, store, dest } = await scenario(t);
  const run = () => extractEventFrames({ site: SITE, client: env.client, store, databases: [PLANT, UTILITIES], startUs: START_US, nowUs: sim.nowMs() * 1000 });

  const pump = `${PLANT}\\Enterprise 01\\Site 01\\Area 01\\Unit 01\\Pump 01`;
  const unit = `${PLANT}\\Enterprise 01\\Site 01\\Area 01\\Unit 01`;
  const openedAt = sim.nowMs() - 30 * 60_000;
  const f = af.openEventFrame({ name: 'Manual stop', templateName: 'Downtime', startTime: openedAt, refElements: [pump, unit], attributes: { Reason: 'Seal leak' } });
  const fKey = `${SITE}|${idOnly(af.webIdOf(f, 'IDOnly'))}`;

  const r1 = await run();
  dest.drain(store);
  t.ok(r1.frames > 3 && r1.open >= 1, `first run: ${r1.frames} frames, ${r1.open} open`);
  compareFrames(t, dest, af, 'run 1');
  t.equal(dest.table('pi_event_frames').get(fKey)!['end_time'], null, 'open frame: end_time NULL');

  const r1b = await run();
  t.equal(r1b.upserts + r1b.deletes, 0, 'same clock, nothing changed: nothing emitted');
  t.equal(dest.drain(store), 0);

  sim.advance('1h');
  await run();
  dest.drain(store);
  compareFrames(t, dest, af, 'run 2 (still open)');
  t.equal(dest.table('pi_event_frames').get(fKey)!['end_time'], null);

  sim.advance('1h');
  const closedAt = sim.nowMs() - 5 * 60_000;
  af.closeEventFrame(af.webIdOf(f), closedAt);
  await run();
  dest.drain(store);
  compareFrames(t, dest, af, 'run 3 (closed)');
  const row = dest.table('pi_event_frames').get(fKey)!;
  t.equal(row['start_time'], openedAt * 1000, 'start');
  t.equal(row['end_time'], closedAt * 1000, 'end');
  t.equal([...dest.table('pi_event_frames').values()].filter((r) => r['name'] === 'Manual stop').length, 1, 'one row for the frame');
  const dur = [...dest.table('pi_event_frame_attributes').values()].find((r) => r['event_frame_webid'] === row['event_frame_webid'] && r['name'] === 'Duration')!;
  t.equal(dur['value_double'], 145, 'captured duration (minutes)');

  // Rename and re-template an open frame; delete a closed one and an open one.
  const g = af.openEventFrame({ name: 'Batch X', templateName: 'Batch', startTime: sim.nowMs() - 60_000, refElements: [unit] });
  const h = af.openEventFrame({ name: 'Short lived', templateName: 'Downtime', startTime: sim.nowMs() - 60_000 });
  await run();
  dest.drain(store);
  compareFrames(t, dest, af, 'run 4 (new frames)');
  af.updateEventFrame(af.webIdOf(g), { name: 'Batch Y', templateName: 'Downtime' });
  af.deleteEventFrame(af.webIdOf(h));
  af.deleteEventFrame(af.webIdOf(f));
  sim.advance('10m');
  const r5 = await run();
  dest.drain(store);
  t.equal(r5.deletes, 2, 'two frames deleted');
  compareFrames(t, dest, af, 'run 5 (renamed, re-templated, deleted)');
  t.notOk(dest.table('pi_event_frames').has(fKey));

  // Many cycles later, everything still matches (closed frames leave the window).
  for (let i = 0; i < 4; i++) {
    sim.advance('3h');
    await run();
  }
  dest.drain(store);
  compareFrames(t, dest, af, 'after 12 more hours');
  t.ok(store.getProgressByPrefix('ef:').size < af.truthEventFrames().length, 'progress of closed frames is pruned');
});
