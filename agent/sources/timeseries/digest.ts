/**
 * Per-tag progress of the time-series source: how far the archive has been read (`pos`) and a
 * compact digest (timestamp, content hash) of the events already sent inside the window that the
 * next cycle re-reads. The digest is what tells a late insert, an edit and a deletion from an
 * unchanged event, so unchanged events are never sent twice.
 *
 * The keys and the stored head's shape are progress.ts's; this module decodes and encodes them.
 */
import { bucketKey, listedBuckets, progressHead, type StoredTagProgress } from './progress.js';

export interface DigestEntry {
  /** Event timestamp, µs since epoch (PI ticks floored to µs). */
  ts: number;
  /** hashValue() of the event's content. */
  hash: number;
}

export interface TagProgress {
  /** Events with timestamp < pos (µs) have been read completely; null before the first read. */
  pos: number | null;
  /**
   * Events sent with ts >= retention start, in archive order (same-timestamp events keep their order
   * = ordinal). As loaded by loadProgress: only the buckets that can hold events of the page.
   */
  digest: DigestEntry[];
  /**
   * After a reset (`pi-agent reset`): events before this time (µs) may already be at the
   * destination, so they are sent as upserts (`update`), never as plain inserts.
   */
  replayUntil?: number;
  /**
   * PI's clock (µs) when the lookback window was last re-read (timeseries.lookback_every): the
   * next re-read starts at or before `lastReread - lookback`, so a late event inserted since then
   * is never missed. Undefined: re-read at the next cycle.
   */
  lastReread?: number;
  /**
   * PI's clock (µs) when the whole lookback window was last re-read. Between such re-reads, a re-read
   * may start at the oldest change stream updates reported (updates.ts); at least every
   * `lookback_full_every` it covers the whole window again.
   */
  lastFull?: number;
  /** Values per second seen at the last read (sizes the next request's maxCount). */
  rate?: number;
}

// ---- digest buckets ------------------------------------------------------------------------------
//
// The digest of a tag is stored in buckets of fixed PI-time width (bucket = floor(ts / width)), each
// under its own progress key, so a steady cycle rewrites only the bucket(s) it appended to and a
// re-read loads only the buckets overlapping its window. The head (`pos`, `r`, `lr`, `lf`, `vr`) lists the
// buckets that exist (`b`) and their width (`w`): no prefix scan per tag. Head, buckets and rows
// commit in one transaction (apply.ts `PageCommit`), so a crash anywhere stays exact.

/** Default bucket width (µs): with 5-second data, ~120 entries (~2.5 KB) per bucket. */
export const DIGEST_BUCKET_US = 10 * 60 * 1_000_000;

function encodeEntries(es: DigestEntry[]): string {
  const f = new Float64Array(es.length * 2);
  es.forEach((e, i) => {
    f[2 * i] = e.ts;
    f[2 * i + 1] = e.hash;
  });
  return Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('base64');
}

function decodeEntries(d: string, into: DigestEntry[]): void {
  const buf = Buffer.from(d, 'base64');
  const f = new Float64Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  for (let i = 0; i + 1 < f.length; i += 2) into.push({ ts: f[i]!, hash: f[i + 1]! });
}

/** A tag's progress as loaded for one page: the digest holds only the buckets from `loadedFrom` on. */
export interface LoadedProgress {
  progress: TagProgress;
  /** Bucket width of this load (µs); 0: the digest is embedded in the head (`d`). */
  width: number;
  /** Buckets listed in the head (at `width`); those before `loadedFrom` were not loaded. */
  listed: number[];
  /** Smallest bucket index loaded (-Infinity: the whole digest is in `progress.digest`). */
  loadedFrom: number;
  /** Loaded buckets as stored (index → encoded), to write back only the ones that changed. */
  loaded: Map<number, string>;
  /** Keys to delete at the next save (buckets of another width, converted). */
  stale: string[];
}

type GetProgress = (key: string) => unknown;

/**
 * Loads a tag's head and the digest buckets that can hold events at or after `fromUs`. Old progress
 * with the digest embedded (`d`), or buckets of another width, is loaded whole: the next save
 * rewrites it as buckets of `width` (0: keep the embedded form).
 */
export function loadProgress(get: GetProgress, headKey: string, fromUs: number, width: number): LoadedProgress {
  const s = get(headKey) as StoredTagProgress | undefined;
  const digest: DigestEntry[] = [];
  const out: LoadedProgress = { progress: { ...progressHead(s), digest }, width, listed: [], loadedFrom: -Infinity, loaded: new Map(), stale: [] };
  if (!s) return out;
  if (typeof s.d === 'string') decodeEntries(s.d, digest);
  const listed = listedBuckets(s);
  const sameWidth = width > 0 && s.w === width && typeof s.d !== 'string';
  const from = sameWidth ? Math.floor(fromUs / width) : -Infinity;
  for (const i of listed) {
    if (i < from) continue;
    const key = bucketKey(headKey, i);
    const d = get(key);
    if (typeof d !== 'string') continue; // listed but absent: nothing was kept there
    decodeEntries(d, digest);
    if (sameWidth) out.loaded.set(i, d);
  }
  if (sameWidth) {
    out.listed = listed;
    out.loadedFrom = from;
  } else out.stale = listed.map((i) => bucketKey(headKey, i));
  return out;
}

/**
 * The progress writes and deletions that store `next` (the digest of the loaded buckets after a page)
 * for a tag loaded as `l`. Only buckets whose content changed are written; buckets wholly before
 * `retainFrom` (digest retention start, µs) are deleted, loaded or not.
 */
export function saveProgress(
  headKey: string,
  l: LoadedProgress,
  next: TagProgress,
  retainFrom: number,
): { progress: { key: string; value: unknown }[]; deleteKeys: string[] } {
  const w = l.width;
  const head: StoredTagProgress = { pos: next.pos };
  if (next.replayUntil !== undefined) head.r = next.replayUntil;
  if (next.lastReread !== undefined) head.lr = next.lastReread;
  if (next.lastFull !== undefined) head.lf = next.lastFull;
  if (next.rate !== undefined) head.vr = Math.round(next.rate * 1000) / 1000;
  if (w <= 0) {
    // Embedded digest (the former format): everything is in the head.
    head.d = encodeEntries(next.digest);
    return { progress: [{ key: headKey, value: head }], deleteKeys: l.stale };
  }
  const writes: { key: string; value: unknown }[] = [];
  const dels: string[] = [...l.stale];
  const keep: number[] = [];
  for (const i of l.listed) {
    if (i >= l.loadedFrom) continue;
    if ((i + 1) * w <= retainFrom) dels.push(bucketKey(headKey, i));
    else keep.push(i);
  }
  const written = new Set<number>();
  const digest = next.digest;
  for (let a = 0; a < digest.length;) {
    const i = Math.floor(digest[a]!.ts / w);
    let b = a + 1;
    while (b < digest.length && Math.floor(digest[b]!.ts / w) === i) b++;
    // Loaded entries and the page's events are all at or after loadedFrom (they follow the page start).
    if (i >= l.loadedFrom) {
      const enc = encodeEntries(digest.slice(a, b));
      if (l.loaded.get(i) !== enc) writes.push({ key: bucketKey(headKey, i), value: enc });
      written.add(i);
    }
    a = b;
  }
  for (const i of l.loaded.keys()) if (!written.has(i)) dels.push(bucketKey(headKey, i));
  const all = [...keep, ...written].sort((x, y) => x - y);
  if (all.length > 0) {
    head.w = w;
    head.b = all.map((i, k) => (k === 0 ? i : i - all[k - 1]!));
  }
  const writtenKeys = new Set(writes.map((p) => p.key));
  return { progress: [{ key: headKey, value: head }, ...writes], deleteKeys: dels.filter((k) => !writtenKeys.has(k)) };
}
