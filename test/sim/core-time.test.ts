import t from 'tap';
import { formatUnits, parsePiTime } from './piwebapi/time.js';
import { get, sim } from './core-util.js';

const iso = (s: string, now: string, zone: string): string => formatUnits(parsePiTime(s, Date.parse(now), zone));

t.test('relative and absolute PI time strings in UTC', async (t) => {
  const now = '2026-01-02T00:00:00Z';
  const cases: Array<[string, string]> = [
    ['*', '2026-01-02T00:00:00Z'],
    ['*-1d', '2026-01-01T00:00:00Z'],
    ['*+2h', '2026-01-02T02:00:00Z'],
    ['* - 30m', '2026-01-01T23:30:00Z'],
    ['*-1d+2h-15s', '2026-01-01T01:59:45Z'],
    ['-1h', '2026-01-01T23:00:00Z'],
    ['t', '2026-01-02T00:00:00Z'],
    ['today', '2026-01-02T00:00:00Z'],
    ['y', '2026-01-01T00:00:00Z'],
    ['yesterday', '2026-01-01T00:00:00Z'],
    ['t+8h', '2026-01-02T08:00:00Z'],
    ['y-1w', '2025-12-25T00:00:00Z'],
    ['*-1mo', '2025-12-02T00:00:00Z'],
    ['fri', '2026-01-02T00:00:00Z'],
    ['mon', '2025-12-29T00:00:00Z'],
    ['Monday+6h', '2025-12-29T06:00:00Z'],
    ['2024-01-15T10:30:00Z', '2024-01-15T10:30:00Z'],
    // Input times snap to the nearest 1/65536 s, the archive's resolution (fidelity §4).
    ['2024-01-15T10:30:00.1234567Z', '2024-01-15T10:30:00.1234589Z'],
    ['2024-01-15T10:30:00+02:00', '2024-01-15T08:30:00Z'],
    ['2024-01-15T10:30:00-0530', '2024-01-15T16:00:00Z'],
    ['2024-01-15T10:30:00', '2024-01-15T10:30:00Z'],
    ['2024-01-15', '2024-01-15T00:00:00Z'],
    ['15-Jan-2024 10:30:00', '2024-01-15T10:30:00Z'],
    ['15-jan-24', '2024-01-15T00:00:00Z'],
  ];
  for (const [input, want] of cases) t.equal(iso(input, now, 'UTC'), want, input);
  for (const bad of ['', 'soon', '*-1parsec', '2024-13-45T99:00:00Z', '15-Foo-2024']) {
    t.throws(() => parsePiTime(bad, Date.parse(now), 'UTC'), `rejects '${bad}'`);
  }
});

t.test('server zone America/New_York across the spring-forward change', async (t) => {
  const now = '2026-03-08T12:00:00Z'; // 08:00 EDT, the day clocks jump 02:00 EST → 03:00 EDT
  const z = 'America/New_York';
  t.equal(iso('t', now, z), '2026-03-08T05:00:00Z', 't is local midnight (EST)');
  t.equal(iso('y', now, z), '2026-03-07T05:00:00Z');
  t.equal(iso('t+8h', now, z), '2026-03-08T13:00:00Z', '8 elapsed hours after midnight: 09:00 EDT');
  t.equal(iso('*-1d', now, z), '2026-03-07T13:00:00Z', 'one calendar day back keeps 08:00 local');
  t.equal(iso('2026-03-08T01:30:00', now, z), '2026-03-08T06:30:00Z', 'naive before the change: EST');
  t.equal(iso('2026-03-08T03:30:00', now, z), '2026-03-08T07:30:00Z', 'naive after the change: EDT');
  t.equal(iso('2026-03-08T02:30:00', now, z), '2026-03-08T07:30:00Z', 'a time in the gap moves forward by the gap');
  t.equal(iso('08-Mar-2026 10:30:00', now, z), '2026-03-08T14:30:00Z');
  t.equal(iso('2026-03-08T10:30:00Z', now, z), '2026-03-08T10:30:00Z', 'explicit Z ignores the zone');
  t.equal(iso('mon', now, z), '2026-03-02T05:00:00Z');
});

t.test('server zone America/New_York across the fall-back change; Europe/Berlin', async (t) => {
  const now = '2026-11-01T12:00:00Z'; // 07:00 EST, the day clocks fall back 02:00 EDT → 01:00 EST
  const z = 'America/New_York';
  t.equal(iso('t', now, z), '2026-11-01T04:00:00Z', 'midnight was still EDT');
  t.equal(iso('y', now, z), '2026-10-31T04:00:00Z');
  t.equal(iso('*-1d', now, z), '2026-10-31T11:00:00Z');
  t.equal(iso('2026-11-01T01:30:00', now, z), '2026-11-01T05:30:00Z', 'ambiguous: the earlier (EDT) instant');
  t.equal(iso('2026-11-01T03:00:00', now, z), '2026-11-01T08:00:00Z');
  t.equal(iso('t', '2026-03-29T12:00:00Z', 'Europe/Berlin'), '2026-03-28T23:00:00Z');
  t.equal(iso('t+3h', '2026-03-29T12:00:00Z', 'Europe/Berlin'), '2026-03-29T02:00:00Z');
  t.equal(iso('y', '2026-03-29T12:00:00Z', 'Europe/Berlin'), '2026-03-27T23:00:00Z');
});

t.test('HTTP: the server zone reads t/y/naive dates; timeZone= overrides; output stays UTC', async (t) => {
  const s = await sim(t, { tags: 5, timeZone: 'America/New_York', now: '2026-03-08T12:00:00Z' });
  const w = s.sim.tagWebId(0);
  const r = await get(s, `/streams/${w}/recorded?startTime=y&endTime=t&maxCount=10000`);
  t.same(r.json.Items, s.sim.truth(0, '2026-03-07T05:00:00Z', '2026-03-08T05:00:00Z'));
  const naive = await get(s, `/streams/${w}/recorded?startTime=2026-03-08T01:00:00&endTime=2026-03-08T04:00:00`);
  t.same(naive.json.Items, s.sim.truth(0, '2026-03-08T06:00:00Z', '2026-03-08T08:00:00Z'), '01:00 EST to 04:00 EDT is two hours');
  for (const e of naive.json.Items) t.match(e.Timestamp, /Z$/);
  const berlin = await get(s, `/streams/${w}/recorded?startTime=t&endTime=t%2B1h&timeZone=Europe/Berlin`);
  t.same(berlin.json.Items, s.sim.truth(0, '2026-03-07T23:00:00Z', '2026-03-08T00:00:00Z'));
  t.equal((await get(s, `/streams/${w}/recorded?timeZone=Mars/Olympus`)).status, 400);
  t.equal((await get(s, '/dataservers')).json.Items[0].ServerTime, '2026-03-08T12:00:00Z');
  t.equal(s.sim.truth(0, 't', '*').length > 0, true);
});

t.test('realtime clock follows wall time from `now`', async (t) => {
  const s = await sim(t, { tags: 5, realtime: true, now: '2026-01-02T00:00:00Z' });
  await new Promise((r) => setTimeout(r, 1100));
  t.ok(s.sim.nowIso() >= '2026-01-02T00:00:01Z', s.sim.nowIso());
});
