/**
 * timeseries.lookback_every: cycles read from each tag's watermark and re-read the lookback window
 * only every `lookbackEveryUs` of PI time; late data inserted between re-reads still arrives, once,
 * at the next re-read, even when lookback_every is longer than the lookback itself.
 */
import t from 'tap';
import { extractTimeseries, type ExtractOptions } from '../../../agent/sources/timeseries/extract.js';
import { readStart } from '../../../agent/sources/timeseries/window.js';
import { expectedRows as expected, MemTimeseriesStore as MemStore, MIN, parseTime, S, ScriptedArchive as Archive, SEC, type Ev } from './harness.js';

const TAGS = Array.from({ length: 200 }, (_, i) => ({ webId: `T${i}` }));

function setup(lookbackMin: number, everyMin: number) {
  const a = new Archive();
  const st = new MemStore();
  const base: Omit<ExtractOptions, 'nowUs'> = {
    site: 'plant-a',
    tags: TAGS,
    reader: a,
    store: st,
    startUs: S,
    lookbackUs: lookbackMin * MIN,
    lookbackEveryUs: everyMin * MIN,
    tagsPerRequest: 200,
    maxCount: 10000,
    maxValuesPerRequest: 50000,
    concurrency: 2,
    parseTime,
  };
  const cycle = async (nowUs: number) => {
    for (const tag of TAGS) a.fill(tag.webId, nowUs);
    const req0 = a.requests;
    const served0 = a.served;
    const ops0 = st.ops.length;
    const r = await extractTimeseries({ ...base, nowUs });
    return { r, requests: a.requests - req0, served: a.served - served0, ops: st.ops.slice(ops0) };
  };
  return { a, st, cycle };
}

t.test('steady cycles read only from the watermark: 1 request for 200 tags, no re-read, nothing re-sent', async (t) => {
  const { a, st, cycle } = setup(10, 15);
  let now = S + 60 * MIN;
  const first = await cycle(now);
  t.equal(first.r.errors.size, 0);
  t.equal(first.r.inserts, 200 * 721, 'catch-up: every event once');
  t.equal(first.r.rereads, 200, 'the catch-up counts as the first re-read');
  for (let k = 1; k <= 14; k++) {
    now += MIN;
    const c = await cycle(now);
    t.same(
      [c.requests, c.served, c.r.rereads, c.r.inserts, c.r.updates, c.r.deletes],
      [1, 200 * 12, 0, 200 * 12, 0, 0],
      `cycle +${k} min: 1 request, 12 new values per tag, no re-read`,
    );
  }
  // 15 minutes after the last re-read: the window (10 min) and everything since the previous
  // re-read's horizon is re-read once, and sends nothing (no change).
  now += MIN;
  const re = await cycle(now);
  t.equal(re.r.rereads, 200, 'lookback window re-read for every tag');
  t.ok(re.served >= 200 * (25 * 12), `re-read from the previous re-read's horizon (${re.served} values)`);
  t.same([re.r.inserts, re.r.updates, re.r.deletes], [200 * 12, 0, 0], "only the minute's new values are sent");
  now += MIN;
  const after = await cycle(now);
  t.same([after.requests, after.served, after.r.rereads], [1, 200 * 12, 0], 'back to watermark reads');
  for (const tag of ['T0', 'T100', 'T199']) t.same(st.values(tag), expected(a.data.get(tag)!), `${tag} equals the archive`);
});

t.test('late data inserted between re-reads arrives at the next re-read, exactly once', async (t) => {
  const { a, st, cycle } = setup(10, 15);
  let now = S + 60 * MIN;
  await cycle(now);
  const late: Ev = { ts: now - 3 * MIN + 2.5 * SEC, v: 4242 };
  const edited = a.data.get('T7')!.find((e) => e.ts === now - 4 * MIN)!;
  const deleted = a.data.get('T8')!.findIndex((e) => e.ts === now - 2 * MIN);
  a.insert('T5', late);
  edited.v = -1;
  a.data.get('T8')!.splice(deleted, 1);
  const lateKey = `T5|${late.ts}|0`;
  for (let k = 1; k <= 14; k++) {
    now += MIN;
    const c = await cycle(now);
    t.same([c.r.inserts, c.r.updates, c.r.deletes], [200 * 12, 0, 0], `cycle +${k}: the late changes wait for the re-read`);
  }
  now += MIN;
  const re = await cycle(now);
  t.equal(re.r.rereads, 200);
  t.same([re.r.inserts, re.r.updates, re.r.deletes], [200 * 12 + 1, 1, 1], 'the late insert, the edit and the deletion arrive');
  t.same(
    re.ops.filter((o) => !o.startsWith('insert:') || o === `insert:${lateKey}`).sort(),
    [`delete:T8|${now - 17 * MIN}|0`, `insert:${lateKey}`, `update:T7|${now - 19 * MIN}|0`].sort(),
  );
  for (let k = 0; k < 5; k++) {
    now += MIN;
    const c = await cycle(now);
    t.equal(c.r.updates + c.r.deletes + c.r.inserts - 200 * 12, 0, `cycle after: nothing sent twice`);
  }
  for (const tag of ['T5', 'T7', 'T8', 'T9']) t.same(st.values(tag), expected(a.data.get(tag)!), `${tag} equals the archive`);
  t.equal(st.ops.filter((o) => o === `insert:${lateKey}`).length, 1, 'the late event was inserted once');
});

t.test('lookback_every longer than the lookback still misses nothing inside the lookback', async (t) => {
  // lookback 5 min, re-read every 20 min: a late event 4 min old when written (inside the lookback)
  // is 23 min old at the next re-read, far behind now - lookback; the re-read starts at the
  // previous re-read's horizon and finds it.
  const { a, st, cycle } = setup(5, 20);
  let now = S + 30 * MIN;
  await cycle(now);
  const lates: Ev[] = [];
  for (let k = 1; k <= 19; k++) {
    now += MIN;
    const c = await cycle(now);
    t.equal(c.r.rereads, 0, `cycle +${k}: no re-read`);
    // Every minute, a late event 4 minutes old (inside the lookback) on another tag.
    const ev = { ts: now - 4 * MIN + 1.25 * SEC, v: 1000 + k };
    lates.push(ev);
    a.insert(`T${k}`, ev);
  }
  now += MIN;
  const re = await cycle(now);
  t.equal(re.r.rereads, 200);
  t.equal(re.r.inserts, 200 * 12 + lates.length, `all ${lates.length} late events arrive`);
  for (let k = 1; k <= 19; k++) t.same(st.values(`T${k}`), expected(a.data.get(`T${k}`)!), `T${k} equals the archive`);
  now += MIN;
  const c = await cycle(now);
  t.same([c.r.inserts, c.r.updates, c.r.deletes], [200 * 12, 0, 0], 'and none of them twice');
});

t.test('readStart: watermark between re-reads, min(now, last re-read) - lookback at a re-read', async (t) => {
  const o = { nowUs: S + 100 * MIN, startUs: S, lookbackUs: 10 * MIN, lookbackEveryUs: 15 * MIN };
  t.same(readStart({ pos: null }, o), { start: S, reread: true }, 'a new tag reads from the start');
  t.same(readStart({ pos: S + 99 * MIN, lastReread: S + 90 * MIN }, o), { start: S + 99 * MIN, reread: false });
  t.same(readStart({ pos: S + 99 * MIN, lastReread: S + 85 * MIN }, o), { start: S + 75 * MIN, reread: true });
  t.same(readStart({ pos: S + 99 * MIN }, o), { start: S + 90 * MIN, reread: true }, 'no re-read recorded: due');
  t.same(
    readStart({ pos: S + 99 * MIN, lastReread: S + 95 * MIN }, { ...o, lookbackEveryUs: 0 }),
    { start: S + 85 * MIN, reread: true },
    'lookback_every 0: every cycle',
  );
  t.same(readStart({ pos: S + 20 * MIN, lastReread: S + 20 * MIN - 1 }, o), { start: S + 10 * MIN - 1, reread: true }, 'a tag far behind re-reads from its last horizon');
});
