/**
 * Stream updates (piwebapi-fidelity.md §8, PI Web API 2018 SP1+): register streams for updates and
 * poll them by marker. Both go through `/batch`, one sub-request per stream, so that each stream's
 * fate is its own (an expired marker fails its stream, not the call) and a few hundred streams cost
 * one HTTP request, as recorded reads do. Polls are given as sub-requests and their answers read back
 * (pollSubRequest, pollOutcomeOf) for the caller's own `/batch`, which may add reads that depend on
 * them (agent/sources/pi.ts PiUpdatesFeed).
 */
import { PiError } from '../errors.js';
import { postBatch, type BatchResult } from './batch.js';
import type { PiClient } from './client.js';
import type { BatchRequest } from './types.js';

export type RegisterOutcome =
  | { kind: 'ok'; marker: string }
  /** This stream cannot be registered (PI's Status `Failed`, or the stream is unknown). */
  | { kind: 'failed'; error: PiError }
  /** The server has no stream-updates routes (PI Web API before 2018 SP1). */
  | { kind: 'unsupported'; error: PiError };

export interface UpdateEvent {
  /**
   * PI's `Action` as sent (swagger DataPipeEvent.Action, example "Add"): the AF SDK data pipe action
   * (AVEVA AF SDK reference, `AFDataPipeAction` Enumeration): `Update` (an edit: the value at that
   * timestamp replaced, or an insertion when the source cannot tell), `Add` (a new value at the end),
   * `Delete` (a value removed), `Refresh` (every event after that timestamp may be invalid), `Insert`
   * (a new value before the last one). Any other text is kept as is: the caller re-reads there.
   */
  action: string;
  /** PI's timestamp text, as sent. */
  timestamp: string;
}

export type PollOutcome =
  | { kind: 'ok'; events: UpdateEvent[]; marker: string }
  /**
   * 404 "Cache not found" / 409 "Invalid marker supplied" (AVEVA PI Web API reference, Stream
   * RetrieveStreamUpdate, status codes), or a 200 whose `Exception` is set (swagger
   * StreamUpdatesRetrieve.Exception: Errors): PI removed or changed the signup, e.g. "The signup was
   * removed because it is no longer valid." or "The signup was updated and any cached data could be
   * invalid." (PI Developers Club, "Stream Updates: new features in PI Web API 2018 SP1"; AF SDK
   * `AFDataPipeUpdateAction` Removed/Updated). AVEVA's "Stream Updates" topic: after an error in
   * retrieval the stream is unregistered and the client registers again. `events`: any PI sent with
   * the Exception (they are still changes).
   */
  | { kind: 'lost'; error: PiError; events?: UpdateEvent[] }
  | { kind: 'error'; error: PiError };

/**
 * Only what the change detector uses: each event's action and time, the next marker, and the
 * `Exception` that says the signup is gone (selectedFields prunes every field not listed, so it
 * must be asked for).
 */
const POLL_FIELDS = new URLSearchParams({ selectedFields: 'LatestMarker;Status;Exception;Events.Action;Events.Timestamp' }).toString();

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * A 405/501, or a 404 answered with neither PI's registration body (`Status`, swagger
 * StreamUpdatesRegister) nor PI's error body (`Errors`, swagger Errors), is the route itself
 * missing: the server predates stream updates (fidelity §10: an unknown route answers
 * `{"Message": "No HTTP resource was found ..."}`). A 404 with `Errors` is about this one stream
 * (a point deleted or not readable): that stream only, never the whole server.
 */
function routeMissing(status: number, content: unknown): boolean {
  if (status === 405 || status === 501) return !(isObject(content) && 'Status' in content);
  return status === 404 && !(isObject(content) && ('Status' in content || 'Errors' in content));
}

/** Register each webId for updates (one `/batch`); the outcome per webId. */
export async function registerUpdates(client: PiClient, webIds: readonly string[]): Promise<Map<string, RegisterOutcome>> {
  const base = client.urlOf('/streams/');
  const batch: Record<string, BatchRequest> = {};
  webIds.forEach((w, i) => {
    batch[String(i)] = { Method: 'POST', Resource: `${base}${encodeURIComponent(w)}/updates` };
  });
  const res = await postBatch(client, batch);
  const out = new Map<string, RegisterOutcome>();
  webIds.forEach((w, i) => {
    const e = res[String(i)]!;
    const c = e.content;
    if (e.error) {
      out.set(
        w,
        routeMissing(e.status, c)
          ? {
              kind: 'unsupported',
              error: new PiError(
                'PI_NOT_FOUND',
                `this PI Web API has no stream updates (POST streams/{webId}/updates answered ${e.status}); it needs PI Web API 2018 SP1 or later`,
                { status: e.status },
              ),
            }
          : { kind: 'failed', error: e.error },
      );
      return;
    }
    const status = isObject(c) ? c['Status'] : undefined;
    const marker = isObject(c) ? c['LatestMarker'] : undefined;
    if ((status === 'Succeeded' || status === 'AlreadyRegistered') && typeof marker === 'string' && marker !== '') {
      out.set(w, { kind: 'ok', marker });
      return;
    }
    const why = isObject(c) && isObject(c['Exception']) && Array.isArray(c['Exception']['Errors']) ? String(c['Exception']['Errors'][0] ?? '') : '';
    out.set(w, {
      kind: 'failed',
      error: new PiError('PI_BAD_RESPONSE', `PI did not register stream ${w} for updates (Status ${String(status)}${why ? `: ${why}` : ''})`),
    });
  });
  return out;
}

/** The `/batch` sub-request that polls one stream from its marker. */
export function pollSubRequest(client: PiClient, marker: string): BatchRequest {
  return { Method: 'GET', Resource: `${client.urlOf('/streams/updates/')}${encodeURIComponent(marker)}?${POLL_FIELDS}` };
}

/** The first of an `Exception`'s Errors (swagger `Errors`), or undefined when there is none. */
function exceptionOf(c: Record<string, unknown>): string | undefined {
  const ex = c['Exception'];
  if (!isObject(ex)) return undefined;
  const errs = Array.isArray(ex['Errors']) ? ex['Errors'] : [];
  return errs.length > 0 ? String(errs[0]) : 'the signup is no longer valid (Exception without Errors)';
}

/** One poll sub-request's answer as an outcome. */
export function pollOutcomeOf(e: BatchResult, webId: string): PollOutcome {
  if (e.error) return e.status === 404 || e.status === 409 ? { kind: 'lost', error: e.error } : { kind: 'error', error: e.error };
  const c = e.content;
  const marker = isObject(c) ? c['LatestMarker'] : undefined;
  const events = isObject(c) ? c['Events'] : undefined;
  const exception = isObject(c) ? exceptionOf(c) : undefined;
  if (events !== undefined && !Array.isArray(events)) {
    return {
      kind: 'error',
      error: new PiError('PI_BAD_RESPONSE', `PI answered a stream-updates poll for ${webId} with Events that are not a list`, { retryable: true }),
    };
  }
  const evs: UpdateEvent[] = [];
  for (const ev of (events as unknown[] | undefined) ?? []) {
    if (!isObject(ev) || typeof ev['Timestamp'] !== 'string' || typeof ev['Action'] !== 'string') {
      return { kind: 'error', error: new PiError('PI_BAD_RESPONSE', `PI sent a stream-updates event without Action or Timestamp for ${webId}`, { retryable: true }) };
    }
    evs.push({ action: ev['Action'], timestamp: ev['Timestamp'] });
  }
  if (exception !== undefined) {
    return { kind: 'lost', error: new PiError('PI_NOT_FOUND', `PI ended the stream-updates signup of ${webId}: ${exception}`), events: evs };
  }
  if (typeof marker !== 'string' || marker === '') {
    return { kind: 'error', error: new PiError('PI_BAD_RESPONSE', `PI answered a stream-updates poll for ${webId} without LatestMarker or Events`, { retryable: true }) };
  }
  return { kind: 'ok', events: evs, marker };
}
