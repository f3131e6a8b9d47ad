/**
 * Tags PI can never serve (issue 18, "Points that can never be read"): a point type PI Web API
 * refuses to read (HTTP 501 for its stream, e.g. a Blob point: fidelity §2 lists Blob among the
 * point types, §10 "501 unsupported value type"), or a per-value error (`Items[].Errors`, §4) that
 * comes back VALUE_ERROR_STRIKES cycles in a row. Such a tag would fail every cycle forever; instead
 * it is reported once (the log, and `pi-agent status` with PI's reason) and skipped until its
 * metadata changes (the tags source's metadata hash: a point retyped or edited by the PI admin is
 * read again). The other tags are not affected either way.
 *
 * State lives in the UNREADABLE progress space (`ur:<webId>`), written with the cycle's other
 * progress through Store.commitStep: one entry per tag on its way to being skipped or skipped.
 */
import { PiError } from '../../errors.js';
import type { TagMeta } from '../tags/discover.js';
import { UNREADABLE, type UnreadableTag } from './progress.js';
import type { TimeseriesStore } from './types.js';

/** Cycles in a row a per-value error must fail a tag before it is skipped (one bad cycle is not a verdict). */
export const VALUE_ERROR_STRIKES = 3;

type UnreadableStore = Pick<TimeseriesStore, 'commitStep'> & { getProgressByPrefix<T>(prefix: string): Map<string, T> };

/** What kind of failure, if any, says the tag cannot be read: a property of the error, not its text. */
function unreadableKind(err: Error): 'type' | 'value' | undefined {
  if (!(err instanceof PiError)) return undefined;
  if (err.status === 501) return 'type';
  return err.valueError ? 'value' : undefined;
}

/**
 * The tags to read this cycle: `known` less those skipped with the metadata they still have.
 * Entries of tags whose metadata changed, or that are no longer selected, are dropped (so they are
 * read again). Returns the readable tags and the entries kept (by WebID).
 */
export function readableTags(store: UnreadableStore, known: TagMeta[]): { tags: TagMeta[]; entries: Map<string, UnreadableTag> } {
  const stored = UNREADABLE.entries(store);
  if (stored.size === 0) return { tags: known, entries: new Map() };
  const byId = new Map(known.map((t) => [t.webId, t]));
  const entries = new Map<string, UnreadableTag>();
  const drop: string[] = [];
  for (const [key, e] of stored) {
    const webId = UNREADABLE.idOf(key);
    const tag = byId.get(webId);
    if (!tag || tag.hash !== e.hash) drop.push(key);
    else entries.set(webId, e);
  }
  if (drop.length > 0) store.commitStep([], [], drop);
  return { tags: known.filter((t) => entries.get(t.webId)?.since === undefined), entries };
}

/**
 * Of `tags`, those skipped as unreadable with the metadata they still have (nothing is changed:
 * for `pi-agent backfill`, which reads tags the live cycle reads).
 */
export function skippedTags(store: Pick<UnreadableStore, 'getProgressByPrefix'>, tags: readonly { webId: string; hash: string }[]): Set<string> {
  const stored = UNREADABLE.entries(store);
  const out = new Set<string>();
  if (stored.size === 0) return out;
  for (const t of tags) {
    const e = stored.get(UNREADABLE.key(t.webId));
    if (e?.since !== undefined && e.hash === t.hash) out.add(t.webId);
  }
  return out;
}

/** A tag newly skipped this cycle (for the log). */
export interface NewlyUnreadable {
  webId: string;
  reason: string;
}

/**
 * After the cycle's reads: failures that say a tag cannot be read are recorded (a 501 at once, a
 * per-value error after VALUE_ERROR_STRIKES cycles in a row) and, once the tag is skipped, removed
 * from `errors` (reported through status, not as a failed cycle). A tag read without error loses its
 * strikes. `redact` cleans PI's text of secrets. Returns the tags skipped from now on.
 */
export function recordUnreadable(
  store: UnreadableStore,
  o: { tags: TagMeta[]; entries: Map<string, UnreadableTag>; errors: Map<string, Error>; complete: boolean; redact: (s: string) => string; now: Date },
): NewlyUnreadable[] {
  const progress: { key: string; value: unknown }[] = [];
  const drop: string[] = [];
  const newly: NewlyUnreadable[] = [];
  for (const tag of o.tags) {
    const err = o.errors.get(tag.webId);
    const prev = o.entries.get(tag.webId);
    const kind = err ? unreadableKind(err) : undefined;
    if (!err || !kind) {
      // Read fine (every tag is read each cycle unless it stopped early): its strikes go.
      if (prev && !err && o.complete) drop.push(UNREADABLE.key(tag.webId));
      continue;
    }
    const reason = o.redact(err.message);
    const e: UnreadableTag = { reason, hash: tag.hash, strikes: kind === 'value' ? (prev?.strikes ?? 0) + 1 : 0 };
    if (err instanceof PiError && err.status !== undefined) e.status = err.status;
    if (kind === 'type' || e.strikes >= VALUE_ERROR_STRIKES) {
      e.since = o.now.toISOString();
      newly.push({ webId: tag.webId, reason });
      o.errors.delete(tag.webId);
    }
    progress.push(UNREADABLE.entry(tag.webId, e));
  }
  if (progress.length > 0 || drop.length > 0) store.commitStep([], progress, drop);
  return newly;
}

/** What status says about skipped tags: how many, and the first few with PI's reason. */
export function unreadableNotes(store: Pick<UnreadableStore, 'getProgressByPrefix'>, pathOf: (webId: string) => string): { notes: string[]; tags: UnreadableStatus[] } {
  const tags: UnreadableStatus[] = [];
  for (const [key, e] of UNREADABLE.entries(store)) {
    if (e.since !== undefined) tags.push({ tag: pathOf(UNREADABLE.idOf(key)), reason: e.reason, since: e.since });
  }
  if (tags.length === 0) return { notes: [], tags };
  const first = tags[0]!;
  const more = tags.length > 1 ? ` (and ${(tags.length - 1).toLocaleString('en-US')} more: see status --json)` : '';
  return {
    notes: [`${tags.length.toLocaleString('en-US')} tag(s) cannot be read and are skipped until their metadata changes: ${first.tag}: ${first.reason}${more}`],
    tags,
  };
}

/** One skipped tag in `pi-agent status --json`. */
export interface UnreadableStatus {
  /** The tag's path (or WebID when its path is unknown). */
  tag: string;
  /** What PI said, redacted. */
  reason: string;
  /** ISO 8601 UTC: skipped since. */
  since: string;
}
