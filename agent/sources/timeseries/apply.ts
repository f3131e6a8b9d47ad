/**
 * Applying a tag's page to its stored progress: load the digest buckets the page can touch, compare
 * the page with them (page.ts), and prepare what commits with its rows: the tag's next head, the
 * buckets that changed and the buckets that expired. Nothing is written here; a PageCommit collects
 * the pages of one request (or one poll) and commits their rows and progress in one transaction, so
 * a crash anywhere re-reads from durable progress and the digest turns the re-read into no rows.
 *
 * The digest is stored in buckets of PI time (digest.ts): a page loads only the buckets from its
 * start on, and writes only those it changed, so a steady cycle rewrites a tag's small head and its
 * newest bucket.
 */
import type { Row } from '../../batch/tables.js';
import type { ProgressSpace } from '../../store/progress.js';
import { DIGEST_BUCKET_US, loadProgress, saveProgress, type TagProgress } from './digest.js';
import { applyPage } from './page.js';
import { headSpace, type StoredTagProgress } from './progress.js';
import type { ExtractOptions, RecordedRequest, RecordedResult, TagRef, TimeseriesStore } from './types.js';

/** What applying pages needs of the cycle's options. */
export type PageOptions = Pick<ExtractOptions, 'site' | 'store' | 'nowUs' | 'lookbackUs' | 'parseTime' | 'insertOp' | 'progressPrefix' | 'digestBucketUs'>;

/** The read a page answers, as far as applying it goes (the extraction's Cursor is one). */
export interface PageRead {
  tag: TagRef;
  /** The tag's position when the cycle began (a re-read is complete once a page passes it). */
  pos0: number | null;
  /** Where the page starts (inclusive). */
  start: number;
  /** This read re-reads the lookback window... */
  reread: boolean;
  /** ...the whole of it (not narrowed by stream updates). */
  full?: boolean;
  maxCount: number;
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

/** A truncated page that holds one timestamp only: ask again with this maxCount. */
export interface GrowPage {
  kind: 'grow';
  maxCount: number;
}

/** Applies the pages of one cycle (one extraction, or one stream-updates pass). */
export class TagPages {
  readonly space: ProgressSpace<StoredTagProgress>;
  readonly bucketUs: number;
  /** PI's now − lookback (µs). */
  readonly horizon: number;

  constructor(private readonly o: PageOptions) {
    this.space = headSpace(o.progressPrefix);
    this.bucketUs = o.digestBucketUs ?? DIGEST_BUCKET_US;
    this.horizon = o.nowUs - o.lookbackUs;
  }

  /**
   * Compare one page of a tag's recorded values with its digest (applyPage) and prepare what commits
   * with it: the tag's next progress (rate, watermark, digest buckets; lastReread once a re-read
   * passes where the tag stood, lastFull when that re-read covered the whole window).
   */
  apply(c: PageRead, winEnd: number, r: RecordedResult, ingestedAt: number): AppliedPage | GrowPage {
    const { o, horizon } = this;
    const key = this.space.key(c.tag.webId);
    // Only the digest buckets that can hold events of this page (at or after its start).
    const loaded = loadProgress((k) => o.store.getProgress<unknown>(k), key, c.start, this.bucketUs);
    const before = loaded.progress;
    // Digest retention: the next re-read starts at or after min(now, last re-read) - lookback.
    const retain = Math.min(horizon, before.lastReread === undefined ? horizon : before.lastReread - o.lookbackUs);
    const page = applyPage({
      site: o.site,
      webId: c.tag.webId,
      pointType: c.tag.pointType,
      streamUnits: r.units,
      start: c.start,
      end: winEnd,
      maxCount: c.maxCount,
      items: r.items,
      progress: before,
      horizon: retain,
      ingestedAt,
      parseTime: o.parseTime,
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
      kind: page.kind,
      rows: page.rows,
      progress: saved.progress,
      deleteKeys: saved.deleteKeys,
      next,
      pageNext: page.next,
      rereadDone,
      inserts: page.inserts,
      updates: page.updates,
      deletes: page.deletes,
    };
  }

  /**
   * A due re-read read in the poll's own `/batch` (poll.ts): narrowed to the tag's watermark
   * (nothing changed behind it since its previous re-read; `req` starts at `pos0`), or the whole
   * window (`full`). Applied here as the tag's page of this cycle, as the extraction would apply it.
   * Undefined when it cannot be applied here (a crowded timestamp needs a larger maxCount): the
   * extraction then reads the tag itself.
   */
  readAhead(tag: TagRef, req: RecordedRequest, r: RecordedResult, at: { pos0: number; full: boolean }): AppliedPage | undefined {
    const page = this.apply({ tag, pos0: at.pos0, start: req.startUs, reread: true, full: at.full, maxCount: req.maxCount }, req.endUs, r, Date.now() * 1000);
    return page.kind === 'grow' ? undefined : page;
  }
}

/** The rows and progress of several tags' pages (and marker writes), committed in one transaction. */
export class PageCommit {
  readonly rows: Row[] = [];
  readonly progress: { key: string; value: unknown }[] = [];
  readonly deleteKeys: string[] = [];

  add(page: AppliedPage): void {
    for (const row of page.rows) this.rows.push(row);
    for (const p of page.progress) this.progress.push(p);
    for (const k of page.deleteKeys) this.deleteKeys.push(k);
  }

  /** Commits when some progress moved (rows never go without the progress they justify); true if it did. */
  commit(store: Pick<TimeseriesStore, 'commitStep'>): boolean {
    if (this.progress.length === 0) return false;
    store.commitStep(this.rows.length > 0 ? [{ table: 'pi_timeseries', rows: this.rows }] : [], this.progress, this.deleteKeys);
    return true;
  }
}
