/**
 * One extraction cycle of recorded values for a set of tags (design.md "Time series correctness").
 *
 * Each tag reads from its watermark to PI's now. Every `lookbackEvery` (on PI's clock) a tag instead
 * re-reads the lookback window (late data, edits, deletions) from min(now - lookback, previous
 * re-read's now - lookback), so a late event inserted between two re-reads is never missed; cycles
 * in between cost one page per tag. Where stream updates vouch for the window (updates.ts,
 * `narrowFrom`), a due re-read starts instead at the oldest change PI reported since the tag's
 * previous re-read (or at the watermark): the part of the window before it is unchanged since it was
 * read. The whole window is still re-read every `lookback_full_every` (`lastFull`).
 *
 * Many tags go into one HTTP request; each page's rows and the progress they justify are committed
 * to the store in one transaction, so a crash anywhere re-reads from durable progress and the digest
 * turns the re-read into no rows at all. The digest is stored in buckets of PI time (digest.ts): a
 * page loads only the buckets from its start on, and writes only those it changed, so a steady cycle
 * rewrites a tag's small head and its newest bucket.
 *
 * Requests: a tag's maxCount is sized from the values per second of its last read, and tags are
 * grouped so that one request asks at most `maxValuesPerRequest` values (memory bound); truncated
 * tags come back with a known rate and are grouped together with larger shares. A request that
 * times out is asked again with half the tags, half the window and half the maxCount, down to a
 * floor; success grows the window back. A tag that still times out at the floor fails this cycle.
 */
import type { Row } from '../../batch/tables.js';
import { PiError } from '../../errors.js';
import { DIGEST_BUCKET_US, loadProgress, progressHead, saveProgress, type StoredTagProgress, type TagProgress } from './digest.js';
import { applyPage } from './page.js';
import type { PiValueItem } from './values.js';

export interface TagRef {
  webId: string;
  pointType?: string;
}

export interface RecordedRequest {
  webId: string;
  startUs: number;
  endUs: number;
  maxCount: number;
}

export interface RecordedResult {
  items: PiValueItem[];
  units?: string;
  error?: Error;
}

/** Reads one page for each request (many tags in one HTTP call); results in request order. */
export interface RecordedReader {
  read(reqs: RecordedRequest[]): Promise<RecordedResult[]>;
}

/** What the source needs of the store. */
export interface TimeseriesStore {
  getProgress<T>(key: string): T | undefined;
  /** Rows, progress and progress deletions in one transaction (deletions before writes). */
  commitStep(steps: { table: 'pi_timeseries'; rows: Row[] }[], progress: { key: string; value: unknown }[], deleteKeys?: string[]): void;
  isBufferFull(): boolean;
}

export interface ExtractOptions {
  site: string;
  tags: TagRef[];
  reader: RecordedReader;
  store: TimeseriesStore;
  /** PI server's current time, µs: the end of every read in this cycle. */
  nowUs: number;
  /** Where a new tag's history begins, µs. */
  startUs: number;
  lookbackUs: number;
  /** Re-read the lookback window when PI's now − the tag's last re-read ≥ this (µs); 0 or absent: every cycle. */
  lookbackEveryUs?: number;
  /** Optional end of the extraction (backfill); defaults to nowUs. */
  endUs?: number;
  tagsPerRequest: number;
  maxCount: number;
  /** Upper bound of values asked for in one HTTP request (memory bound). */
  maxValuesPerRequest: number;
  /** Requests in flight at once. */
  concurrency: number;
  parseTime: (s: string) => number;
  /** Progress key prefix; backfills use their own so live progress is untouched. */
  progressPrefix?: string;
  /** op written for new events: live extraction inserts; a backfill upserts. */
  insertOp?: 'insert' | 'update';
  /**
   * Width (µs) of the digest buckets stored under their own progress keys (digest.ts); default
   * DIGEST_BUCKET_US. 0 embeds the whole digest in the tag's head (the former format).
   */
  digestBucketUs?: number;
  /** Halvings after timeouts before a tag fails (default 6: 1/64 of the window, tags and maxCount). */
  maxTimeoutSplits?: number;
  /**
   * Tags whose due re-read may start later than the lookback window (stream updates, updates.ts):
   * WebID → the oldest timestamp (µs) PI reported a change at since the tag's previous re-read
   * (Infinity: none). The re-read starts there, or at the watermark if that is earlier; the part of
   * the window before it is unchanged since it was last read. A tag listed re-reads this cycle even
   * when `lookbackEveryUs` says it is not due (`lookback_every: auto`; -Infinity: the whole window).
   */
  narrowFrom?: ReadonlyMap<string, number>;
  signal?: AbortSignal;
}

export interface ExtractResult {
  values: number;
  inserts: number;
  updates: number;
  deletes: number;
  requests: number;
  commits: number;
  /** Tags whose lookback window was re-read (completely) this cycle. */
  rereads: number;
  /** Of the due re-reads, those started after the window's start, at what stream updates reported (narrowFrom). */
  narrowed: number;
  /** Requests (or sub-requests) that timed out and were split. */
  timeouts: number;
  /** Stopped early because the outbound buffer is full (backpressure). */
  paused: boolean;
  /** Tags whose reads failed this cycle (their progress did not move). */
  errors: Map<string, Error>;
  /** The least read position over all tags after this cycle (µs), for the lag; null if none read yet. */
  minPosUs: number | null;
}

/**
 * What the cycle holds per queued tag: what its next request needs, nothing decoded (its progress
 * and digest are loaded when its page arrives). The tag's key is derived, not stored: with tens of
 * thousands of tags, every byte held per tag for the cycle counts several times in RSS, as V8 grows
 * its heap in proportion to what is live (scripts/bench-rss.ts).
 */
interface Cursor {
  tag: TagRef;
  /** The tag's position when the cycle began (a re-read is complete once a page passes it). */
  pos0: number | null;
  /** The tag's position now (as last committed). */
  pos: number | null;
  /** Where the next page starts (inclusive). */
  start: number;
  /** Values per second of the tag's last read; undefined before the first. */
  rate: number | undefined;
  /** This cycle re-reads the lookback window for this tag. */
  reread: boolean;
  /** That re-read covers the whole window (not narrowed by stream updates). */
  full?: boolean;
  /** maxCount asked for (set by takeGroup unless pinned). */
  maxCount: number;
  /** maxCount was set for this tag (grown past a crowded timestamp, or lowered to the server's cap): keep it. */
  pinned?: boolean;
  /** Timeout halvings in effect (0 = full window). */
  split: number;
  /** Window length (µs) to ask while split > 0. */
  span: number;
  /** Successful pages in a row at this split (two grow the window back). */
  streak: number;
  /** The smallest window (µs) that timed out this cycle: the window never grows back to it. */
  timedOut?: number;
}

/**
 * The lower maxCount to try after PI refused one as over MaxReturnedItemsPerCall (fidelity §3):
 * the limit PI named (`PiError.limit`, read from its text in pi/failures.ts), else half; undefined
 * when it cannot go lower.
 */
export function lowerMaxCount(err: Error | undefined, maxCount: number): number | undefined {
  if (!(err instanceof PiError) || err.code !== 'PI_LIMIT_EXCEEDED' || err.status !== 400 || maxCount <= 1) return undefined;
  const limit = err.limit ?? 0;
  return limit >= 1 && limit < maxCount ? limit : Math.max(1, Math.floor(maxCount / 2));
}

export const progressKey = (prefix: string, webId: string): string => `${prefix}${webId}`;

const isTimeout = (err: unknown): boolean => err instanceof PiError && err.code === 'PI_TIMEOUT';

/** Smallest maxCount asked of a tag whose rate is unknown. */
const MIN_ASK = 100;
/** Smallest maxCount asked of a tag whose rate is known: room for a small burst, yet 200 quiet tags fit one request. */
const MIN_KNOWN_ASK = 32;

/**
 * Where this cycle reads a tag from, and whether that read re-reads the lookback window.
 * Exported for tests.
 */
export function readStart(p: Omit<TagProgress, 'digest'>, o: { nowUs: number; startUs: number; lookbackUs: number; lookbackEveryUs?: number }): { start: number; reread: boolean } {
  if (p.pos === null) return { start: o.startUs, reread: true };
  const every = o.lookbackEveryUs ?? 0;
  const due = every <= 0 || p.lastReread === undefined || o.nowUs - p.lastReread >= every;
  if (!due) return { start: Math.max(o.startUs, p.pos), reread: false };
  // Cover everything since the previous re-read's horizon: an event inserted after it, inside the
  // lookback at that time, may have fallen behind now - lookback since.
  let from = Math.min(p.pos, o.nowUs - o.lookbackUs);
  if (p.lastReread !== undefined) from = Math.min(from, p.lastReread - o.lookbackUs);
  return { start: Math.max(o.startUs, from), reread: true };
}

export async function extractTimeseries(o: ExtractOptions): Promise<ExtractResult> {
  const prefix = o.progressPrefix ?? 'ts:';
  const end = o.endUs ?? o.nowUs;
  const horizon = o.nowUs - o.lookbackUs;
  const maxSplits = o.maxTimeoutSplits ?? 6;
  const bucketUs = o.digestBucketUs ?? DIGEST_BUCKET_US;
  const result: ExtractResult = { values: 0, inserts: 0, updates: 0, deletes: 0, requests: 0, commits: 0, rereads: 0, narrowed: 0, timeouts: 0, paused: false, errors: new Map(), minPosUs: null };
  // The least position over tags whose reads are over for this cycle (done, failed or not due):
  // each cursor is folded in once, when it leaves the queue for good (no map of all tags).
  const retire = (pos: number | null): void => {
    if (pos !== null && (result.minPosUs === null || pos < result.minPosUs)) result.minPosUs = pos;
  };
  // The server's MaxReturnedItemsPerCall once PI has refused a larger maxCount: every later page asks at most this.
  let serverCap = Number.POSITIVE_INFINITY;

  // A FIFO of cursors; `head` instead of shift() keeps taking a group O(group).
  let queue: Cursor[] = [];
  let head = 0;
  const push = (c: Cursor): void => {
    queue.push(c);
  };
  const dueNow = { nowUs: o.nowUs, startUs: o.startUs, lookbackUs: o.lookbackUs, lookbackEveryUs: 0 };
  const notDue = { ...dueNow, lookbackEveryUs: Number.POSITIVE_INFINITY };
  for (const tag of o.tags) {
    // Only the head of the progress: digests are decoded one tag at a time when its page arrives.
    const p = progressHead(o.store.getProgress<StoredTagProgress>(progressKey(prefix, tag.webId)));
    // A tag stream updates polled for its re-read re-reads now, whatever lookbackEveryUs says, unless
    // that re-read was read with its poll (nothing changed, re-read as of now): then at most the rest
    // of a truncated page is left, a plain read from the watermark.
    const narrow = p.pos !== null ? o.narrowFrom?.get(tag.webId) : undefined;
    const readAhead = narrow === Number.POSITIVE_INFINITY && p.lastReread === o.nowUs;
    let { start, reread } = readStart(p, narrow === undefined ? o : readAhead ? notDue : dueNow);
    let full = reread;
    if (narrow !== undefined && narrow > start) {
      // Nothing changed before `narrow` since the previous re-read: read on from there, or from the watermark.
      start = Math.max(start, Math.min(narrow, p.pos!));
      full = false;
    }
    if (start > end) {
      retire(p.pos);
      continue;
    }
    if (reread && !full) result.narrowed++;
    const c: Cursor = { tag, pos0: p.pos, pos: p.pos, start, rate: p.rate, reread, maxCount: o.maxCount, split: 0, span: end - start + 1, streak: 0 };
    if (full) c.full = true;
    push(c);
  }

  /** Values expected in [c.start, its window end], from the tag's last rate; undefined when unknown. */
  const askFor = (c: Cursor): number | undefined => (c.pinned ? c.maxCount : askForWindow(c.rate, windowEnd(c) - c.start + 1, o.maxCount));
  const windowEnd = (c: Cursor): number => (c.split > 0 ? Math.min(end, c.start + c.span - 1) : end);

  const takeGroup = (): Cursor[] => {
    const group: Cursor[] = [];
    if (head >= queue.length) return group;
    const first = queue[head]!;
    const limit = Math.max(1, o.tagsPerRequest >> first.split);
    const minShare = Math.max(MIN_ASK, Math.floor(o.maxValuesPerRequest / o.tagsPerRequest));
    let known = 0;
    let unknown = 0;
    const asks: (number | undefined)[] = [];
    while (head < queue.length && group.length < limit) {
      const c = queue[head]!;
      const ask = askFor(c);
      const cost = ask ?? minShare;
      if (group.length > 0 && known + unknown * minShare + cost > o.maxValuesPerRequest) break;
      group.push(c);
      asks.push(ask);
      if (ask === undefined) unknown++;
      else known += ask;
      head++;
    }
    if (head > 4096 && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
    // Tags of unknown rate share what the known ones leave of the request's budget.
    const share = unknown > 0 ? Math.max(minShare, Math.floor((o.maxValuesPerRequest - known) / unknown)) : 0;
    group.forEach((c, i) => {
      // Each timeout halving asks half as many values (a known rate already scales with the halved window).
      const ask = c.pinned ? c.maxCount : Math.min(asks[i] ?? Math.max(1, Math.floor(Math.min(o.maxCount, share) / 2 ** c.split)), o.maxValuesPerRequest);
      c.maxCount = Math.max(1, Math.min(ask, serverCap));
    });
    return group;
  };

  /** A timed-out read: try again with half the window, tags and maxCount, or fail the tag at the floor. */
  const onTimeout = (c: Cursor, err: Error): void => {
    result.timeouts++;
    if (c.split >= maxSplits) {
      result.errors.set(c.tag.webId, err);
      retire(c.pos);
      return;
    }
    const size = windowEnd(c) - c.start + 1;
    const span = Math.max(1, Math.floor(size / 2));
    push({ ...c, split: c.split + 1, span, streak: 0, timedOut: Math.min(size, c.timedOut ?? Number.POSITIVE_INFINITY) });
  };

  const pageCtx: PageContext = { o, prefix, bucketUs, horizon };
  const processGroup = (group: Cursor[], results: RecordedResult[]): void => {
    const rows: Row[] = [];
    const progress: { key: string; value: unknown }[] = [];
    const deleteKeys: string[] = [];
    const ingestedAt = Date.now() * 1000;
    group.forEach((c, i) => {
      const r = results[i];
      const lower = r?.error ? lowerMaxCount(r.error, c.maxCount) : undefined;
      if (lower !== undefined) {
        // maxCount over the server's limit (400): ask this page again with fewer values.
        serverCap = Math.min(serverCap, lower);
        push({ ...c, maxCount: lower, pinned: true });
        return;
      }
      if (r?.error && isTimeout(r.error)) return onTimeout(c, r.error);
      if (!r || r.error) {
        result.errors.set(c.tag.webId, r?.error ?? new Error('no result for this stream'));
        retire(c.pos);
        return;
      }
      const winEnd = windowEnd(c);
      const page = applyTagPage(pageCtx, c, winEnd, r, ingestedAt);
      if (page.kind === 'grow') {
        if (c.maxCount >= serverCap) {
          // More events at one timestamp than the server returns in one call: cannot be paged by time.
          result.errors.set(c.tag.webId, new PiError('PI_LIMIT_EXCEEDED', `more than ${c.maxCount} events share one timestamp and the server returns at most ${serverCap} per call`));
          retire(c.pos);
          return;
        }
        push({ ...c, maxCount: Math.min(page.maxCount, serverCap), pinned: true });
        return;
      }
      for (const row of page.rows) rows.push(row);
      result.values += r.items.length;
      result.inserts += page.inserts;
      result.updates += page.updates;
      result.deletes += page.deletes;
      if (page.rereadDone) result.rereads++;
      const reread = c.reread && !page.rereadDone;
      const next = page.next;
      for (const p of page.progress) progress.push(p);
      for (const k of page.deleteKeys) deleteKeys.push(k);
      const more = page.kind === 'more' || winEnd < end;
      if (more) {
        // Two successes in a row after a timeout grow the window back (at split 0: to the end);
        // one would make a window that just timed out alternate with its half.
        // Never back to a size that timed out: it would most likely time out again.
        const grow = c.split > 0 && c.streak >= 1 && (c.timedOut === undefined || c.span * 2 < c.timedOut);
        const split = grow ? c.split - 1 : c.split;
        const span = grow ? c.span * 2 : c.span;
        const cont: Cursor = { tag: c.tag, pos0: c.pos0, pos: next.pos, start: page.pageNext, rate: next.rate, reread, maxCount: c.maxCount, split, span, streak: grow ? 0 : c.streak + 1 };
        if (c.full) cont.full = true;
        if (c.timedOut !== undefined) cont.timedOut = c.timedOut;
        push(cont);
      } else retire(next.pos);
    });
    if (progress.length > 0) {
      o.store.commitStep(rows.length > 0 ? [{ table: 'pi_timeseries', rows }] : [], progress, deleteKeys);
      result.commits++;
    }
  };

  const inFlight = new Set<Promise<void>>();
  const launch = (): void => {
    const group = takeGroup();
    if (group.length === 0) return;
    const reqs = group.map((c) => ({ webId: c.tag.webId, startUs: c.start, endUs: windowEnd(c), maxCount: c.maxCount }));
    result.requests++;
    const p: Promise<void> = o.reader.read(reqs).then(
      (results) => processGroup(group, results),
      (err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err));
        if (isTimeout(e)) for (const c of group) onTimeout(c, e);
        else {
          for (const c of group) {
            result.errors.set(c.tag.webId, e);
            retire(c.pos);
          }
        }
      },
    ).finally(() => inFlight.delete(p));
    inFlight.add(p);
  };

  for (;;) {
    if (o.signal?.aborted) break;
    while (head < queue.length && inFlight.size < o.concurrency) {
      if (o.store.isBufferFull()) {
        result.paused = true;
        break;
      }
      launch();
    }
    if (inFlight.size === 0) break;
    await Promise.race(inFlight);
    if (result.paused) {
      await Promise.all(inFlight);
      break;
    }
  }
  await Promise.all(inFlight);
  // Tags still queued (paused, aborted) keep the position they reached.
  for (let i = head; i < queue.length; i++) retire(queue[i]!.pos);
  return result;
}

/**
 * maxCount for a window of `windowUs` of a tag read at `rate` values per second: a fifth more than
 * expected, and a burst's room (a page that comes back truncated costs a request, a larger ask only
 * budget; truncated tags are grouped together on their next page). Undefined when the rate is unknown.
 */
export function askForWindow(rate: number | undefined, windowUs: number, maxCount: number): number | undefined {
  if (rate === undefined) return undefined;
  const expected = Math.ceil(((rate * windowUs) / 1e6) * 1.2) + 20;
  return Math.min(maxCount, Math.max(MIN_KNOWN_ASK, expected));
}

/**
 * A due re-read read in the poll's own `/batch` (updates.ts): narrowed to the tag's watermark
 * (nothing changed behind it since its previous re-read; `req` starts at `pos0`), or the whole window
 * (`full`). Applied here as the tag's page of this cycle, as the extraction would apply it. Undefined
 * when it cannot be applied here (a crowded timestamp needs a larger maxCount): the extraction then
 * reads the tag itself. Nothing is written: the caller commits the result.
 */
export function applyReadAhead(
  o: Pick<ExtractOptions, 'site' | 'store' | 'nowUs' | 'lookbackUs' | 'parseTime' | 'insertOp' | 'progressPrefix' | 'digestBucketUs'>,
  tag: TagRef, req: RecordedRequest, r: RecordedResult, at: { pos0: number; full: boolean },
): AppliedPage | undefined {
  const x: PageContext = { o, prefix: o.progressPrefix ?? 'ts:', bucketUs: o.digestBucketUs ?? DIGEST_BUCKET_US, horizon: o.nowUs - o.lookbackUs };
  const page = applyTagPage(x, { tag, pos0: at.pos0, start: req.startUs, reread: true, full: at.full, maxCount: req.maxCount }, req.endUs, r, Date.now() * 1000);
  return page.kind === 'grow' ? undefined : page;
}

/** What applyTagPage needs of the cycle. */
interface PageContext {
  o: Pick<ExtractOptions, 'site' | 'store' | 'nowUs' | 'lookbackUs' | 'parseTime' | 'insertOp'>;
  prefix: string;
  bucketUs: number;
  /** PI's now − lookback (µs). */
  horizon: number;
}

/** One tag's page applied to its progress: its rows, and the progress writes and deletions that commit with them. */
export interface AppliedPage {
  kind: 'done' | 'more';
  rows: Row[];
  progress: { key: string; value: unknown }[];
  deleteKeys: string[];
  next: TagProgress;
  /** Where the tag's next page starts. */
  pageNext: number;
  /** This page completed the tag's re-read (lastReread is now PI's now). */
  rereadDone: boolean;
  inserts: number;
  updates: number;
  deletes: number;
}

/**
 * Compare one page of a tag's recorded values with its digest (applyPage) and prepare what commits
 * with it: the tag's next progress (rate, watermark, digest buckets; lastReread once a re-read passes
 * where the tag stood, lastFull when that re-read covered the whole window). Nothing is written here.
 */
function applyTagPage(
  x: PageContext,
  c: { tag: TagRef; pos0: number | null; start: number; reread: boolean; full?: boolean; maxCount: number },
  winEnd: number,
  r: RecordedResult,
  ingestedAt: number,
): AppliedPage | { kind: 'grow'; maxCount: number } {
  const { o, horizon } = x;
  const key = progressKey(x.prefix, c.tag.webId);
  // Only the digest buckets that can hold events of this page (at or after its start).
  const loaded = loadProgress((k) => o.store.getProgress<unknown>(k), key, c.start, x.bucketUs);
  const before = loaded.progress;
  // Digest retention: the next re-read starts at or after min(now, last re-read) - lookback.
  const retain = Math.min(horizon, before.lastReread === undefined ? horizon : before.lastReread - o.lookbackUs);
  const page = applyPage({
    site: o.site, webId: c.tag.webId, pointType: c.tag.pointType, streamUnits: r.units,
    start: c.start, end: winEnd, maxCount: c.maxCount, items: r.items, progress: before,
    horizon: retain, ingestedAt, parseTime: o.parseTime,
  });
  if (page.kind === 'grow') return { kind: 'grow', maxCount: page.maxCount };
  if (o.insertOp === 'update') for (const row of page.rows) if (row.op === 'insert') row.op = 'update';
  const next = page.progress;
  const coveredUs = page.next - c.start;
  if (coveredUs >= 1e6 || page.kind === 'more') next.rate = (page.events * 1e6) / Math.max(1, coveredUs);
  // Where the digest now starts: buckets wholly before it are deleted with this commit.
  let retainFrom = Math.min(next.pos ?? retain, retain);
  let rereadDone = false;
  if (c.reread && (c.pos0 === null || page.next >= c.pos0)) {
    // The re-read has passed where the tag stood when the cycle began: from here on it reads
    // forward after PI's now, so the window is re-read as of now.
    next.lastReread = o.nowUs;
    if (c.full) next.lastFull = o.nowUs;
    const from = Math.min(next.pos ?? horizon, horizon);
    if (next.digest.length > 0 && next.digest[0]!.ts < from) next.digest = next.digest.filter((e) => e.ts >= from);
    retainFrom = Math.max(retainFrom, from);
    rereadDone = true;
  }
  const saved = saveProgress(key, loaded, next, retainFrom);
  return {
    kind: page.kind, rows: page.rows, progress: saved.progress, deleteKeys: saved.deleteKeys, next, pageNext: page.next, rereadDone,
    inserts: page.inserts, updates: page.updates, deletes: page.deletes,
  };
}
