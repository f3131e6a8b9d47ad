/**
 * The Asset Framework source (design.md "sources"): a snapshot of each configured AF database —
 * element templates, the whole element tree and every element attribute — sent to pi_af_templates,
 * pi_af_elements and pi_af_attributes as changes against the previous snapshot.
 *
 * - Keys are IDOnly WebIDs (pi/webid.ts `idOnlyWebId`): a rename or move is an `update` of the same row.
 * - A content hash per object lives in the store (`aft:`, `afe:`, `afa:` + WebID → [hash, database
 *   path]); only new or changed objects produce rows, committed with their hashes in one step
 *   (changes.ts). walk.ts reads a database, rows.ts makes its rows, deletions.ts deletes.
 * - Deletions are computed per database only after its walk completed, and each one is confirmed by
 *   a 404 on the object itself, so a failed or concurrent walk never deletes anything that exists.
 * - Objects of a database removed from the config are soft-deleted (no 404 check: they still exist
 *   in PI, they are just no longer wanted), but only after every configured database was walked
 *   completely: a configured database that is unreachable fails the cycle before anything is removed.
 *   Event frames of a removed database are kept (history; eventframes/extract.ts).
 */
import type { PiClient } from '../../pi/client.js';
import type { Store } from '../../store/store.js';
import { AfChanges, type AfCounts } from './changes.js';
import { deleteVanished, removeUnconfigured } from './deletions.js';
import { DatabaseWalk } from './walk.js';

export interface AfResult extends AfCounts {
  deletes: number;
  /** true when the walk stopped early (buffer full or aborted): nothing was deleted. */
  paused: boolean;
  /** Of `deletes`: objects of databases no longer configured. */
  removed: number;
}

/** Objects per committed step (rows + hashes in one transaction). */
const COMMIT_EVERY = 5000;

export async function extractAf(o: { site: string; client: PiClient; store: Store; databases: string[]; signal?: AbortSignal; commitEvery?: number }): Promise<AfResult> {
  const result: AfResult = { elements: 0, attributes: 0, templates: 0, upserts: 0, deletes: 0, paused: false, removed: 0 };
  const configured = new Set<string>();
  const commitEvery = o.commitEvery ?? COMMIT_EVERY;
  const changes = new AfChanges(o.store, result, commitEvery);

  for (const dbPath of o.databases) {
    o.signal?.throwIfAborted();
    if (o.store.isBufferFull()) {
      result.paused = true;
      return result;
    }
    const walk = await DatabaseWalk.open(o, dbPath, changes);
    configured.add(walk.dbName.toUpperCase());
    await walk.templates();
    if (!(await walk.elements())) {
      result.paused = true;
      return result;
    }
    changes.commit();
    result.deletes += await deleteVanished({ ...o, commitEvery }, changes.known, walk.seen, walk.dbName);
  }
  // Reached only when every configured database was walked completely (a failure throws, a pause
  // returns). An empty list (the config requires one) removes nothing rather than everything.
  if (configured.size > 0) result.removed = removeUnconfigured({ ...o, commitEvery }, changes.known, configured);
  result.deletes += result.removed;
  return result;
}
