import t from 'tap';
import { formatUnits, UNITS_PER_SECOND } from './piwebapi/time.js';
import { get, sim } from './core-util.js';

// Tag layout (tags.ts KIND_PATTERN): 0 FLOAT32, 1 FLOAT64, 6 FAST (sub-second), 7 GAPPY, 8 BURST.
const DAY = 'startTime=2026-01-01T00:00:00Z&endTime=2026-01-02T00:00:00Z';

t.test('recorded truncates silently at maxCount (default 1000) and matches the truth', async (t) => {
  const s = await sim(t, { tags: 20 });
  const w = s.sim.tagWebId(1);
  const truth = s.sim.truth(1, '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z');
  t.ok(truth.length > 1000, `a day of FLOAT64 has more than 1000 events (${truth.length})`);
  const r = await get(s, `/streams/${w}/recorded?${DAY}`);
  t.equal(r.status, 200);
  t.equal(r.json.Items.length, 1000);
  t.equal(JSON.stringify(r.json.Items), JSON.stringify(truth.slice(0, 1000)));
  t.equal(r.json.UnitsAbbreviation, s.sim.tagMeta(1).units);
  t.same(Object.keys(r.json).sort(), ['Items', 'Links', 'UnitsAbbreviation']);
  t.equal(r.headers.get('link'), null);
  const r2 = await get(s, `/streams/${w}/recorded?${DAY}&maxCount=17`);
  t.same(r2.json.Items, truth.slice(0, 17));
});

t.test('maxCount above MaxReturnedItemsPerCall is a 400 with the documented text', async (t) => {
  const s = await sim(t, { tags: 20 });
  const r = await get(s, `/streams/${s.sim.tagWebId(0)}/recorded?maxCount=150001`);
  t.equal(r.status, 400);
  t.same(r.json, { Errors: ["Parameter 'maxCount' is greater than the maximum allowed (150000)."] });
  t.equal((await get(s, `/streams/${s.sim.tagWebId(0)}/recorded?maxCount=150000`)).status, 200);
  const small = await sim(t, { tags: 20, maxReturnedItemsPerCall: 500 });
  const r3 = await get(small, `/streams/${small.sim.tagWebId(0)}/recorded?maxCount=501`);
  t.same(r3.json, { Errors: ["Parameter 'maxCount' is greater than the maximum allowed (500)."] });
});

t.test('events sharing a timestamp are all served, in order, and paging by the drop-last rule loses none', async (t) => {
  const s = await sim(t, { tags: 20 });
  const truth = s.sim.truth(8, '2026-01-01T00:00:00Z', '2026-01-01T12:00:00Z');
  const counts = new Map<string, number>();
  for (const e of truth) counts.set(e.Timestamp, (counts.get(e.Timestamp) ?? 0) + 1);
  const shared = [...counts].filter(([, n]) => n >= 2);
  t.ok(shared.length >= 5, `BURST tag has several multi-event timestamps (${shared.length})`);
  const [ts, n] = shared[0]!;
  const w = s.sim.tagWebId(8);
  const r = await get(s, `/streams/${w}/recorded?startTime=${ts}&endTime=${ts}`);
  t.equal(r.json.Items.length, n);
  t.same(
    r.json.Items,
    truth.filter((e) => e.Timestamp === ts),
  );
  t.not(r.json.Items[0].Value, r.json.Items[1].Value, 'siblings carry different values');

  // Page with a small maxCount: resume at the last timestamp, dropping items at it (fidelity §3).
  const got: unknown[] = [];
  let start = '2026-01-01T00:00:00Z';
  for (let guard = 0; guard < 1000; guard++) {
    const page = (await get(s, `/streams/${w}/recorded?startTime=${start}&endTime=2026-01-01T12:00:00Z&maxCount=10`)).json.Items as Array<{ Timestamp: string }>;
    if (page.length < 10) {
      got.push(...page);
      break;
    }
    const last = page[page.length - 1]!.Timestamp;
    got.push(...page.filter((e) => e.Timestamp !== last));
    start = last;
  }
  t.equal(JSON.stringify(got), JSON.stringify(truth));
});

t.test('sub-second timestamps are 1/65536 s multiples rendered with 7 digits; whole seconds have none', async (t) => {
  const s = await sim(t, { tags: 20 });
  t.equal(formatUnits(1767225600 * UNITS_PER_SECOND + 1), '2026-01-01T00:00:00.0000153Z');
  t.equal(formatUnits(1767225600 * UNITS_PER_SECOND + 32768), '2026-01-01T00:00:00.5000000Z');
  t.equal(formatUnits(1767225600 * UNITS_PER_SECOND), '2026-01-01T00:00:00Z');
  const w = s.sim.tagWebId(6);
  const r = await get(s, `/streams/${w}/recorded?startTime=2026-01-01T10:00:00Z&endTime=2026-01-01T10:01:00Z&maxCount=1000`);
  const items = r.json.Items as Array<{ Timestamp: string }>;
  t.ok(items.length > 60, 'FAST tag has several events per second');
  for (const e of items) {
    t.match(e.Timestamp, /^2026-01-01T10:00:\d\d(\.\d{7})?Z$/);
    const frac = /\.(\d{7})Z$/.exec(e.Timestamp)?.[1];
    if (frac) {
      const units = Math.round((Number(frac) * 65536) / 1e7);
      t.equal(Math.round((units * 1e7) / 65536), Number(frac), 'fraction is a 1/65536 s multiple');
    }
  }
  t.ok(
    items.some((e) => /\.\d{7}Z$/.test(e.Timestamp)),
    'some 7-digit fractions',
  );
  // A 7-digit timestamp given back as startTime starts exactly at that event.
  const mid = items[30]!.Timestamp;
  const again = await get(s, `/streams/${w}/recorded?startTime=${mid}&endTime=${mid}`);
  t.equal(again.json.Items[0].Timestamp, mid);
  const whole = (await get(s, `/streams/${s.sim.tagWebId(0)}/recorded?${DAY}&maxCount=50`)).json.Items as Array<{ Timestamp: string }>;
  for (const e of whole) t.match(e.Timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
});

t.test('endTime before startTime reads descending; empty ranges give {"Items":[]}', async (t) => {
  const s = await sim(t, { tags: 20 });
  const w = s.sim.tagWebId(0);
  const truth = s.sim.truth(0, '2026-01-01T03:00:00Z', '2026-01-01T05:00:00Z');
  const r = await get(s, `/streams/${w}/recorded?startTime=2026-01-01T05:00:00Z&endTime=2026-01-01T03:00:00Z`);
  t.same(r.json.Items, [...truth].reverse());
  const r2 = await get(s, `/streams/${w}/recorded?startTime=2026-01-01T05:00:00Z&endTime=2026-01-01T03:00:00Z&maxCount=3`);
  t.same(r2.json.Items, [...truth].reverse().slice(0, 3));
  const empty = await get(s, `/streams/${w}/recorded?startTime=2025-06-01T00:00:00Z&endTime=2025-06-02T00:00:00Z`);
  t.equal(empty.status, 200);
  t.same(empty.json.Items, []);
  const future = await get(s, `/streams/${w}/recorded?startTime=2026-03-01T00:00:00Z&endTime=2026-03-02T00:00:00Z`);
  t.same(future.json.Items, [], 'nothing after the simulated clock');
});

t.test('gappy tags have hour-long holes; system states appear with Good:false on every type', async (t) => {
  const s = await sim(t, { tags: 20 });
  const gappy = s.sim.truth(7, '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z');
  let maxGap = 0;
  for (let k = 1; k < gappy.length; k++) maxGap = Math.max(maxGap, Date.parse(gappy[k]!.Timestamp) - Date.parse(gappy[k - 1]!.Timestamp));
  t.ok(maxGap >= 3600_000, `a gap of at least an hour (${maxGap / 1000} s)`);
  const types = new Set<string>();
  for (let i = 0; i < 20; i++) {
    // FAST has ~300,000 events a day: six hours of it are plenty.
    const bad = s.sim.truth(i, '2026-01-01T00:00:00Z', i === 6 ? '2026-01-01T06:00:00Z' : '2026-01-02T00:00:00Z').filter((e) => !e.Good);
    const wrong = bad.filter(
      (e) => typeof e.Value !== 'object' || (e.Value as { IsSystem: boolean }).IsSystem !== true || Object.keys(e.Value).sort().join() !== 'IsSystem,Name,Value',
    );
    t.same(wrong, [], `tag ${i}: every Good:false value is a system state object`);
    if (bad.length) types.add(s.sim.tagMeta(i).pointType);
  }
  t.ok(types.size >= 4, `system states on several point types: ${[...types].join(',')}`);
  const digital = s.sim.truth(3, '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z').find((e) => e.Good)!;
  t.same(Object.keys(digital.Value as object).sort(), ['IsSystem', 'Name', 'Value']);
  t.equal((digital.Value as { IsSystem: boolean }).IsSystem, false);
  const flags = s.sim.truth(1, '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z');
  t.ok(
    flags.some((e) => e.Questionable),
    'some Questionable',
  );
  t.ok(flags.some((e) => e.Annotated) || s.sim.truth(0, '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z').some((e) => e.Annotated), 'some Annotated');
});

t.test('boundaryType Outside adds the neighbours; Interpolated adds edge values', async (t) => {
  const s = await sim(t, { tags: 20 });
  const w = s.sim.tagWebId(0);
  const all = s.sim.truth(0, '2026-01-01T02:00:00Z', '2026-01-01T04:00:00Z');
  const inside = s.sim.truth(0, '2026-01-01T03:00:00Z', '2026-01-01T03:30:00Z');
  const before = all.filter((e) => e.Timestamp < inside[0]!.Timestamp).pop();
  const after = all.find((e) => e.Timestamp > inside[inside.length - 1]!.Timestamp);
  const out = await get(s, `/streams/${w}/recorded?startTime=2026-01-01T03:00:00Z&endTime=2026-01-01T03:30:00Z&boundaryType=Outside`);
  t.same(out.json.Items, [before, ...inside, after]);
  const interp = await get(s, `/streams/${w}/recorded?startTime=2026-01-01T03:00:00Z&endTime=2026-01-01T03:30:00Z&boundaryType=Interpolated`);
  t.equal(interp.json.Items[0].Timestamp, '2026-01-01T03:00:00Z');
  t.equal(interp.json.Items[interp.json.Items.length - 1].Timestamp, '2026-01-01T03:30:00Z');
  t.same(interp.json.Items.slice(1, -1), inside);
  const bad = await get(s, `/streams/${w}/recorded?boundaryType=Sideways`);
  t.equal(bad.status, 400);
});

t.test('selectedFields prunes every level; webIdType shapes output ids', async (t) => {
  const s = await sim(t, { tags: 20 });
  const w = s.sim.tagWebId(2);
  const r = await get(s, `/streams/${w}/recorded?${DAY}&maxCount=3&selectedFields=Items.Timestamp;items.value`);
  const truth = s.sim.truth(2, '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z').slice(0, 3);
  t.same(r.json, { Items: truth.map((e) => ({ Timestamp: e.Timestamp, Value: e.Value })) });
  t.equal(r.text, JSON.stringify({ Items: truth.map((e) => ({ Timestamp: e.Timestamp, Value: e.Value })) }));
  const p = await get(s, `/points/${w}?selectedFields=Name;Links.Self`);
  t.same(p.json, { Name: 'SIM.INT32.00002', Links: { Self: `${s.url}/points/${w}` } });
  const ids = await get(s, `/points/${w}?webIdType=IDOnly&selectedFields=WebId`);
  t.equal(ids.json.WebId, s.sim.tagWebId(2, 'IDOnly'));
  t.match(ids.json.WebId, /^I1DP/);
  const po = await get(s, `/points/${w}?webIdType=PathOnly&selectedFields=WebId`);
  t.equal(po.json.WebId, s.sim.tagWebId(2, 'PathOnly'));
  t.match(po.json.WebId, /^P1DP/);
});

t.test('value, end and interpolated read the same series', async (t) => {
  const s = await sim(t, { tags: 20 });
  const w = s.sim.tagWebId(0);
  const last = s.sim.truth(0, '2026-01-01T20:00:00Z', '2026-01-02T00:00:00Z').pop();
  t.same((await get(s, `/streams/${w}/value`)).json, last);
  t.same((await get(s, `/streams/${w}/end`)).json, last);
  const ip = await get(s, `/streams/${w}/interpolated?startTime=2026-01-01T00:00:00Z&endTime=2026-01-01T06:00:00Z&interval=1h`);
  t.equal(ip.json.Items.length, 7);
  t.same(
    ip.json.Items.map((e: { Timestamp: string }) => e.Timestamp),
    [0, 1, 2, 3, 4, 5, 6].map((h) => `2026-01-01T0${h}:00:00Z`),
  );
  t.equal(ip.json.Items[0].Good, false, 'no data before the first event: No Data');
  t.equal(typeof ip.json.Items[3].Value, 'number');
});

t.test('bad WebIDs and unknown points fail with Errors', async (t) => {
  const s = await sim(t, { tags: 20 });
  const bad = await get(s, '/streams/nonsense/recorded');
  t.equal(bad.status, 400);
  t.match(bad.json.Errors[0], /WebID/);
  const gone = await get(s, `/streams/${s.sim.tagWebId(20 - 1).replace(/^(F1DP.{22}).{6}/, '$1AAAAAA')}/recorded`);
  t.equal(gone.status, 404);
  const badTime = await get(s, `/streams/${s.sim.tagWebId(0)}/recorded?startTime=yesterdayish`);
  t.equal(badTime.status, 400);
});
