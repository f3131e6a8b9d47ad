/**
 * One extraction cycle of recorded values for a set of tags (design.md "Time series correctness").
 *
 * Each tag re-reads [max(start, min(pos, now - lookback)), now]: tags that are caught up re-read the
 * lookback window (late data, edits, deletions); tags that are behind continue from where they
 * stopped. Many tags go into one HTTP request; each page's rows and the progress they justify are
 * committed to the store in one transaction, so a crash anywhere re-reads from durable progress and
 * the digest turns the re-read into no rows at all.
 */
import type { Row } from '../../batch/tables.js';
import { PiError } from '../../errors.js';
import { decodeProgress, encodeProgress, type StoredTagProgress, type TagProgress } from './digest.js';
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
  commitStep(steps: { table: 'pi_timeseries'; rows: Row[] }[], progress: { key: string; value: unknown }[]): void;
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
  signal?: AbortSignal;
}

export interface ExtractResult {
  values: number;
  inserts: number;
  updates: number;
  deletes: number;
  requests: number;
  commits: number;
  /** Stopped early because the outbound buffer is full (backpressure). */
  paused: boolean;
  /** Tags whose reads failed this cycle (their progress did not move). */
  errors: Map<string, Error>;
  /** The least read position over all tags after this cycle (µs), for the lag; null if none read yet. */
  minPosUs: number | null;
}

interface Cursor {
  tag: TagRef;
  progress: TagProgress;
  start: number;
  maxCount: number;
  /** maxCount was set for this tag (grown past a crowded timestamp, or lowered to the server's cap): keep it. */
  pinned?: boolean;
}

/**
 * The lower maxCount to try after PI refused one as over MaxReturnedItemsPerCall (fidelity §3):
 * the limit PI names in its message, else half; undefined when it cannot go lower.
 */
export function lowerMaxCount(err: Error | undefined, maxCount: number): number | undefined {
  if (!(err instanceof PiError) || err.code !== 'PI_LIMIT_EXCEEDED' || err.status !== 400 || maxCount <= 1) return undefined;
  const named = /maximum allowed \((\d+)\)/i.exec(err.message);
  const limit = named ? Number(named[1]) : 0;
  return limit >= 1 && limit < maxCount ? limit : Math.max(1, Math.floor(maxCount / 2));
}

export const progressKey = (prefix: string, webId: string): string => `${prefix}${webId}`;

export async function extractTimeseries(o: ExtractOptions): Promise<ExtractResult> {
  const prefix = o.progressPrefix ?? 'ts:';
  const end = o.endUs ?? o.nowUs;
  const horizon = o.nowUs - o.lookbackUs;
  const result: ExtractResult = { values: 0, inserts: 0, updates: 0, deletes: 0, requests: 0, commits: 0, paused: false, errors: new Map(), minPosUs: null };
  const positions = new Map<string, number | null>();
  // The server's MaxReturnedItemsPerCall once PI has refused a larger maxCount: every later page asks at most this.
  let serverCap = Number.POSITIVE_INFINITY;

  const queue: Cursor[] = [];
  for (const tag of o.tags) {
    const progress = decodeProgress(o.store.getProgress<StoredTagProgress>(progressKey(prefix, tag.webId)));
    positions.set(tag.webId, progress.pos);
    const start = progress.pos === null ? o.startUs : Math.max(o.startUs, Math.min(progress.pos, horizon));
    if (start > end) continue;
    queue.push({ tag, progress, start, maxCount: o.maxCount });
  }

  const takeGroup = (): Cursor[] => {
    const group = queue.splice(0, o.tagsPerRequest);
    // Keep one request's worth of values bounded: per-tag maxCount shrinks as the group grows.
    const share = Math.max(100, Math.floor(o.maxValuesPerRequest / Math.max(1, group.length)));
    for (const c of group) c.maxCount = Math.max(1, Math.min(c.pinned ? c.maxCount : Math.min(o.maxCount, share), serverCap));
    return group;
  };

  const processGroup = (group: Cursor[], results: RecordedResult[]): void => {
    const rows: Row[] = [];
    const progress: { key: string; value: unknown }[] = [];
    const ingestedAt = Date.now() * 1000;
    group.forEach((c, i) => {
      const r = results[i];
      const lower = r?.error ? lowerMaxCount(r.error, c.maxCount) : undefined;
      if (lower !== undefined) {
        // maxCount over the server's limit (400): ask this page again with fewer values.
        serverCap = Math.min(serverCap, lower);
        queue.push({ ...c, maxCount: lower, pinned: true });
        return;
      }
      if (!r || r.error) {
        result.errors.set(c.tag.webId, r?.error ?? new Error('no result for this stream'));
        return;
      }
      const page = applyPage({
        site: o.site, webId: c.tag.webId, pointType: c.tag.pointType, streamUnits: r.units,
        start: c.start, end, maxCount: c.maxCount, items: r.items, progress: c.progress,
        horizon, ingestedAt, parseTime: o.parseTime,
      });
      if (page.kind === 'grow') {
        if (c.maxCount >= serverCap) {
          // More events at one timestamp than the server returns in one call: cannot be paged by time.
          result.errors.set(c.tag.webId, new PiError('PI_LIMIT_EXCEEDED', `more than ${c.maxCount} events share one timestamp and the server returns at most ${serverCap} per call`));
          return;
        }
        queue.push({ ...c, maxCount: Math.min(page.maxCount, serverCap), pinned: true });
        return;
      }
      if (o.insertOp === 'update') for (const row of page.rows) if (row.op === 'insert') row.op = 'update';
      for (const row of page.rows) rows.push(row);
      result.values += r.items.length;
      result.inserts += page.inserts;
      result.updates += page.updates;
      result.deletes += page.deletes;
      progress.push({ key: progressKey(prefix, c.tag.webId), value: encodeProgress(page.progress) });
      positions.set(c.tag.webId, page.progress.pos);
      if (page.kind === 'more') queue.push({ tag: c.tag, progress: page.progress, start: page.next, maxCount: c.maxCount });
    });
    if (progress.length > 0) {
      o.store.commitStep(rows.length > 0 ? [{ table: 'pi_timeseries', rows }] : [], progress);
      result.commits++;
    }
  };

  const inFlight = new Set<Promise<void>>();
  const launch = (): void => {
    const group = takeGroup();
    if (group.length === 0) return;
    const reqs = group.map((c) => ({ webId: c.tag.webId, startUs: c.start, endUs: end, maxCount: c.maxCount }));
    result.requests++;
    const p: Promise<void> = o.reader.read(reqs).then(
      (results) => processGroup(group, results),
      (err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err));
        for (const c of group) result.errors.set(c.tag.webId, e);
      },
    ).finally(() => inFlight.delete(p));
    inFlight.add(p);
  };

  for (;;) {
    if (o.signal?.aborted) break;
    while (queue.length > 0 && inFlight.size < o.concurrency) {
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
  for (const pos of positions.values()) if (pos !== null && (result.minPosUs === null || pos < result.minPosUs)) result.minPosUs = pos;
  return result;
}
