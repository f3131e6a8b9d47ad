/**
 * Issue 4, exactly once into Databricks: simulator → agent (run once) → warehouse emulator (real
 * @databricks/sql driver), pi_timeseries compared with the simulator's truth row for row, also after
 * late inserts, edits and deletions inside the lookback window (piwebapi-fidelity.md, recorded values).
 */
import t from 'tap';
import { idOnly } from '../helpers/agent-env.js';
import { assertExact, duplicateKeys, once, startRig, warehouseRows } from './dbx-env.js';

t.test('first load, then late insert / edit / delete inside the lookback, land exactly', async (t) => {
  const { sim, w, env } = await startRig(t, { tags: 6, now: '2026-01-01T01:30:00Z', maxCount: 500 });
  t.same(await once(env), { ok: true, problems: [] }, 'run once ok');
  await assertExact(t, sim, w, sim.sim.nowIso(), 'after the first run');

  const tags = await warehouseRows(w, 'pi_tags');
  t.equal(tags.length, 6, 'pi_tags has 6 rows');
  t.same(new Set(tags.map((r) => r.tag_webid)), new Set(Array.from({ length: 6 }, (_, i) => idOnly(sim.sim.tagWebId(i)))), 'every tag once');
  t.equal(await duplicateKeys(w, 'pi_tags'), 0);

  const s = sim.sim;
  const recent = s.truth(0, '2026-01-01T00:45:00Z', s.nowIso());
  t.ok(recent.length > 3, 'tag 0 has events in the lookback window');
  s.insertEvent(0, { timestamp: '2026-01-01T01:10:00.5Z', value: 42.5 });
  s.editEvent(0, recent[1]!.Timestamp, { value: -7 });
  s.deleteEvents(0, recent[2]!.Timestamp);
  const r3 = s.truth(3, '2026-01-01T01:00:00Z', s.nowIso());
  s.deleteEvents(3, r3[0]!.Timestamp);
  s.advance('20m');
  t.same(await once(env), { ok: true, problems: [] }, 'second run ok');
  await assertExact(t, sim, w, s.nowIso(), 'after changes + 20 min');
  const edited = (await warehouseRows(w, 'pi_timeseries')).filter((r) => r.tag_webid === idOnly(s.tagWebId(0)) && r.value_double === -7);
  t.equal(edited.length, 1, 'the edited value is there once');

  // An idle cycle changes nothing.
  t.same(await once(env), { ok: true, problems: [] });
  await assertExact(t, sim, w, s.nowIso(), 'after an idle cycle');
  t.equal((await warehouseRows(w, 'pi_tags')).length, 6, 'pi_tags still one row per tag');
});
