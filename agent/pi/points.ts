/**
 * Data servers and PI points (piwebapi-fidelity.md §2): look a server up by name, list its points
 * page by page (all of them, never a silent first page, §11), resolve a point by path.
 */
import { PiError } from '../errors.js';
import type { PiClient } from './client.js';
import type { DataServer, PiItems, PiPoint } from './types.js';

/**
 * Every read that returns WebIDs names the type it wants: a server's configured default
 * (`WebIDType` setting, AVEVA webid-type.html) may be IDOnly, PathOnly or LocalIDOnly, and the
 * agent keys points by the IDOnly id (pi/webid.ts idOnlyWebId gives the same from a Full one).
 */
const ID_ONLY = { webIdType: 'IDOnly' } as const;

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
 * back shorter than `pageSize`.
 */
export async function* listPoints(client: PiClient, serverWebId: string, opts: ListPointsOptions = {}): AsyncIterable<PiPoint> {
  const pageSize = opts.pageSize ?? 1000;
  if (!Number.isInteger(pageSize) || pageSize < 1) throw new RangeError(`pageSize must be a positive integer, got ${pageSize}`);
  let startIndex = 0;
  for (;;) {
    const page = await client.get<PiItems<PiPoint>>(`/dataservers/${encodeURIComponent(serverWebId)}/points`, {
      nameFilter: opts.nameFilter ?? '*',
      sourceFilter: opts.sourceFilter,
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

/** `\\SERVER\TAG` → the point. PI_NOT_FOUND when it does not exist. */
export async function getPointByPath(client: PiClient, path: string, opts: { selectedFields?: string } = {}): Promise<PiPoint> {
  const p = await client.get<PiPoint>('/points', { path, selectedFields: opts.selectedFields, ...ID_ONLY });
  if (!p || typeof p.WebId !== 'string') {
    throw new PiError('PI_BAD_RESPONSE', `PI Web API answered GET /points?path=${path} without a WebId`);
  }
  return p;
}
