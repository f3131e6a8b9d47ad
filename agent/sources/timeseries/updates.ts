/**
 * Stream updates as a change detector for what the lookback re-read cannot see (piwebapi-fidelity.md
 * §8, design.md "Time series correctness").
 *
 * The re-read of the lookback window (extract.ts) finds late data, edits and deletions whose
 * timestamps are inside the window it re-reads. A change further back (a backfilled day, an edit of
 * last month's value) is invisible to it. Where PI Web API has stream updates, each tag is registered
 * and polled right before each of its re-reads: every change PI reports since the previous poll whose
 * timestamp is before that re-read's start is read back from PI at its timestamp(s) and sent as
 * upserts (and deletes for removed events), then counted and reported. Changes at or after the start
 * are left to the re-read (it runs right after and compares with the digest), so nothing is handled
 * twice and appends that the watermark reads already carried cost nothing.
 *
 * A poll is one `/batch` of per-stream sub-requests per `tags_per_request` tags. With an interval
 * (`lookback_every: 15m`) a tag is polled only before its re-reads, and the cycles in between read
 * from the watermark. With `lookback_every: auto` (the default, `everyCycle`) every tag with a marker
 * is polled and re-read every cycle, narrowed and read ahead (below); tags without one (PI refused
 * them, the server has no stream updates) keep to the interval.
 *
 * Narrowed re-reads: the same poll also says where in the window something changed. When the tag's
 * marker chain is unbroken since its last completed re-read (PI issued the marker polled at or before
 * that re-read ran: what changed before, the re-read saw; what changed after, this poll reports), the
 * re-read may start at the oldest timestamp the poll reports at or after its start, Add, Update or
 * Remove alike (`narrowFrom`; Infinity when none: the re-read reads on from the watermark). A failed
 * poll, a lost marker, a failed or unfinished re-read (its marker is then newer than its last re-read)
 * make the next re-read whole, and so does `lookback_full_every`: a check of the window that does
 * not rely on stream updates at all, due once per period at a phase of each tag's own (`wholeDue`),
 * so that a few tags re-read their whole window each cycle rather than all of them in one cycle.
 *
 * Read ahead (`readAhead`): such a tag's poll carries a read of the tag from its watermark in the
 * same `/batch`, as a child of the poll (ParentIds: PI runs it after the poll, so whatever the poll
 * did not report was in the archive when the read ran). When the poll reports nothing behind the
 * watermark, that read is the tag's whole narrowed re-read: its page, head and next marker commit
 * together here, and the extraction only continues it if it came back truncated. A whole-window
 * re-read rides along the same way when one page can hold the window and the poll reports nothing
 * before it (else the extraction reads it). Polling every cycle
 * (`lookback_every: auto` or `0s`), a cycle then costs one request per `tags_per_request` tags.
 *
 * Exactly once: the tag's next marker is committed in the same transaction as the rows of the last
 * page that completes its changes; a crash re-polls from the old marker and the rows, all upserts and
 * deletes by key, land again harmlessly. A marker PI no longer knows (404 "Cache not found", 409) is
 * re-registered; changes made in that gap before the re-read's start cannot be seen, and are reported
 * as such. Servers without stream updates are reported too: there, only the lookback window is
 * checked.
 */
import type { Row } from '../../batch/tables.js';
import { PiError } from '../../errors.js';
import type { PollOutcome, RegisterOutcome } from '../../pi/updates.js';
import { progressHead, type StoredTagProgress } from './digest.js';
import { applyReadAhead, askForWindow, progressKey, readStart, type ExtractOptions, type RecordedRequest, type RecordedResult, type TagRef } from './extract.js';
import { eventRow, NULL_VALUE, timeseriesRow, type PiValueItem } from './values.js';

/** A stream to poll; `read`: a recorded read that PI runs after the poll, in the same request. */
export interface PollItem {
  webId: string;
  marker: string;
  read?: RecordedRequest;
}

/** A poll's outcome and, when it succeeded, the read asked with it. */
export type PolledStream = PollOutcome & { read?: RecordedResult };

/** PI's stream-updates calls, per webId (agent/pi/updates.ts over a client). */
export interface UpdatesFeed {
  register(webIds: string[]): Promise<Map<string, RegisterOutcome>>;
  poll(items: PollItem[]): Promise<Map<string, PolledStream>>;
}

/** Progress key of a tag's marker. */
export const markerKey = (webId: string): string => `su:${webId}`;
/** Progress key of the feed's state (what status reports). */
export const UPDATES_STATE_KEY = 'updates:state';

/**
 * A tag's stream-updates progress: its marker; `a` PI's clock (µs) when PI issued it (registration or
 * poll); `r` its last poll failed (poll again next cycle); `x` PI refused to register it.
 */
interface MarkerProgress {
  m?: string;
  a?: number;
  r?: 1;
  x?: 1;
}

export interface UpdatesState {
  /** Changes older than the re-read window found through stream updates and sent, in all. */
  late_changes: number;
  /** The most recent of them: tag WebID, event timestamp (ISO), when it was found (ISO). */
  last_late?: { tag: string; timestamp: string; action: string; at: string };
  /** Markers PI had forgotten (re-registered): how many, when last. */
  lost?: { count: number; at: string };
  /** Set while the server has no stream updates: why, and since when (ISO). */
  unsupported?: { reason: string; at: string };
  /** Tags PI would not register (e.g. no read access to the point's data), last seen. */
  unregistered?: { count: number; at: string; reason: string };
}

/** The extraction's own options (the same tags, clock, window and request sizes) and the feed. */
export type ReconcileOptions = Pick<ExtractOptions,
  'site' | 'tags' | 'reader' | 'store' | 'nowUs' | 'startUs' | 'lookbackUs' | 'lookbackEveryUs' | 'parseTime'
  | 'tagsPerRequest' | 'maxCount' | 'maxValuesPerRequest' | 'progressPrefix' | 'digestBucketUs' | 'insertOp' | 'signal'>
  & Partial<Pick<ExtractOptions, 'concurrency'>> & {
  feed: UpdatesFeed;
  /**
   * Read ahead: with each poll of a tag whose re-read may be narrowed, read the tag from its
   * watermark in the same `/batch`, run by PI after the poll. When the poll reports no change behind
   * the watermark, that read is the tag's whole narrowed re-read, committed here with the tag's next
   * marker, and the cycle costs no request beyond the poll's for it.
   */
  readAhead?: boolean;
  /**
   * `lookback_every: auto`: every tag with a marker is polled and re-reads this cycle whatever
   * `lookbackEveryUs` says (narrowed, or whole when it may not be: narrowFrom -Infinity); tags
   * without one keep to `lookbackEveryUs`.
   */
  everyCycle?: boolean;
  /**
   * The whole lookback window is re-read at least this often (µs, PI clock); in between, a tag's
   * re-read starts at the oldest change its poll reported (`narrowFrom`). 0 or absent: always whole.
   */
  lookbackFullEveryUs?: number;
  /** Wall clock for the state's times (tests). */
  now?: () => Date;
};

export interface LateChange {
  webId: string;
  timestampUs: number;
  action: string;
}

export interface ReconcileResult {
  /** Tags whose markers were polled. */
  polled: number;
  /** Tags registered (first time, or again after a lost marker). */
  registered: number;
  /** Markers PI no longer knew. */
  lost: number;
  /** Changes before the re-read's start, found and sent. */
  lateChanges: number;
  /** Their rows: upserts and deletes. */
  updates: number;
  deletes: number;
  /** The first few late changes (for the log). */
  sample: LateChange[];
  /** Tags whose poll, registration or read-back failed: their marker did not move. */
  errors: Map<string, Error>;
  /** Set when the server has no stream updates (nothing else was done). */
  unsupported?: PiError;
  requests: number;
  /** Tags whose re-read was read ahead with their poll and committed here; their values and rows. */
  readAhead: number;
  /** Of them, whole-window re-reads (the others were narrowed). */
  readAheadWhole: number;
  readAheadValues: number;
  readAheadRows: { inserts: number; updates: number; deletes: number };
  /**
   * Tags whose re-read due this cycle may start at the oldest change PI reported in its window
   * (extract.ts `narrowFrom`): WebID → that timestamp (µs), Infinity when PI reported none.
   */
  narrowFrom: Map<string, number>;
}

/** Changed timestamps closer than this are read back as one range (one sub-request, not many). */
const MERGE_GAP_US = 10 * 60 * 1_000_000;
const SAMPLE = 10;
/** Events one poll request may carry, in units of the extraction's values per request. */
const POLL_BUDGET = 4;
/**
 * Values the reads in one poll's `/batch` may ask for, in units of the extraction's values per
 * request. Most are short (since the watermark), where an ask's margin (a fifth + 20) is most of
 * it: a minute of 5-second data asks 35 for 12 expected, so twice the budget in asks holds fewer
 * values than one extraction request, and 200 such tags stay one poll with room for a late cycle.
 */
const READ_AHEAD_BUDGET = 2;
/** A server without stream updates is asked again after this long (wall time): it may be upgraded. */
const UNSUPPORTED_RETRY_MS = 60 * 60 * 1000;

interface Pending {
  webId: string;
  pointType: string | undefined;
  /** The marker to commit once every range is read back. */
  marker: string;
  /** The marker polled: kept if the read-back fails. */
  oldMarker: string;
  /** When PI issued the old marker (µs, PI clock). */
  issued: number | undefined;
  /** Ranges still to read, [start, end] µs inclusive. */
  ranges: [number, number][];
  /** The timestamps PI reported changes at: only their events are sent (a range merges nearby ones). */
  changed: Set<number>;
  /** Removes per timestamp: deletes for the ordinals past what PI still holds there. */
  removes: Map<number, number>;
  /** Events counted at each removed timestamp, over the ranges read so far. */
  counts: Map<number, number>;
  maxCount: number;
  failed?: Error;
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

export async function reconcileUpdates(o: ReconcileOptions): Promise<ReconcileResult> {
  const prefix = o.progressPrefix ?? 'ts:';
  const r: ReconcileResult = { polled: 0, registered: 0, lost: 0, lateChanges: 0, updates: 0, deletes: 0, sample: [], errors: new Map(), requests: 0, narrowFrom: new Map(), readAhead: 0, readAheadWhole: 0, readAheadValues: 0, readAheadRows: { inserts: 0, updates: 0, deletes: 0 } };
  const wallNow = (o.now ?? (() => new Date()))().toISOString();
  const stored = o.store.getProgress<UpdatesState>(UPDATES_STATE_KEY);
  const state: UpdatesState = { late_changes: 0, ...(stored ?? {}) };
  if (state.unsupported && Date.parse(wallNow) - Date.parse(state.unsupported.at) < UNSUPPORTED_RETRY_MS) {
    r.unsupported = new PiError('PI_NOT_FOUND', state.unsupported.reason);
    return r;
  }
  const stopped = (): boolean => o.signal?.aborted === true || o.store.isBufferFull();

  // Polled: tags whose lookback re-read is due this cycle (where it will start), and tags whose last
  // poll or read-back failed (from where a re-read due now would start: changes at or after it were
  // covered by the last re-read or will be by the next). Registered: tags without a marker (those PI
  // refused, only before their re-reads).
  const toPoll: { tag: TagRef; start: number; marker: string; issued: number | undefined; narrow: boolean; expect: number; ahead?: RecordedRequest; pos: number }[] = [];
  const fullEveryUs = o.lookbackFullEveryUs ?? 0;
  /** readStart's window for a re-read due whatever the interval says. */
  const dueNow = { nowUs: o.nowUs, startUs: o.startUs, lookbackUs: o.lookbackUs, lookbackEveryUs: 0 };
  const toRegister: string[] = [];
  for (const tag of o.tags) {
    const head = progressHead(o.store.getProgress<StoredTagProgress>(progressKey(prefix, tag.webId)));
    const su = o.store.getProgress<MarkerProgress>(markerKey(tag.webId));
    const polledEveryCycle = o.everyCycle === true && su?.m !== undefined;
    const every = polledEveryCycle ? 0 : (o.lookbackEveryUs ?? 0);
    const { start, reread } = readStart(head, polledEveryCycle ? dueNow : o);
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
    const narrow = reread && fullEveryUs > 0 && su.a !== undefined && head.lastReread !== undefined && su.a <= head.lastReread
      && !wholeDue(tag.webId, head.lastFull, o.nowUs, fullEveryUs);
    const item: (typeof toPoll)[number] = { tag, start: reread ? start : readStart(head, dueNow).start, marker: su.m, issued: su.a, narrow, expect, pos: head.pos };
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
  /** Keep a failed tag's marker and poll it again next cycle. */
  const retryLater = (items: { webId: string; marker: string; issued: number | undefined }[]): void => {
    const value = (it: { marker: string; issued: number | undefined }): MarkerProgress => (it.issued === undefined ? { m: it.marker, r: 1 } : { m: it.marker, a: it.issued, r: 1 });
    if (items.length > 0) o.store.commitStep([], items.map((it) => ({ key: markerKey(it.webId), value: value(it) })));
  };

  // A poll answers every event since the marker, with no maxCount: fast tags go fewer to a request,
  // so that one answer stays near POLL_BUDGET × maxValuesPerRequest events (each is Action and
  // Timestamp only, a fraction of a recorded value).
  const pollBudget = POLL_BUDGET * o.maxValuesPerRequest;
  const readAheadBudget = READ_AHEAD_BUDGET * o.maxValuesPerRequest;
  const chunks: (typeof toPoll)[] = [];
  for (let i = 0; i < toPoll.length;) {
    let n = 0;
    let events = 0;
    let values = 0;
    for (; i + n < toPoll.length && n < o.tagsPerRequest; n++) {
      const next = toPoll[i + n]!;
      const ask = next.ahead?.maxCount ?? 0;
      // Read-ahead asks count against their own budget (memory bound).
      if (n > 0 && (events + next.expect > pollBudget || values + ask > readAheadBudget)) break;
      events += next.expect;
      values += ask;
    }
    chunks.push(toPoll.slice(i, i + n));
    i += n;
  }
  toPoll.length = 0;
  // Up to `concurrency` polls in flight, as the extraction's reads (each chunk commits on its own).
  let nextChunk = 0;
  const worker = async (): Promise<void> => {
    while (nextChunk < chunks.length && !stopped()) await pollChunk(chunks[nextChunk++]!);
  };
  const pollChunk = async (chunk: (typeof chunks)[number]): Promise<void> => {
    r.requests++;
    let polled: Map<string, PolledStream>;
    try {
      polled = await o.feed.poll(chunk.map((c) => (c.ahead ? { webId: c.tag.webId, marker: c.marker, read: c.ahead } : { webId: c.tag.webId, marker: c.marker })));
    } catch (err) {
      // The whole request failed (PI unreachable...): these markers stay; the re-read still runs.
      for (const c of chunk) r.errors.set(c.tag.webId, err instanceof Error ? err : new Error(String(err)));
      retryLater(chunk.map((c) => ({ webId: c.tag.webId, marker: c.marker, issued: c.issued })));
      return;
    }
    const pending: Pending[] = [];
    const failed: { webId: string; marker: string; issued: number | undefined }[] = [];
    const aheadRows: Row[] = [];
    const aheadProgress: { key: string; value: unknown }[] = [];
    const aheadDeletes: string[] = [];
    for (const c of chunk) {
      const out = polled.get(c.tag.webId);
      r.polled++;
      if (!out || out.kind === 'error') {
        r.errors.set(c.tag.webId, out?.error ?? new Error('no answer for this stream'));
        failed.push({ webId: c.tag.webId, marker: c.marker, issued: c.issued });
        continue;
      }
      if (out.kind === 'lost') {
        r.lost++;
        toRegister.push(c.tag.webId);
        continue;
      }
      const p: Pending = { webId: c.tag.webId, pointType: c.tag.pointType, marker: out.marker, oldMarker: c.marker, issued: c.issued, ranges: [], changed: new Set(), removes: new Map(), counts: new Map(), maxCount: o.maxCount };
      const times: number[] = [];
      let oldest = Number.POSITIVE_INFINITY;
      for (const ev of out.events) {
        const t = o.parseTime(ev.timestamp);
        // At or after the start the re-read sees it; before the configured start it is out of scope.
        if (!(t < c.start)) {
          if (t < oldest) oldest = t;
          continue;
        }
        if (t < o.startUs) continue;
        times.push(t);
        p.changed.add(t);
        if (ev.action === 'Remove') p.removes.set(t, (p.removes.get(t) ?? 0) + 1);
        r.lateChanges++;
        state.late_changes++;
        state.last_late = { tag: c.tag.webId, timestamp: new Date(t / 1000).toISOString(), action: ev.action, at: wallNow };
        if (r.sample.length < SAMPLE) r.sample.push({ webId: c.tag.webId, timestampUs: t, action: ev.action });
      }
      times.sort((a, b) => a - b);
      for (const t of times) {
        const last = p.ranges[p.ranges.length - 1];
        if (last && t - last[1] <= MERGE_GAP_US) last[1] = Math.max(last[1], t);
        else p.ranges.push([t, t]);
      }
      const rd = out.read;
      if (c.ahead && rd && !rd.error && times.length === 0 && (!c.narrow || oldest >= c.ahead.startUs)) {
        // Nothing changed before the read's start (behind the watermark, or before the window): the
        // read PI ran after this poll is the tag's re-read (narrowed, or whole when it is all there).
        // Its page, head and the next marker commit together.
        const page = applyReadAhead(o, c.tag, c.ahead, rd, { pos0: c.pos, full: !c.narrow });
        if (page && (c.narrow || (page.kind === 'done' && page.rereadDone))) {
          for (const row of page.rows) aheadRows.push(row);
          for (const pr of page.progress) aheadProgress.push(pr);
          for (const k of page.deleteKeys) aheadDeletes.push(k);
          aheadProgress.push({ key: markerKey(c.tag.webId), value: { m: out.marker, a: o.nowUs } });
          r.readAhead++;
          r.readAheadValues += rd.items.length;
          r.readAheadRows.inserts += page.inserts;
          r.readAheadRows.updates += page.updates;
          r.readAheadRows.deletes += page.deletes;
          if (!c.narrow) r.readAheadWhole++;
          // The extraction reads on from the new watermark (nothing, unless this page was truncated).
          r.narrowFrom.set(c.tag.webId, Number.POSITIVE_INFINITY);
          continue;
        }
      }
      if (c.narrow) {
        r.narrowFrom.set(c.tag.webId, oldest);
      } else if (o.everyCycle) {
        // Due by this poll, not by the interval: the extraction re-reads the whole window.
        r.narrowFrom.set(c.tag.webId, Number.NEGATIVE_INFINITY);
      }
      pending.push(p);
    }
    if (aheadProgress.length > 0) o.store.commitStep(aheadRows.length > 0 ? [{ table: 'pi_timeseries', rows: aheadRows }] : [], aheadProgress, aheadDeletes);
    retryLater(failed);
    await readBack(o, pending, r);
    retryLater(pending.filter((p) => p.failed).map((p) => ({ webId: p.webId, marker: p.oldMarker, issued: p.issued })));
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency ?? 1, chunks.length)) }, worker));

  // Registration: tags new to the feed, and those whose markers PI lost.
  let unsupported: PiError | undefined;
  let refused = 0;
  let refusedReason = '';
  for (let i = 0; i < toRegister.length && !stopped() && !unsupported; i += o.tagsPerRequest) {
    const chunk = toRegister.slice(i, i + o.tagsPerRequest);
    r.requests++;
    let reg: Map<string, RegisterOutcome>;
    try {
      reg = await o.feed.register(chunk);
    } catch (err) {
      for (const w of chunk) r.errors.set(w, err instanceof Error ? err : new Error(String(err)));
      continue;
    }
    const progress: { key: string; value: unknown }[] = [];
    for (const w of chunk) {
      const out = reg.get(w);
      if (out?.kind === 'ok') {
        progress.push({ key: markerKey(w), value: { m: out.marker, a: o.nowUs } });
        r.registered++;
      } else if (out?.kind === 'unsupported') {
        unsupported = out.error;
      } else {
        refused++;
        refusedReason ||= out?.error.message ?? 'no answer for this stream';
        // Asked again before the tag's next re-read, not every cycle.
        progress.push({ key: markerKey(w), value: { x: 1 } });
        r.errors.set(w, out?.error ?? new Error('no answer for this stream'));
      }
    }
    if (progress.length > 0) o.store.commitStep([], progress);
  }
  if (unsupported && r.registered === 0 && r.polled === 0) {
    r.unsupported = unsupported;
    state.unsupported = { reason: unsupported.message, at: wallNow };
  } else if (r.registered > 0 || r.polled > 0) delete state.unsupported;
  if (refused > 0) state.unregistered = { count: refused, at: wallNow, reason: refusedReason };
  else if (r.registered > 0) delete state.unregistered;
  if (r.lost > 0) state.lost = { count: (state.lost?.count ?? 0) + r.lost, at: wallNow };
  // Written only when it changed: a steady cycle commits nothing here.
  if (JSON.stringify(state) !== JSON.stringify(stored)) o.store.commitStep([], [{ key: UPDATES_STATE_KEY, value: state }]);
  return r;
}

/**
 * Read back the changed ranges of a chunk's tags and commit them with the tags' new markers: a tag's
 * marker moves with the page that completes its last range; a tag whose read fails keeps its marker.
 */
async function readBack(o: ReconcileOptions, pending: Pending[], r: ReconcileResult): Promise<void> {
  const ingestedAt = Date.now() * 1000;
  // Tags with nothing to read back only move their markers.
  const quiet = pending.filter((p) => p.ranges.length === 0);
  if (quiet.length > 0) o.store.commitStep([], quiet.map((p) => ({ key: markerKey(p.webId), value: { m: p.marker, a: o.nowUs } })));
  let open = pending.filter((p) => p.ranges.length > 0);
  while (open.length > 0) {
    if (o.signal?.aborted) return;
    const group = open.slice(0, o.tagsPerRequest);
    const share = Math.max(100, Math.floor(o.maxValuesPerRequest / group.length));
    const reqs: RecordedRequest[] = group.map((p) => ({ webId: p.webId, startUs: p.ranges[0]![0], endUs: p.ranges[0]![1], maxCount: Math.max(p.maxCount === o.maxCount ? Math.min(o.maxCount, share) : p.maxCount, 1) }));
    r.requests++;
    let results;
    try {
      results = await o.reader.read(reqs);
    } catch (err) {
      for (const p of group) p.failed = err instanceof Error ? err : new Error(String(err));
      results = undefined;
    }
    const rows: Row[] = [];
    const progress: { key: string; value: unknown }[] = [];
    group.forEach((p, i) => {
      if (p.failed) return;
      const res = results?.[i];
      const req = reqs[i]!;
      if (!res || res.error) {
        p.failed = res?.error ?? new Error('no result for this stream');
        return;
      }
      const [a, b] = p.ranges[0]!;
      const items: PiValueItem[] = [];
      const ts: number[] = [];
      for (const it of res.items) {
        const t = o.parseTime(it.Timestamp);
        if (t >= a && t <= b) {
          items.push(it);
          ts.push(t);
        }
      }
      let n = ts.length;
      if (res.items.length >= req.maxCount) {
        // Truncated (fidelity §3): drop the last timestamp and read on from it; one timestamp only: ask for more.
        const last = ts[n - 1];
        while (n > 0 && ts[n - 1] === last) n--;
        if (n === 0) {
          p.maxCount = req.maxCount * 4;
          return;
        }
        p.ranges[0] = [last!, b];
      } else p.ranges.shift();
      const type = p.pointType?.toLowerCase();
      let prev = NaN;
      let ord = 0;
      for (let k = 0; k < n; k++) {
        const t = ts[k]!;
        ord = t === prev ? ord + 1 : 0;
        prev = t;
        // Events between the changed timestamps came with the range read: unchanged, not sent.
        if (!p.changed.has(t)) continue;
        rows.push(eventRow(o.site, p.webId, t, ord, items[k]!, type, res.units, o.parseTime, ingestedAt, 'update'));
        r.updates++;
        if (p.removes.has(t)) p.counts.set(t, ord + 1);
      }
      if (p.ranges.length === 0) {
        // PI removed events at these timestamps: the rows past what it still holds there go.
        for (const [t, removed] of p.removes) {
          const held = p.counts.get(t) ?? 0;
          for (let k = 0; k < removed; k++) {
            rows.push(timeseriesRow(o.site, p.webId, t, held + k, NULL_VALUE, ingestedAt, 'delete'));
            r.deletes++;
          }
        }
        progress.push({ key: markerKey(p.webId), value: { m: p.marker, a: o.nowUs } });
      }
    });
    if (rows.length > 0 || progress.length > 0) o.store.commitStep(rows.length > 0 ? [{ table: 'pi_timeseries', rows }] : [], progress);
    for (const p of group) if (p.failed) r.errors.set(p.webId, p.failed);
    open = open.filter((p) => !p.failed && p.ranges.length > 0);
  }
}
