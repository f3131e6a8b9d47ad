/**
 * The event frames source (design.md "sources", fidelity §7): frames of each configured AF database,
 * their attributes with values and their referenced elements, upserted by WebID.
 *
 * Each cycle searches `Overlapped` over [previous window end − margin, now] with explicit times (the
 * default start `*-8h` would silently skip history) and `searchFullHierarchy=true` for child frames.
 * Overlapped also returns every frame still in progress, however old, so open frames are re-read
 * until they close. Frames known to overlap the window that the search no longer returns are read
 * by WebID: a 404 means deleted in PI (→ `delete` rows), anything else is processed as found.
 *
 * Rescans (when `rescanEveryUs` is given): once PI's clock has passed the last rescan by
 * `rescanEveryUs`, the cycle searches [now − `rescanHorizonUs`, now] instead of the short window, so
 * a frame entered late with start and end both before the window (a downtime typed in the next
 * morning) is found, and a known closed frame missing from the result and 404 by WebID is deleted.
 * A rescan reads the attributes of every frame in the horizon again: an attribute value edited on a
 * closed frame (a product code corrected the next day) changes nothing in the frame's own fields, so
 * nothing cheaper would see it; unchanged frames still produce no rows (content hash). Its cost is
 * the paged search plus one batched attribute read per page of frames, once per `rescanEveryUs`.
 *
 * Progress per frame (`ef:<webId>`: database, content hash, header hash, start, end, attribute and
 * referenced element ids) commits with its rows; the window end (`efw:<database>`) and the last
 * rescan time (`efw:<database>|rescan`, PI clock) only after a complete cycle. Closed frames are
 * forgotten (progress pruned) once they end before the next window, or with rescans before
 * now − horizon, a child frame not before its parent: per-frame state stays bounded by the frames
 * of one horizon plus the open ones (and their children). A frame deleted in PI is deleted with its
 * known child frames. Deletions of frames forgotten already (ended before the horizon) go unnoticed.
 * Frames of a database no longer configured are NOT deleted (frames are history); only their
 * per-frame progress is forgotten.
 *
 * window.ts computes and closes a database's window, cycle.ts searches, upserts and deletes its
 * frames, rows.ts makes their rows.
 */
import { idOnlyWebId } from '../../pi/webid.js';
import type { AfDatabaseJson } from '../af/json.js';

import { DatabaseCycle, type CycleOptions, type FrameCounts } from './cycle.js';
import { FRAMES } from './progress.js';
import { closeWindow, searchWindow, type WindowSettings } from './window.js';

export interface EventFramesResult extends FrameCounts {
  /** true when the cycle stopped early (buffer full): the window did not advance, nothing was deleted. */
  paused: boolean;
  /** Databases whose cycle was a rescan (searched the whole rescan horizon). */
  rescans: number;
}

export interface EventFramesOptions extends CycleOptions {
  databases: string[];
  startUs: number;
  nowUs: number;
  /** Overlap of consecutive windows (default 10 min). */
  marginUs?: number;
  /** How far back a rescan searches (config `event_frames.rescan_horizon`), µs. */
  rescanHorizonUs?: number;
  /** Rescan when PI's clock passed the last rescan by this much (`event_frames.rescan_every`), µs; both omitted: no rescans. */
  rescanEveryUs?: number;
}

/** Default overlap of consecutive windows: covers clock differences between agent and PI. */
const DEFAULT_MARGIN_US = 600 * 1_000_000;

export async function extractEventFrames(o: EventFramesOptions): Promise<EventFramesResult> {
  const result: EventFramesResult = { frames: 0, open: 0, upserts: 0, deletes: 0, paused: false, rescans: 0 };
  const settings: WindowSettings = {
    startUs: o.startUs,
    nowUs: o.nowUs,
    marginUs: o.marginUs ?? DEFAULT_MARGIN_US,
    rescanEveryUs: o.rescanEveryUs,
    horizonUs: o.rescanHorizonUs !== undefined && o.rescanEveryUs !== undefined ? o.rescanHorizonUs : undefined,
  };
  const known = FRAMES.entries(o.store);
  const configured = new Set<string>();

  for (const dbPath of o.databases) {
    o.signal?.throwIfAborted();
    if (o.store.isBufferFull()) {
      result.paused = true;
      return result;
    }
    const db = await o.client.get<AfDatabaseJson>('/assetdatabases', { path: dbPath, webIdType: 'IDOnly' });
    const dbName = db.Path || dbPath;
    configured.add(dbName.toUpperCase());
    const window = searchWindow(o.store, settings, dbName);
    if (window.rescan) result.rescans++;
    const cycle = new DatabaseCycle(o, known, result, dbName, idOnlyWebId(db.WebId), window);
    if (!(await cycle.search())) {
      result.paused = true;
      return result;
    }
    await cycle.deleteMissing();
    closeWindow(o.store, known, settings, dbName, window);
  }

  // A database no longer configured: its frames stay in the tables (history, not deleted), but their
  // per-frame progress is forgotten so it does not grow (open frames would otherwise stay forever).
  const orphans = [...known].filter(([, p]) => !configured.has(p.d.toUpperCase())).map(([k]) => k);
  if (orphans.length > 0) o.store.commitStep([], [], orphans);
  return result;
}
