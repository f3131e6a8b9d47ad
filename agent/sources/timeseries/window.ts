/**
 * What one tag's read asks this cycle: where it starts (readStart: from the watermark, or a re-read
 * of the lookback window) and how many values (askForWindow, from the tag's last rate). The
 * extraction's request planning (plan.ts) and the stream-update polls (poll.ts) both ask this way.
 */
import type { TagProgress } from './digest.js';

/** Smallest maxCount asked of a tag whose rate is unknown. */
export const MIN_ASK = 100;
/** Smallest maxCount asked of a tag whose rate is known: room for a small burst, yet 200 quiet tags fit one request. */
export const MIN_KNOWN_ASK = 32;

/** The clock and window readStart decides by. */
export interface ReadWindow {
  nowUs: number;
  startUs: number;
  lookbackUs: number;
  lookbackEveryUs?: number;
}

/** A window whose re-read is due whatever the interval says (lookbackEveryUs 0). */
export const dueNow = (o: ReadWindow): ReadWindow => ({ nowUs: o.nowUs, startUs: o.startUs, lookbackUs: o.lookbackUs, lookbackEveryUs: 0 });

/** Where this cycle reads a tag from, and whether that read re-reads the lookback window. */
export function readStart(p: Omit<TagProgress, 'digest'>, o: ReadWindow): { start: number; reread: boolean } {
  if (p.pos === null) return { start: o.startUs, reread: true };
  const every = o.lookbackEveryUs ?? 0;
  const due = every <= 0 || p.lastReread === undefined || o.nowUs - p.lastReread >= every;
  if (!due) return { start: Math.max(o.startUs, p.pos), reread: false };
  // Cover everything since the previous re-read's horizon: an event inserted after it, inside the
  // lookback at that time, may have fallen behind now - lookback since.
  let from = Math.min(p.pos, o.nowUs - o.lookbackUs);
  if (p.lastReread !== undefined) from = Math.min(from, p.lastReread - o.lookbackUs);
  return { start: Math.max(o.startUs, from), reread: true };
}

/**
 * maxCount for a window of `windowUs` of a tag read at `rate` values per second: a fifth more than
 * expected, and a burst's room (a page that comes back truncated costs a request, a larger ask only
 * budget; truncated tags are grouped together on their next page). Undefined when the rate is unknown.
 */
export function askForWindow(rate: number | undefined, windowUs: number, maxCount: number): number | undefined {
  if (rate === undefined) return undefined;
  const expected = Math.ceil(((rate * windowUs) / 1e6) * 1.2) + 20;
  return Math.min(maxCount, Math.max(MIN_KNOWN_ASK, expected));
}
