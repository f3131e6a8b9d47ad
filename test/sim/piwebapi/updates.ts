/**
 * Stream updates (fidelity §8): register a stream, poll with markers `<guid>_<seq>`. A marker
 * remembers the clock and the control-API change sequence it was issued at; a poll returns what
 * the clock advance appended since (Add) plus control-API changes since it, each with the AF SDK
 * data pipe action PI Web API reports (AVEVA AF SDK reference, `AFDataPipeAction` Enumeration:
 * Update, Add, Delete, Refresh, Insert; the swagger DataPipeEvent example `Action: "Add"`,
 * `PreviousEventAction: "PreviousEventArchived"`).
 * Unknown registrations (expired, or the server restarted) → 404 "Cache not found"; a malformed
 * marker or one never issued → 409 "Invalid marker supplied" (AVEVA PI Web API reference, Stream
 * RetrieveStreamUpdate, status codes). A signup PI ended (its point deleted, or `endSignup`) → 200
 * with `Exception: {Errors: [...]}` (swagger StreamUpdatesRetrieve.Exception; the messages are the
 * PI Developers Club post "Stream Updates: new features in PI Web API 2018 SP1"), and the stream is
 * unregistered: "If there is an error retrieving updates for a stream, that stream will be
 * unregistered for updates" (AVEVA PI Web API reference, "Stream Updates" topic).
 */
import { randomUUID } from 'node:crypto';
import { webIdTypeOf } from './fields.js';
import { guard } from './discovery.js';
import { errors, qAll, type Router, type SimRequest, type SimResponse } from './router.js';
import { SimError, type Simulator } from './simulator.js';

interface MarkerState {
  clock: number;
  change: number;
}
interface Registration {
  webId: string;
  index: number;
  attribute: boolean;
  nextSeq: number;
  markers: Map<number, MarkerState>;
  lastUsed: number;
  /** Set by endSignup: the Exception its next poll answers. */
  ended?: string;
}

/** Markers unused for this long (wall time) expire, like the server's cache. */
const EXPIRY_MS = 30 * 60 * 1000;
const MAX_MARKERS = 64;

/** PI's words when a signup is removed (PI Developers Club, "Stream Updates: new features in PI Web API 2018 SP1"). */
export const SIGNUP_REMOVED = 'The signup was removed because it is no longer valid.';
/** PI's words when a signup's AF metadata changed (same source). */
export const SIGNUP_UPDATED = 'The signup was updated and any cached data could be invalid.';

export class UpdatesCache {
  private readonly regs = new Map<string, Registration>();
  /**
   * Test hook, not PI behaviour: report an action under another name (e.g. a data pipe action a
   * later server may add), to check that a client re-reads what it does not know.
   */
  readonly renamedActions = new Map<string, string>();

  constructor(private readonly sim: Simulator) {}

  /** The next poll of every signup of `tag` answers `Exception` with `message`, and the signup ends. */
  endSignup(tag: number, message: string = SIGNUP_UPDATED): void {
    for (const r of this.regs.values()) if (r.index === tag) r.ended = message;
  }

  /** Drop every registration, as a PI Web API restart would. */
  expireAll(): void {
    this.regs.clear();
  }

  private newMarker(guid: string, r: Registration): string {
    const seq = r.nextSeq++;
    r.markers.set(seq, { clock: this.sim.nowUnits(), change: this.sim.changeMark() });
    if (r.markers.size > MAX_MARKERS) r.markers.delete(r.markers.keys().next().value!);
    r.lastUsed = Date.now();
    return `${guid}_${seq}`;
  }

  register(req: SimRequest, webId: string): Record<string, unknown> {
    const base = { Source: webId, SourceName: '', SourcePath: '' };
    try {
      const { index, attribute } = this.sim.resolveStream(webId);
      // Markers are the one deliberately random output: a restarted simulator must never honour a
      // marker an earlier one issued (fidelity §8, 404 "Cache not found").
      const guid = randomUUID().replace(/-/g, '');
      const r: Registration = { webId, index, attribute, nextSeq: 0, markers: new Map(), lastUsed: Date.now() };
      this.regs.set(guid, r);
      return { ...this.describe(req, r), Status: 'Succeeded', LatestMarker: this.newMarker(guid, r) };
    } catch (err) {
      if (!(err instanceof SimError)) throw err;
      return { ...base, Status: 'Failed', Exception: { Errors: [err.message] } };
    }
  }

  /** Source, SourceName, SourcePath of a registration: the attribute's for AF attributes, else the point's. */
  private describe(req: SimRequest, r: Registration): { Source: string; SourceName: string; SourcePath: string } {
    const attr = r.attribute ? this.sim.af?.describeAttribute?.(r.webId) : undefined;
    if (r.attribute) return { Source: r.webId, SourceName: attr?.Name ?? this.sim.tagName(r.index), SourcePath: attr?.Path ?? this.sim.tagPath(r.index) };
    return { Source: this.sim.tagWebId(r.index, webIdTypeOf(req)), SourceName: this.sim.tagName(r.index), SourcePath: this.sim.tagPath(r.index) };
  }

  /** A poll result, or a SimError with 404/409. */
  retrieve(req: SimRequest, marker: string): Record<string, unknown> {
    const m = /^([0-9a-f]{32})_(\d+)$/i.exec(marker);
    if (!m) throw new SimError(409, `Invalid marker supplied: '${marker}'.`);
    const guid = m[1]!.toLowerCase();
    const r = this.regs.get(guid);
    if (!r || Date.now() - r.lastUsed > EXPIRY_MS) {
      this.regs.delete(guid);
      throw new SimError(404, `Cache not found for marker '${marker}'.`);
    }
    const st = r.markers.get(Number(m[2]));
    if (!st) throw new SimError(409, `Invalid marker supplied: '${marker}'.`);
    const ended = this.sim.tags.exists(r.index) ? r.ended : SIGNUP_REMOVED;
    if (ended !== undefined) {
      // The signup is gone: unregistered, and the poll says why (Exception). What else such an
      // answer carries is not documented: here no LatestMarker, no Status, no events (inferred).
      this.regs.delete(guid);
      return { Source: r.webId, RequestedMarker: marker, Events: [], Exception: { Errors: [ended] } };
    }
    const events: Array<Record<string, unknown>> = [];
    // Control-API changes since the marker, at any timestamp: an edit or a deletion of an event the
    // clock appended after the marker is reported as well as that event's Add (PI reports both: the
    // Add when it arrived, the change later), so a removal is never silent.
    for (const c of this.sim.changes) {
      if (c.seq <= st.change || c.tag !== r.index) continue;
      events.push({ Action: this.renamedActions.get(c.action) ?? c.action, ...c.event });
    }
    const now = this.sim.nowUnits();
    if (now > st.clock) {
      for (const e of this.sim.events(r.index, st.clock + 1, now)) {
        events.push({ Action: 'Add', ...this.sim.json(r.index, e), PreviousEventAction: 'PreviousEventArchived' });
      }
    }
    return {
      ...this.describe(req, r),
      RequestedMarker: marker,
      LatestMarker: this.newMarker(guid, r),
      // The reference's sample response for RetrieveStreamUpdate has Status "Updated".
      Status: 'Updated',
      Events: events,
    };
  }
}

export function registerUpdateRoutes(router: Router, sim: Simulator): void {
  const cache = new UpdatesCache(sim);
  sim.updates = cache;

  router.add(
    'POST',
    '/streams/{webId}/updates',
    guard((req, p) => {
      const r = cache.register(req, p.webId!);
      if (r.Status === 'Failed') {
        const msg = (r.Exception as { Errors: string[] }).Errors[0]!;
        return { status: /invalid WebID/i.test(msg) ? 400 : 404, body: r };
      }
      return { status: 200, body: r };
    }),
  );

  router.add(
    'POST',
    '/streamsets/updates',
    guard((req) => {
      const webIds = qAll(req, 'webId');
      if (webIds.length === 0) throw new SimError(400, "The 'webId' parameter is required.");
      return { status: 200, body: { Links: {}, Items: webIds.map((w) => cache.register(req, w)) } };
    }),
  );

  router.add(
    'GET',
    '/streams/updates/{marker}',
    guard((req, p) => ({ status: 200, body: cache.retrieve(req, p.marker!) })),
  );

  router.add('GET', '/streamsets/updates', (req): SimResponse => {
    const markers = qAll(req, 'marker');
    if (markers.length === 0) return errors(400, "The 'marker' parameter is required.");
    const items: unknown[] = [];
    for (const mk of markers) {
      try {
        items.push(cache.retrieve(req, mk));
      } catch (err) {
        if (!(err instanceof SimError)) throw err;
        // A whole-call failure, as for one stream: the client re-registers (fidelity §8).
        return errors(err.status, err.message);
      }
    }
    return { status: 200, body: { Links: {}, Items: items } };
  });
}
