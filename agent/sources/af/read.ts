/**
 * Reading AF collections from PI Web API: paging without silent caps (fidelity §6, §11), GETs
 * grouped into `/batch` calls with every entry checked (§5). WebID helpers are in pi/webid.ts.
 */
import { createHash } from 'node:crypto';
import { PiError } from '../../errors.js';
import { postBatch } from '../../pi/batch.js';
import type { PiClient } from '../../pi/client.js';
import { buildQuery, type Query } from '../../pi/http.js';
import type { BatchRequest, PiItems } from '../../pi/types.js';

/** PI's default and usual page size for AF collections (fidelity §6). */
export const PAGE_SIZE = 1000;

/** Sub-requests per `/batch` call: keeps the request body far below the 4 MB limit (§5). */
export const BATCH_SIZE = 200;

/** A short stable digest of an object's content (change detection between snapshots). */
export function contentHash(v: unknown): string {
  return createHash('sha256').update(JSON.stringify(v)).digest('base64url').slice(0, 22);
}

/** `[a, b]` as JSON text; null for no array. */
export function jsonList(v: unknown): string | null {
  return Array.isArray(v) ? JSON.stringify(v) : null;
}

export function emptyToNull(s: string | undefined | null): string | null {
  return s === undefined || s === null || s === '' ? null : s;
}

/**
 * Every page of a collection: `startIndex` advances by what came back until a short page. PI
 * truncates silently at `maxCount` (§11), so a full page always means "ask again".
 */
export async function* pages<T>(client: PiClient, path: string, query: Query, signal?: AbortSignal, pageSize = PAGE_SIZE): AsyncGenerator<T[]> {
  for (let start = 0; ;) {
    signal?.throwIfAborted();
    const res = await client.get<PiItems<T>>(path, { ...query, startIndex: start, maxCount: pageSize });
    const items = itemsOf<T>(res, client.urlOf(path));
    yield items;
    if (items.length < pageSize) return;
    start += items.length;
  }
}

/** What one call of a collection without `startIndex` asks for: far beyond any real database's templates. */
export const ONE_CALL_MAX = 100_000;

/**
 * Every item of a collection whose route takes no `startIndex`, in one call. The spec's
 * `AssetDatabase_GetElementTemplates` (`/assetdatabases/{webId}/elementtemplates`) takes `field`,
 * `maxCount`, `query`, `selectedFields`, `sortField`, `sortOrder` and `webIdType` only: a server
 * ignores `startIndex` and answers with the first page again, so paging would never end
 * (fidelity §6). A full answer may have been cut at `maxCount`: that fails loudly (PI_TRUNCATED),
 * never a silent partial list (§11).
 */
export async function oneCall<T>(client: PiClient, path: string, query: Query, signal?: AbortSignal, max = ONE_CALL_MAX): Promise<T[]> {
  signal?.throwIfAborted();
  const res = await client.get<PiItems<T>>(path, { ...query, maxCount: max });
  const url = client.urlOf(path);
  const items = itemsOf<T>(res, url);
  if (items.length >= max) {
    throw new PiError(
      'PI_TRUNCATED',
      `PI Web API answered ${url} with ${items.length} items, the most one call asks for (${max}): the list may be cut short and this route cannot be paged`,
      {
        url,
        limit: max,
      },
    );
  }
  return items;
}

function itemsOf<T>(res: unknown, url: string): T[] {
  const items = res !== null && typeof res === 'object' ? (res as { Items?: unknown }).Items : undefined;
  if (!Array.isArray(items)) throw new PiError('PI_BAD_RESPONSE', `PI Web API answered ${url} without an Items array`, { url, retryable: true });
  return items as T[];
}

export interface GetRequest {
  path: string;
  query?: Query;
}

export interface GetResult<T> {
  status: number;
  content: T | undefined;
}

/**
 * GET each request through `/batch` (in chunks of BATCH_SIZE), results in request order. A failed
 * sub-request throws, unless its status is in `tolerate` (e.g. 404 when checking that an object
 * still exists): then it is returned with its status for the caller to decide.
 */
export async function batchGet<T>(client: PiClient, reqs: GetRequest[], tolerate: readonly number[] = [], signal?: AbortSignal): Promise<GetResult<T>[]> {
  const out: GetResult<T>[] = [];
  for (let i = 0; i < reqs.length; i += BATCH_SIZE) {
    signal?.throwIfAborted();
    const chunk = reqs.slice(i, i + BATCH_SIZE);
    const body: Record<string, BatchRequest> = {};
    chunk.forEach((r, j) => {
      body[String(j + 1)] = { Method: 'GET', Resource: client.urlOf(r.path) + buildQuery(r.query) };
    });
    const res = await postBatch(client, body);
    chunk.forEach((_r, j) => {
      const e = res[String(j + 1)]!;
      if (e.error && !tolerate.includes(e.status)) throw e.error;
      out.push({ status: e.status, content: e.content as T | undefined });
    });
  }
  return out;
}

/** All items of a collection for many owners: first pages through `/batch`, further pages one by one. */
export async function batchItems<T>(client: PiClient, reqs: GetRequest[], signal?: AbortSignal): Promise<T[][]> {
  const first = await batchGet<PiItems<T>>(
    client,
    reqs.map((r) => ({ path: r.path, query: { ...r.query, startIndex: 0, maxCount: PAGE_SIZE } })),
    [],
    signal,
  );
  const out: T[][] = [];
  for (let i = 0; i < reqs.length; i++) {
    const items = [...itemsOf<T>(first[i]!.content, client.urlOf(reqs[i]!.path))];
    if (items.length >= PAGE_SIZE) {
      // A full first page: the rest comes page by page (rare: an owner with 1000+ attributes).
      let start = items.length;
      for (;;) {
        signal?.throwIfAborted();
        const res = await client.get<PiItems<T>>(reqs[i]!.path, { ...reqs[i]!.query, startIndex: start, maxCount: PAGE_SIZE });
        const more = itemsOf<T>(res, client.urlOf(reqs[i]!.path));
        items.push(...more);
        start += more.length;
        if (more.length < PAGE_SIZE) break;
      }
    }
    out.push(items);
  }
  return out;
}
