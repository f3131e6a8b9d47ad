/**
 * One page of recorded values for one tag → change rows and the tag's next progress.
 *
 * Paging (fidelity §3): a page with `maxCount` items may be truncated. Drop every item at the last
 * timestamp t and continue from t inclusive, so same-timestamp siblings are neither lost nor
 * duplicated. If the whole page shares one timestamp, ask again with a larger maxCount.
 *
 * Changes: the page covers [start, coveredEnd). Events in that range are compared with the digest of
 * what was sent before, by (timestamp, ordinal): new → insert, different content → update, gone →
 * delete. Unchanged events produce nothing.
 *
 * This runs once per value during a catch-up, so it avoids per-value garbage: timestamps are parsed
 * once into an array, old and new events are merge-joined (both are in (timestamp, ordinal) order),
 * and an event is hashed only when it is compared with an old one or kept in the digest (at or after
 * the horizon): catch-up events older than the lookback horizon cost no hash.
 */
import type { Row } from '../../batch/tables.js';
import type { DigestEntry, TagProgress } from './digest.js';
import { eventRow, hashValue, NULL_VALUE, timeseriesRow, type PiValueItem } from './values.js';

export interface PageInput {
  site: string;
  webId: string;
  pointType: string | undefined;
  streamUnits: string | undefined;
  /** Request window, µs, both inclusive (PI `Inside` boundary). */
  start: number;
  end: number;
  maxCount: number;
  items: PiValueItem[];
  progress: TagProgress;
  /** Digest entries older than min(new pos, this) are forgotten (the lookback horizon). */
  horizon: number;
  ingestedAt: number;
  parseTime: (s: string) => number;
}

export type PageResult =
  | { kind: 'grow'; maxCount: number }
  | {
      kind: 'done' | 'more';
      rows: Row[];
      inserts: number;
      updates: number;
      deletes: number;
      progress: TagProgress;
      /** Where the next page starts (inclusive); for 'done', end + 1. */
      next: number;
      /** Events of the window that this page covers (after dropping the truncated last timestamp). */
      events: number;
    };

export function applyPage(p: PageInput): PageResult {
  const truncated = p.items.length >= p.maxCount;
  const e = pageEvents(p, truncated);
  if (e === undefined) return { kind: 'grow', maxCount: p.maxCount * 4 };
  const pos = Math.max(p.progress.pos ?? -Infinity, e.coveredEnd);
  const c = compareWithDigest(p, e, Math.min(pos, p.horizon));
  const progress: TagProgress = { ...p.progress, pos, digest: c.digest };
  if (p.progress.replayUntil !== undefined && pos > p.progress.replayUntil) delete progress.replayUntil;
  return {
    kind: truncated ? 'more' : 'done',
    rows: c.rows,
    inserts: c.inserts,
    updates: c.updates,
    deletes: c.deletes,
    progress,
    next: e.coveredEnd,
    events: e.n,
  };
}

/** A page's events from its start on, timestamps parsed once. */
interface PageEvents {
  ts: number[];
  kept: PiValueItem[];
  /** Events of the window this page covers (after dropping a truncated page's last timestamp). */
  n: number;
  /** Where what the page covers ends (exclusive). */
  coveredEnd: number;
}

/** The page's events and how far they cover; undefined when a truncated page holds one timestamp only (grow). */
function pageEvents(p: PageInput, truncated: boolean): PageEvents | undefined {
  const items = p.items;
  // PI resolves startTime more coarsely than 1 µs (PI time, fidelity §4), so a start of pos = t + 1 µs
  // can return the event at t again. Everything before start is covered by earlier pages: drop it.
  const ts: number[] = [];
  const kept: PiValueItem[] = [];
  for (let i = 0; i < items.length; i++) {
    const t = p.parseTime(items[i]!.Timestamp);
    if (t >= p.start) {
      ts.push(t);
      kept.push(items[i]!);
    }
  }
  let n = ts.length;
  if (!truncated) return { ts, kept, n, coveredEnd: p.end + 1 };
  if (n === 0) return undefined;
  const last = ts[n - 1]!;
  while (n > 0 && ts[n - 1] === last) n--;
  if (n === 0) return undefined;
  return { ts, kept, n, coveredEnd: last };
}

/** The change rows of a page's events against the old digest, and the digest after them. */
interface Changes {
  rows: Row[];
  inserts: number;
  updates: number;
  deletes: number;
  /** Entries at or after `retainFrom`: the old ones outside the page, the page's own. */
  digest: DigestEntry[];
}

/** Merge-joins the page's events [start, coveredEnd) with the old digest's entries there, by (timestamp, ordinal). */
function compareWithDigest(p: PageInput, e: PageEvents, retainFrom: number): Changes {
  const { ts, kept, n, coveredEnd } = e;
  const type = p.pointType?.toLowerCase();
  const replayUntil = p.progress.replayUntil;

  // The old digest splits into entries before the page, inside it (compared) and after it.
  const digest = p.progress.digest;
  let a = 0;
  while (a < digest.length && digest[a]!.ts < p.start) a++;
  let b = a;
  while (b < digest.length && digest[b]!.ts < coveredEnd) b++;

  const next: DigestEntry[] = [];
  for (let k = 0; k < a; k++) if (digest[k]!.ts >= retainFrom) next.push(digest[k]!);

  const rows: Row[] = [];
  let inserts = 0;
  let updates = 0;
  let deletes = 0;
  // Merge-join by (ts, ordinal): i over new events, j over old entries [a, b).
  let j = a;
  let oldOrd = 0;
  let oldPrev = NaN;
  let prev = NaN;
  let ord = 0;
  const deleteRow = (d: DigestEntry, o: number): void => {
    rows.push(timeseriesRow(p.site, p.webId, d.ts, o, NULL_VALUE, p.ingestedAt, 'delete'));
    deletes++;
  };
  // Ordinal of the old entry at j (same-timestamp entries are consecutive; a group never straddles `a`).
  const ordAt = (k: number): number => {
    oldOrd = digest[k]!.ts === oldPrev ? oldOrd + 1 : 0;
    oldPrev = digest[k]!.ts;
    return oldOrd;
  };
  let jOrd = j < b ? ordAt(j) : 0;
  for (let i = 0; i < n; i++) {
    const t = ts[i]!;
    ord = t === prev ? ord + 1 : 0;
    prev = t;
    // Old entries before this event are gone.
    while (j < b && (digest[j]!.ts < t || (digest[j]!.ts === t && jOrd < ord))) {
      deleteRow(digest[j]!, jOrd);
      j++;
      if (j < b) jOrd = ordAt(j);
    }
    const match = j < b && digest[j]!.ts === t && jOrd === ord;
    const keep = t >= retainFrom;
    if (!match && !keep) {
      const replay = replayUntil !== undefined && t < replayUntil;
      rows.push(eventRow(p.site, p.webId, t, ord, kept[i]!, type, p.streamUnits, p.parseTime, p.ingestedAt, replay ? 'update' : 'insert'));
      inserts++;
      continue;
    }
    const row = eventRow(p.site, p.webId, t, ord, kept[i]!, type, p.streamUnits, p.parseTime, p.ingestedAt, 'insert');
    const hash = hashValue(row);
    if (keep) next.push({ ts: t, hash });
    if (match) {
      if (digest[j]!.hash !== hash) {
        row.op = 'update';
        rows.push(row);
        updates++;
      }
      j++;
      if (j < b) jOrd = ordAt(j);
    } else {
      if (replayUntil !== undefined && t < replayUntil) row.op = 'update';
      rows.push(row);
      inserts++;
    }
  }
  while (j < b) {
    deleteRow(digest[j]!, jOrd);
    j++;
    if (j < b) jOrd = ordAt(j);
  }
  for (let k = b; k < digest.length; k++) if (digest[k]!.ts >= retainFrom) next.push(digest[k]!);
  return { rows, inserts, updates, deletes, digest: next };
}
