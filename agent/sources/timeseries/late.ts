/**
 * The reconciliation of late changes (updates.ts): changes a poll reports before the tag's re-read
 * starts, which the re-read cannot see. Their timestamps are gathered into ranges (close ones merged
 * into one read), read back from PI, and the events at the changed timestamps sent as upserts, with
 * deletes for the ordinals PI no longer holds where it reported deletions (and every event of the
 * spans a `Refresh` or an ended signup's gap cover). A tag's next marker commits
 * with the page that completes its last range; a tag whose read-back fails keeps its old marker.
 */
import type { Row } from '../../batch/tables.js';
import type { UpdateEvent } from '../../pi/updates.js';
import type { FeedState } from './feed-state.js';
import { MARKERS } from './progress.js';
import type { ReconcileOptions, ReconcileResult, RecordedRequest, RecordedResult } from './types.js';
import { eventRow, NULL_VALUE, timeseriesRow, type PiValueItem } from './values.js';

/** Changed timestamps closer than this are read back as one range (one sub-request, not many). */
const MERGE_GAP_US = 10 * 60 * 1_000_000;
/** Late changes listed in ReconcileResult.sample. */
const SAMPLE = 10;

/** A polled tag's late changes, until they are read back. */
export interface Pending {
  webId: string;
  pointType: string | undefined;
  /** The marker to commit once every range is read back; undefined: PI ended the signup, register again. */
  marker: string | undefined;
  /** The marker polled: kept if the read-back fails. */
  oldMarker: string;
  /** When PI issued the old marker (µs, PI clock). */
  issued: number | undefined;
  /** Ranges still to read, [start, end] µs inclusive. */
  ranges: [number, number][];
  /** The timestamps PI reported changes at: only their events are sent (a range merges nearby ones). */
  changed: Set<number>;
  /** Spans [start, end] whose every event is sent: after a `Refresh`, and the gap of an ended signup. */
  whole: [number, number][];
  /** Removes per timestamp: deletes for the ordinals past what PI still holds there. */
  removes: Map<number, number>;
  /** Events counted at each removed timestamp, over the ranges read so far. */
  counts: Map<number, number>;
  maxCount: number;
  failed?: Error;
}

/** A new Pending for `webId`: nothing to read yet. */
export function newPending(
  webId: string,
  pointType: string | undefined,
  marker: string | undefined,
  oldMarker: string,
  issued: number | undefined,
  maxCount: number,
): Pending {
  return { webId, pointType, marker, oldMarker, issued, ranges: [], changed: new Set(), whole: [], removes: new Map(), counts: new Map(), maxCount };
}

/**
 * The data pipe actions the agent knows (AVEVA AF SDK reference, `AFDataPipeAction` Enumeration;
 * PIDataPipe constructor remarks: the TimeSeries pipe says whether an event was Added at the end,
 * Inserted in the middle, Deleted, or Updated). `Add`, `Insert`, `Update`: the value now at that
 * timestamp is read back and upserted (an `Update` with no value there is an insertion, as the
 * enumeration says). `Delete`: the ordinals past what PI still holds there are deleted. `Refresh`:
 * "all previously received events following the timestamp ... could have been invalidated", so
 * everything from there to the re-read's start is read back. Any other action is counted and its
 * timestamp read back like an edit: never passed over.
 */
const UPSERT_ACTIONS = new Set(['Add', 'Insert', 'Update']);

/** Adds `spans` to `p`'s ranges, kept sorted, merging spans closer than MERGE_GAP_US. */
export function addRanges(p: Pending, spans: [number, number][]): void {
  const all = [...p.ranges, ...spans].sort((x, y) => x[0] - y[0]);
  p.ranges = [];
  for (const [a, b] of all) {
    const last = p.ranges[p.ranges.length - 1];
    if (last && a - last[1] <= MERGE_GAP_US) last[1] = Math.max(last[1], b);
    else p.ranges.push([a, b]);
  }
}

/** A span whose every event is sent (Refresh, gap), read back. */
export function addWhole(p: Pending, span: [number, number]): void {
  p.whole.push(span);
  addRanges(p, [span]);
}

/**
 * A poll's events for `p`'s tag: those before `start` (the re-read's) and after the configured start
 * are late changes, counted and gathered into `p`'s ranges. Returns the oldest timestamp at or after
 * `start` (Infinity: none), where the re-read may begin.
 */
export function gatherLate(
  p: Pending,
  events: UpdateEvent[],
  start: number,
  o: Pick<ReconcileOptions, 'parseTime' | 'startUs'>,
  r: ReconcileResult,
  state: FeedState,
): number {
  let oldest = Number.POSITIVE_INFINITY;
  const spans: [number, number][] = [];
  for (const ev of events) {
    const t = o.parseTime(ev.timestamp);
    // At or after the start the re-read sees it; before the configured start it is out of scope
    // (but a Refresh there invalidates what follows, in scope too).
    if (!(t < start)) {
      if (t < oldest) oldest = t;
      continue;
    }
    if (ev.action === 'Refresh') {
      const span: [number, number] = [Math.max(t, o.startUs), start - 1];
      p.whole.push(span);
      spans.push(span);
    } else if (t < o.startUs) continue;
    else {
      p.changed.add(t);
      spans.push([t, t]);
      if (ev.action === 'Delete') p.removes.set(t, (p.removes.get(t) ?? 0) + 1);
      else if (!UPSERT_ACTIONS.has(ev.action)) {
        r.unknownActions++;
        state.unknownAction(ev.action);
      }
    }
    r.lateChanges++;
    state.late(p.webId, t, ev.action);
    if (r.sample.length < SAMPLE) r.sample.push({ webId: p.webId, timestampUs: t, action: ev.action });
  }
  if (spans.length > 0) addRanges(p, spans);
  return oldest;
}

/**
 * Read back the changed ranges of a chunk's tags and commit them with the tags' new markers: a tag's
 * marker moves with the page that completes its last range; a tag whose read fails keeps its marker.
 */
export async function readBack(o: ReconcileOptions, pending: Pending[], r: ReconcileResult): Promise<void> {
  const ingestedAt = Date.now() * 1000;
  // Tags with nothing to read back only move their markers.
  const quiet = pending.filter((p) => p.ranges.length === 0 && p.marker !== undefined);
  if (quiet.length > 0)
    o.store.commitStep(
      [],
      quiet.map((p) => MARKERS.entry(p.webId, { m: p.marker!, a: o.nowUs })),
    );
  let open = pending.filter((p) => p.ranges.length > 0);
  while (open.length > 0) {
    if (o.signal?.aborted) return;
    const group = open.slice(0, o.tagsPerRequest);
    const share = Math.max(100, Math.floor(o.maxValuesPerRequest / group.length));
    const reqs: RecordedRequest[] = group.map((p) => ({
      webId: p.webId,
      startUs: p.ranges[0]![0],
      endUs: p.ranges[0]![1],
      maxCount: Math.max(p.maxCount === o.maxCount ? Math.min(o.maxCount, share) : p.maxCount, 1),
    }));
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
      if (!res || res.error) {
        p.failed = res?.error ?? new Error('no result for this stream');
        return;
      }
      if (applyRange(o, p, reqs[i]!, res, ingestedAt, rows, r) && p.marker !== undefined) progress.push(MARKERS.entry(p.webId, { m: p.marker, a: o.nowUs }));
    });
    if (rows.length > 0 || progress.length > 0) o.store.commitStep(rows.length > 0 ? [{ table: 'pi_timeseries', rows }] : [], progress);
    for (const p of group) if (p.failed) r.errors.set(p.webId, p.failed);
    open = open.filter((p) => !p.failed && p.ranges.length > 0);
  }
}

/**
 * One page of `p`'s first range: the events at its changed timestamps into `rows` as upserts; the
 * range done or narrowed to what is left. After the last range, the deletes for removed events.
 * True when `p` has nothing left to read (its marker may move).
 */
function applyRange(o: ReconcileOptions, p: Pending, req: RecordedRequest, res: RecordedResult, ingestedAt: number, rows: Row[], r: ReconcileResult): boolean {
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
      return false;
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
    if (!p.changed.has(t) && !p.whole.some(([x, y]) => t >= x && t <= y)) continue;
    rows.push(eventRow(o.site, p.webId, t, ord, items[k]!, type, res.units, o.parseTime, ingestedAt, 'update'));
    r.updates++;
    if (p.removes.has(t)) p.counts.set(t, ord + 1);
  }
  if (p.ranges.length > 0) return false;
  // PI removed events at these timestamps: the rows past what it still holds there go.
  for (const [t, removed] of p.removes) {
    const held = p.counts.get(t) ?? 0;
    for (let k = 0; k < removed; k++) {
      rows.push(timeseriesRow(o.site, p.webId, t, held + k, NULL_VALUE, ingestedAt, 'delete'));
      r.deletes++;
    }
  }
  return true;
}
