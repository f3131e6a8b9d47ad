/**
 * The paging and change-detection algorithm against a scripted archive that truncates silently at
 * maxCount like PI does. (End-to-end tests against the simulator and the real store live in
 * e2e.test.ts.)
 */
import t from 'tap';
import { extractTimeseries } from '../../../agent/sources/timeseries/extract.js';
import { expectedRows as expected, MemTimeseriesStore as MemStore, parseTime, S, ScriptedArchive as Archive, SEC, type Ev } from './harness.js';

const base = { site: 'plant-a', startUs: S, lookbackUs: 3600 * SEC, tagsPerRequest: 2, maxCount: 10, maxValuesPerRequest: 1000, concurrency: 2, parseTime };

t.test('pages past maxCount with same-timestamp siblings straddling page boundaries, exactly once', async (t) => {
  const a = new Archive();
  const dense: Ev[] = [];
  for (let i = 0; i < 137; i++) {
    dense.push({ ts: S + i * SEC, v: i });
    if (i % 9 === 8) for (let k = 1; k <= 3; k++) dense.push({ ts: S + i * SEC, v: i + k / 10 }); // 4 events at one timestamp
  }
  a.data.set('D', dense);
  a.data.set('S', [
    { ts: S + 5 * SEC, v: 'x' },
    { ts: S + 50 * SEC, v: { Name: 'Shutdown', Value: 254, IsSystem: true }, good: false },
  ]);
  a.data.set(
    'W',
    Array.from({ length: 12 }, () => ({ ts: S + 7 * SEC, v: 1 })),
  ); // 12 events at ONE timestamp > maxCount
  const st = new MemStore();
  const now = S + 200 * SEC;
  const r = await extractTimeseries({ ...base, tags: [{ webId: 'D' }, { webId: 'S' }, { webId: 'W' }], reader: a, store: st, nowUs: now });
  t.equal(r.errors.size, 0);
  t.same(st.values('D'), expected(dense));
  t.same(st.values('S'), expected(a.data.get('S')!));
  t.same(st.values('W'), expected(a.data.get('W')!));
  t.equal(r.inserts, dense.length + 2 + 12);
  const sys = [...st.table.values()].find((x) => x.tag_webid === 'S' && x.digital_name === 'Shutdown')!;
  t.same([sys.digital_code, sys.is_system_state, sys.good, sys.value_double], [254, true, false, null]);

  // A second cycle with nothing new sends nothing.
  const before = st.ops.length;
  const r2 = await extractTimeseries({ ...base, tags: [{ webId: 'D' }, { webId: 'S' }, { webId: 'W' }], reader: a, store: st, nowUs: now + 10 * SEC });
  t.equal(st.ops.length, before, 'no rows re-sent');
  t.equal(r2.inserts + r2.updates + r2.deletes, 0);
});

t.test('late inserts, edits and deletions inside the lookback window become insert/update/delete', async (t) => {
  const a = new Archive();
  const evs: Ev[] = Array.from({ length: 30 }, (_, i) => ({ ts: S + i * 60 * SEC, v: i }));
  a.data.set('T', evs);
  const st = new MemStore();
  let now = S + 30 * 60 * SEC;
  await extractTimeseries({ ...base, tags: [{ webId: 'T' }], reader: a, store: st, nowUs: now });
  t.same(st.values('T'), expected(evs));
  // late insert at an existing timestamp (becomes ordinal 0, shifting the old one to 1), an edit, a delete
  evs.splice(20, 0, { ts: S + 20 * 60 * SEC, v: 99 });
  evs[25] = { ts: evs[25]!.ts, v: -1 };
  evs.splice(27, 1);
  evs.push({ ts: S + 31 * 60 * SEC, v: 31 });
  now += 2 * 60 * SEC;
  const r = await extractTimeseries({ ...base, tags: [{ webId: 'T' }], reader: a, store: st, nowUs: now });
  t.same(st.values('T'), expected(evs));
  t.same([r.inserts, r.updates, r.deletes], [2, 2, 1], 'late event at an existing timestamp: ordinal 0 updated, ordinal 1 inserted; one edit; one delete');
});

t.test('buffer full pauses without losing progress; the next cycle resumes', async (t) => {
  const a = new Archive();
  const evs: Ev[] = Array.from({ length: 100 }, (_, i) => ({ ts: S + i * SEC, v: i }));
  a.data.set('A', evs);
  const st = new MemStore();
  const now = S + 200 * SEC;
  st.full = true;
  const r = await extractTimeseries({ ...base, tags: [{ webId: 'A' }], reader: a, store: st, nowUs: now });
  t.equal(r.paused, true);
  t.equal(st.table.size, 0);
  st.full = false;
  await extractTimeseries({ ...base, tags: [{ webId: 'A' }], reader: a, store: st, nowUs: now });
  t.same(st.values('A'), expected(evs));
});

t.test('a crowded timestamp wider than the per-request share grows maxCount once, without looping', async (t) => {
  const a = new Archive();
  a.data.set(
    'W',
    Array.from({ length: 150 }, (_, k) => ({ ts: S + 3 * SEC, v: k })),
  );
  const st = new MemStore();
  // share = 200 / 2 tags = 100 < 150 events at one timestamp; the grown maxCount (400) equals the configured one.
  const r = await extractTimeseries({
    ...base,
    maxCount: 400,
    maxValuesPerRequest: 200,
    tags: [{ webId: 'W' }, { webId: 'X' }],
    reader: a,
    store: st,
    nowUs: S + 10 * SEC,
  });
  t.equal(r.errors.size, 0);
  t.same(st.values('W'), expected(a.data.get('W')!));
  t.ok(a.requests <= 3, `finished in ${a.requests} requests`);
});

t.test('random late inserts, edits and deletions (same-timestamp groups, small pages): the table always equals the archive', async (t) => {
  let x = 99;
  const rnd = (n: number) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % n;
  };
  const a = new Archive();
  const evs: Ev[] = [];
  let now = S + 600 * SEC;
  const addUpTo = (until: number, from: number) => {
    for (let ts = from; ts <= until; ts += (1 + rnd(20)) * SEC) {
      const k = rnd(5) === 0 ? 1 + rnd(4) : 1; // some timestamps carry several events
      for (let j = 0; j < k; j++) evs.push({ ts, v: rnd(1000) });
    }
  };
  addUpTo(now, S);
  a.data.set('R', evs);
  const st = new MemStore();
  const opts = { ...base, maxCount: 7, lookbackUs: 300 * SEC, lookbackEveryUs: 0, tags: [{ webId: 'R' }], reader: a, store: st };
  await extractTimeseries({ ...opts, nowUs: now });
  t.same(st.values('R'), expected(evs), 'first load');
  let equal = 0;
  for (let cycle = 0; cycle < 30; cycle++) {
    // Changes inside the lookback (the last 300 s), then new data.
    const recent = () => evs.map((e, i) => [e, i] as const).filter(([e]) => e.ts > now - 250 * SEC);
    for (let c = 0; c < 3; c++) {
      const r = recent();
      if (r.length === 0) break;
      const [e, i] = r[rnd(r.length)]!;
      const what = rnd(3);
      if (what === 0)
        evs.splice(i + rnd(2), 0, { ts: e.ts, v: 5000 + rnd(1000) }); // late event at an existing timestamp
      else if (what === 1) evs[i] = { ts: e.ts, v: -1 - rnd(1000) };
      else evs.splice(i, 1);
    }
    const late = now - rnd(200) * SEC - 500_000;
    const at = evs.findIndex((e) => e.ts > late);
    evs.splice(at < 0 ? evs.length : at, 0, { ts: late, v: 7777 });
    const last = evs[evs.length - 1]!.ts;
    now += (10 + rnd(60)) * SEC;
    addUpTo(now, last + SEC);
    await extractTimeseries({ ...opts, nowUs: now });
    if (JSON.stringify(st.values('R')) === JSON.stringify(expected(evs))) equal++;
    else t.same(st.values('R'), expected(evs), `cycle ${cycle}`);
  }
  t.equal(equal, 30, 'every cycle equal');
});
