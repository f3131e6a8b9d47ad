/**
 * Stream updates as a change detector for what the lookback re-read cannot see (piwebapi-fidelity.md
 * §8, design.md "Time series correctness").
 *
 * The re-read of the lookback window (extract.ts) finds late data, edits and deletions whose
 * timestamps are inside the window it re-reads. A change further back (a backfilled day, an edit of
 * last month's value) is invisible to it. Where PI Web API has stream updates, each tag is registered
 * and polled right before each of its re-reads: every change PI reports since the previous poll whose
 * timestamp is before that re-read's start is read back from PI at its timestamp(s) and sent as
 * upserts (and deletes for removed events), then counted and reported. Changes at or after the start
 * are left to the re-read (it runs right after and compares with the digest), so nothing is handled
 * twice and appends that the watermark reads already carried cost nothing.
 *
 * A poll is one `/batch` of per-stream sub-requests per `tags_per_request` tags. With an interval
 * (`lookback_every: 15m`) a tag is polled only before its re-reads, and the cycles in between read
 * from the watermark. With `lookback_every: auto` (the default, `everyCycle`) every tag with a marker
 * is polled and re-read every cycle, narrowed and read ahead (below); tags without one (PI refused
 * them, the server has no stream updates) keep to the interval.
 *
 * Narrowed re-reads: the same poll also says where in the window something changed. When the tag's
 * marker chain is unbroken since its last completed re-read (PI issued the marker polled at or before
 * that re-read ran: what changed before, the re-read saw; what changed after, this poll reports), the
 * re-read may start at the oldest timestamp the poll reports at or after its start, Add, Update or
 * Remove alike (`narrowFrom`; Infinity when none: the re-read reads on from the watermark). A failed
 * poll, a lost marker, a failed or unfinished re-read (its marker is then newer than its last re-read)
 * make the next re-read whole, and so does `lookback_full_every`: a check of the window that does
 * not rely on stream updates at all, due once per period at a phase of each tag's own (`wholeDue`),
 * so that a few tags re-read their whole window each cycle rather than all of them in one cycle.
 *
 * Read ahead (`readAhead`): such a tag's poll carries a read of the tag from its watermark in the
 * same `/batch`, as a child of the poll (ParentIds: PI runs it after the poll, so whatever the poll
 * did not report was in the archive when the read ran). When the poll reports nothing behind the
 * watermark, that read is the tag's whole narrowed re-read: its page, head and next marker commit
 * together here, and the extraction only continues it if it came back truncated. A whole-window
 * re-read rides along the same way when one page can hold the window and the poll reports nothing
 * before it (else the extraction reads it). Polling every cycle
 * (`lookback_every: auto` or `0s`), a cycle then costs one request per `tags_per_request` tags.
 *
 * Exactly once: the tag's next marker is committed in the same transaction as the rows of the last
 * page that completes its changes; a crash re-polls from the old marker and the rows, all upserts and
 * deletes by key, land again harmlessly. A marker PI no longer knows (404 "Cache not found", 409) is
 * re-registered; changes made in that gap before the re-read's start cannot be seen, and are reported
 * as such. Servers without stream updates are reported too: there, only the lookback window is
 * checked.
 *
 * The parts: which tags are polled and how polls are grouped, and each poll's answer (poll.ts); the
 * read-back of late changes (late.ts); the feed's state that status reports (feed-state.ts); here,
 * the pass itself (polls `concurrency` at a time, pool.ts) and the registration of new tags.
 */
import { forEachLimited } from '../../pool.js';
import type { PiError } from '../../errors.js';
import type { RegisterOutcome } from '../../pi/updates.js';
import { FeedState, type Registration } from './feed-state.js';
import { chunkPolls, planPolls, Poller } from './poll.js';
import { MARKERS } from './progress.js';
import type { ReconcileOptions, ReconcileResult } from './types.js';

export type { LateChange, PolledStream, PollItem, ReconcileOptions, ReconcileResult, UpdatesFeed } from './types.js';
/** The feed's state as stored (declared in progress.ts with its cell, UPDATES_STATE). */
export type { UpdatesState } from './progress.js';
export async function reconcileUpdates(o: ReconcileOptions): Promise<ReconcileResult> {
  const r: ReconcileResult = {
    polled: 0,
    registered: 0,
    lost: 0,
    lateChanges: 0,
    unknownActions: 0,
    updates: 0,
    deletes: 0,
    sample: [],
    errors: new Map(),
    requests: 0,
    narrowFrom: new Map(),
    readAhead: 0,
    readAheadWhole: 0,
    readAheadValues: 0,
    readAheadRows: { inserts: 0, updates: 0, deletes: 0 },
  };
  const state = new FeedState(o.store, (o.now ?? (() => new Date()))().toISOString());
  const unsupported = state.unsupported();
  if (unsupported) {
    r.unsupported = unsupported;
    return r;
  }
  const stopped = (): boolean => o.signal?.aborted === true || o.store.isBufferFull();
  const { toPoll, toRegister } = planPolls(o);
  const chunks = chunkPolls(toPoll, o);
  toPoll.length = 0;
  // Up to `concurrency` polls in flight, as the extraction's reads (each chunk commits on its own).
  const poller = new Poller(o, r, state, toRegister);
  await forEachLimited(chunks, Math.max(1, o.concurrency ?? 1), (chunk) => poller.poll(chunk), stopped);
  // Registration: tags new to the feed, and those whose markers PI lost.
  state.finish(r, await registerTags(o, toRegister, r, stopped));
  return r;
}

/**
 * Registers `webIds` for stream updates, `tagsPerRequest` a request: a marker for each tag PI
 * accepts; a tag PI refuses (a 404 for its stream included) is marked so (`x`) and asked again
 * before its next re-read, not every cycle, while the other tags keep their updates. A server
 * without stream updates is one where no stream asked has the route.
 */
async function registerTags(o: ReconcileOptions, webIds: string[], r: ReconcileResult, stopped: () => boolean): Promise<Registration> {
  const reg: Registration = { refused: 0, refusedReason: '' };
  // Streams answered as if the route were missing: the server's answer only if every stream says so
  // (and nothing was polled); else each is that stream's own (a deleted point), refused like others.
  const noRoute = new Map<string, Error>();
  for (let i = 0; i < webIds.length && !stopped(); i += o.tagsPerRequest) {
    const chunk = webIds.slice(i, i + o.tagsPerRequest);
    r.requests++;
    let answers: Map<string, RegisterOutcome>;
    try {
      answers = await o.feed.register(chunk);
    } catch (err) {
      for (const w of chunk) r.errors.set(w, err instanceof Error ? err : new Error(String(err)));
      continue;
    }
    const progress: { key: string; value: unknown }[] = [];
    for (const w of chunk) {
      const out = answers.get(w);
      if (out?.kind === 'ok') {
        progress.push(MARKERS.entry(w, { m: out.marker, a: o.nowUs }));
        r.registered++;
      } else if (out?.kind === 'unsupported') noRoute.set(w, out.error);
      else refuse(reg, r, progress, w, out?.error ?? new Error('no answer for this stream'));
    }
    if (progress.length > 0) o.store.commitStep([], progress);
  }
  if (noRoute.size === 0) return reg;
  if (noRoute.size === webIds.length && r.polled === 0) {
    reg.unsupported = noRoute.values().next().value as PiError;
    return reg;
  }
  const progress: { key: string; value: unknown }[] = [];
  for (const [w, err] of noRoute) refuse(reg, r, progress, w, err);
  o.store.commitStep([], progress);
  return reg;
}

/** A tag PI would not register: marked (`x`), asked again before its next re-read, not every cycle. */
function refuse(reg: Registration, r: ReconcileResult, progress: { key: string; value: unknown }[], webId: string, err: Error): void {
  reg.refused++;
  reg.refusedReason ||= err.message;
  progress.push(MARKERS.entry(webId, { x: 1 }));
  r.errors.set(webId, err);
}
