/**
 * The time-series source's progress (store/progress.ts): every key it reads, writes or deletes is
 * made here, from one of its spaces, and the value shapes stored under them are declared here.
 *
 * - `ts:<webId>` (LIVE): a tag's head (StoredTagProgress): its read position, re-read times, rate
 *   and the digest buckets it lists. A backfill of [start, end] keeps its own heads under
 *   `bf:<startUs>-<endUs>:<webId>` (backfillSpace), so live progress is untouched.
 * - `dg:<head key>@<bucket index>` (DIGEST_BUCKETS): a head's digest, in buckets of PI time
 *   (digest.ts); their own prefix, so a scan of `ts:` (or of a backfill's prefix) sees heads only.
 * - `su:<webId>` (MARKERS): a tag's stream-updates marker (updates.ts).
 * - `updates:state` (UPDATES_STATE): what `pi-agent status` reports about stream updates.
 * - `ur:<webId>` (UNREADABLE): a tag PI cannot serve, skipped until its metadata changes.
 *
 * The key strings are the store's on-disk format: they never change. And what the service does to
 * this progress (`pi-agent reset`, the end of a backfill) is here too: rewindTimeseries,
 * dropBackfillProgress.
 */
import { ProgressCell, ProgressSpace } from '../../store/progress.js';
import type { TagProgress } from './digest.js';
import type { TimeseriesStore } from './types.js';

/** Owner of every space below (store/progress.ts). */
export const OWNER = 'timeseries';

/**
 * Stored head: `{ pos, b, w }`, the digest in buckets under their own keys (digest.ts). The former
 * form embedded the whole digest as `d` (base64 of Float64 pairs); it is still read, and rewritten
 * as buckets at the tag's next page.
 */
export interface StoredTagProgress {
  pos: number | null;
  /** Embedded digest (former format, or bucket width 0): base64 of Float64 (ts, hash) pairs. */
  d?: string;
  /** Digest bucket indices, delta-encoded (first index, then differences). */
  b?: number[];
  /** Digest bucket width, µs. */
  w?: number;
  r?: number;
  lr?: number;
  lf?: number;
  vr?: number;
}

/** The live extraction's tag heads. */
export const LIVE = new ProgressSpace<StoredTagProgress>(OWNER, 'ts:');

/** The tag heads of a backfill of [startUs, endUs] (µs, both inclusive). */
export function backfillSpace(startUs: number, endUs: number): ProgressSpace<StoredTagProgress> {
  return new ProgressSpace<StoredTagProgress>(OWNER, `bf:${startUs}-${endUs}:`);
}

/** The heads' space of an extraction with this `progressPrefix` (ExtractOptions; absent: LIVE). */
export function headSpace(prefix: string | undefined): ProgressSpace<StoredTagProgress> {
  return prefix === undefined || prefix === LIVE.prefix ? LIVE : new ProgressSpace<StoredTagProgress>(OWNER, prefix);
}

/** Digest buckets (digest.ts): encoded (timestamp, hash) pairs under `dg:<head key>@<index>`. */
export const DIGEST_BUCKETS = new ProgressSpace<string>(OWNER, 'dg:');

/** Key of one digest bucket of the head stored under `headKey`. */
export const bucketKey = (headKey: string, index: number): string => DIGEST_BUCKETS.key(`${headKey}@${index}`);

/** Bucket indices listed in a stored head (delta-encoded there: first index, then differences). */
export function listedBuckets(s: StoredTagProgress | undefined): number[] {
  const out: number[] = [];
  if (!s || !Array.isArray(s.b)) return out;
  let i = 0;
  s.b.forEach((d, k) => {
    i = k === 0 ? d : i + d;
    out.push(i);
  });
  return out;
}

/** Every bucket key a stored head refers to (to delete them with the head). */
export function bucketKeysOf(headKey: string, s: StoredTagProgress | undefined): string[] {
  return listedBuckets(s).map((i) => bucketKey(headKey, i));
}

/** Everything but the digest (cheap: the digest is decoded only when the tag's page is processed). */
export function progressHead(s: StoredTagProgress | undefined): Omit<TagProgress, 'digest'> {
  if (!s) return { pos: null };
  const p: Omit<TagProgress, 'digest'> = { pos: s.pos };
  if (typeof s.r === 'number') p.replayUntil = s.r;
  if (typeof s.lr === 'number') p.lastReread = s.lr;
  if (typeof s.lf === 'number') p.lastFull = s.lf;
  if (typeof s.vr === 'number') p.rate = s.vr;
  return p;
}

/**
 * A tag's stream-updates progress: its marker; `a` PI's clock (µs) when PI issued it (registration or
 * poll); `r` its last poll failed (poll again next cycle); `x` PI refused to register it.
 */
export interface MarkerProgress {
  m?: string;
  a?: number;
  r?: 1;
  x?: 1;
}

export const MARKERS = new ProgressSpace<MarkerProgress>(OWNER, 'su:');

export interface UpdatesState {
  /** Changes older than the re-read window found through stream updates and sent, in all. */
  late_changes: number;
  /** The most recent of them: tag WebID, event timestamp (ISO), when it was found (ISO). */
  last_late?: { tag: string; timestamp: string; action: string; at: string };
  /** Markers PI had forgotten or signups it ended (re-registered): how many, when last, PI's last reason. */
  lost?: { count: number; at: string; reason?: string };
  /** Events with an action the agent does not know (their timestamps were read back): how many, the last action, when. */
  unknown_actions?: { count: number; last: string; at: string };
  /** Set while the server has no stream updates: why, and since when (ISO). */
  unsupported?: { reason: string; at: string };
  /** Tags PI would not register (e.g. no read access to the point's data), last seen. */
  unregistered?: { count: number; at: string; reason: string };
}

/** The feed's state (what status reports). */
export const UPDATES_STATE = new ProgressCell<UpdatesState>(OWNER, 'updates:state');

/** A tag PI cannot serve (unreadable.ts): why, and the tag's metadata hash when it was found so. */
export interface UnreadableTag {
  /** What PI said, redacted. */
  reason: string;
  /** PI's HTTP status for the stream, when it gave one. */
  status?: number;
  /** The tag's metadata hash (tags source) when this was recorded: a new hash clears the entry. */
  hash: string;
  /** Cycles in a row whose read failed with a per-value error. */
  strikes: number;
  /** Skipped until its metadata changes; since when (ISO). */
  since?: string;
}

/** `ur:<webId>`: tags that cannot be read, or are on their way to it (unreadable.ts). */
export const UNREADABLE = new ProgressSpace<UnreadableTag>(OWNER, 'ur:');

/** What the operations below need of the store. */
export type ProgressStore = Pick<TimeseriesStore, 'getProgress' | 'commitStep'>;

/**
 * `pi-agent reset` of the time series: the live heads of `webIds` that stand after `toUs` move back
 * to it, so the next cycles read again from there. Events up to the old position may already be at
 * the destination: they are re-sent as upserts (`r`, replayUntil), never as inserts. The digest goes
 * too (its buckets are keys of their own): everything re-read is compared against nothing. Tags not
 * read yet, or not past `toUs`, are left alone. One commit; returns the number of tags rewound.
 */
export function rewindTimeseries(store: ProgressStore, webIds: Iterable<string>, toUs: number): number {
  const progress: { key: string; value: unknown }[] = [];
  const deleteKeys: string[] = [];
  for (const webId of webIds) {
    const key = LIVE.key(webId);
    const stored = store.getProgress<StoredTagProgress>(key);
    const p = progressHead(stored);
    if (p.pos === null || p.pos <= toUs) continue;
    const replayUntil = Math.max(p.pos, p.replayUntil ?? 0);
    progress.push(LIVE.entry(webId, { pos: toUs, r: replayUntil }));
    deleteKeys.push(...bucketKeysOf(key, stored));
  }
  store.commitStep([], progress, deleteKeys);
  return progress.length;
}

/** Deletes the heads of `webIds` in `space` and every digest bucket they list, in one commit. */
export function dropTagProgress(store: ProgressStore, space: ProgressSpace<StoredTagProgress>, webIds: Iterable<string>): void {
  const keys = [...webIds].map((w) => space.key(w));
  store.commitStep(
    [],
    [],
    keys.flatMap((k) => [k, ...bucketKeysOf(k, store.getProgress<StoredTagProgress>(k))]),
  );
}

/**
 * The end of a complete backfill of [startUs, endUs]: its own progress goes, digest buckets included
 * (an event at the end time can leave one), so that the same backfill run again reads it all again.
 */
export function dropBackfillProgress(store: ProgressStore, startUs: number, endUs: number, webIds: Iterable<string>): void {
  dropTagProgress(store, backfillSpace(startUs, endUs), webIds);
}
