/**
 * The stream-updates change detector (sources/timeseries/updates.ts) without HTTP: a scripted feed
 * and archive, an in-memory store that applies rows like the destination table. What is polled when,
 * what a failed poll or read-back leaves, and what a refused registration costs.
 */
import t from 'tap';
import { PiError } from '../../../agent/errors.js';
import type { RegisterOutcome } from '../../../agent/pi/updates.js';
import { extractTimeseries } from '../../../agent/sources/timeseries/extract.js';
import { wholeDue } from '../../../agent/sources/timeseries/poll.js';
import { MARKERS, UPDATES_STATE, type UpdatesState } from '../../../agent/sources/timeseries/progress.js';
import { reconcileUpdates, type PolledStream, type PollItem, type UpdatesFeed } from '../../../agent/sources/timeseries/updates.js';
import { expectedRows, iso, MemTimeseriesStore, MIN, parseTime, S, ScriptedArchive, SEC } from './harness.js';

/** Events per tag in arrival order; a marker is `<tag>_<count seen>`. */
class ScriptedFeed implements UpdatesFeed {
  log = new Map<string, { action: string; ts: number }[]>();
  polls: string[][] = [];
  registers: string[][] = [];
  failPoll = new Set<string>();
  refuse = new Set<string>();
  forget = new Set<string>();
  /** Streams whose registration answers like a server without the route (one stream only: not the server's). */
  noRoute = new Set<string>();
  /** Streams whose next poll answers a 200 with `Exception` (PI ended the signup). */
  exception = new Set<string>();
  /** Answers the reads asked with a poll (read ahead), as PI runs them in the poll's `/batch`. */
  reader: ScriptedArchive | undefined;
  /** Values asked for by each poll's reads. */
  asks: number[] = [];
  async register(webIds: string[]) {
    this.registers.push(webIds);
    const out = new Map<string, RegisterOutcome>();
    for (const w of webIds) {
      if (this.refuse.has(w)) out.set(w, { kind: 'failed', error: new PiError('PI_FORBIDDEN', `no access to ${w}`) });
      else if (this.noRoute.has(w)) out.set(w, { kind: 'unsupported', error: new PiError('PI_NOT_FOUND', 'this PI Web API has no stream updates') });
      else {
        this.forget.delete(w);
        out.set(w, { kind: 'ok', marker: `${w}_${this.log.get(w)?.length ?? 0}` });
      }
    }
    return out;
  }
  async poll(items: PollItem[]) {
    this.polls.push(items.map((i) => i.webId));
    this.asks.push(items.reduce((n, i) => n + (i.read?.maxCount ?? 0), 0));
    const out = new Map<string, PolledStream>();
    for (const { webId, marker, read } of items) {
      if (this.failPoll.has(webId)) out.set(webId, { kind: 'error', error: new PiError('PI_SERVER_ERROR', 'boom') });
      else if (this.forget.has(webId)) out.set(webId, { kind: 'lost', error: new PiError('PI_NOT_FOUND', 'Cache not found') });
      else if (this.exception.delete(webId)) {
        this.forget.add(webId);
        out.set(webId, { kind: 'lost', error: new PiError('PI_NOT_FOUND', 'The signup was updated and any cached data could be invalid.'), events: [] });
      } else {
        const all = this.log.get(webId) ?? [];
        const from = Number(marker.split('_')[1]);
        const ahead = read && this.reader ? (await this.reader.read([read]))[0] : undefined;
        out.set(webId, {
          kind: 'ok',
          events: all.slice(from).map((e) => ({ action: e.action, timestamp: iso(e.ts) })),
          marker: `${webId}_${all.length}`,
          ...(ahead ? { read: ahead } : {}),
        });
      }
    }
    return out;
  }
  change(webId: string, action: string, ts: number) {
    if (!this.log.has(webId)) this.log.set(webId, []);
    this.log.get(webId)!.push({ action, ts });
  }
}

const TAGS = ['A', 'B', 'C'].map((webId) => ({ webId }));

/** `everyCycle`: every tag with a marker polled every cycle, its read asked with the poll (auto). */
function setup(o: { tagsPerRequest?: number; maxValuesPerRequest?: number; lookbackUs?: number; lookbackFullEveryUs?: number; everyCycle?: boolean } = {}) {
  const archive = new ScriptedArchive();
  const feed = new ScriptedFeed();
  if (o.everyCycle) feed.reader = archive;
  const store = new MemTimeseriesStore();
  const base = {
    site: 'plant-a',
    tags: TAGS,
    reader: archive,
    store,
    startUs: S,
    lookbackUs: o.lookbackUs ?? 10 * MIN,
    lookbackEveryUs: 15 * MIN,
    ...(o.lookbackFullEveryUs !== undefined ? { lookbackFullEveryUs: o.lookbackFullEveryUs } : {}),
    tagsPerRequest: o.tagsPerRequest ?? 2,
    maxCount: 10_000,
    maxValuesPerRequest: o.maxValuesPerRequest ?? 50_000,
    parseTime,
  };
  /** One cycle as the service runs it: stream updates, then the extraction. */
  const cycle = async (nowUs: number) => {
    for (const tag of TAGS) archive.fill(tag.webId, nowUs);
    const ops0 = store.ops.length;
    const polls0 = feed.polls.length;
    const u = await reconcileUpdates({ ...base, feed, nowUs, ...(o.everyCycle ? { readAhead: true, everyCycle: true } : {}) });
    const x = await extractTimeseries({ ...base, nowUs, concurrency: 1, narrowFrom: u.narrowFrom });
    return { u, x, ops: store.ops.slice(ops0), polled: feed.polls.slice(polls0).flat() };
  };
  /** An old event: inserted into the archive and announced by the feed. */
  const oldInsert = (tag: string, ts: number, v: number) => {
    archive.insert(tag, { ts, v });
    feed.change(tag, 'Add', ts);
  };
  return { archive, feed, store, cycle, oldInsert };
}

t.test('polled only before re-reads; an old insert arrives once as an upsert with the next marker', async (t) => {
  const { feed, store, cycle, oldInsert } = setup();
  let now = S + 60 * MIN;
  const first = await cycle(now);
  t.same([first.u.registered, first.u.polled, first.x.rereads], [3, 0, 3], 'registered at the first read');
  now += MIN;
  const writes0 = store.writes.length;
  const plain = await cycle(now);
  t.same([plain.polled, plain.u.requests], [[], 0], 'no re-read due: nothing polled');
  t.same(
    store.writes.slice(writes0).filter((w) => !w.key.startsWith('ts:') && !w.key.startsWith('dg:')),
    [],
    'and nothing written for stream updates',
  );
  oldInsert('B', S + 5 * MIN + 2.5 * SEC, 77);
  now += 14 * MIN;
  const re = await cycle(now);
  t.same(re.polled, ['A', 'B', 'C'], 'every tag polled before its re-read');
  t.same([re.u.lateChanges, re.u.updates, re.u.deletes], [1, 1, 0]);
  t.equal(re.ops.filter((o) => !o.startsWith('insert')).join(), `update:B|${S + 5 * MIN + 2.5 * SEC}|0`, 'one upsert, nothing else but new inserts');
  t.same(JSON.parse(store.progress.get(MARKERS.key('B'))!), { m: `B_1`, a: now }, "the marker moved with it, stamped with PI's now");
  t.equal(store.getProgress<UpdatesState>(UPDATES_STATE.key)!.late_changes, 1);
  // An Add PI announces inside the window (an append the watermark reads carried): left to the reads.
  feed.change('A', 'Add', now - 30 * SEC);
  now += 15 * MIN;
  const again = await cycle(now);
  t.same([again.u.lateChanges, again.u.updates], [0, 0], 'an append inside the window is left to the reads');
});

t.test('a failed poll keeps the marker and is polled again next cycle; a failed read-back too', async (t) => {
  const { feed, archive, store, cycle, oldInsert } = setup();
  let now = S + 60 * MIN;
  await cycle(now);
  oldInsert('A', S + 3 * MIN + 1000, 5);
  feed.failPoll.add('A');
  now += 15 * MIN;
  const failed = await cycle(now);
  t.same([failed.u.errors.size, failed.u.lateChanges], [1, 0]);
  t.same(JSON.parse(store.progress.get(MARKERS.key('A'))!), { m: 'A_0', a: S + 60 * MIN, r: 1 }, 'marker kept (with when PI issued it), marked for a retry');
  feed.failPoll.clear();
  now += MIN;
  const retry = await cycle(now);
  t.same(retry.polled, ['A'], 'polled again at once, though no re-read is due');
  t.same([retry.u.lateChanges, retry.u.updates, retry.x.rereads], [1, 1, 0]);
  t.same(JSON.parse(store.progress.get(MARKERS.key('A'))!), { m: 'A_1', a: now });
  t.same(
    store.values('A').find((r) => r[0] === S + 3 * MIN + 1000),
    [S + 3 * MIN + 1000, 0, 5],
  );

  // The read-back fails: nothing sent, the marker stays for the next cycle.
  oldInsert('C', S + 4 * MIN + 1000, 6);
  const read = archive.read.bind(archive);
  archive.read = async (reqs) => (reqs.some((q) => q.startUs === S + 4 * MIN + 1000) ? Promise.reject(new PiError('PI_TIMEOUT', 'slow')) : read(reqs));
  now += 15 * MIN;
  const rb = await cycle(now);
  t.same([rb.u.errors.size, rb.u.updates], [1, 0]);
  t.same(JSON.parse(store.progress.get(MARKERS.key('C'))!), { m: 'C_0', a: S + 75 * MIN, r: 1 }, 'C keeps the marker of its last poll');
  archive.read = read;
  now += MIN;
  const ok = await cycle(now);
  t.same([ok.polled, ok.u.updates, ok.u.errors.size], [['C'], 1, 0]);
  t.same(
    store.values('C').find((r) => r[0] === S + 4 * MIN + 1000),
    [S + 4 * MIN + 1000, 0, 6],
  );
});

t.test('a lost marker is registered again; a refused tag is asked again only before its re-read', async (t) => {
  const { feed, store, cycle } = setup();
  feed.refuse.add('C');
  let now = S + 60 * MIN;
  const first = await cycle(now);
  t.same([first.u.registered, first.u.errors.size], [2, 1]);
  t.same(JSON.parse(store.progress.get(MARKERS.key('C'))!), { x: 1 });
  t.match(store.getProgress<UpdatesState>(UPDATES_STATE.key)!.unregistered, { count: 1, reason: /no access to C/ });
  now += MIN;
  const regs = feed.registers.length;
  await cycle(now);
  t.equal(feed.registers.length, regs, 'not asked again in a cycle without a re-read');
  feed.refuse.clear();
  feed.forget.add('A');
  now += 14 * MIN;
  const re = await cycle(now);
  t.same([re.u.lost, re.u.registered, re.u.errors.size], [1, 2, 0], 'A registered again after its loss, C at its re-read');
  t.same(feed.registers.slice(regs).flat().sort(), ['A', 'C']);
  const st = store.getProgress<UpdatesState>(UPDATES_STATE.key)!;
  t.equal(st.lost?.count, 1);
  t.equal(st.unregistered, undefined, 'no longer refused');
});

t.test('polls are sized by the events they will carry: fast tags go fewer to a request', async (t) => {
  // 5-second data: 180 events per tag in the 15 minutes between polls; a poll may carry 4 × 100.
  const { feed, cycle } = setup({ tagsPerRequest: 3, maxValuesPerRequest: 100 });
  let now = S + 60 * MIN;
  await cycle(now);
  now += 15 * MIN;
  const before = feed.polls.length;
  const re = await cycle(now);
  t.same(feed.polls.slice(before), [['A', 'B'], ['C']], '2 tags (360 events) to a poll, not 3 (540)');
  t.equal(re.u.polled, 3);
});

t.test('reads with their polls: their asks may fill twice the values per request before a poll splits', async (t) => {
  // Every cycle polled (auto): a minute of 5-second data asks 35 values a tag (12 expected).
  const once = async (maxValuesPerRequest: number) => {
    const { feed, archive, store, cycle } = setup({ tagsPerRequest: 3, maxValuesPerRequest, lookbackFullEveryUs: 360 * MIN, everyCycle: true });
    let now = S + 60 * MIN;
    await cycle(now);
    now += MIN;
    await cycle(now);
    now += MIN;
    const before = feed.polls.length;
    const { u } = await cycle(now);
    for (const x of TAGS) t.same(store.values(x.webId), expectedRows(archive.data.get(x.webId)!), `${maxValuesPerRequest}: ${x.webId} equals the archive`);
    return { polls: feed.polls.slice(before), asks: feed.asks.slice(before), readAhead: u.readAhead };
  };
  t.same(await once(60), { polls: [['A', 'B', 'C']], asks: [105], readAhead: 3 }, '3 × 35 = 105 asked ≤ 2 × 60: one poll');
  t.same(await once(50), { polls: [['A', 'B'], ['C']], asks: [70, 35], readAhead: 3 }, '105 > 2 × 50: split');
});

t.test('narrowed re-reads: a due re-read starts at the oldest change PI reported, the whole window every lookback_full_every', async (t) => {
  // Lookback 2 h, re-read every 15 min, the whole window at least every 2 h. The scripted feed
  // announces only the changes made through it (PI would announce appends too).
  const { feed, archive, store, cycle } = setup({ lookbackUs: 120 * MIN, lookbackFullEveryUs: 120 * MIN, tagsPerRequest: 3 });
  const starts = new Map<string, number>();
  const read = archive.read.bind(archive);
  archive.read = async (reqs) => {
    for (const q of reqs) if (!starts.has(q.webId)) starts.set(q.webId, q.startUs);
    return read(reqs);
  };
  const cycleStarts = async (nowUs: number) => {
    starts.clear();
    const c = await cycle(nowUs);
    return { ...c, starts: Object.fromEntries(starts) };
  };
  let now = S + 180 * MIN;
  const first = await cycleStarts(now);
  t.same([first.x.rereads, first.x.narrowed, first.u.registered], [3, 0, 3], 'the first read is whole, and registers');
  const pos0 = now + 1;

  now += 15 * MIN;
  const quiet = await cycleStarts(now);
  t.same([quiet.u.polled, quiet.x.rereads, quiet.x.narrowed], [3, 3, 3], 'nothing reported: every re-read narrowed');
  t.same(quiet.starts, { A: pos0, B: pos0, C: pos0 }, 'read from the watermark, not from now - 2 h');
  t.same(
    quiet.ops.filter((o) => !o.startsWith('insert')),
    [],
    'nothing but new inserts',
  );
  t.same([...quiet.u.narrowFrom.values()], [Infinity, Infinity, Infinity]);
  const pos1 = now + 1;

  // Changes inside the window, announced: an insert (A), an edit (B), a deletion (C).
  const tIns = now - 90 * MIN + 2.5 * SEC;
  archive.insert('A', { ts: tIns, v: 41 });
  feed.change('A', 'Add', tIns);
  const tEd = now - 50 * MIN;
  archive.data.get('B')!.find((e) => e.ts === tEd)!.v = -1;
  feed.change('B', 'Update', tEd);
  const tDel = now - 20 * MIN;
  archive.data.set(
    'C',
    archive.data.get('C')!.filter((e) => e.ts !== tDel),
  );
  feed.change('C', 'Delete', tDel);
  now += 15 * MIN;
  const changed = await cycleStarts(now);
  t.same([changed.x.narrowed, changed.u.lateChanges], [3, 0], 'narrowed; nothing older than the window');
  t.same(changed.starts, { A: tIns, B: tEd, C: tDel }, "each re-read starts at its tag's change");
  t.same(
    changed.ops.filter((o) => !o.startsWith('insert') || o.startsWith('insert:A|' + tIns)).sort(),
    [`delete:C|${tDel}|0`, `insert:A|${tIns}|0`, `update:B|${tEd}|0`],
    'exactly the three changes',
  );
  for (const w of ['A', 'B', 'C'])
    t.same(
      store.values(w),
      [...archive.data.get(w)!].map((e) => [e.ts, 0, e.v]),
      `${w} equals the archive`,
    );
  t.ok(changed.starts.A! < pos1, 'sanity: the insert is behind the watermark');

  // A change PI does not announce (stream updates are trusted, not blindly): the narrowed re-reads
  // miss it; B's next whole-window re-read (at its phase, at most 2 h after its last) finds it.
  const tSilent = now - 30 * MIN + 1000;
  archive.insert('B', { ts: tSilent, v: 99 });
  const lastFull = (w: string): number | undefined => (JSON.parse(store.progress.get(`ts:${w}`)!) as { lf?: number }).lf;
  let found = -1;
  for (let k = 1; k <= 10 && found < 0; k++) {
    now += 15 * MIN;
    const whole = ['A', 'B', 'C'].filter((w) => wholeDue(w, lastFull(w), now, 120 * MIN));
    const c = await cycleStarts(now);
    if (c.ops.includes(`insert:B|${tSilent}|0`)) found = k;
    t.equal(c.x.narrowed, 3 - whole.length, `cycle ${k}: whole re-reads: ${whole.join(', ') || 'none'}; the others narrowed`);
    t.equal(found === k, whole.includes('B'), `cycle ${k}: found exactly when B re-reads its whole window`);
    if (found === k) t.ok(c.starts.B! <= tSilent, 'read from before the silent insert');
  }
  t.ok(found >= 1 && found <= 6, `found at cycle ${found}: within 2 h (lookback_full_every) of B's last whole re-read (the first read)`);
  t.same(
    store.values('B'),
    [...archive.data.get('B')!].map((e) => [e.ts, 0, e.v]),
    'B equals the archive',
  );
});

t.test('narrowing only on an unbroken chain: a failed poll or a failed re-read makes the next re-read whole', async (t) => {
  const { feed, archive, store, cycle } = setup({ lookbackUs: 120 * MIN, lookbackFullEveryUs: 24 * 60 * MIN, tagsPerRequest: 1 });
  let now = S + 180 * MIN;
  await cycle(now);
  now += 15 * MIN;
  t.equal((await cycle(now)).x.narrowed, 3);

  feed.failPoll.add('A');
  now += 15 * MIN;
  const failedPoll = await cycle(now);
  t.same([failedPoll.x.narrowed, failedPoll.u.narrowFrom.has('A')], [2, false], 'A: poll failed, its re-read is whole');
  feed.failPoll.clear();
  now += MIN;
  const retry = await cycle(now);
  t.same([retry.polled, retry.x.rereads], [['A'], 0], 'A polled again (no re-read due)');
  now += 14 * MIN;
  const after = await cycle(now);
  t.same([after.x.narrowed, after.u.narrowFrom.has('A')], [2, false], 'A: its marker is newer than its last re-read: whole again');
  now += 15 * MIN;
  t.equal((await cycle(now)).x.narrowed, 3, 'then narrowed again');

  // The re-read of B fails after a good poll that reported a late insert: its marker moved past the
  // insert, so only a whole re-read can find it.
  const tLate = now - 40 * MIN + 2.5 * SEC;
  archive.insert('B', { ts: tLate, v: 7 });
  feed.change('B', 'Add', tLate);
  const read = archive.read.bind(archive);
  archive.read = async (reqs) => (reqs.some((q) => q.webId === 'B') ? Promise.reject(new PiError('PI_SERVER_ERROR', 'boom')) : read(reqs));
  now += 15 * MIN;
  const failedRead = await cycle(now);
  t.same([failedRead.x.narrowed, failedRead.x.errors.has('B')], [3, true]);
  archive.read = read;
  now += MIN;
  const next = await cycle(now);
  t.same([next.x.rereads, next.x.narrowed, next.u.narrowFrom.has('B')], [1, 0, false], 'B re-read at once, whole');
  t.same(next.polled, ['B'], 'polled because its re-read is still due');
  t.ok(next.ops.includes(`insert:B|${tLate}|0`), "the late insert the failed cycle's poll reported is found");
  t.same(
    store.values('B'),
    [...archive.data.get('B')!].map((e) => [e.ts, 0, e.v]),
    'B equals the archive',
  );
});

t.test('markers stored before narrowing (no issue time) and heads without lastFull: whole once, then narrowed', async (t) => {
  const { store, cycle } = setup({ lookbackUs: 120 * MIN, lookbackFullEveryUs: 6 * 60 * MIN });
  let now = S + 180 * MIN;
  await cycle(now);
  // What the previous version stored: `{ m }` only, and heads without `lf`.
  for (const w of ['A', 'B', 'C']) {
    const su = JSON.parse(store.progress.get(MARKERS.key(w))!) as { m: string };
    store.progress.set(MARKERS.key(w), JSON.stringify({ m: su.m }));
  }
  const head = JSON.parse(store.progress.get('ts:C')!) as Record<string, unknown>;
  delete head['lf'];
  store.progress.set('ts:C', JSON.stringify(head));
  now += 15 * MIN;
  const first = await cycle(now);
  t.same([first.x.rereads, first.x.narrowed], [3, 0], 'whole re-reads');
  now += 15 * MIN;
  const second = await cycle(now);
  t.same([second.x.rereads, second.x.narrowed], [3, 3], 'then narrowed');
});

t.test('two old changes minutes apart: read back in one range, only the changed events sent', async (t) => {
  const { store, cycle, oldInsert } = setup();
  let now = S + 60 * MIN;
  await cycle(now);
  const a = S + 5 * MIN + 2.5 * SEC;
  const b = S + 11 * MIN + 2.5 * SEC;
  oldInsert('A', a, 1);
  oldInsert('A', b, 2);
  now += 15 * MIN;
  const re = await cycle(now);
  t.same([re.u.lateChanges, re.u.updates, re.u.requests], [2, 2, 2 + 1], '2 polls (3 tags at 2 per request) and 1 read-back of the range');
  t.same(
    re.ops.filter((o) => !o.startsWith('insert')),
    [`update:A|${a}|0`, `update:A|${b}|0`],
    'the 72 unchanged events between them are not sent',
  );
  t.same(
    store.values('A').filter((r) => r[0] === a || r[0] === b),
    [
      [a, 0, 1],
      [b, 0, 2],
    ],
  );
});

t.test('whole-window re-reads spread over lookback_full_every: each tag once per period, at its own phase', async (t) => {
  const P = 6 * 60 * MIN;
  const ids = Array.from({ length: 3000 }, (_, i) => `F1DPw${String(i).padStart(6, '0')}AAAAUElTUlYwMVxTSU0uVEFH`);
  // Every tag whole-read at T0 (a catch-up); then 1-minute cycles over two periods.
  const T0 = S + 7 * MIN;
  const last = new Map(ids.map((w) => [w, T0]));
  const perCycle: number[] = [];
  let longest = 0;
  for (let now = T0 + MIN; now <= T0 + 2 * P; now += MIN) {
    let n = 0;
    for (const w of ids) {
      if (!wholeDue(w, last.get(w), now, P)) continue;
      longest = Math.max(longest, now - last.get(w)!);
      last.set(w, now);
      n++;
    }
    perCycle.push(n);
  }
  const first = perCycle.slice(0, 360).reduce((a, b) => a + b, 0);
  const second = perCycle.slice(360).reduce((a, b) => a + b, 0);
  t.same([first, second], [3000, 3000], 'every tag once in each period');
  t.ok(longest <= P, `never longer than the period between whole re-reads (longest ${longest / MIN} min)`);
  t.ok(Math.max(...perCycle) <= 30, `a few tags per cycle, not all at once (mean ${3000 / 360}, max ${Math.max(...perCycle)})`);
  t.same(
    [wholeDue('A', undefined, T0, P), wholeDue('A', T0, T0, 0), wholeDue('A', T0, T0, P), wholeDue('A', T0 - P, T0, P)],
    [true, true, false, true],
    'no whole re-read yet, or 0s: due; just done: not; a period ago: due',
  );
});

t.test('every documented data pipe action older than the window, and one the agent does not know: exact rows', async (t) => {
  const { archive, feed, store, cycle } = setup();
  let now = S + 60 * MIN;
  await cycle(now);
  now += MIN;
  await cycle(now);
  // AFDataPipeAction: Insert (before the last event), Update (edit), Delete, and "Replace" (unknown).
  const tIns = S + 5 * MIN + 2.5 * SEC;
  archive.insert('A', { ts: tIns, v: 41 });
  feed.change('A', 'Insert', tIns);
  const tEd = S + 6 * MIN;
  archive.data.get('A')!.find((e) => e.ts === tEd)!.v = -1;
  feed.change('A', 'Update', tEd);
  const tDel = S + 7 * MIN;
  archive.data.set(
    'A',
    archive.data.get('A')!.filter((e) => e.ts !== tDel),
  );
  feed.change('A', 'Delete', tDel);
  const tUnk = S + 20 * MIN;
  archive.data.get('B')!.find((e) => e.ts === tUnk)!.v = -2;
  feed.change('B', 'Replace', tUnk);
  // Refresh: every event after it may be invalid; two of them changed, one silently removed.
  const tRef = S + 30 * MIN;
  const c = archive.data.get('C')!;
  c.find((e) => e.ts === tRef + 5 * SEC)!.v = -3;
  c.find((e) => e.ts === tRef + 20 * MIN)!.v = -4;
  feed.change('C', 'Refresh', tRef);
  now += 14 * MIN;
  const re = await cycle(now);
  t.same([re.u.lateChanges, re.u.unknownActions, re.u.deletes], [5, 1, 1]);
  const notInserts = re.ops.filter((o) => !o.startsWith('insert'));
  // Up to the re-read's start, just after S + 50 min (the lookback before the last re-read, at S + 60 min).
  const refreshed = c.filter((e) => e.ts >= tRef && e.ts <= S + 50 * MIN).map((e) => `update:C|${e.ts}|0`);
  t.same(
    notInserts.filter((o) => !o.startsWith('update:C')),
    [`update:A|${tIns}|0`, `update:A|${tEd}|0`, `delete:A|${tDel}|0`, `update:B|${tUnk}|0`],
    'Insert and Update upserted, Delete deleted, the unknown action read back at its timestamp',
  );
  const cUpdates = notInserts.filter((o) => o.startsWith('update:C'));
  t.same(cUpdates, refreshed, 'Refresh: every event from its timestamp to the re-read start read back, in order');
  for (const w of ['A', 'B', 'C'])
    t.same(
      store.values(w),
      [...archive.data.get(w)!].map((e) => [e.ts, 0, e.v]),
      `${w} equals the archive`,
    );
  t.match(store.getProgress<UpdatesState>(UPDATES_STATE.key)!.unknown_actions, { count: 1, last: 'Replace' });
});

t.test('a signup PI ended (Exception): registered again, the time since its last good marker read back whole', async (t) => {
  const { archive, feed, store, cycle } = setup();
  let now = S + 60 * MIN;
  await cycle(now);
  const issued = now;
  // B's polls fail: its marker stays (issued at S + 60 min) while its re-reads go on.
  feed.failPoll.add('B');
  now += 15 * MIN;
  t.equal((await cycle(now)).u.errors.size, 1, "B's poll failed");
  // After that re-read, older than the next one's start (S + 65 min), never announced.
  const tGap = issued + 90 * SEC + 1000;
  archive.insert('B', { ts: tGap, v: 55 });
  feed.failPoll.delete('B');
  feed.exception.add('B');
  const regs = feed.registers.length;
  now += 15 * MIN;
  const re = await cycle(now);
  t.same([re.u.lost, re.u.registered, re.u.errors.size], [1, 1, 0], 'B registered again');
  t.same(feed.registers.slice(regs), [['B']]);
  const gapOps = re.ops.filter((o) => o.startsWith('update:B|'));
  t.same(
    gapOps,
    archive.data
      .get('B')!
      .filter((e) => e.ts >= issued && e.ts < S + 65 * MIN)
      .map((e) => `update:B|${e.ts}|0`),
    'every event from the last good marker to the re-read start, once, in order',
  );
  t.ok(gapOps.includes(`update:B|${tGap}|0`), 'the event made in the gap among them');
  t.same(store.values('B'), expectedRows(archive.data.get('B')!), 'B equals the archive');
  t.same(JSON.parse(store.progress.get(MARKERS.key('B'))!), { m: 'B_0', a: now }, 'a new marker');
  t.match(store.getProgress<UpdatesState>(UPDATES_STATE.key)!.lost, { count: 1, reason: /The signup was updated/ });
});

t.test('one stream without the route: that tag only falls back, the others register and are polled', async (t) => {
  const { feed, store, cycle, oldInsert } = setup({ tagsPerRequest: 1 });
  feed.noRoute.add('A');
  let now = S + 60 * MIN;
  const first = await cycle(now);
  t.same([first.u.registered, first.u.unsupported], [2, undefined], 'B and C registered; the server is not marked unsupported');
  t.equal(store.getProgress<UpdatesState>(UPDATES_STATE.key)?.unsupported, undefined);
  oldInsert('C', S + 5 * MIN + 2.5 * SEC, 77);
  now += 15 * MIN;
  const re = await cycle(now);
  t.same(re.polled.sort(), ['B', 'C'], 'the others still use stream updates');
  t.same(
    re.ops.filter((o) => !o.startsWith('insert')),
    [`update:C|${S + 5 * MIN + 2.5 * SEC}|0`],
    'and their old changes are found',
  );
  t.equal(store.getProgress<UpdatesState>(UPDATES_STATE.key)?.unsupported, undefined);
  feed.noRoute.add('B');
  feed.noRoute.add('C');
  store.progress.delete(MARKERS.key('B'));
  store.progress.delete(MARKERS.key('C'));
  now += 15 * MIN;
  const none = await cycle(now);
  t.ok(none.u.unsupported, 'no stream has the route: the server has no stream updates');
});
