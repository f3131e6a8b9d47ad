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
 */
import type { Row } from '../../batch/tables.js';
import type { DigestEntry, TagProgress } from './digest.js';
import { hashValue, NULL_VALUE, timeseriesRow, typeValue, type PiValueItem } from './values.js';

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
      /** For 'more': where the next page starts (inclusive). */
      next: number;
    };

interface Event {
  ts: number;
  item: PiValueItem;
}

export function applyPage(p: PageInput): PageResult {
  const truncated = p.items.length >= p.maxCount;
  // PI resolves startTime more coarsely than 1 µs (PI time, fidelity §4), so a start of pos = t + 1 µs
  // can return the event at t again. Everything before start is covered by earlier pages: drop it.
  let events: Event[] = p.items.map((item) => ({ ts: p.parseTime(item.Timestamp), item })).filter((e) => e.ts >= p.start);
  let coveredEnd: number; // exclusive
  if (truncated) {
    if (events.length === 0) return { kind: 'grow', maxCount: p.maxCount * 4 };
    const last = events[events.length - 1]!.ts;
    let cut = events.length;
    while (cut > 0 && events[cut - 1]!.ts === last) cut--;
    if (cut === 0) return { kind: 'grow', maxCount: p.maxCount * 4 };
    events = events.slice(0, cut);
    coveredEnd = last;
  } else {
    coveredEnd = p.end + 1;
  }

  // Previously sent events inside the covered range, by (ts, ordinal).
  const old = new Map<string, number>();
  const kept: DigestEntry[] = [];
  let prevTs = NaN;
  let ord = 0;
  for (const e of p.progress.digest) {
    ord = e.ts === prevTs ? ord + 1 : 0;
    prevTs = e.ts;
    if (e.ts >= p.start && e.ts < coveredEnd) old.set(`${e.ts}:${ord}`, e.hash);
    else kept.push(e);
  }

  const rows: Row[] = [];
  let inserts = 0;
  let updates = 0;
  const fresh: DigestEntry[] = [];
  prevTs = NaN;
  ord = 0;
  for (const e of events) {
    ord = e.ts === prevTs ? ord + 1 : 0;
    prevTs = e.ts;
    const v = typeValue(e.item, p.pointType, p.streamUnits, p.parseTime);
    const hash = hashValue(v);
    fresh.push({ ts: e.ts, hash });
    const key = `${e.ts}:${ord}`;
    const before = old.get(key);
    if (before === undefined) {
      const replay = p.progress.replayUntil !== undefined && e.ts < p.progress.replayUntil;
      rows.push(timeseriesRow(p.site, p.webId, e.ts, ord, v, p.ingestedAt, replay ? 'update' : 'insert'));
      inserts++;
    } else {
      old.delete(key);
      if (before !== hash) {
        rows.push(timeseriesRow(p.site, p.webId, e.ts, ord, v, p.ingestedAt, 'update'));
        updates++;
      }
    }
  }
  for (const key of old.keys()) {
    const [ts, o] = key.split(':').map(Number) as [number, number];
    rows.push(timeseriesRow(p.site, p.webId, ts, o, NULL_VALUE, p.ingestedAt, 'delete'));
  }
  const deletes = old.size;

  const pos = Math.max(p.progress.pos ?? -Infinity, coveredEnd);
  const retainFrom = Math.min(pos, p.horizon);
  const digest = [...kept, ...fresh].filter((e) => e.ts >= retainFrom).sort((a, b) => a.ts - b.ts);
  // Array.prototype.sort is stable: same-timestamp events keep archive order (their ordinal).
  const progress: TagProgress = { pos, digest };
  if (p.progress.replayUntil !== undefined && pos <= p.progress.replayUntil) progress.replayUntil = p.progress.replayUntil;
  return {
    kind: truncated ? 'more' : 'done',
    rows,
    inserts,
    updates,
    deletes,
    progress,
    next: coveredEnd,
  };
}
