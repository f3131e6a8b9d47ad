/**
 * Polling stream updates (updates.ts): which tags are polled this cycle and how their polls are
 * grouped into requests (planPolls, chunkPolls), and what one poll's answer does (Poller): late
 * changes handed to their read-back (late.ts), where each tag's re-read may start (`narrowFrom`),
 * and the re-reads read ahead with their polls applied and committed with the tags' next markers.
 */
import { PageCommit, TagPages } from './apply.js';
import type { FeedState } from './feed-state.js';
import { addWhole, gatherLate, newPending, readBack, type Pending } from './late.js';
import { headSpace, MARKERS, progressHead, type MarkerProgress, type StoredTagProgress } from './progress.js';
import type { PolledStream, ReconcileOptions, ReconcileResult, RecordedRequest, TagRef } from './types.js';
import { askForWindow, dueNow, readStart } from './window.js';

/** Events one poll request may carry, in units of the extraction's values per request. */
const POLL_BUDGET = 4;
/**
 * Values the reads in one poll's `/batch` may ask for, in units of the extraction's values per
 * request. Most are short (since the watermark), where an ask's margin (a fifth + 20) is most of
 * it: a minute of 5-second data asks 35 for 12 expected, so twice the budget in asks holds fewer
 * values than one extraction request, and 200 such tags stay one poll with room for a late cycle.
 */
const READ_AHEAD_BUDGET = 2;

/** A tag to poll this cycle. */
export interface PollTarget {
  tag: TagRef;
  /** Where its re-read starts: late changes are those before. */
  start: number;
  marker: string;
  /** When PI issued the marker (µs, PI clock). */
  issued: number | undefined;
  /** Its re-read may start at the oldest change this poll reports (`narrowFrom`). */
  narrow: boolean;
  /** Events the poll is expected to carry. */
  expect: number;
  /** The read asked with the poll (read ahead). */
  ahead?: RecordedRequest;
  /** Its position (µs). */
  pos: number;
}

/**
 * Whether a tag's whole-window re-read is due (`lookback_full_every`): once per period, at a phase of
 * its own taken from its WebID, so that the whole re-reads of many tags spread over the period (a
 * few each cycle) instead of all landing in one cycle; never more than a period after the last.
 */
export function wholeDue(webId: string, lastFullUs: number | undefined, nowUs: number, everyUs: number): boolean {
  if (lastFullUs === undefined || everyUs <= 0) return true;
  const phase = (fnv1a(webId) / 2 ** 32) * everyUs;
  return Math.floor((nowUs + phase) / everyUs) > Math.floor((lastFullUs + phase) / everyUs);
}

/** 32-bit FNV-1a of a text's UTF-16 code units: a cheap, stable spread of WebIDs. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Polled: tags whose lookback re-read is due this cycle (where it will start), and tags whose last
 * poll or read-back failed (from where a re-read due now would start: changes at or after it were
 * covered by the last re-read or will be by the next). Registered: tags without a marker (those PI
 * refused, only before their re-reads).
 */
export function planPolls(o: ReconcileOptions): { toPoll: PollTarget[]; toRegister: string[] } {
  const toPoll: PollTarget[] = [];
  const toRegister: string[] = [];
  const space = headSpace(o.progressPrefix);
  const fullEveryUs = o.lookbackFullEveryUs ?? 0;
  /** readStart's window for a re-read due whatever the interval says. */
  const due = dueNow(o);
  for (const tag of o.tags) {
    const head = progressHead(o.store.getProgress<StoredTagProgress>(space.key(tag.webId)));
    const su = o.store.getProgress<MarkerProgress>(MARKERS.key(tag.webId));
    const polledEveryCycle = o.everyCycle === true && su?.m !== undefined;
    const every = polledEveryCycle ? 0 : (o.lookbackEveryUs ?? 0);
    const { start, reread } = readStart(head, polledEveryCycle ? due : o);
    if (!su?.m) {
      if (!su?.x || reread) toRegister.push(tag.webId);
      continue;
    }
    // A tag never read yet reads everything from the configured start: nothing to poll for.
    if (head.pos === null || (!reread && su.r !== 1)) continue;
    // Events the poll will carry: the tag's rate since its last poll (one before each re-read).
    const sinceUs = Math.max(every, head.lastReread === undefined ? 0 : o.nowUs - head.lastReread);
    const expect = Math.ceil(((head.rate ?? 0) * sinceUs) / 1e6);
    // The re-read may start at the oldest change this poll reports when the marker's chain covers
    // everything since the tag's last completed re-read (PI issued the marker before that re-read ran:
    // the re-read saw what changed before, the poll reports what changed after), and the whole window
    // is not due for its whole-window re-read (lookback_full_every: a safety net that does not rely
    // on stream updates).
    const narrow =
      reread &&
      fullEveryUs > 0 &&
      su.a !== undefined &&
      head.lastReread !== undefined &&
      su.a <= head.lastReread &&
      !wholeDue(tag.webId, head.lastFull, o.nowUs, fullEveryUs);
    const item: PollTarget = { tag, start: reread ? start : readStart(head, due).start, marker: su.m, issued: su.a, narrow, expect, pos: head.pos };
    if (reread && o.readAhead && head.pos <= o.nowUs) {
      if (narrow) {
        const maxCount = askForWindow(head.rate, o.nowUs - head.pos + 1, o.maxCount) ?? Math.min(o.maxCount, 100);
        item.ahead = { webId: tag.webId, startUs: head.pos, endUs: o.nowUs, maxCount };
      } else {
        // A whole re-read rides along too when one page can hold the window.
        const maxCount = askForWindow(head.rate, o.nowUs - start + 1, o.maxCount);
        if (maxCount !== undefined && maxCount < o.maxCount) item.ahead = { webId: tag.webId, startUs: start, endUs: o.nowUs, maxCount };
      }
    }
    toPoll.push(item);
  }
  return { toPoll, toRegister };
}

/**
 * The polls' requests: at most `tagsPerRequest` tags each. A poll answers every event since the
 * marker, with no maxCount: fast tags go fewer to a request, so that one answer stays near
 * POLL_BUDGET × maxValuesPerRequest events (each is Action and Timestamp only, a fraction of a
 * recorded value); the reads asked with them count against their own budget (memory bound).
 */
export function chunkPolls(toPoll: PollTarget[], o: Pick<ReconcileOptions, 'tagsPerRequest' | 'maxValuesPerRequest'>): PollTarget[][] {
  const pollBudget = POLL_BUDGET * o.maxValuesPerRequest;
  const readAheadBudget = READ_AHEAD_BUDGET * o.maxValuesPerRequest;
  const chunks: PollTarget[][] = [];
  for (let i = 0; i < toPoll.length;) {
    let n = 0;
    let events = 0;
    let values = 0;
    for (; i + n < toPoll.length && n < o.tagsPerRequest; n++) {
      const next = toPoll[i + n]!;
      const ask = next.ahead?.maxCount ?? 0;
      if (n > 0 && (events + next.expect > pollBudget || values + ask > readAheadBudget)) break;
      events += next.expect;
      values += ask;
    }
    chunks.push(toPoll.slice(i, i + n));
    i += n;
  }
  return chunks;
}

/** A failed tag's marker, kept to be polled again next cycle. */
interface Retry {
  webId: string;
  marker: string;
  issued: number | undefined;
}

/** Polls chunks of tags (each chunk commits on its own) into one ReconcileResult. */
export class Poller {
  private readonly pages: TagPages;

  /** `toRegister`: where tags whose markers PI lost are added, to be registered again. */
  constructor(
    private readonly o: ReconcileOptions,
    private readonly r: ReconcileResult,
    private readonly state: FeedState,
    private readonly toRegister: string[],
  ) {
    this.pages = new TagPages(o);
  }

  async poll(chunk: PollTarget[]): Promise<void> {
    const { o, r } = this;
    r.requests++;
    let polled: Map<string, PolledStream>;
    try {
      polled = await o.feed.poll(chunk.map((c) => (c.ahead ? { webId: c.tag.webId, marker: c.marker, read: c.ahead } : { webId: c.tag.webId, marker: c.marker })));
    } catch (err) {
      // The whole request failed (PI unreachable...): these markers stay; the re-read still runs.
      for (const c of chunk) r.errors.set(c.tag.webId, err instanceof Error ? err : new Error(String(err)));
      this.retryLater(chunk.map((c) => ({ webId: c.tag.webId, marker: c.marker, issued: c.issued })));
      return;
    }
    const pending: Pending[] = [];
    const failed: Retry[] = [];
    const ahead = new PageCommit();
    for (const c of chunk) {
      const p = this.answer(c, polled.get(c.tag.webId), ahead);
      if (p === 'failed') failed.push({ webId: c.tag.webId, marker: c.marker, issued: c.issued });
      else if (p !== undefined) pending.push(p);
    }
    ahead.commit(o.store);
    this.retryLater(failed);
    await readBack(o, pending, r);
    this.retryLater(pending.filter((p) => p.failed).map((p) => ({ webId: p.webId, marker: p.oldMarker, issued: p.issued })));
    // Ended signups whose gap is read back: registered again now.
    for (const p of pending) if (p.marker === undefined && !p.failed && p.ranges.length === 0) this.toRegister.push(p.webId);
  }

  /** Keep failed tags' markers and poll them again next cycle. */
  private retryLater(items: Retry[]): void {
    const value = (it: Retry): MarkerProgress => (it.issued === undefined ? { m: it.marker, r: 1 } : { m: it.marker, a: it.issued, r: 1 });
    if (items.length > 0)
      this.o.store.commitStep(
        [],
        items.map((it) => MARKERS.entry(it.webId, value(it))),
      );
  }

  /**
   * One tag's poll answer: its late changes to read back (Pending), or 'failed' (its marker stays),
   * or nothing more to do (a lost marker, to register again; a re-read read ahead, into `ahead`).
   */
  private answer(c: PollTarget, out: PolledStream | undefined, ahead: PageCommit): Pending | 'failed' | undefined {
    const { o, r } = this;
    r.polled++;
    if (!out || out.kind === 'error') {
      r.errors.set(c.tag.webId, out?.error ?? new Error('no answer for this stream'));
      return 'failed';
    }
    if (out.kind === 'lost') return this.lost(c, out);
    const p = newPending(c.tag.webId, c.tag.pointType, out.marker, c.marker, c.issued, o.maxCount);
    const oldest = gatherLate(p, out.events, c.start, o, r, this.state);
    if (this.readAhead(c, out, p.ranges.length === 0, oldest, ahead)) return undefined;
    if (c.narrow) {
      r.narrowFrom.set(c.tag.webId, oldest);
    } else if (o.everyCycle) {
      // Due by this poll, not by the interval: the extraction re-reads the whole window.
      r.narrowFrom.set(c.tag.webId, Number.NEGATIVE_INFINITY);
    }
    return p;
  }

  /**
   * A marker PI no longer knows, or a signup it ended (`Exception`; AVEVA "Stream Updates" topic:
   * register again). What the marker would have reported since PI issued it is unseen: the span from
   * then to the re-read's start (the re-read covers the rest) is read back whole, with any events PI
   * sent along, and the tag registered again once that read succeeds (else its old marker stays and
   * the next poll finds it gone again). Edits of values older than the marker made in the gap cannot
   * be found: status says so.
   */
  private lost(c: PollTarget, out: PolledStream & { kind: 'lost' }): Pending | undefined {
    const { o, r } = this;
    r.lost++;
    // PI's own words when it ended the signup (Exception); a forgotten marker says nothing new.
    this.state.lostReason = out.events ? out.error.message : undefined;
    const p = newPending(c.tag.webId, c.tag.pointType, undefined, c.marker, c.issued, o.maxCount);
    if (out.events) gatherLate(p, out.events, c.start, o, r, this.state);
    const from = Math.max(c.issued ?? c.start, o.startUs);
    if (from < c.start) addWhole(p, [from, c.start - 1]);
    if (p.ranges.length > 0) return p;
    this.toRegister.push(c.tag.webId);
    return undefined;
  }

  /**
   * When nothing changed before the read's start (behind the watermark, or before the window): the
   * read PI ran after this poll is the tag's re-read (narrowed, or whole when it is all there). Its
   * page, head and the next marker go into `ahead`, to commit together. False when it is not.
   */
  private readAhead(c: PollTarget, out: PolledStream & { kind: 'ok' }, noLate: boolean, oldest: number, ahead: PageCommit): boolean {
    const { o, r } = this;
    const rd = out.read;
    if (!c.ahead || !rd || rd.error || !noLate || (c.narrow && oldest < c.ahead.startUs)) return false;
    const page = this.pages.readAhead(c.tag, c.ahead, rd, { pos0: c.pos, full: !c.narrow });
    if (!page || !(c.narrow || (page.kind === 'done' && page.rereadDone))) return false;
    ahead.add(page);
    ahead.progress.push(MARKERS.entry(c.tag.webId, { m: out.marker, a: o.nowUs }));
    r.readAhead++;
    r.readAheadValues += rd.items.length;
    r.readAheadRows.inserts += page.inserts;
    r.readAheadRows.updates += page.updates;
    r.readAheadRows.deletes += page.deletes;
    if (!c.narrow) r.readAheadWhole++;
    // The extraction reads on from the new watermark (nothing, unless this page was truncated).
    r.narrowFrom.set(c.tag.webId, Number.POSITIVE_INFINITY);
    return true;
  }
}
