/**
 * Digest buckets (digest.ts): a steady cycle writes only the tag heads and the bucket(s) it appended
 * to; buckets wholly before the retention start are deleted in the same commit; the former embedded
 * digest (`d`) and buckets of another width convert at the next page and stay exact; late inserts,
 * edits and deletions on both sides of a bucket boundary are sent exactly once.
 */
import t from 'tap';
import { DIGEST_BUCKET_US } from '../../../agent/sources/timeseries/digest.js';
import { bucketKey, bucketKeysOf, type StoredTagProgress } from '../../../agent/sources/timeseries/progress.js';
import { extractTimeseries, type ExtractOptions, type TimeseriesStore } from '../../../agent/sources/timeseries/extract.js';
import { expectedRows as expected, MemTimeseriesStore, MIN, parseTime, S, ScriptedArchive as Archive, SEC, type Ev } from './harness.js';

const W = DIGEST_BUCKET_US;

class MemStore extends MemTimeseriesStore {
  head(tag: string) {
    return this.getProgress<StoredTagProgress>(`ts:${tag}`);
  }
  /** Every stored bucket key, and every bucket key the heads list: must be equal (no orphans). */
  bucketKeys() {
    const stored = [...this.progress.keys()].filter((k) => k.startsWith('dg:')).sort();
    const listed = [...this.progress.keys()]
      .filter((k) => k.startsWith('ts:'))
      .flatMap((k) => bucketKeysOf(k, this.getProgress<StoredTagProgress>(k)))
      .sort();
    return { stored, listed };
  }
}

const TAGS = Array.from({ length: 20 }, (_, i) => ({ webId: `T${i}` }));

function setup(lookbackMin: number, everyMin: number, extra: Partial<ExtractOptions> = {}) {
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
    tagsPerRequest: 20,
    maxCount: 10000,
    maxValuesPerRequest: 200000,
    concurrency: 1,
    parseTime,
  };
  const cycle = async (nowUs: number, o: Partial<ExtractOptions> = {}) => {
    for (const tag of TAGS) a.fill(tag.webId, nowUs);
    const w0 = st.writes.length;
    const d0 = st.deletes.length;
    const ops0 = st.ops.length;
    const r = await extractTimeseries({ ...base, ...extra, ...o, nowUs });
    return { r, writes: st.writes.slice(w0), deletes: st.deletes.slice(d0), ops: st.ops.slice(ops0) };
  };
  return { a, st, cycle };
}

const sorted = (xs: string[]) => [...new Set(xs)].sort();

t.test('steady cycles write the heads and only the bucket(s) appended to; a re-read deletes expired buckets', async (t) => {
  const { a, st, cycle } = setup(120, 15);
  let now = S + 180 * MIN + 30 * SEC;
  const first = await cycle(now);
  t.equal(first.r.errors.size, 0);
  t.same(st.bucketKeys().stored, st.bucketKeys().listed, 'catch-up: buckets stored = buckets listed');
  // Retention after the catch-up (a re-read): now - lookback.
  const firstIdx = Math.floor((now - 120 * MIN) / W);
  t.same(
    st.bucketKeys().stored.filter((k) => k.startsWith('dg:ts:T0@')),
    Array.from({ length: Math.floor(now / W) - firstIdx + 1 }, (_, i) => bucketKey('ts:T0', firstIdx + i)),
    'T0: the buckets of the lookback window',
  );
  t.equal(st.head('T0')!.d, undefined, 'no embedded digest');
  let crossed = 0;
  for (let k = 1; k <= 14; k++) {
    const prev = now;
    now += MIN;
    const c = await cycle(now);
    t.same([c.r.rereads, c.r.inserts, c.r.updates, c.r.deletes], [0, 20 * 12, 0, 0], `cycle +${k}: steady`);
    // The new events are (prev, now] on the 5-second grid.
    const idx = new Set<number>();
    for (let ts = S + Math.ceil((prev + 1 - S) / (5 * SEC)) * 5 * SEC; ts <= now; ts += 5 * SEC) idx.add(Math.floor(ts / W));
    if (idx.size > 1) crossed++;
    const want = TAGS.flatMap((tag) => [`ts:${tag.webId}`, ...[...idx].map((i) => bucketKey(`ts:${tag.webId}`, i))]);
    t.same(sorted(c.writes.map((w) => w.key)), sorted(want), `cycle +${k}: exactly the heads and bucket(s) ${[...idx].join(',')}`);
    t.same(c.deletes, [], 'nothing deleted');
    const bytes = c.writes.reduce((s, w) => s + w.bytes, 0);
    // A bucket holds at most W / 5 s entries of 16 bytes (base64: 4/3), plus a head of < 200 bytes.
    t.ok(bytes <= 20 * (200 + idx.size * (((W / (5 * SEC)) * 16 * 4) / 3 + 4)), `cycle +${k}: ${bytes} bytes of progress`);
  }
  t.ok(crossed >= 1, 'some cycle crossed a bucket boundary');
  // The re-read (15 min after the last): retention moves 15 min on, a bucket or two expire.
  now += MIN;
  const before = st.bucketKeys().stored;
  const re = await cycle(now);
  t.equal(re.r.rereads, 20);
  t.same([re.r.inserts, re.r.updates, re.r.deletes], [20 * 12, 0, 0], 'the re-read sends only the new minute');
  const keepFrom = Math.floor((now - 120 * MIN) / W);
  const expired = before.filter((k) => Number(k.slice(k.indexOf('@') + 1)) < keepFrom);
  t.ok(expired.length >= 20, `${expired.length} buckets expired`);
  t.same(sorted(re.deletes), sorted(expired), 'exactly the buckets wholly before the retention start are deleted');
  // Written: the heads, the first kept bucket (trimmed to the retention start) and the new minute's
  // bucket; the unchanged buckets in between, though loaded by the re-read, are not rewritten.
  t.not((now - 120 * MIN) % W, 0, 'the retention start is inside a bucket');
  const rewrite = [keepFrom, Math.floor(now / W)];
  t.same(
    sorted(re.writes.map((w) => w.key)),
    sorted(TAGS.flatMap((tag) => [`ts:${tag.webId}`, ...rewrite.map((i) => bucketKey(`ts:${tag.webId}`, i))])),
    'the re-read rewrites only the buckets that changed',
  );
  t.same(st.bucketKeys().stored, st.bucketKeys().listed, 'no orphan bucket, none missing');
  for (const tag of ['T0', 'T19']) t.same(st.values(tag), expected(a.data.get(tag)!), `${tag} equals the archive`);
});

t.test('old progress with the embedded digest converts to buckets and stays exact', async (t) => {
  const { a, st, cycle } = setup(30, 10);
  let now = S + 60 * MIN;
  await cycle(now, { digestBucketUs: 0 });
  for (let k = 0; k < 3; k++) await cycle((now += MIN), { digestBucketUs: 0 });
  t.type(st.head('T0')!.d, 'string', 'former format: digest embedded in the head');
  t.same(st.bucketKeys().stored, [], 'no bucket keys');
  // Changes inside the window, seen only by the next re-read (after the conversion).
  const late: Ev = { ts: now - 12 * MIN + 2.5 * SEC, v: 777 };
  a.insert('T3', late);
  a.data.get('T4')!.find((e) => e.ts === now - 14 * MIN)!.v = -4;
  const gone = a.data.get('T5')!.findIndex((e) => e.ts === now - 16 * MIN);
  a.data.get('T5')!.splice(gone, 1);
  const conv = await cycle((now += MIN));
  t.same([conv.r.rereads, conv.r.inserts, conv.r.updates, conv.r.deletes], [0, 20 * 12, 0, 0], 'a steady cycle reads the old digest');
  t.equal(st.head('T0')!.d, undefined, 'the head no longer embeds the digest');
  t.ok(st.head('T0')!.b!.length >= 3, 'it lists its buckets');
  t.same(st.bucketKeys().stored, st.bucketKeys().listed, 'the whole digest was written as buckets');
  let changes = 0;
  for (let k = 0; k < 12; k++) {
    const c = await cycle((now += MIN));
    changes += c.r.inserts - 20 * 12 + c.r.updates + c.r.deletes;
    if (c.r.rereads > 0) t.same([c.r.inserts, c.r.updates, c.r.deletes], [20 * 12 + 1, 1, 1], 'the re-read sends the late insert, the edit and the deletion');
  }
  t.equal(changes, 3, 'each change exactly once');
  for (const tag of ['T3', 'T4', 'T5', 'T6']) t.same(st.values(tag), expected(a.data.get(tag)!), `${tag} equals the archive`);
  // Another bucket width converts too.
  const wide = await cycle((now += 10 * MIN), { digestBucketUs: 15 * MIN, lookbackEveryUs: 0 });
  t.same([wide.r.inserts, wide.r.updates, wide.r.deletes], [20 * 120, 0, 0], 'width change: nothing re-sent');
  t.equal(st.head('T0')!.w, 15 * MIN);
  t.same(st.bucketKeys().stored, st.bucketKeys().listed, 'old-width buckets replaced');
  const again = await cycle((now += MIN), { digestBucketUs: 15 * MIN, lookbackEveryUs: 0 });
  t.same([again.r.inserts, again.r.updates, again.r.deletes], [20 * 12, 0, 0]);
  for (const tag of ['T0', 'T3', 'T5']) t.same(st.values(tag), expected(a.data.get(tag)!), `${tag} equals the archive`);
});

t.test('late insert, edit and deletion on both sides of a bucket boundary: detected exactly once', async (t) => {
  const { a, st, cycle } = setup(60, 15);
  let now = S + 120 * MIN;
  await cycle(now);
  const B = (Math.floor((now - 20 * MIN) / W) + 1) * W; // a boundary inside the window
  a.insert('T1', { ts: B - 2.5 * SEC, v: 1 }); // late, last of the earlier bucket
  a.insert('T1', { ts: B + 2.5 * SEC, v: 2 }); // late, in the later bucket
  a.insert('T2', { ts: B, v: 3 }); // a second event at the boundary timestamp (ordinal 1)
  a.data.get('T1')!.find((e) => e.ts === B)!.v = -10; // edit: first of the later bucket
  a.data.get('T3')!.find((e) => e.ts === B - 5 * SEC)!.v = -11; // edit: last of the earlier bucket
  a.data.get('T4')!.splice(
    a.data.get('T4')!.findIndex((e) => e.ts === B),
    1,
  ); // delete at the boundary
  a.data.get('T4')!.splice(
    a.data.get('T4')!.findIndex((e) => e.ts === B - 5 * SEC),
    1,
  ); // and just before it
  const sent: string[] = [];
  for (let k = 0; k < 32; k++) {
    const c = await cycle((now += MIN));
    sent.push(...c.ops.filter((o) => !o.startsWith('insert:') || !/\|\d+\|0$/.test(o) || Number(o.split('|')[1]) <= B + 5 * SEC));
  }
  t.same(
    sent.sort(),
    [
      `insert:T1|${B - 2.5 * SEC}|0`,
      `insert:T1|${B + 2.5 * SEC}|0`,
      `insert:T2|${B}|1`,
      `update:T1|${B}|0`,
      `update:T3|${B - 5 * SEC}|0`,
      `delete:T4|${B}|0`,
      `delete:T4|${B - 5 * SEC}|0`,
    ].sort(),
    'each change once, nothing else re-sent',
  );
  for (const tag of ['T1', 'T2', 'T3', 'T4', 'T5']) t.same(st.values(tag), expected(a.data.get(tag)!), `${tag} equals the archive`);
  t.same(st.bucketKeys().stored, st.bucketKeys().listed, 'no orphan bucket');
});

t.test('pi-agent reset rewinds the heads and deletes their buckets (real Store); the re-read replays as upserts', async (t) => {
  const { reset } = await import('../../../agent/service/reset.js');
  const { openStore } = await import('../../../agent/service/agent.js');
  const { makeAgentEnv, simAgentYaml } = await import('../../helpers/agent-env.js');
  // Never contacted: reset works on the store alone.
  const env = makeAgentEnv((paths) => simAgentYaml(paths, { piUrl: 'http://127.0.0.1:9', logLevel: 'warn', timeseries: { lookback: '1h' } }));
  t.teardown(() => env.cleanup());
  const a = new Archive();
  const tags = TAGS.slice(0, 3);
  const now = S + 180 * MIN;
  for (const tag of tags) a.fill(tag.webId, now);
  const o = {
    site: 'plant-a',
    tags,
    reader: a,
    startUs: S,
    lookbackUs: 60 * MIN,
    tagsPerRequest: 3,
    maxCount: 10000,
    maxValuesPerRequest: 100000,
    concurrency: 1,
    parseTime,
  };
  let store = openStore(env.config());
  store.commitStep(
    [],
    tags.map((tag) => ({ key: `tag:${tag.webId}`, value: { webId: tag.webId, name: tag.webId, path: `\\\\SIMPI\\${tag.webId}`, pointType: 'Float64', hash: '' } })),
  );
  const r0 = await extractTimeseries({ ...o, store, nowUs: now });
  t.equal(r0.inserts, 3 * 2161);
  const buckets = store.getProgressByPrefix('dg:ts:');
  t.equal(buckets.size, 3 * 7, 'the lookback window in 10-minute buckets');
  t.equal(store.getProgressByPrefix<StoredTagProgress>('ts:').size, 3, 'a scan of ts: sees the heads only');
  store.close();
  const printed: string[] = [];
  const to = S + 150 * MIN;
  t.equal(await reset(env.config(), { print: (s) => printed.push(s), source: 'timeseries', tags: [], to: new Date(to / 1000).toISOString() }), 'ok');
  t.match(printed.join(''), /3 tag\(s\) rewound/);
  store = openStore(env.config());
  t.teardown(() => store.close());
  t.same(store.getProgressByPrefix('dg:').size, 0, 'every bucket deleted with the rewind');
  t.same(store.getProgress(`ts:${tags[0]!.webId}`), { pos: to, r: now + 1 }, 'head rewound, replay until the old position');
  const ops = new Map<string, number>();
  const real = store;
  const spy: TimeseriesStore = {
    getProgress: (k) => real.getProgress(k),
    isBufferFull: () => real.isBufferFull(),
    commitStep: (steps, progress, del) => {
      for (const st of steps) for (const r of st.rows) ops.set(r.op as string, (ops.get(r.op as string) ?? 0) + 1);
      real.commitStep(steps, progress, del);
    },
  };
  const r1 = await extractTimeseries({ ...o, store: spy, nowUs: now });
  // The re-read covers the lookback (1 h): every event in it is new to the emptied digest, and was
  // sent before the old position, so it goes as an upsert.
  t.same([r1.inserts, r1.updates, r1.deletes], [3 * 721, 0, 0]);
  t.same([...ops], [['update', 3 * 721]], 'all re-sent as upserts, no plain insert');
  t.equal(store.getProgressByPrefix('dg:').size, 3 * 7, 'its digest stored as buckets again');
});
