/**
 * Per-tag progress of the time-series source: how far the archive has been read (`pos`) and a
 * compact digest (timestamp, content hash) of the events already sent inside the window that the
 * next cycle re-reads. The digest is what tells a late insert, an edit and a deletion from an
 * unchanged event, so unchanged events are never sent twice.
 */

export interface DigestEntry {
  /** Event timestamp, µs since epoch (PI ticks floored to µs). */
  ts: number;
  /** hashValue() of the event's content. */
  hash: number;
}

export interface TagProgress {
  /** Events with timestamp < pos (µs) have been read completely; null before the first read. */
  pos: number | null;
  /** Events sent with ts >= retention start, in archive order (same-timestamp events keep their order = ordinal). */
  digest: DigestEntry[];
  /**
   * After a reset (`pi-agent reset`): events before this time (µs) may already be at the
   * destination, so they are sent as upserts (`update`), never as plain inserts.
   */
  replayUntil?: number;
}

/** Stored form: `{ pos, d }` with d = base64 of Float64 pairs. Compact for 100,000 tags. */
export interface StoredTagProgress {
  pos: number | null;
  d: string;
  r?: number;
}

export function encodeProgress(p: TagProgress): StoredTagProgress {
  const f = new Float64Array(p.digest.length * 2);
  p.digest.forEach((e, i) => {
    f[2 * i] = e.ts;
    f[2 * i + 1] = e.hash;
  });
  const out: StoredTagProgress = { pos: p.pos, d: Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('base64') };
  if (p.replayUntil !== undefined) out.r = p.replayUntil;
  return out;
}

export function decodeProgress(s: StoredTagProgress | undefined): TagProgress {
  if (!s) return { pos: null, digest: [] };
  const buf = Buffer.from(s.d, 'base64');
  const f = new Float64Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const digest: DigestEntry[] = [];
  for (let i = 0; i + 1 < f.length; i += 2) digest.push({ ts: f[i]!, hash: f[i + 1]! });
  const p: TagProgress = { pos: s.pos, digest };
  if (typeof s.r === 'number') p.replayUntil = s.r;
  return p;
}
