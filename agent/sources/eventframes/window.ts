/**
 * The search window of a database (extract.ts): where a cycle searches, whether it is a rescan,
 * and, once the cycle is complete, where the window moves on and which closed frames fall behind it
 * and are forgotten.
 */
import type { ProgressEntry, Store } from '../../store/store.js';
import type { FrameProgress } from './progress.js';
import { FRAMES, WINDOWS } from './progress.js';

/** Suffix of the last-rescan key after `efw:<database>` ('|' cannot occur in an AF name); under `efw:` so a reset clears it. */
const RESCAN_SUFFIX = '|rescan';

/** The times a window is computed from, µs on PI's clock. */
export interface WindowSettings {
  startUs: number;
  nowUs: number;
  /** Overlap of consecutive windows. */
  marginUs: number;
  /** How far back a rescan searches; undefined: no rescans. */
  horizonUs: number | undefined;
  rescanEveryUs: number | undefined;
}

export interface SearchWindow {
  from: number;
  to: number;
  /** The cycle searches the rescan horizon. */
  rescan: boolean;
}

export function searchWindow(store: Store, s: WindowSettings, dbName: string): SearchWindow {
  const horizon = s.horizonUs;
  const lastEnd = WINDOWS.get(store, dbName);
  const shortFrom = lastEnd === undefined ? s.startUs : Math.max(s.startUs, lastEnd - s.marginUs);
  const lastRescan = WINDOWS.get(store, dbName + RESCAN_SUFFIX);
  // Due when PI's clock passed the last rescan by rescan_every, or went back before it (clock reset).
  const rescan = horizon !== undefined && (lastRescan === undefined || s.nowUs - lastRescan >= s.rescanEveryUs! || s.nowUs < lastRescan);
  // A rescan never searches less than the short window (after a long outage that is the longer one).
  const from = rescan ? Math.min(shortFrom, Math.max(s.startUs, s.nowUs - horizon)) : shortFrom;
  const to = Math.max(from, s.nowUs);
  return { from, to, rescan };
}

/**
 * After a complete cycle: the window moves on (its end, and the rescan time after a rescan) and
 * closed frames that end before the next window (with rescans: before the next rescan's horizon)
 * are not read again and are forgotten, in one step.
 */
export function closeWindow(store: Store, known: Map<string, FrameProgress>, s: WindowSettings, dbName: string, w: SearchWindow): void {
  const nextFrom = Math.max(s.startUs, w.to - s.marginUs);
  const keepFrom = s.horizonUs === undefined ? nextFrom : Math.min(nextFrom, w.to - s.horizonUs);
  const prune = prunable(known, dbName, keepFrom);
  const window: ProgressEntry[] = [{ key: WINDOWS.key(dbName), value: w.to }];
  if (w.rescan) window.push({ key: WINDOWS.key(dbName + RESCAN_SUFFIX), value: s.nowUs });
  store.commitStep([], window, prune);
  for (const k of prune) known.delete(k);
}

/** Closed frames of `dbName` ending before `keepFrom`; a child frame is kept while its parent is (so deleting the parent can delete it too). */
function prunable(known: Map<string, FrameProgress>, dbName: string, keepFrom: number): string[] {
  const memo = new Map<string, boolean>();
  const test = (k: string): boolean => {
    let v = memo.get(k);
    if (v !== undefined) return v;
    const p = known.get(k)!;
    const parent = p.p === undefined ? undefined : FRAMES.key(p.p);
    v = p.d === dbName && p.e !== null && p.e < keepFrom && (parent === undefined || !known.has(parent) || test(parent));
    memo.set(k, v);
    return v;
  };
  return [...known.keys()].filter(test);
}
