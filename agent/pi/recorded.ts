/**
 * Recorded values, one stream or many (piwebapi-fidelity.md §3). Items come back exactly as PI sent
 * them, in PI's order: PI truncates silently at `maxCount` per stream, so the caller detects
 * truncation by `items.length === maxCount` and pages with the drop-last-timestamp rule (§3), per
 * stream (§11). Nothing here pages or drops anything.
 */
import { PiError } from '../errors.js';
import type { PiClient } from './client.js';
import { statusFailure, streamErrorStatus } from './failures.js';
import { formatPiTime } from './time.js';
import type { PiItems, PiStreamValues, PiTimedValue } from './types.js';

/** The fields the agent uses from each stream and value (selectedFields halves the bytes, §1). */
export const STREAMSET_RECORDED_FIELDS = [
  'Items.WebId',
  'Items.UnitsAbbreviation',
  'Items.Errors',
  'Items.WebException',
  'Items.Items.Timestamp',
  'Items.Items.Value',
  'Items.Items.Good',
  'Items.Items.Questionable',
  'Items.Items.Substituted',
  'Items.Items.Annotated',
  'Items.Items.UnitsAbbreviation',
  'Items.Items.Errors',
].join(';');

export const STREAM_RECORDED_FIELDS = [
  'UnitsAbbreviation',
  'Items.Timestamp',
  'Items.Value',
  'Items.Good',
  'Items.Questionable',
  'Items.Substituted',
  'Items.Annotated',
  'Items.UnitsAbbreviation',
  'Items.Errors',
].join(';');

export interface StreamRecorded {
  /** As PI sent them: raw timestamps, PI's order, at most `maxCount`. */
  items: PiTimedValue[];
  /** The stream's `UnitsAbbreviation`, when PI sent one. */
  units?: string;
  /** The stream failed on its own (its `Errors` / `WebException`); `items` is then what PI sent, usually none. */
  error?: PiError;
}

export interface ReadRecordedOptions {
  /** Per stream (fidelity §3). Default 1000, PI's default. */
  maxCount?: number;
  /** `true` (default): STREAMSET_RECORDED_FIELDS; `false`: everything; a string: those fields. */
  selectedFields?: boolean | string;
  /** Default `Inside`: only events within the range. */
  boundaryType?: 'Inside' | 'Outside' | 'Interpolated';
  /** At most this many webIds per request (default 100; bounds response memory). */
  maxWebIdsPerRequest?: number;
  /** And keep each URL under this many characters (default 8000, fidelity §3). */
  maxUrlLength?: number;
}

const STREAMSETS_PATH = '/streamsets/recorded';

/**
 * Recorded values of many streams over `[startUs, endUs]`, one entry per distinct webId. A stream
 * that fails on its own gets `error` and does not fail the call; a request that fails as a whole
 * (outage, auth, a limit) rejects the call. The requests run concurrently (bounded by the client)
 * and every answer is held until all are in: memory is about webIds × maxCount values, so pass
 * groups of a bounded size.
 */
export async function readRecordedMany(
  client: PiClient,
  webIds: readonly string[],
  startUs: number,
  endUs: number,
  opts: ReadRecordedOptions = {},
): Promise<Map<string, StreamRecorded>> {
  const maxCount = opts.maxCount ?? 1000;
  const fields = opts.selectedFields === false ? undefined : typeof opts.selectedFields === 'string' ? opts.selectedFields : STREAMSET_RECORDED_FIELDS;
  const fixed = {
    startTime: formatPiTime(startUs),
    endTime: formatPiTime(endUs),
    boundaryType: opts.boundaryType ?? 'Inside',
    maxCount,
    selectedFields: fields,
    // The streams' WebIds come back as asked (IDOnly, the agent's keys) whatever the server's
    // configured default type (AVEVA webid-type.html), so matchStreams pairs them by id.
    webIdType: 'IDOnly',
  };
  const unique = [...new Set(webIds)];
  const chunks = chunkWebIds(unique, client.urlLength(STREAMSETS_PATH, fixed), opts.maxWebIdsPerRequest ?? 100, opts.maxUrlLength ?? 8000);

  const settled = await Promise.allSettled(
    chunks.map(async (chunk) => {
      const res = await client.get<PiItems<PiStreamValues>>(STREAMSETS_PATH, { webId: chunk, ...fixed });
      return matchStreams(chunk, res, client.urlOf(STREAMSETS_PATH));
    }),
  );
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;

  const out = new Map<string, StreamRecorded>();
  for (const s of settled) if (s.status === 'fulfilled') for (const [id, v] of s.value) out.set(id, v);
  return out;
}

/** Recorded values of one stream over `[startUs, endUs]`; a failure rejects. */
export async function readRecorded(
  client: PiClient,
  webId: string,
  startUs: number,
  endUs: number,
  maxCount = 1000,
  opts: Pick<ReadRecordedOptions, 'selectedFields' | 'boundaryType'> = {},
): Promise<{ items: PiTimedValue[]; units?: string }> {
  const path = `/streams/${encodeURIComponent(webId)}/recorded`;
  const fields = opts.selectedFields === false ? undefined : typeof opts.selectedFields === 'string' ? opts.selectedFields : STREAM_RECORDED_FIELDS;
  const res = await client.get<PiItems<PiTimedValue> & { UnitsAbbreviation?: string }>(path, {
    startTime: formatPiTime(startUs),
    endTime: formatPiTime(endUs),
    boundaryType: opts.boundaryType ?? 'Inside',
    maxCount,
    selectedFields: fields,
  });
  if (!res || !Array.isArray(res.Items)) {
    throw new PiError('PI_BAD_RESPONSE', `PI Web API answered GET ${path} without Items`, { url: client.urlOf(path) });
  }
  const out: { items: PiTimedValue[]; units?: string } = { items: res.Items };
  if (typeof res.UnitsAbbreviation === 'string') out.units = res.UnitsAbbreviation;
  return out;
}

/**
 * Split webIds into requests of at most `maxPerRequest` ids whose URL stays under `maxUrlLength`
 * (`baseLength` is the URL without any webId). An id too long for any URL still gets its own request.
 */
export function chunkWebIds(webIds: readonly string[], baseLength: number, maxPerRequest: number, maxUrlLength: number): string[][] {
  const chunks: string[][] = [];
  let current: string[] = [];
  let length = baseLength;
  for (const id of webIds) {
    const add = '&webId='.length + encodeURIComponent(id).length;
    if (current.length > 0 && (current.length >= maxPerRequest || length + add > maxUrlLength)) {
      chunks.push(current);
      current = [];
      length = baseLength;
    }
    current.push(id);
    length += add;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * Pair the streams of one response with the webIds asked. PI answers in request order but may
 * spell a stream's WebId differently (a PathOnly id asked, a Full id returned), so match by WebId
 * when every returned id was asked, else by position when the counts agree; anything else is an
 * unreadable response (never a silently empty stream).
 */
function matchStreams(chunk: string[], res: PiItems<PiStreamValues> | undefined, url: string): Map<string, StreamRecorded> {
  const where = `GET ${STREAMSETS_PATH}`;
  if (!res || !Array.isArray(res.Items)) {
    throw new PiError('PI_BAD_RESPONSE', `PI Web API answered ${where} without Items`, { url, retryable: true });
  }
  const asked = new Set(chunk);
  const byId = res.Items.every((s) => typeof s.WebId === 'string' && asked.has(s.WebId)) && new Set(res.Items.map((s) => s.WebId)).size === res.Items.length;
  const out = new Map<string, StreamRecorded>();
  if (byId) {
    for (const s of res.Items) out.set(s.WebId!, toStream(s, where, url));
  } else if (res.Items.length === chunk.length) {
    res.Items.forEach((s, i) => out.set(chunk[i]!, toStream(s, where, url)));
  } else {
    throw new PiError('PI_BAD_RESPONSE', `PI Web API answered ${where} with ${res.Items.length} streams for ${chunk.length} webIds`, { url, retryable: true });
  }
  for (const id of chunk) {
    if (!out.has(id)) {
      out.set(id, { items: [], error: new PiError('PI_BAD_RESPONSE', `PI Web API left stream ${id} out of its answer to ${where}`, { url, retryable: true }) });
    }
  }
  return out;
}

function toStream(s: PiStreamValues, where: string, url: string): StreamRecorded {
  const out: StreamRecorded = { items: Array.isArray(s.Items) ? s.Items : [] };
  if (typeof s.UnitsAbbreviation === 'string') out.units = s.UnitsAbbreviation;
  const hasErrors = Array.isArray(s.Errors) && s.Errors.length > 0;
  if (hasErrors || s.WebException) {
    const status = s.WebException?.StatusCode ?? streamErrorStatus(s);
    const label = `${where} for stream ${s.WebId ?? s.Path ?? '?'}`;
    out.error = statusFailure(status, s, label, url).error;
  } else if (!Array.isArray(s.Items)) {
    out.error = new PiError('PI_BAD_RESPONSE', `PI Web API answered ${where} without Items for stream ${s.WebId ?? '?'}`, { url, retryable: true });
  }
  return out;
}
