import t from 'tap';
import { control, get, post, sim } from './core-util.js';

t.test('stream updates: register, clock advance appends, control edits arrive, markers chain', async (t) => {
  const s = await sim(t, { tags: 20 });
  const w = s.sim.tagWebId(0);
  const reg = await post(s, `/streams/${w}/updates`, undefined);
  t.equal(reg.status, 200);
  t.equal(reg.json.Status, 'Succeeded');
  t.equal(reg.json.Source, w);
  t.match(reg.json.LatestMarker, /^[0-9a-f]{32}_0$/);

  const empty = await get(s, `/streams/updates/${reg.json.LatestMarker}`);
  t.equal(empty.status, 200);
  t.same(empty.json.Events, []);
  t.equal(empty.json.RequestedMarker, reg.json.LatestMarker);
  t.match(empty.json.LatestMarker, /_1$/);

  s.sim.advance('1h');
  const late = s.sim.insertEvent(0, { timestamp: '2026-01-01T23:00:00Z', value: 9.5 });
  const victim = s.sim.truth(0, '2026-01-01T22:00:00Z', '2026-01-01T22:30:00Z')[0]!;
  s.sim.deleteEvents(0, victim.Timestamp, 0);
  const r = await get(s, `/streams/updates/${empty.json.LatestMarker}`);
  const appended = s.sim.truth(0, '2026-01-02T00:00:00.0000153Z', '2026-01-02T01:00:00Z');
  t.ok(appended.length > 5);
  t.same(r.json.Events, [
    // AFDataPipeAction: a late event before the last one is an Insert; a removal a Delete.
    { Action: 'Insert', ...late },
    { Action: 'Delete', ...victim },
    ...appended.map((e) => ({ Action: 'Add', ...e, PreviousEventAction: 'PreviousEventArchived' })),
  ]);
  t.match(r.json.LatestMarker, /_2$/);
  const again = await get(s, `/streams/updates/${r.json.LatestMarker}`);
  t.same(again.json.Events, [], 'nothing new since the latest marker');
  const edited = s.sim.editEvent(0, appended[0]!.Timestamp, { value: 1 });
  const ed = await get(s, `/streams/updates/${again.json.LatestMarker}`);
  t.same(ed.json.Events, [{ Action: 'Update', ...edited }]);
  // An old marker still replays from its own point.
  const replay = await get(s, `/streams/updates/${empty.json.LatestMarker}`);
  t.ok(replay.json.Events.length >= appended.length);
});

t.test('streamset updates, 404 Cache not found after expiry, 409 invalid marker', async (t) => {
  const s = await sim(t, { tags: 20 });
  const reg = await post(s, `/streamsets/updates?webId=${s.sim.tagWebId(1)}&webId=${s.sim.tagWebId(3)}&webId=bad`, undefined);
  t.equal(reg.status, 200);
  t.same(
    reg.json.Items.map((i: { Status: string }) => i.Status),
    ['Succeeded', 'Succeeded', 'Failed'],
  );
  t.match(reg.json.Items[2].Exception.Errors[0], /WebID/);
  const m1 = reg.json.Items[0].LatestMarker;
  const m3 = reg.json.Items[1].LatestMarker;
  t.not(m1.split('_')[0], m3.split('_')[0]);
  s.sim.advance('30m');
  const poll = await get(s, `/streamsets/updates?marker=${m1}&marker=${m3}`);
  t.equal(poll.status, 200);
  t.equal(poll.json.Items.length, 2);
  t.same(
    poll.json.Items[0].Events.map((e: { Timestamp: string }) => e.Timestamp),
    s.sim.truth(1, '2026-01-02T00:00:00.0000153Z', '2026-01-02T00:30:00Z').map((e) => e.Timestamp),
  );
  t.equal(poll.json.Items[1].Source, s.sim.tagWebId(3));

  const bad = await get(s, '/streams/updates/not-a-marker');
  t.equal(bad.status, 409);
  t.match(bad.json.Errors[0], /Invalid marker/);
  const neverIssued = await get(s, `/streams/updates/${m1.split('_')[0]}_99`);
  t.equal(neverIssued.status, 409);
  const unknown = await get(s, '/streams/updates/0123456789abcdef0123456789abcdef_0');
  t.equal(unknown.status, 404);
  t.match(unknown.json.Errors[0], /Cache not found/);

  t.equal((await control(s, 'POST', '/sim/updates/expire')).status, 200);
  const expired = await get(s, `/streams/updates/${m1}`);
  t.equal(expired.status, 404);
  t.match(expired.json.Errors[0], /Cache not found/);
  t.equal((await get(s, `/streamsets/updates?marker=${m3}`)).status, 404);
  // A restarted simulator knows none of the old markers.
  const s2 = await sim(t, { tags: 20 });
  t.equal((await get(s2, `/streams/updates/${m3}`)).status, 404);
  t.equal((await post(s, '/streams/nonsense/updates', undefined)).status, 400);
});

t.test('a signup PI ends answers its poll with Exception and is unregistered; a deleted point says the signup was removed', async (t) => {
  const s = await sim(t, { tags: 20 });
  const reg = await post(s, `/streamsets/updates?webId=${s.sim.tagWebId(1)}&webId=${s.sim.tagWebId(2)}`, undefined);
  const [m1, m2] = reg.json.Items.map((i: { LatestMarker: string }) => i.LatestMarker);
  s.sim.updates!.endSignup(1);
  const ended = await get(s, `/streams/updates/${m1}`);
  t.equal(ended.status, 200);
  t.same(ended.json.Exception, { Errors: ['The signup was updated and any cached data could be invalid.'] });
  t.same(ended.json.Events, []);
  t.equal(ended.json.LatestMarker, undefined);
  t.equal((await get(s, `/streams/updates/${m1}`)).status, 404, 'unregistered: its marker is unknown now');
  s.sim.deleteTag(2);
  const removed = await get(s, `/streams/updates/${m2}`);
  t.same(removed.json.Exception, { Errors: ['The signup was removed because it is no longer valid.'] });
  // A renamed action (test hook): reported under the new name.
  const r3 = await post(s, `/streams/${s.sim.tagWebId(3)}/updates`, undefined);
  s.sim.updates!.renamedActions.set('Update', 'Replace');
  const victim = s.sim.truth(3, '2026-01-01T22:00:00Z', '2026-01-01T22:30:00Z')[0]!;
  const edited = s.sim.editEvent(3, victim.Timestamp, { value: 2 });
  const polled = await get(s, `/streams/updates/${r3.json.LatestMarker}`);
  t.same(polled.json.Events, [{ Action: 'Replace', ...edited }]);
  t.equal(polled.json.Status, 'Updated');
});
