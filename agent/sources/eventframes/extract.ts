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
 * Progress per frame (`ef:<webId>`: database, content hash, start, end, attribute and referenced
 * element ids) commits with its rows; the window end (`efw:<database>`) only after a complete
 * cycle. Closed frames that ended before the next window are forgotten (their progress pruned).
 */
import type { Row } from '../../batch/tables.js';
import { PiError } from '../../errors.js';
import type { PiClient } from '../../pi/client.js';
import { formatPiTime, parsePiTimestamp } from '../../pi/time.js';
import type { Store } from '../../store/store.js';
import type { AfAttributeJson, AfDatabaseJson } from '../af/extract.js';
import { batchGet, batchItems, contentHash, emptyToNull, jsonList, pages, toIdOnly, webIdFromLink } from '../af/read.js';
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
}

const FRAME_PREFIX = 'ef:';
const WINDOW_PREFIX = 'efw:';
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
}): Promise<EventFramesResult> {
  const result: EventFramesResult = { frames: 0, open: 0, upserts: 0, deletes: 0, paused: false };
  const margin = o.marginUs ?? DEFAULT_MARGIN_US;
  const known = o.store.getProgressByPrefix<FrameProgress>(FRAME_PREFIX);

  for (const dbPath of o.databases) {
    o.signal?.throwIfAborted();
    if (o.store.isBufferFull()) {
      result.paused = true;
      return result;
    }
    const db = await o.client.get<AfDatabaseJson>('/assetdatabases', { path: dbPath, webIdType: 'IDOnly' });
    const dbName = db.Path || dbPath;
    const dbId = toIdOnly(db.WebId);
    const lastEnd = o.store.getProgress<number>(WINDOW_PREFIX + dbName);
    const from = lastEnd === undefined ? o.startUs : Math.max(o.startUs, lastEnd - margin);
    const to = Math.max(from, o.nowUs);
    const seen = new Set<string>();

    /** Rows and progress for a step of frames; unchanged frames produce nothing. */
    const processFrames = async (frames: EventFrameJson[]): Promise<void> => {
      const fresh = frames.filter((f) => !seen.has(FRAME_PREFIX + toIdOnly(f.WebId)));
      for (const f of fresh) seen.add(FRAME_PREFIX + toIdOnly(f.WebId));
      if (fresh.length === 0) return;
      const attrLists = await batchItems<AfAttributeJson>(o.client, fresh.map((f) => ({
        path: `/eventframes/${encodeURIComponent(toIdOnly(f.WebId))}/attributes`,
        query: { searchFullHierarchy: true, showHidden: true, showExcluded: true, webIdType: 'IDOnly' },
      })), o.signal);
      const allAttrs = attrLists.flat();
      const values = await batchGet<PiValueItem>(o.client, allAttrs.map((a) => ({ path: `/streams/${encodeURIComponent(toIdOnly(a.WebId))}/value` })), NO_VALUE, o.signal);
      let v = 0;
      const frameRows: Row[] = [];
      const attrRows: Row[] = [];
      const refRows: Row[] = [];
      const progress: { key: string; value: FrameProgress }[] = [];
      const ingested = Date.now() * 1000;
      fresh.forEach((f, i) => {
        const webId = toIdOnly(f.WebId);
        const key = FRAME_PREFIX + webId;
        const start = usOf(f.StartTime);
        const endRaw = f.EndTime ? usOf(f.EndTime) : OPEN_FROM_US;
        const end = endRaw >= OPEN_FROM_US ? null : endRaw;
        result.frames++;
        if (end === null) result.open++;
        const frame: Row = {
          site: o.site, event_frame_webid: webId, event_frame_id: f.Id ?? null, database_path: dbName,
          parent_webid: webIdFromLink(f.Links?.['Parent']) ?? null, name: f.Name, path: f.Path,
          description: emptyToNull(f.Description), template_name: emptyToNull(f.TemplateName),
          category_names: jsonList(f.CategoryNames ?? []), start_time: start, end_time: end,
          severity: emptyToNull(f.Severity), is_acknowledged: f.IsAcknowledged ?? null,
          can_be_acknowledged: f.CanBeAcknowledged ?? null, is_annotated: f.IsAnnotated ?? null,
          is_locked: f.IsLocked ?? null, are_values_captured: f.AreValuesCaptured ?? null,
          ingested_at: ingested, op: 'update',
        };
        const attrs: Row[] = attrLists[i]!.map((a) => {
          const res = values[v++]!;
          const ok = res.status >= 200 && res.status < 300 && res.content !== undefined && res.content !== null;
          const item = ok ? res.content! : undefined;
          const units = emptyToNull(a.DefaultUnitsNameAbbreviation) ?? undefined;
          const typed = item ? typeValue(item, pointTypeOf(a.Type), units, usOf) : { ...NULL_VALUE, good: false };
          return {
            site: o.site, attribute_webid: toIdOnly(a.WebId), event_frame_webid: webId, name: a.Name, path: a.Path,
            type: emptyToNull(a.Type), timestamp: item?.Timestamp ? usOf(item.Timestamp) : null, ...typed,
            ingested_at: ingested, op: 'update',
          };
        });
        const refIds = (f.RefElementWebIds ?? []).map(toIdOnly);
        const refs: Row[] = refIds.map((r, j) => ({ site: o.site, event_frame_webid: webId, element_webid: r, primary: j === 0, ingested_at: ingested, op: 'update' }));
        const strip = (r: Row): Row => {
          const { ingested_at: _i, op: _o, ...rest } = r;
          return rest;
        };
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
        progress.push({ key, value: { d: dbName, h: hash, s: start, e: end, a: attrIds, r: refIds } });
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
          await processFrames(page.slice(i, i + STEP));
        }
      }
    }

    // Known frames that overlap the window but were not returned: deleted, or changed out of it.
    const missing = [...known].filter(([k, p]) => p.d === dbName && !seen.has(k) && p.s <= to && (p.e === null || p.e >= from)).map(([k]) => k);
    for (let i = 0; i < missing.length; i += STEP) {
      const keys = missing.slice(i, i + STEP);
      const reads = await batchGet<EventFrameJson>(o.client, keys.map((k) => ({ path: `/eventframes/${encodeURIComponent(k.slice(FRAME_PREFIX.length))}`, query: { webIdType: 'IDOnly' } })), [404], o.signal);
      const found = reads.filter((r) => r.status !== 404).map((r) => r.content!);
      if (found.some((f) => !f || typeof f.WebId !== 'string')) throw new PiError('PI_BAD_RESPONSE', 'PI Web API answered an event frame read without a WebId', { retryable: true });
      await processFrames(found);
      const gone = keys.filter((_k, j) => reads[j]!.status === 404);
      if (gone.length === 0) continue;
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

    // The window moves on; closed frames that end before the next window are not read again.
    const nextFrom = Math.max(o.startUs, to - margin);
    const prune = [...known].filter(([, p]) => p.d === dbName && p.e !== null && p.e < nextFrom).map(([k]) => k);
    o.store.commitStep([], [{ key: WINDOW_PREFIX + dbName, value: to }], prune);
    for (const k of prune) known.delete(k);
  }
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
