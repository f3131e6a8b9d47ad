/**
 * `POST /batch` (piwebapi-fidelity.md §5). The call itself answers 207 whatever happened inside;
 * each sub-request's fate is only in its own `Status`. Every entry is checked, and a failed one
 * becomes a PiError for its key, never an empty result (§11).
 */
import { PiError } from '../errors.js';
import type { PiClient } from './client.js';
import { statusFailure } from './failures.js';
import type { BatchRequest, BatchResponseEntry } from './types.js';

export interface BatchResult<T = unknown> {
  /** The sub-request's HTTP status (0 when PI left the key out of its answer). */
  status: number;
  /** Its parsed JSON content as PI sent it (for a RequestTemplate: `{Items:[{Status,Headers,Content}]}`). */
  content: T | undefined;
  /**
   * Set when the sub-request failed (status outside 2xx, a WebException in its content, missing
   * from the answer) or, for a RequestTemplate fan-out, when any of its items failed; `content`
   * still holds what PI sent so the good items can be used.
   */
  error?: PiError;
}

/** Methods PI Web API's CSRF defence checks (AVEVA PI Web API User Guide, "Other security settings": EnableCSRFDefense). */
const CSRF_CHECKED = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The sub-request as sent: one that writes (POST, PUT, PATCH, DELETE) carries `X-Requested-With`
 * in its own Headers, as the outer POST does (client.ts). With EnableCSRFDefense on (the default)
 * PI Web API checks the header on such requests; a sub-request inside /batch is one.
 */
function withCsrfHeader(r: BatchRequest): BatchRequest {
  if (!CSRF_CHECKED.has(r.Method.toUpperCase())) return r;
  if (Object.keys(r.Headers ?? {}).some((k) => k.toLowerCase() === 'x-requested-with')) return r;
  return { ...r, Headers: { ...r.Headers, 'X-Requested-With': 'XMLHttpRequest' } };
}

/** Send the sub-requests in one call; the results have exactly the keys of `requests`. */
export async function postBatch(client: PiClient, requests: Record<string, BatchRequest>): Promise<Record<string, BatchResult>> {
  const url = client.urlOf('/batch');
  const body: Record<string, BatchRequest> = {};
  for (const [k, r] of Object.entries(requests)) body[k] = withCsrfHeader(r);
  const res = await client.post<Record<string, BatchResponseEntry> | undefined>('/batch', body);
  if (!res || typeof res !== 'object' || Array.isArray(res)) {
    throw new PiError('PI_BAD_RESPONSE', 'PI Web API answered POST /batch without an object of results', { url, retryable: true });
  }
  const out: Record<string, BatchResult> = {};
  for (const [key, req] of Object.entries(requests)) {
    const where = `batch sub-request '${key}' (${req.Method} ${req.Resource ?? req.RequestTemplate?.Resource ?? ''})`;
    const entry = res[key];
    if (!entry || typeof entry.Status !== 'number') {
      out[key] = {
        status: 0,
        content: undefined,
        error: new PiError('PI_BAD_RESPONSE', `PI Web API left ${where} out of its /batch answer`, { url, retryable: true }),
      };
      continue;
    }
    out[key] = checkEntry(entry, where, url);
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function checkEntry(entry: BatchResponseEntry, where: string, url: string): BatchResult {
  const result: BatchResult = { status: entry.Status, content: entry.Content };
  const content = entry.Content;
  if (entry.Status < 200 || entry.Status >= 300) {
    result.error = statusFailure(entry.Status, content, where, url, lowerKeys(entry.Headers)).error;
    return result;
  }
  if (isObject(content) && isObject(content['WebException'])) {
    const sc = (content['WebException'] as { StatusCode?: unknown }).StatusCode;
    result.error = statusFailure(typeof sc === 'number' && sc >= 400 ? sc : 500, content, `${where} (WebException)`, url).error;
    return result;
  }
  // RequestTemplate fan-out: Items of {Status, Headers, Content} (shape inferred, §5).
  if (isObject(content) && Array.isArray(content['Items'])) {
    const failures: string[] = [];
    let first: PiError | undefined;
    content['Items'].forEach((item: unknown, i: number) => {
      if (!isObject(item) || typeof item['Status'] !== 'number' || !('Content' in item || 'Headers' in item)) return;
      const st = item['Status'];
      if (st >= 200 && st < 300) return;
      const e = statusFailure(st, item['Content'], `${where} item ${i}`, url).error;
      first ??= e;
      failures.push(`item ${i}: ${st}`);
    });
    if (first) {
      result.error = new PiError(
        first.code,
        `${failures.length} of ${content['Items'].length} items of ${where} failed (${failures.slice(0, 5).join(', ')}${failures.length > 5 ? ', …' : ''}); first: ${first.message}`,
        {
          status: first.status,
          url,
          retryable: first.retryable,
          ...(first.limit === undefined ? {} : { limit: first.limit }),
        },
      );
    }
  }
  return result;
}

function lowerKeys(h: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!h) return undefined;
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}
