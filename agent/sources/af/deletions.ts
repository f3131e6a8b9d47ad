/**
 * Deletions of AF objects (op=delete rows, soft deletes) with their progress forgotten in the same
 * step, attributes first, in steps of `commitEvery`: objects a complete walk no longer returned and
 * PI confirms gone, and objects of databases no longer configured.
 */
import type { Row } from '../../batch/tables.js';
import type { PiClient } from '../../pi/client.js';
import type { Store } from '../../store/store.js';
import { DELETION_ORDER, KINDS, type Kind, type KnownObjects } from './kinds.js';
import { batchGet } from './read.js';

interface DeleteOptions {
  site: string;
  store: Store;
  commitEvery: number;
}

/** Commit the delete rows of `keys` (all of one kind) and forget them. */
function commitDeletes(o: DeleteOptions, known: KnownObjects, kind: Kind, keys: string[]): void {
  const { space, table, key } = KINDS[kind];
  const ingested = Date.now() * 1000;
  const rows: Row[] = keys.map((k) => ({ site: o.site, [key]: space.idOf(k), ingested_at: ingested, op: 'delete' }));
  o.store.commitStep([{ table, rows }], [], keys);
  for (const k of keys) known[kind].delete(k);
}

/**
 * Objects of `db` known from earlier snapshots but not seen in this complete walk: each is looked up
 * by WebID, and only a 404 makes it a `delete` row (soft delete). One still found was missed by a
 * concurrent change and is kept for the next snapshot.
 */
export async function deleteVanished(o: DeleteOptions & { client: PiClient; signal?: AbortSignal }, known: KnownObjects, seen: Set<string>, db: string): Promise<number> {
  let deleted = 0;
  for (const kind of DELETION_ORDER) {
    const { space, path } = KINDS[kind];
    const gone = [...known[kind]].filter(([k, v]) => v[1] === db && !seen.has(k)).map(([k]) => k);
    for (let i = 0; i < gone.length; i += o.commitEvery) {
      const keys = gone.slice(i, i + o.commitEvery);
      const checks = await batchGet(
        o.client,
        keys.map((k) => ({ path: `/${path}/${encodeURIComponent(space.idOf(k))}`, query: { selectedFields: 'WebId' } })),
        [404],
        o.signal,
      );
      const confirmed = keys.filter((_k, j) => checks[j]!.status === 404);
      if (confirmed.length === 0) continue;
      commitDeletes(o, known, kind, confirmed);
      deleted += confirmed.length;
    }
  }
  return deleted;
}

/**
 * Soft-deletes every known object of a database not in `configured` (upper-cased paths as PI
 * returned them) and forgets its progress; no 404 check: they still exist in PI, they are just no
 * longer wanted.
 */
export function removeUnconfigured(o: DeleteOptions, known: KnownObjects, configured: Set<string>): number {
  let removed = 0;
  for (const kind of DELETION_ORDER) {
    const gone = [...known[kind]].filter(([, v]) => !configured.has(v[1].toUpperCase())).map(([k]) => k);
    for (let i = 0; i < gone.length; i += o.commitEvery) {
      const keys = gone.slice(i, i + o.commitEvery);
      commitDeletes(o, known, kind, keys);
      removed += keys.length;
    }
  }
  return removed;
}
