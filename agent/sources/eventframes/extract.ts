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
 */
import type { Row } from '../../batch/tables.js';
import { PiError } from '../../errors.js';
import type { PiClient } from '../../pi/client.js';
import { formatPiTime, parsePiTimestamp } from '../../pi/time.js';
import { idOnlyWebId, webIdOfLink } from '../../pi/webid.js';
import type { Store } from '../../store/store.js';
import type { AfAttributeJson, AfDatabaseJson } from '../af/extract.js';
import { batchGet, batchItems, contentHash, emptyToNull, jsonList, pages } from '../af/read.js';
import { NULL_VALUE, typeValue, type PiValueItem } from '../timeseries/values.js';

interface EventFrameJson {
  WebId: string;
  Id?: string;
  Name: string;
  Description?: string;
  Path: string;
  TemplateName?: string;
  CategoryNames?: string[];
  StartTime: string;
  EndTime?: string;
  Severity?: string;
  IsAcknowledged?: boolean;
  CanBeAcknowledged?: boolean;
  IsAnnotated?: boolean;
  IsLocked?: boolean;
  AreValuesCaptured?: boolean;
  RefElementWebIds?: string[];
  Links?: Record<string, string>;
}

/** What the store remembers of a frame. */
interface FrameProgress {
  d: string;
  h: string;
  /** Parent frame (IDOnly WebID) of a child frame. */
  p?: string;
  s: number;
  e: number | null;
  a: string[];
  r: string[];
}

export interface EventFramesResult {
  frames: number;
  open: number;
  upserts: number;
  deletes: number;
  /** true when the cycle stopped early (buffer full): the window did not advance, nothing was deleted. */
  paused: boolean;
  /** Databases whose cycle was a rescan (searched the whole rescan horizon). */
  rescans: number;
}

const FRAME_PREFIX = 'ef:';
const WINDOW_PREFIX = 'efw:';
/** Suffix of the last-rescan key after `efw:<database>` ('|' cannot occur in an AF name); under `efw:` so a reset clears it. */
const RESCAN_SUFFIX = '|rescan';
/** Default overlap of consecutive windows: covers clock differences between agent and PI. */
const DEFAULT_MARGIN_US = 600 * 1_000_000;
/** PI renders the end of an in-progress frame as 31 Dec 9999 (fidelity §7). */
const OPEN_FROM_US = Date.UTC(9999, 0, 1) * 1000;
/** Statuses of a value read that mean "no readable value" rather than an outage. */
const NO_VALUE = [400, 404, 409, 501] as const;
/** Frames per processing step (their attributes are read in one or two `/batch` calls). */
const STEP = 100;

/** AF value types → the PI point type names typeValue understands. */
function pointTypeOf(afType: string | undefined): string | undefined {
  switch ((afType ?? '').toLowerCase()) {
    case 'int16': case 'int32': case 'int64': case 'byte': return 'Int32';
    case 'datetime': return 'Timestamp';
    default: return afType;
  }
}

const usOf = (s: string): number => parsePiTimestamp(s).us;

/** The frame's end in µs; null while in progress. */
function endOf(f: EventFrameJson): number | null {
  const endRaw = f.EndTime ? usOf(f.EndTime) : OPEN_FROM_US;
  return endRaw >= OPEN_FROM_US ? null : endRaw;
}

const strip = (r: Row): Row => {
  const { ingested_at: _i, op: _o, ...rest } = r;
  return rest;
};

/** The pi_event_frames row and pi_event_frame_elements rows of a frame as PI returned it. */
function frameRowsOf(site: string, dbName: string, f: EventFrameJson, ingested: number): { webId: string; frame: Row; refIds: string[]; refs: Row[] } {
  const webId = idOnlyWebId(f.WebId);
  const frame: Row = {
    site, event_frame_webid: webId, event_frame_id: f.Id ?? null, database_path: dbName,
    parent_webid: idOnlyWebId(webIdOfLink(f.Links?.['Parent'])) ?? null, name: f.Name, path: f.Path,
    description: emptyToNull(f.Description), template_name: emptyToNull(f.TemplateName),
    category_names: jsonList(f.CategoryNames ?? []), start_time: usOf(f.StartTime), end_time: endOf(f),
    severity: emptyToNull(f.Severity), is_acknowledged: f.IsAcknowledged ?? null,
    can_be_acknowledged: f.CanBeAcknowledged ?? null, is_annotated: f.IsAnnotated ?? null,
    is_locked: f.IsLocked ?? null, are_values_captured: f.AreValuesCaptured ?? null,
    ingested_at: ingested, op: 'update',
  };
  const refIds = (f.RefElementWebIds ?? []).map((w) => idOnlyWebId(w));
  const refs: Row[] = refIds.map((r, j) => ({ site, event_frame_webid: webId, element_webid: r, primary: j === 0, ingested_at: ingested, op: 'update' }));
  return { webId, frame, refIds, refs };
}

export async function extractEventFrames(o: {
  site: string;
  client: PiClient;
  store: Store;
  databases: string[];
  startUs: number;
  nowUs: number;
  templates?: string[];
  categories?: string[];
  signal?: AbortSignal;
  /** Overlap of consecutive windows (default 10 min). */
  marginUs?: number;
  /** How far back a rescan searches (config `event_frames.rescan_horizon`), µs. */
  rescanHorizonUs?: number;
  /** Rescan when PI's clock passed the last rescan by this much (`event_frames.rescan_every`), µs; both omitted: no rescans. */
  rescanEveryUs?: number;
}): Promise<EventFramesResult> {
  const result: EventFramesResult = { frames: 0, open: 0, upserts: 0, deletes: 0, paused: false, rescans: 0 };
  const margin = o.marginUs ?? DEFAULT_MARGIN_US;
  const horizon = o.rescanHorizonUs !== undefined && o.rescanEveryUs !== undefined ? o.rescanHorizonUs : undefined;
  const known = o.store.getProgressByPrefix<FrameProgress>(FRAME_PREFIX);
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
    const dbId = idOnlyWebId(db.WebId);
    const lastEnd = o.store.getProgress<number>(WINDOW_PREFIX + dbName);
    const shortFrom = lastEnd === undefined ? o.startUs : Math.max(o.startUs, lastEnd - margin);
    const rescanKey = WINDOW_PREFIX + dbName + RESCAN_SUFFIX;
    const lastRescan = o.store.getProgress<number>(rescanKey);
    // Due when PI's clock passed the last rescan by rescan_every, or went back before it (clock reset).
    const rescan = horizon !== undefined && (lastRescan === undefined || o.nowUs - lastRescan >= o.rescanEveryUs! || o.nowUs < lastRescan);
    // A rescan never searches less than the short window (after a long outage that is the longer one).
    const from = rescan ? Math.min(shortFrom, Math.max(o.startUs, o.nowUs - horizon)) : shortFrom;
    const to = Math.max(from, o.nowUs);
    if (rescan) result.rescans++;
    const seen = new Set<string>();

    /** Rows and progress for a step of frames; unchanged frames produce nothing. */
    const processFrames = async (frames: EventFrameJson[]): Promise<void> => {
      const fresh = frames.filter((f) => !seen.has(FRAME_PREFIX + idOnlyWebId(f.WebId)));
      for (const f of fresh) seen.add(FRAME_PREFIX + idOnlyWebId(f.WebId));
      if (fresh.length === 0) return;
      const attrLists = await batchItems<AfAttributeJson>(o.client, fresh.map((f) => ({
        path: `/eventframes/${encodeURIComponent(idOnlyWebId(f.WebId))}/attributes`,
        query: { searchFullHierarchy: true, showHidden: true, showExcluded: true, webIdType: 'IDOnly' },
      })), o.signal);
      const allAttrs = attrLists.flat();
      const values = await batchGet<PiValueItem>(o.client, allAttrs.map((a) => ({ path: `/streams/${encodeURIComponent(idOnlyWebId(a.WebId))}/value` })), NO_VALUE, o.signal);
      let v = 0;
      const frameRows: Row[] = [];
      const attrRows: Row[] = [];
      const refRows: Row[] = [];
      const progress: { key: string; value: FrameProgress }[] = [];
      const ingested = Date.now() * 1000;
      fresh.forEach((f, i) => {
        const { webId, frame, refIds, refs } = frameRowsOf(o.site, dbName, f, ingested);
        const key = FRAME_PREFIX + webId;
        const start = frame['start_time'] as number;
        const end = frame['end_time'] as number | null;
        result.frames++;
        if (end === null) result.open++;
        const attrs: Row[] = attrLists[i]!.map((a) => {
          const res = values[v++]!;
          const ok = res.status >= 200 && res.status < 300 && res.content !== undefined && res.content !== null;
          const item = ok ? res.content! : undefined;
          const units = emptyToNull(a.DefaultUnitsNameAbbreviation) ?? undefined;
          const typed = item ? typeValue(item, pointTypeOf(a.Type), units, usOf) : { ...NULL_VALUE, good: false };
          return {
            site: o.site, attribute_webid: idOnlyWebId(a.WebId), event_frame_webid: webId, name: a.Name, path: a.Path,
            type: emptyToNull(a.Type), timestamp: item?.Timestamp ? usOf(item.Timestamp) : null, ...typed,
            ingested_at: ingested, op: 'update',
          };
        });
        const hash = contentHash([strip(frame), attrs.map(strip), refs.map(strip)]);
        const before = known.get(key);
        if (before && before.h === hash && before.d === dbName) return;
        const attrIds = attrs.map((a) => a['attribute_webid'] as string);
        frameRows.push(frame);
        attrRows.push(...attrs);
        refRows.push(...refs);
        // What the previous version had and this one has not: gone attributes and references.
        for (const a of before?.a ?? []) if (!attrIds.includes(a)) attrRows.push({ site: o.site, attribute_webid: a, event_frame_webid: webId, ingested_at: ingested, op: 'delete' });
        for (const r of before?.r ?? []) if (!refIds.includes(r)) refRows.push({ site: o.site, event_frame_webid: webId, element_webid: r, ingested_at: ingested, op: 'delete' });
        const value: FrameProgress = { d: dbName, h: hash, s: start, e: end, a: attrIds, r: refIds };
        if (typeof frame['parent_webid'] === 'string') value.p = frame['parent_webid'];
        progress.push({ key, value });
        result.upserts++;
      });
      if (progress.length === 0) return;
      o.store.commitStep([
        { table: 'pi_event_frames', rows: frameRows },
        { table: 'pi_event_frame_attributes', rows: attrRows },
        { table: 'pi_event_frame_elements', rows: refRows },
      ], progress);
      for (const p of progress) known.set(p.key, p.value);
    };

    const framesPath = `/assetdatabases/${encodeURIComponent(dbId)}/eventframes`;
    for (const filter of filters(o.templates, o.categories)) {
      const query = {
        searchMode: 'Overlapped', startTime: formatPiTime(from), endTime: formatPiTime(to),
        searchFullHierarchy: true, webIdType: 'IDOnly', sortField: 'StartTime', ...filter,
      };
      for await (const page of pages<EventFrameJson>(o.client, framesPath, query, o.signal)) {
        for (let i = 0; i < page.length; i += STEP) {
          if (o.store.isBufferFull()) {
            result.paused = true;
            return result;
          }
          const step = page.slice(i, i + STEP);
          await processFrames(step);
        }
      }
    }

    // Known frames that overlap the window but were not returned: deleted, or changed out of it.
    const missing = [...known].filter(([k, p]) => p.d === dbName && !seen.has(k) && p.s <= to && (p.e === null || p.e >= from)).map(([k]) => k);
    for (let i = 0; i < missing.length; i += STEP) {
      // A key may already be gone as the child of a frame deleted in an earlier step.
      const keys = missing.slice(i, i + STEP).filter((k) => known.has(k));
      if (keys.length === 0) continue;
      const reads = await batchGet<EventFrameJson>(o.client, keys.map((k) => ({ path: `/eventframes/${encodeURIComponent(k.slice(FRAME_PREFIX.length))}`, query: { webIdType: 'IDOnly' } })), [404], o.signal);
      const found = reads.filter((r) => r.status !== 404).map((r) => r.content!);
      if (found.some((f) => !f || typeof f.WebId !== 'string')) throw new PiError('PI_BAD_RESPONSE', 'PI Web API answered an event frame read without a WebId', { retryable: true });
      await processFrames(found);
      const gone = keys.filter((_k, j) => reads[j]!.status === 404);
      if (gone.length === 0) continue;
      // PI deletes a frame's child frames with it: known descendants the search did not return go too.
      const kids = new Map<string, string[]>();
      for (const [k, p] of known) if (p.p !== undefined) kids.set(FRAME_PREFIX + p.p, [...(kids.get(FRAME_PREFIX + p.p) ?? []), k]);
      for (let j = 0; j < gone.length; j++) {
        for (const c of kids.get(gone[j]!) ?? []) if (!seen.has(c) && !gone.includes(c)) gone.push(c);
      }
      const ingested = Date.now() * 1000;
      const frameRows: Row[] = [];
      const attrRows: Row[] = [];
      const refRows: Row[] = [];
      for (const k of gone) {
        const webId = k.slice(FRAME_PREFIX.length);
        const p = known.get(k)!;
        frameRows.push({ site: o.site, event_frame_webid: webId, ingested_at: ingested, op: 'delete' });
        for (const a of p.a) attrRows.push({ site: o.site, attribute_webid: a, event_frame_webid: webId, ingested_at: ingested, op: 'delete' });
        for (const r of p.r) refRows.push({ site: o.site, event_frame_webid: webId, element_webid: r, ingested_at: ingested, op: 'delete' });
      }
      o.store.commitStep([
        { table: 'pi_event_frames', rows: frameRows },
        { table: 'pi_event_frame_attributes', rows: attrRows },
        { table: 'pi_event_frame_elements', rows: refRows },
      ], [], gone);
      for (const k of gone) known.delete(k);
      result.deletes += gone.length;
    }

    // The window moves on; closed frames that end before the next window (with rescans: before the
    // next rescan's horizon) are not read again and are forgotten.
    const nextFrom = Math.max(o.startUs, to - margin);
    const keepFrom = horizon === undefined ? nextFrom : Math.min(nextFrom, to - horizon);
    // A child frame is kept while its parent is (so deleting the parent can delete it too).
    const memo = new Map<string, boolean>();
    const prunable = (k: string): boolean => {
      let v = memo.get(k);
      if (v !== undefined) return v;
      const p = known.get(k)!;
      const parent = p.p === undefined ? undefined : FRAME_PREFIX + p.p;
      v = p.d === dbName && p.e !== null && p.e < keepFrom && (parent === undefined || !known.has(parent) || prunable(parent));
      memo.set(k, v);
      return v;
    };
    const prune = [...known.keys()].filter(prunable);
    const window = [{ key: WINDOW_PREFIX + dbName, value: to }];
    if (rescan) window.push({ key: rescanKey, value: o.nowUs });
    o.store.commitStep([], window, prune);
    for (const k of prune) known.delete(k);
  }

  // A database no longer configured: its frames stay in the tables (history, not deleted), but their
  // per-frame progress is forgotten so it does not grow (open frames would otherwise stay forever).
  const orphans = [...known].filter(([, p]) => !configured.has(p.d.toUpperCase())).map(([k]) => k);
  if (orphans.length > 0) o.store.commitStep([], [], orphans);
  return result;
}

/** One search per template × category (PI takes one of each per call); none → one unfiltered search. */
function filters(templates: string[] | undefined, categories: string[] | undefined): Record<string, string>[] {
  const ts = templates?.length ? templates : [undefined];
  const cs = categories?.length ? categories : [undefined];
  const out: Record<string, string>[] = [];
  for (const t of ts) {
    for (const c of cs) {
      const f: Record<string, string> = {};
      if (t !== undefined) f['templateName'] = t;
      if (c !== undefined) f['categoryName'] = c;
      out.push(f);
    }
  }
  return out;
}
