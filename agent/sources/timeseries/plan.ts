/**
 * Request planning of the extraction: which tags go into which request, over which time window,
 * asking how many values.
 *
 * - Windows: each tag reads from its watermark to PI's now; a due re-read starts at the lookback
 *   window (window.ts `readStart`), or later where stream updates vouch for the part before
 *   (`narrowFrom`).
 * - Sizes: a tag's maxCount is sized from the values per second of its last read, and tags are
 *   grouped so that one request asks at most `maxValuesPerRequest` values (memory bound); truncated
 *   tags come back with a known rate and are grouped together with larger shares.
 * - Timeouts: a request that times out is asked again with half the tags, half the window and half
 *   the maxCount, down to a floor; success grows the window back. A tag that still times out at the
 *   floor fails this cycle.
 * - The server's cap: once PI refuses a maxCount as over its MaxReturnedItemsPerCall, no later page
 *   asks more than the limit it named.
 */
import { PiError } from '../../errors.js';
import type { AppliedPage } from './apply.js';
import type { TagProgress } from './digest.js';
import type { ExtractOptions, RecordedRequest, TagRef } from './types.js';
import { askForWindow, dueNow, MIN_ASK, readStart, type ReadWindow } from './window.js';

/**
 * What the cycle holds per queued tag: what its next request needs, nothing decoded (its progress
 * and digest are loaded when its page arrives). The tag's key is derived, not stored: with tens of
 * thousands of tags, every byte held per tag for the cycle counts several times in RSS, as V8 grows
 * its heap in proportion to what is live (scripts/bench-rss.ts).
 */
export interface Cursor {
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

/** What planning needs of the extraction's options. */
export type PlanOptions = Pick<
  ExtractOptions,
  'nowUs' | 'startUs' | 'lookbackUs' | 'lookbackEveryUs' | 'endUs' | 'tagsPerRequest' | 'maxCount' | 'maxValuesPerRequest' | 'maxTimeoutSplits'
>;

/** The cycle's queue of tag reads and how they are grouped into requests. */
export class RequestPlan {
  /** The end of every read (µs, inclusive): PI's now, or a backfill's end. */
  readonly end: number;
  private readonly maxSplits: number;
  /** The server's MaxReturnedItemsPerCall once PI has refused a larger maxCount: every later page asks at most this. */
  private serverCap = Number.POSITIVE_INFINITY;
  // A FIFO of cursors; `head` instead of shift() keeps taking a group O(group).
  private queue: Cursor[] = [];
  private head = 0;
  private readonly dueNow: ReadWindow;
  private readonly notDue: ReadWindow;

  constructor(private readonly o: PlanOptions) {
    this.end = o.endUs ?? o.nowUs;
    this.maxSplits = o.maxTimeoutSplits ?? 6;
    this.dueNow = dueNow(o);
    this.notDue = { ...this.dueNow, lookbackEveryUs: Number.POSITIVE_INFINITY };
  }

  /**
   * A tag's first read of the cycle from its head, or undefined when it has nothing to read (its
   * start is past the end). `narrow`: what stream updates reported for it (ExtractOptions.narrowFrom).
   */
  open(tag: TagRef, p: Omit<TagProgress, 'digest'>, narrowFrom: ReadonlyMap<string, number> | undefined): Cursor | undefined {
    // A tag stream updates polled for its re-read re-reads now, whatever lookbackEveryUs says, unless
    // that re-read was read with its poll (nothing changed, re-read as of now): then at most the rest
    // of a truncated page is left, a plain read from the watermark.
    const narrow = p.pos !== null ? narrowFrom?.get(tag.webId) : undefined;
    const readAhead = narrow === Number.POSITIVE_INFINITY && p.lastReread === this.o.nowUs;
    let { start, reread } = readStart(p, narrow === undefined ? this.o : readAhead ? this.notDue : this.dueNow);
    let full = reread;
    if (narrow !== undefined && narrow > start) {
      // Nothing changed before `narrow` since the previous re-read: read on from there, or from the watermark.
      start = Math.max(start, Math.min(narrow, p.pos!));
      full = false;
    }
    if (start > this.end) return undefined;
    const c: Cursor = { tag, pos0: p.pos, pos: p.pos, start, rate: p.rate, reread, maxCount: this.o.maxCount, split: 0, span: this.end - start + 1, streak: 0 };
    if (full) c.full = true;
    return c;
  }

  push(c: Cursor): void {
    this.queue.push(c);
  }

  /** Some tag is queued for a request. */
  get pending(): boolean {
    return this.head < this.queue.length;
  }

  /** Each tag still queued (a paused or aborted cycle). */
  forEachQueued(fn: (c: Cursor) => void): void {
    for (let i = this.head; i < this.queue.length; i++) fn(this.queue[i]!);
  }

  /** The end of the window `c` asks for: the cycle's end, or nearer after timeouts. */
  windowEnd(c: Cursor): number {
    return c.split > 0 ? Math.min(this.end, c.start + c.span - 1) : this.end;
  }

  /** The request of `c`'s next page. */
  request(c: Cursor): RecordedRequest {
    return { webId: c.tag.webId, startUs: c.start, endUs: this.windowEnd(c), maxCount: c.maxCount };
  }

  /**
   * The next request's tags, from the head of the queue: at most `tagsPerRequest` (halved per split
   * of the first) and `maxValuesPerRequest` values in all; each tag's maxCount set for it.
   */
  takeGroup(): Cursor[] {
    const { o } = this;
    const group: Cursor[] = [];
    if (this.head >= this.queue.length) return group;
    const first = this.queue[this.head]!;
    const limit = Math.max(1, o.tagsPerRequest >> first.split);
    const minShare = Math.max(MIN_ASK, Math.floor(o.maxValuesPerRequest / o.tagsPerRequest));
    let known = 0;
    let unknown = 0;
    const asks: (number | undefined)[] = [];
    while (this.head < this.queue.length && group.length < limit) {
      const c = this.queue[this.head]!;
      const ask = this.askFor(c);
      const cost = ask ?? minShare;
      if (group.length > 0 && known + unknown * minShare + cost > o.maxValuesPerRequest) break;
      group.push(c);
      asks.push(ask);
      if (ask === undefined) unknown++;
      else known += ask;
      this.head++;
    }
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    // Tags of unknown rate share what the known ones leave of the request's budget.
    const share = unknown > 0 ? Math.max(minShare, Math.floor((o.maxValuesPerRequest - known) / unknown)) : 0;
    group.forEach((c, i) => {
      // Each timeout halving asks half as many values (a known rate already scales with the halved window).
      const ask = c.pinned ? c.maxCount : Math.min(asks[i] ?? Math.max(1, Math.floor(Math.min(o.maxCount, share) / 2 ** c.split)), o.maxValuesPerRequest);
      c.maxCount = Math.max(1, Math.min(ask, this.serverCap));
    });
    return group;
  }

  /** Values expected in [c.start, its window end], from the tag's last rate; undefined when unknown. */
  private askFor(c: Cursor): number | undefined {
    return c.pinned ? c.maxCount : askForWindow(c.rate, this.windowEnd(c) - c.start + 1, this.o.maxCount);
  }

  /** A timed-out read: queued again with half the window, tags and maxCount; false at the floor (the tag fails). */
  split(c: Cursor): boolean {
    if (c.split >= this.maxSplits) return false;
    const size = this.windowEnd(c) - c.start + 1;
    const span = Math.max(1, Math.floor(size / 2));
    this.push({ ...c, split: c.split + 1, span, streak: 0, timedOut: Math.min(size, c.timedOut ?? Number.POSITIVE_INFINITY) });
    return true;
  }

  /** PI refused `c`'s maxCount as over its limit (400): its page is queued again with fewer values; false if `err` is not that. */
  lowerCap(c: Cursor, err: Error): boolean {
    const lower = lowerMaxCount(err, c.maxCount);
    if (lower === undefined) return false;
    this.serverCap = Math.min(this.serverCap, lower);
    this.push({ ...c, maxCount: lower, pinned: true });
    return true;
  }

  /**
   * A page of one timestamp only came back truncated: `c` is queued again asking `maxCount`, within
   * the server's cap; the error that fails the tag when the cap leaves no room.
   */
  grow(c: Cursor, maxCount: number): PiError | undefined {
    if (c.maxCount >= this.serverCap) {
      // More events at one timestamp than the server returns in one call: cannot be paged by time.
      return new PiError('PI_LIMIT_EXCEEDED', `more than ${c.maxCount} events share one timestamp and the server returns at most ${this.serverCap} per call`);
    }
    this.push({ ...c, maxCount: Math.min(maxCount, this.serverCap), pinned: true });
    return undefined;
  }

  /** After `c`'s page over [c.start, winEnd] was applied: its next page queued; false when its reads are over. */
  follow(c: Cursor, winEnd: number, page: AppliedPage): boolean {
    if (page.kind !== 'more' && winEnd >= this.end) return false;
    // Two successes in a row after a timeout grow the window back (at split 0: to the end);
    // one would make a window that just timed out alternate with its half.
    // Never back to a size that timed out: it would most likely time out again.
    const grow = c.split > 0 && c.streak >= 1 && (c.timedOut === undefined || c.span * 2 < c.timedOut);
    const split = grow ? c.split - 1 : c.split;
    const span = grow ? c.span * 2 : c.span;
    const reread = c.reread && !page.rereadDone;
    const next: Cursor = {
      tag: c.tag,
      pos0: c.pos0,
      pos: page.next.pos,
      start: page.pageNext,
      rate: page.next.rate,
      reread,
      maxCount: c.maxCount,
      split,
      span,
      streak: grow ? 0 : c.streak + 1,
    };
    if (c.full) next.full = true;
    if (c.timedOut !== undefined) next.timedOut = c.timedOut;
    this.push(next);
    return true;
  }
}
