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
  action: string;
  /** PI's timestamp text, as sent. */
  timestamp: string;
}

export type PollOutcome =
  | { kind: 'ok'; events: UpdateEvent[]; marker: string }
  /** 404 "Cache not found" / 409 "Invalid marker supplied": register again, the gap is unseen (§8). */
  | { kind: 'lost'; error: PiError }
  | { kind: 'error'; error: PiError };

/** Only what the change detector uses: each event's action and time, and the next marker. */
const POLL_FIELDS = new URLSearchParams({ selectedFields: 'LatestMarker;Status;Events.Action;Events.Timestamp' }).toString();

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * A 404/405/501 answered without PI's registration body is the route itself missing: the server
 * predates stream updates. A stream PI cannot find answers with `Status: Failed` in its body.
 */
function routeMissing(status: number, content: unknown): boolean {
  return (status === 404 || status === 405 || status === 501) && !(isObject(content) && 'Status' in content);
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

/** One poll sub-request's answer as an outcome. */
export function pollOutcomeOf(e: BatchResult, webId: string): PollOutcome {
  if (e.error) return e.status === 404 || e.status === 409 ? { kind: 'lost', error: e.error } : { kind: 'error', error: e.error };
  const c = e.content;
  const marker = isObject(c) ? c['LatestMarker'] : undefined;
  const events = isObject(c) ? c['Events'] : undefined;
  if (typeof marker !== 'string' || marker === '' || (events !== undefined && !Array.isArray(events))) {
    return { kind: 'error', error: new PiError('PI_BAD_RESPONSE', `PI answered a stream-updates poll for ${webId} without LatestMarker or Events`, { retryable: true }) };
  }
  const evs: UpdateEvent[] = [];
  for (const ev of (events as unknown[] | undefined) ?? []) {
    if (!isObject(ev) || typeof ev['Timestamp'] !== 'string' || typeof ev['Action'] !== 'string') {
      return { kind: 'error', error: new PiError('PI_BAD_RESPONSE', `PI sent a stream-updates event without Action or Timestamp for ${webId}`, { retryable: true }) };
    }
    evs.push({ action: ev['Action'], timestamp: ev['Timestamp'] });
  }
  return { kind: 'ok', events: evs, marker };
}
