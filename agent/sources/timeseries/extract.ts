/**
 * One extraction cycle of recorded values for a set of tags (design.md "Time series correctness").
 *
 * Each tag reads from its watermark to PI's now. Every `lookbackEvery` (on PI's clock) a tag instead
 * re-reads the lookback window (late data, edits, deletions) from min(now - lookback, previous
 * re-read's now - lookback), so a late event inserted between two re-reads is never missed; cycles
 * in between cost one page per tag. Where stream updates vouch for the window (updates.ts,
 * `narrowFrom`), a due re-read starts instead at the oldest change PI reported since the tag's
 * previous re-read (or at the watermark): the part of the window before it is unchanged since it was
 * read. The whole window is still re-read every `lookback_full_every` (`lastFull`).
 *
 * The parts: which tags go into which request over which window (plan.ts), each page applied to its
 * tag's digest and progress and committed with its rows per request (apply.ts), and this loop,
 * which keeps `concurrency` requests in flight (pool.ts), routes each tag's answer (a page, a
 * timeout, PI's limit, a failure) and counts what happened. Many tags go into one HTTP request; a
 * crash anywhere re-reads from durable progress and the digest turns the re-read into no rows at all.
 */
import { PiError } from '../../errors.js';
import { pump } from '../../pool.js';
import { PageCommit, TagPages } from './apply.js';
import { headSpace, progressHead, type StoredTagProgress } from './progress.js';
import { RequestPlan, type Cursor } from './plan.js';
import type { ExtractOptions, ExtractResult, RecordedResult } from './types.js';

export type { ExtractOptions, ExtractResult, RecordedReader, RecordedRequest, RecordedResult, TagRef, TimeseriesStore } from './types.js';
const isTimeout = (err: unknown): boolean => err instanceof PiError && err.code === 'PI_TIMEOUT';

export async function extractTimeseries(o: ExtractOptions): Promise<ExtractResult> {
  const x = new Extraction(o);
  x.queueTags();
  await x.run();
  return x.result;
}

/** One cycle: the plan of its requests, the pages applied, and the tally of what happened. */
class Extraction {
  readonly result: ExtractResult = {
    values: 0,
    inserts: 0,
    updates: 0,
    deletes: 0,
    requests: 0,
    commits: 0,
    rereads: 0,
    narrowed: 0,
    timeouts: 0,
    paused: false,
    errors: new Map(),
    minPosUs: null,
  };
  private readonly plan: RequestPlan;
  private readonly pages: TagPages;

  constructor(private readonly o: ExtractOptions) {
    this.plan = new RequestPlan(o);
    this.pages = new TagPages(o);
  }

  /** Every tag's first read queued, or its position counted when it has nothing to read. */
  queueTags(): void {
    const space = headSpace(this.o.progressPrefix);
    for (const tag of this.o.tags) {
      // Only the head of the progress: digests are decoded one tag at a time when its page arrives.
      const p = progressHead(this.o.store.getProgress<StoredTagProgress>(space.key(tag.webId)));
      const c = this.plan.open(tag, p, this.o.narrowFrom);
      if (c === undefined) {
        this.retire(p.pos);
        continue;
      }
      if (c.reread && !c.full) this.result.narrowed++;
      this.plan.push(c);
    }
  }

  /** Requests, `concurrency` in flight, until the queue is empty, the buffer is full or the cycle is aborted. */
  async run(): Promise<void> {
    await pump(this.o.concurrency, () => {
      if (this.o.signal?.aborted || this.result.paused || !this.plan.pending) return undefined;
      if (this.o.store.isBufferFull()) {
        this.result.paused = true;
        return undefined;
      }
      return this.launch();
    });
    // Tags still queued (paused, aborted) keep the position they reached.
    this.plan.forEachQueued((c) => this.retire(c.pos));
  }

  /**
   * The least position over tags whose reads are over for this cycle (done, failed or not due):
   * each cursor is folded in once, when it leaves the queue for good (no map of all tags).
   */
  private retire(pos: number | null): void {
    if (pos !== null && (this.result.minPosUs === null || pos < this.result.minPosUs)) this.result.minPosUs = pos;
  }

  private fail(c: Cursor, err: Error): void {
    this.result.errors.set(c.tag.webId, err);
    this.retire(c.pos);
  }

  /** A timed-out read: split (plan.ts), or failed at the floor. */
  private timedOut(c: Cursor, err: Error): void {
    this.result.timeouts++;
    if (!this.plan.split(c)) this.fail(c, err);
  }

  /** The next group's request, sent. */
  private launch(): Promise<void> | undefined {
    const group = this.plan.takeGroup();
    if (group.length === 0) return undefined;
    const reqs = group.map((c) => this.plan.request(c));
    this.result.requests++;
    return this.o.reader.read(reqs).then(
      (results) => this.settle(group, results),
      (err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err));
        if (isTimeout(e)) for (const c of group) this.timedOut(c, e);
        else for (const c of group) this.fail(c, e);
      },
    );
  }

  /** A request's answers: each tag's page applied, and the pages' rows and progress committed together. */
  private settle(group: Cursor[], results: RecordedResult[]): void {
    const commit = new PageCommit();
    const ingestedAt = Date.now() * 1000;
    group.forEach((c, i) => this.answer(c, results[i], commit, ingestedAt));
    if (commit.commit(this.o.store)) this.result.commits++;
  }

  /** One tag's answer: its page into `commit` and its next page queued, or a retry, or a failure. */
  private answer(c: Cursor, r: RecordedResult | undefined, commit: PageCommit, ingestedAt: number): void {
    // maxCount over the server's limit (400): the plan asks this page again with fewer values.
    if (r?.error && this.plan.lowerCap(c, r.error)) return;
    if (r?.error && isTimeout(r.error)) return this.timedOut(c, r.error);
    if (!r || r.error) return this.fail(c, r?.error ?? new Error('no result for this stream'));
    const winEnd = this.plan.windowEnd(c);
    const page = this.pages.apply(c, winEnd, r, ingestedAt);
    if (page.kind === 'grow') {
      const err = this.plan.grow(c, page.maxCount);
      if (err) this.fail(c, err);
      return;
    }
    commit.add(page);
    const t = this.result;
    t.values += r.items.length;
    t.inserts += page.inserts;
    t.updates += page.updates;
    t.deletes += page.deletes;
    if (page.rereadDone) t.rereads++;
    if (!this.plan.follow(c, winEnd, page)) this.retire(page.next.pos);
  }
}
