/**
 * The stream-updates change detector (sources/timeseries/updates.ts) without HTTP: a scripted feed
 * and archive, an in-memory store that applies rows like the destination table. What is polled when,
 * what a failed poll or read-back leaves, and what a refused registration costs.
 */
import t from 'tap';
import { PiError } from '../../agent/errors.js';
import type { PollOutcome, RegisterOutcome } from '../../agent/pi/updates.js';
import { extractTimeseries, type ExtractOptions } from '../../agent/sources/timeseries/extract.js';
import { markerKey, reconcileUpdates, UPDATES_STATE_KEY, type UpdatesFeed, type UpdatesState } from '../../agent/sources/timeseries/updates.js';
import { iso, MemTimeseriesStore, MIN, parseTime, S, ScriptedArchive, SEC } from './ts-harness.js';

/** Events per tag in arrival order; a marker is `<tag>_<count seen>`. */
class ScriptedFeed implements UpdatesFeed {
  log = new Map<string, { action: string; ts: number }[]>();
  polls: string[][] = [];
  registers: string[][] = [];
  failPoll = new Set<string>();
  refuse = new Set<string>();
  forget = new Set<string>();
  async register(webIds: string[]) {
    this.registers.push(webIds);
    const out = new Map<string, RegisterOutcome>();
    for (const w of webIds) {
      if (this.refuse.has(w)) out.set(w, { kind: 'failed', error: new PiError('PI_FORBIDDEN', `no access to ${w}`) });
      else {
        this.forget.delete(w);
        out.set(w, { kind: 'ok', marker: `${w}_${this.log.get(w)?.length ?? 0}` });
      }
    }
    return out;
  }
  async poll(items: { webId: string; marker: string }[]) {
    this.polls.push(items.map((i) => i.webId));
    const out = new Map<string, PollOutcome>();
    for (const { webId, marker } of items) {
      if (this.failPoll.has(webId)) out.set(webId, { kind: 'error', error: new PiError('PI_SERVER_ERROR', 'boom') });
      else if (this.forget.has(webId)) out.set(webId, { kind: 'lost', error: new PiError('PI_NOT_FOUND', 'Cache not found') });
      else {
        const all = this.log.get(webId) ?? [];
        const from = Number(marker.split('_')[1]);
        out.set(webId, { kind: 'ok', events: all.slice(from).map((e) => ({ action: e.action, timestamp: iso(e.ts) })), marker: `${webId}_${all.length}` });
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

function setup(o: { tagsPerRequest?: number; maxValuesPerRequest?: number } = {}) {
  const archive = new ScriptedArchive();
  const feed = new ScriptedFeed();
  const store = new MemTimeseriesStore();
  const base = {
    site: 'plant-a', tags: TAGS, reader: archive, store, startUs: S, lookbackUs: 10 * MIN, lookbackEveryUs: 15 * MIN,
    tagsPerRequest: o.tagsPerRequest ?? 2, maxCount: 10_000, maxValuesPerRequest: o.maxValuesPerRequest ?? 50_000, parseTime,
  };
  /** One cycle as the service runs it: stream updates, then the extraction. */
  const cycle = async (nowUs: number) => {
    for (const tag of TAGS) archive.fill(tag.webId, nowUs);
    const ops0 = store.ops.length;
    const polls0 = feed.polls.length;
    const u = await reconcileUpdates({ ...base, feed, nowUs });
    const x = await extractTimeseries({ ...base, nowUs, concurrency: 1 } as ExtractOptions);
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
  t.same(store.writes.slice(writes0).filter((w) => !w.key.startsWith('ts:') && !w.key.startsWith('dg:')), [], 'and nothing written for stream updates');
  oldInsert('B', S + 5 * MIN + 2.5 * SEC, 77);
  now += 14 * MIN;
  const re = await cycle(now);
  t.same(re.polled, ['A', 'B', 'C'], 'every tag polled before its re-read');
  t.same([re.u.lateChanges, re.u.updates, re.u.deletes], [1, 1, 0]);
  t.equal(re.ops.filter((o) => !o.startsWith('insert')).join(), `update:B|${S + 5 * MIN + 2.5 * SEC}|0`, 'one upsert, nothing else but new inserts');
  t.same(JSON.parse(store.progress.get(markerKey('B'))!), { m: `B_1` }, 'the marker moved with it');
  t.equal((store.getProgress<UpdatesState>(UPDATES_STATE_KEY))!.late_changes, 1);
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
  t.same(JSON.parse(store.progress.get(markerKey('A'))!), { m: 'A_0', r: 1 }, 'marker kept, marked for a retry');
  feed.failPoll.clear();
  now += MIN;
  const retry = await cycle(now);
  t.same(retry.polled, ['A'], 'polled again at once, though no re-read is due');
  t.same([retry.u.lateChanges, retry.u.updates, retry.x.rereads], [1, 1, 0]);
  t.same(JSON.parse(store.progress.get(markerKey('A'))!), { m: 'A_1' });
  t.same(store.values('A').find((r) => r[0] === S + 3 * MIN + 1000), [S + 3 * MIN + 1000, 0, 5]);

  // The read-back fails: nothing sent, the marker stays for the next cycle.
  oldInsert('C', S + 4 * MIN + 1000, 6);
  const read = archive.read.bind(archive);
  archive.read = async (reqs) => (reqs.some((q) => q.startUs === S + 4 * MIN + 1000) ? Promise.reject(new PiError('PI_TIMEOUT', 'slow')) : read(reqs));
  now += 15 * MIN;
  const rb = await cycle(now);
  t.same([rb.u.errors.size, rb.u.updates], [1, 0]);
  t.same(JSON.parse(store.progress.get(markerKey('C'))!), { m: 'C_0', r: 1 });
  archive.read = read;
  now += MIN;
  const ok = await cycle(now);
  t.same([ok.polled, ok.u.updates, ok.u.errors.size], [['C'], 1, 0]);
  t.same(store.values('C').find((r) => r[0] === S + 4 * MIN + 1000), [S + 4 * MIN + 1000, 0, 6]);
});

t.test('a lost marker is registered again; a refused tag is asked again only before its re-read', async (t) => {
  const { feed, store, cycle } = setup();
  feed.refuse.add('C');
  let now = S + 60 * MIN;
  const first = await cycle(now);
  t.same([first.u.registered, first.u.errors.size], [2, 1]);
  t.same(JSON.parse(store.progress.get(markerKey('C'))!), { x: 1 });
  t.match(store.getProgress<UpdatesState>(UPDATES_STATE_KEY)!.unregistered, { count: 1, reason: /no access to C/ });
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
  const st = store.getProgress<UpdatesState>(UPDATES_STATE_KEY)!;
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
