/**
 * The stream-updates feed's state (`updates:state`, progress.ts UPDATES_STATE) over one pass of
 * reconcileUpdates: loaded at its start, changed as late changes, lost markers, refused
 * registrations and an unsupported server are met, written back at its end only when it changed
 * (a steady cycle commits nothing here). `pi-agent status` reports it (service lateDataNotes).
 */
import { PiError } from '../../errors.js';
import { UPDATES_STATE, type UpdatesState } from './progress.js';
import type { ReconcileResult, TimeseriesStore } from './types.js';

/** A server without stream updates is asked again after this long (wall time): it may be upgraded. */
const UNSUPPORTED_RETRY_MS = 60 * 60 * 1000;

/** What registration met (updates.ts `registerTags`). */
export interface Registration {
  /** The server has no stream updates. */
  unsupported?: PiError;
  /** Tags PI would not register, and the first reason it gave. */
  refused: number;
  refusedReason: string;
}

export class FeedState {
  private readonly stored: UpdatesState | undefined;
  readonly state: UpdatesState;

  /** `wallNow`: this pass's wall-clock time (ISO), for the times the state records. */
  constructor(
    private readonly store: Pick<TimeseriesStore, 'getProgress' | 'commitStep'>,
    readonly wallNow: string,
  ) {
    this.stored = store.getProgress<UpdatesState>(UPDATES_STATE.key);
    this.state = { late_changes: 0, ...(this.stored ?? {}) };
  }

  /** While the server was found without stream updates less than an hour ago: why (nothing else is done). */
  unsupported(): PiError | undefined {
    const u = this.state.unsupported;
    return u && Date.parse(this.wallNow) - Date.parse(u.at) < UNSUPPORTED_RETRY_MS ? new PiError('PI_NOT_FOUND', u.reason) : undefined;
  }

  /** A poll's event whose action the agent does not know (late.ts): its timestamp is read back. */
  unknownAction(action: string): void {
    const u = this.state.unknown_actions;
    this.state.unknown_actions = { count: (u?.count ?? 0) + 1, last: action, at: this.wallNow };
  }

  /** Why PI last ended a signup (a poll's `Exception`, or 404/409), for status. */
  lostReason: string | undefined;

  /** A change older than the re-read's start, found and sent. */
  late(webId: string, timestampUs: number, action: string): void {
    this.state.late_changes++;
    this.state.last_late = { tag: webId, timestamp: new Date(timestampUs / 1000).toISOString(), action, at: this.wallNow };
  }

  /** The end of the pass: what polls and registration found, into the state; written if it changed. */
  finish(r: ReconcileResult, reg: Registration): void {
    const { state, wallNow } = this;
    if (reg.unsupported && r.registered === 0 && r.polled === 0) {
      r.unsupported = reg.unsupported;
      state.unsupported = { reason: reg.unsupported.message, at: wallNow };
    } else if (r.registered > 0 || r.polled > 0) delete state.unsupported;
    if (reg.refused > 0) state.unregistered = { count: reg.refused, at: wallNow, reason: reg.refusedReason };
    else if (r.registered > 0) delete state.unregistered;
    if (r.lost > 0) state.lost = { count: (state.lost?.count ?? 0) + r.lost, at: wallNow, ...(this.lostReason ? { reason: this.lostReason } : {}) };
    // Written only when it changed: a steady cycle commits nothing here.
    if (JSON.stringify(state) !== JSON.stringify(this.stored)) this.store.commitStep([], [UPDATES_STATE.entry(state)]);
  }
}
