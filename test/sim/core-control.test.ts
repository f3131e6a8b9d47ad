import t from 'tap';
import { control, get, sim } from './core-util.js';

const FROM = '2026-01-01T10:00:00Z';
const TO = '2026-01-01T11:00:00Z';

t.test('late insert, edit (→ Substituted) and delete show in recorded and in truth (in-process API)', async (t) => {
  const s = await sim(t, { tags: 20 });
  const w = s.sim.tagWebId(0);
  const before = s.sim.truth(0, FROM, TO);
  const read = async (): Promise<unknown[]> => (await get(s, `/streams/${w}/recorded?startTime=${FROM}&endTime=${TO}`)).json.Items;
  t.same(await read(), before);

  const lateTs = '2026-01-01T10:30:00.5000000Z';
  const ins = s.sim.insertEvent(0, { timestamp: lateTs, value: 123.5 });
  t.same(ins, { Timestamp: lateTs, Value: 123.5, UnitsAbbreviation: s.sim.tagMeta(0).units, Good: true, Questionable: false, Substituted: false, Annotated: false });
  const afterInsert = s.sim.truth(0, FROM, TO);
  t.equal(afterInsert.length, before.length + 1);
  t.same(
    afterInsert.filter((e) => e.Timestamp === lateTs),
    [ins],
  );
  t.same(await read(), afterInsert);

  // A second event at an existing timestamp lands after the archived one (ordinal 1).
  const existing = before[5]!;
  s.sim.insertEvent(0, { timestamp: existing.Timestamp, value: { Name: 'Shutdown', Value: 254, IsSystem: true } });
  const at = (await get(s, `/streams/${w}/recorded?startTime=${existing.Timestamp}&endTime=${existing.Timestamp}`)).json.Items;
  t.equal(at.length, 2);
  t.same(at[0], existing);
  t.same(at[1].Value, { Name: 'Shutdown', Value: 254, IsSystem: true });
  t.equal(at[1].Good, false);

  const target = before[10]!;
  const edited = s.sim.editEvent(0, target.Timestamp, { value: 42 });
  t.same(edited, { ...target, Value: 42, Substituted: true, Good: true });
  const afterEdit = await read();
  t.same(
    (afterEdit as typeof before).find((e) => e.Timestamp === target.Timestamp),
    edited,
  );

  const gone = before[20]!;
  t.equal(s.sim.deleteEvents(0, gone.Timestamp), 1);
  const afterDelete = s.sim.truth(0, FROM, TO);
  t.notOk(afterDelete.some((e) => e.Timestamp === gone.Timestamp));
  t.same(await read(), afterDelete);
  t.equal(afterDelete.length, before.length + 1);

  t.throws(() => s.sim.insertEvent(0, { timestamp: '2027-01-01T00:00:00Z', value: 1 }), /at or before the simulated clock/);
});

t.test('control API over HTTP: clock, events, tags, truth', async (t) => {
  const s = await sim(t, { tags: 20 });
  const state = await control(s, 'GET', '/sim/state');
  t.equal(state.json.now, '2026-01-02T00:00:00Z');
  t.equal(state.json.tags, 20);

  const w = s.sim.tagWebId(1);
  const truth0 = (await control(s, 'GET', `/sim/tags/${w}/truth?start=${FROM}&end=${TO}`)).json.Items;
  t.same(truth0, s.sim.truth(1, FROM, TO));

  const ins = await control(s, 'POST', '/sim/tags/1/events', { timestamp: '2026-01-01T10:15:00Z', value: 7.25, questionable: true });
  t.equal(ins.status, 201);
  t.equal(ins.json.Questionable, true);
  const ed = await control(s, 'POST', `/sim/tags/${encodeURIComponent('SIM.FLOAT64.00001')}/events/edit`, { timestamp: truth0[0].Timestamp, value: 1.5 });
  t.equal(ed.status, 200);
  t.equal(ed.json.Substituted, true);
  const del = await control(s, 'POST', '/sim/tags/1/events/delete', { start: truth0[3].Timestamp, end: truth0[4].Timestamp });
  t.equal(del.json.deleted, 2);
  const rec = (await get(s, `/streams/${w}/recorded?startTime=${FROM}&endTime=${TO}`)).json.Items;
  t.same(rec, s.sim.truth(1, FROM, TO));
  t.equal(rec.length, truth0.length + 1 - 2);
  t.equal(rec[0].Value, 1.5);
  t.equal((await control(s, 'POST', '/sim/tags/1/events/edit', { timestamp: '2026-01-01T10:00:00.1234567Z', value: 1 })).status, 404);
  t.equal((await control(s, 'POST', '/sim/tags/1/events', { timestamp: 'x' })).status, 400);

  // Clock: new data appears at the head.
  const end0 = (await get(s, `/streams/${w}/end`)).json.Timestamp;
  const adv = await control(s, 'POST', '/sim/clock/advance', { by: '2h' });
  t.equal(adv.json.now, '2026-01-02T02:00:00Z');
  const end1 = (await get(s, `/streams/${w}/end`)).json.Timestamp;
  t.ok(end1 > end0 && end1 <= '2026-01-02T02:00:00Z' && end1 > '2026-01-02T01:50:00Z', `head moved: ${end0} → ${end1}`);
  t.equal((await control(s, 'POST', '/sim/clock/set', { now: '2026-01-02T03:00:00Z' })).json.now, '2026-01-02T03:00:00Z');

  // Tags: add, rename, delete.
  const add = await control(s, 'POST', '/sim/tags', { name: 'NEW.TAG', kind: 'INT32' });
  t.equal(add.status, 201);
  t.equal(add.json.name, 'NEW.TAG');
  const ds = (await get(s, '/dataservers')).json.Items[0].WebId;
  const pts = (await get(s, `/dataservers/${ds}/points?nameFilter=NEW.*`)).json.Items;
  t.same(
    pts.map((p: { Name: string; PointType: string }) => [p.Name, p.PointType]),
    [['NEW.TAG', 'Int32']],
  );
  await control(s, 'POST', '/sim/clock/advance', { by: '10m' });
  const newVals = (await get(s, `/streams/${add.json.webId}/recorded?startTime=*-1h`)).json.Items;
  t.same(newVals[0].Value, { Name: 'Pt Created', Value: 253, IsSystem: true });
  t.equal(newVals[0].Timestamp, '2026-01-02T03:00:00Z');
  t.ok(newVals.length > 1);
  t.equal((await control(s, 'POST', '/sim/tags', { name: 'new.tag' })).status, 409);

  const oldPathOnly = s.sim.tagWebId(2, 'PathOnly');
  const full = s.sim.tagWebId(2);
  const ren = await control(s, 'POST', '/sim/tags/2/rename', { name: 'RENAMED.COUNTER' });
  t.equal(ren.json.path, '\\\\SIMPI\\RENAMED.COUNTER');
  t.equal((await get(s, `/points/${full}?selectedFields=Name`)).json.Name, 'RENAMED.COUNTER', 'Full ids follow the object');
  t.equal((await get(s, `/points/${oldPathOnly}`)).status, 404, 'old PathOnly ids die with the name');
  t.equal((await get(s, '/points?path=' + encodeURIComponent('\\\\SIMPI\\SIM.INT32.00002'))).status, 404);
  t.equal((await get(s, '/points?path=' + encodeURIComponent('\\\\SIMPI\\renamed.counter'))).json.Id, 3);

  t.equal((await control(s, 'DELETE', '/sim/tags/3')).status, 200);
  t.equal((await get(s, `/streams/${s.sim.tagWebId(3)}/recorded`)).status, 404);
  t.equal((await control(s, 'GET', '/sim/state')).json.tags, 20);
  t.equal((await control(s, 'GET', '/sim/tags/3')).status, 404);
});
