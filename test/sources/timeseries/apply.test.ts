/**
 * Applying a page alone (apply.ts): one tag's page against its stored digest → its rows, its next
 * head and the digest buckets written and deleted with them; the pages of a request committed as
 * one step (PageCommit). An in-memory store, no reader: pages in, progress out.
 */
import t from 'tap';
import { PageCommit, TagPages, type AppliedPage, type PageOptions, type PageRead } from '../../../agent/sources/timeseries/apply.js';
import { DIGEST_BUCKET_US as W } from '../../../agent/sources/timeseries/digest.js';
import type { StoredTagProgress } from '../../../agent/sources/timeseries/progress.js';
import type { PiValueItem } from '../../../agent/sources/timeseries/values.js';
import { iso, MemTimeseriesStore, MIN, parseTime, S } from './harness.js';

const item = (ts: number, v: unknown): PiValueItem => ({ Timestamp: iso(ts), Value: v, Good: true, Questionable: false, Substituted: false, Annotated: false });
/** The digest bucket of S + 50 min … S + 60 min (S is on a 10-minute boundary). */
const B5 = S / W + 5;

/** A bucket's entries: [timestamp, hash] pairs (Float64, base64). */
function entries(b64: string): [number, number][] {
  const buf = Buffer.from(b64, 'base64');
  const f = new Float64Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const out: [number, number][] = [];
  for (let i = 0; i < f.length; i += 2) out.push([f[i]!, f[i + 1]!]);
  return out;
}

function setup(nowUs: number, o: Partial<PageOptions> = {}) {
  const store = new MemTimeseriesStore();
  const opts = (now: number): PageOptions => ({ site: 'plant-a', store, nowUs: now, lookbackUs: 10 * MIN, parseTime, ...o });
  return { store, pages: new TagPages(opts(nowUs)), at: (now: number) => new TagPages(opts(now)) };
}

const read = (start: number, pos0: number | null, extra: Partial<PageRead> = {}): PageRead => ({
  tag: { webId: 'A', pointType: 'Float64' },
  pos0,
  start,
  reread: true,
  full: true,
  maxCount: 100,
  ...extra,
});
const ops = (p: AppliedPage) => p.rows.map((r) => [r.op, r.timestamp, r.ordinal, r.value_double]);

t.test("a new tag's first page: inserts, its head, one digest bucket", async (t) => {
  const now = S + 60 * MIN;
  const { store, pages } = setup(now);
  const page = pages.apply(read(S + 50 * MIN, null), now, { items: [item(S + 50 * MIN, 1), item(S + 55 * MIN, 2), item(S + 59 * MIN, 3)] }, 7);
  if (page.kind === 'grow') throw new Error('unexpected grow');
  t.equal(page.kind, 'done');
  t.same(ops(page), [
    ['insert', S + 50 * MIN, 0, 1],
    ['insert', S + 55 * MIN, 0, 2],
    ['insert', S + 59 * MIN, 0, 3],
  ]);
  t.same([page.inserts, page.updates, page.deletes, page.pageNext, page.rereadDone], [3, 0, 0, now + 1, true]);
  t.same(
    page.rows.map((r) => [r.site, r.tag_webid, r.ingested_at]),
    Array(3).fill(['plant-a', 'A', 7]),
  );
  // Three events over 10 min + 1 µs; the head keeps the rate to 3 decimals.
  t.equal(page.next.rate, 3e6 / (10 * MIN + 1));
  t.same(
    page.progress.map((p) => p.key),
    ['ts:A', `dg:ts:A@${B5}`],
  );
  t.same(page.progress[0]!.value, { pos: now + 1, lr: now, lf: now, vr: 0.005, w: W, b: [B5] } satisfies StoredTagProgress);
  t.same(
    entries(page.progress[1]!.value as string).map((e) => e[0]),
    [S + 50 * MIN, S + 55 * MIN, S + 59 * MIN],
    'the bucket holds the three events',
  );
  t.same(page.deleteKeys, []);
  t.same(store.writes, [], 'nothing written by apply');
});

t.test('a narrowed re-read a minute later: an edit, a deletion and a new event; the buckets that changed', async (t) => {
  const now = S + 60 * MIN;
  const { store, pages, at } = setup(now);
  const first = pages.apply(read(S + 50 * MIN, null), now, { items: [item(S + 50 * MIN, 1), item(S + 55 * MIN, 2), item(S + 59 * MIN, 3)] }, 7) as AppliedPage;
  const commit = new PageCommit();
  commit.add(first);
  commit.commit(store);
  const before = entries(store.getProgress<string>(`dg:ts:A@${B5}`)!);

  const now2 = S + 61 * MIN;
  // Not whole (narrowed): lastFull stays; the event at 59 min is gone, the one at 55 edited, 61 new.
  const page = at(now2).apply(read(S + 51 * MIN, now + 1, { full: false }), now2, { items: [item(S + 55 * MIN, 20), item(S + 61 * MIN, 4)] }, 8) as AppliedPage;
  t.same(
    ops(page),
    [
      ['update', S + 55 * MIN, 0, 20],
      ['delete', S + 59 * MIN, 0, null],
      ['insert', S + 61 * MIN, 0, 4],
    ],
    'merge-joined in timestamp order',
  );
  t.same([page.kind, page.inserts, page.updates, page.deletes, page.pageNext, page.rereadDone], ['done', 1, 1, 1, now2 + 1, true]);
  t.same(
    page.progress.map((p) => p.key),
    ['ts:A', `dg:ts:A@${B5}`, `dg:ts:A@${B5 + 1}`],
  );
  t.same(page.progress[0]!.value, { pos: now2 + 1, lr: now2, lf: now, vr: 0.003, w: W, b: [B5, 1] });
  // Retention after the re-read: now2 − lookback = 51 min; the event at 50 min leaves the digest.
  const b5 = entries(page.progress[1]!.value as string);
  t.same(
    b5.map((e) => e[0]),
    [S + 55 * MIN],
  );
  t.not(b5[0]![1], before[1]![1], "the edited event's hash changed");
  t.same(
    entries(page.progress[2]!.value as string).map((e) => e[0]),
    [S + 61 * MIN],
  );
  t.same(page.deleteKeys, []);
});

t.test('truncated pages: more from the last timestamp; one timestamp only: grow; backfill keys and upserts', async (t) => {
  const now = S + 60 * MIN;
  const { pages } = setup(now);
  // A re-read from S of a tag that stood at 30 min: not complete until a page passes 30 min.
  const more = pages.apply(read(S, S + 30 * MIN, { maxCount: 3 }), now, { items: [item(S + MIN, 1), item(S + 2 * MIN, 2), item(S + 2 * MIN, 3)] }, 7) as AppliedPage;
  t.same([more.kind, more.pageNext, more.next.pos, more.rereadDone], ['more', S + 2 * MIN, S + 2 * MIN, false], 'the last timestamp is read again on the next page');
  t.same(ops(more), [['insert', S + MIN, 0, 1]]);
  t.equal(more.next.rate, 1e6 / (2 * MIN), 'the rate of a truncated page, over what it covered');
  t.same(
    more.progress.map((p) => p.key),
    ['ts:A'],
    'an event behind both the new position and the horizon is not kept in the digest: no bucket',
  );
  t.same(more.progress[0]!.value, { pos: S + 2 * MIN, vr: 0.008 });

  const crowded = pages.apply(read(S, null, { maxCount: 2 }), now, { items: [item(S + MIN, 1), item(S + MIN, 2)] }, 7);
  t.same(crowded, { kind: 'grow', maxCount: 8 });
  t.equal(
    pages.readAhead({ webId: 'A' }, { webId: 'A', startUs: S, endUs: now, maxCount: 2 }, { items: [item(S + MIN, 1), item(S + MIN, 2)] }, { pos0: S, full: true }),
    undefined,
    'read ahead: the extraction reads a crowded tag itself',
  );

  const bf = setup(now, { progressPrefix: 'bf:1-2:', insertOp: 'update' });
  const up = bf.pages.apply(read(S + 55 * MIN, null), now, { items: [item(S + 55 * MIN, 1)] }, 7) as AppliedPage;
  t.same(ops(up), [['update', S + 55 * MIN, 0, 1]], 'a backfill upserts');
  t.same(
    up.progress.map((p) => p.key),
    ['bf:1-2:A', `dg:bf:1-2:A@${B5}`],
    "under the backfill's own keys",
  );
});

t.test('PageCommit: one step for the pages of a request; nothing without progress', async (t) => {
  const now = S + 60 * MIN;
  const { store, pages } = setup(now);
  const commits: unknown[][] = [];
  const spy = { commitStep: (...args: unknown[]) => commits.push(args) };
  t.equal(new PageCommit().commit(spy), false);
  t.same(commits, [], 'an empty commit writes nothing');
  const a = pages.apply(read(S + 55 * MIN, null), now, { items: [item(S + 55 * MIN, 1)] }, 7) as AppliedPage;
  const b = pages.apply(read(S + 55 * MIN, null, { tag: { webId: 'B' } }), now, { items: [] }, 7) as AppliedPage;
  const commit = new PageCommit();
  commit.add(a);
  commit.add(b);
  commit.progress.push({ key: 'su:A', value: { m: 'x' } });
  t.equal(commit.commit(spy), true);
  t.equal(commits.length, 1);
  const [steps, progress, deleteKeys] = commits[0] as [{ table: string; rows: unknown[] }[], { key: string }[], string[]];
  t.same(
    steps.map((s) => [s.table, s.rows.length]),
    [['pi_timeseries', 1]],
  );
  t.same(
    progress.map((p) => p.key),
    ['ts:A', `dg:ts:A@${B5}`, 'ts:B', 'su:A'],
  );
  t.same(deleteKeys, []);
  const quiet = new PageCommit();
  quiet.add(b);
  quiet.commit(spy);
  t.same((commits[1] as unknown[])[0], [], 'progress without rows: no table step');
  t.same(store.writes, []);
});
