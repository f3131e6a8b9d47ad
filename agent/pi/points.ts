/**
 * Data servers and PI points (piwebapi-fidelity.md §2): look a server up by name, list its points
 * page by page (all of them, never a silent first page, §11), resolve a point by path.
 */
import { PiError } from '../errors.js';
import type { PiClient } from './client.js';
import { postBatch } from './batch.js';
import type { BatchRequest, DataServer, PiItems, PiPoint } from './types.js';
import { piVersion } from './version.js';

/**
 * Every read that returns WebIDs names the type it wants: a server's configured default
 * (`WebIDType` setting, AVEVA webid-type.html) may be IDOnly, PathOnly or LocalIDOnly, and the
 * agent keys points by the IDOnly id (pi/webid.ts idOnlyWebId gives the same from a Full one).
 */
const ID_ONLY = { webIdType: 'IDOnly' } as const;

/**
 * What discovery keeps of a point (sources/tags/discover.ts): every field but `Links` and
 * `DisplayDigits`. The links are most of a listed point's bytes (nine URLs, each with the WebID,
 * which on a WebID 1.0 server carries the path too): docs/benchmarks.md, tag discovery by release.
 */
export const DISCOVERY_POINT_FIELDS = [
  'WebId',
  'Id',
  'Name',
  'Path',
  'Descriptor',
  'PointClass',
  'PointType',
  'DigitalSetName',
  'EngineeringUnits',
  'Span',
  'Zero',
  'Step',
  'Future',
]
  .map((f) => `Items.${f}`)
  .join(';');

/**
 * `pointsource` batches in flight at once while the listing goes on (a release that ignores
 * `sourceFilter`). The client's own limit (pi.concurrency) still bounds the requests; the server
 * answers the same sub-requests either way, only sooner.
 */
const SOURCE_BATCHES_IN_FLIGHT = 4;

/** `NAME`, `\\NAME` or `\\PIServers[NAME]` → the data server. PI_NOT_FOUND when it does not exist. */
export async function findDataServer(client: PiClient, name: string): Promise<DataServer> {
  const path = name.startsWith('\\\\') ? name : `\\\\${name}`;
  const ds = await client.get<DataServer>('/dataservers', { path, ...ID_ONLY });
  if (!ds || typeof ds.WebId !== 'string') {
    throw new PiError('PI_BAD_RESPONSE', `PI Web API answered GET /dataservers?path=${path} without a WebId`);
  }
  return ds;
}

export interface ListPointsOptions {
  /** PI name filter (`*`, `?`, `[abc]`; fidelity §1). Default `*`. */
  nameFilter?: string;
  /** Point source filter (e.g. `OPC*`), sent only when given. */
  sourceFilter?: string;
  /** Points per request (default 1000, PI's own default). */
  pageSize?: number;
  /** e.g. `Items.WebId;Items.Name`: prune the points (the default returns every field). */
  selectedFields?: string;
}

/**
 * Every point of a data server matching the filters, paging with `startIndex` until a page comes
 * back shorter than `pageSize`. `sourceFilter` is sent to a server that honours it; elsewhere (it is
 * not a parameter in the 2018 SP1 spec, and such a server returns every point) or when the release
 * is unknown, each point's `pointsource` attribute is read (through /batch) and matched here.
 */
export async function* listPoints(client: PiClient, serverWebId: string, opts: ListPointsOptions = {}): AsyncIterable<PiPoint> {
  const pageSize = opts.pageSize ?? 1000;
  if (!Number.isInteger(pageSize) || pageSize < 1) throw new RangeError(`pageSize must be a positive integer, got ${pageSize}`);
  const src = opts.sourceFilter;
  if (src === undefined || (await piVersion(client))?.features.sourceFilter) {
    yield* pointPages(client, serverWebId, opts, pageSize, src);
    return;
  }
  const re = piFilterRegExp(src);
  const matching = async (page: PiPoint[]): Promise<PiPoint[]> => {
    const sources = await pointSources(client, page);
    return page.filter((p) => re.test(sources.get(p.WebId) ?? ''));
  };
  // Pages are checked a few at once and yielded in listing order. Each promise is marked handled
  // when made: one failing while an earlier one is awaited is not an unhandled rejection; it is
  // thrown when its turn comes (or never, when the caller stops first).
  const inFlight: Promise<PiPoint[]>[] = [];
  // A bigger page when filtering here: a caller's page of 1 (check's sample) would be a request a point.
  for await (const page of pagesOf(pointPages(client, serverWebId, opts, Math.max(pageSize, 1000), undefined), 500)) {
    const checked = matching(page);
    checked.catch(() => undefined);
    inFlight.push(checked);
    if (inFlight.length >= SOURCE_BATCHES_IN_FLIGHT) yield* await inFlight.shift()!;
  }
  while (inFlight.length > 0) yield* await inFlight.shift()!;
}

async function* pointPages(client: PiClient, serverWebId: string, opts: ListPointsOptions, pageSize: number, sourceFilter: string | undefined): AsyncIterable<PiPoint> {
  let startIndex = 0;
  for (;;) {
    const page = await client.get<PiItems<PiPoint>>(`/dataservers/${encodeURIComponent(serverWebId)}/points`, {
      nameFilter: opts.nameFilter ?? '*',
      sourceFilter,
      startIndex,
      maxCount: pageSize,
      selectedFields: opts.selectedFields,
      ...ID_ONLY,
    });
    if (!page || !Array.isArray(page.Items)) {
      throw new PiError('PI_BAD_RESPONSE', `PI Web API answered GET /dataservers/${serverWebId}/points without Items (startIndex ${startIndex})`);
    }
    for (const p of page.Items) yield p;
    if (page.Items.length < pageSize) return;
    startIndex += page.Items.length;
  }
}

async function* pagesOf<T>(items: AsyncIterable<T>, size: number): AsyncIterable<T[]> {
  let page: T[] = [];
  for await (const it of items) {
    page.push(it);
    if (page.length >= size) {
      yield page;
      page = [];
    }
  }
  if (page.length > 0) yield page;
}

/**
 * Each point's PointSource: GET points/{webId}/attributes/pointsource (swagger-2018sp1.json Point
 * GetAttributeByName), one /batch for the page. A point whose attribute cannot be read fails the
 * listing: a selection is never silently short.
 */
async function pointSources(client: PiClient, points: readonly PiPoint[]): Promise<Map<string, string>> {
  const base = client.urlOf('/points/');
  const batch: Record<string, BatchRequest> = {};
  points.forEach((p, i) => {
    batch[String(i)] = { Method: 'GET', Resource: `${base}${encodeURIComponent(p.WebId)}/attributes/pointsource?selectedFields=Value` };
  });
  const res = await postBatch(client, batch);
  const out = new Map<string, string>();
  points.forEach((p, i) => {
    const e = res[String(i)]!;
    if (e.error) throw e.error;
    const v = (e.content as { Value?: unknown } | undefined)?.Value;
    out.set(p.WebId, typeof v === 'string' ? v : String(v ?? ''));
  });
  return out;
}

/**
 * A PI filter (`*`, `?`; piwebapi-fidelity.md §1) as a case-insensitive anchored pattern; anything
 * else matches itself.
 */
export function piFilterRegExp(filter: string): RegExp {
  const body = [...filter].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))).join('');
  return new RegExp(`^${body}$`, 'is');
}

/** `\\SERVER\TAG` → the point. PI_NOT_FOUND when it does not exist. */
export async function getPointByPath(client: PiClient, path: string, opts: { selectedFields?: string } = {}): Promise<PiPoint> {
  const p = await client.get<PiPoint>('/points', { path, selectedFields: opts.selectedFields, ...ID_ONLY });
  if (!p || typeof p.WebId !== 'string') {
    throw new PiError('PI_BAD_RESPONSE', `PI Web API answered GET /points?path=${path} without a WebId`);
  }
  return p;
}
