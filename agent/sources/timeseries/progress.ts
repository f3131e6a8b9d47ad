/** The time-series source's progress keys (see extract.ts, digest.ts, updates.ts). */
import type { Store } from '../../store/store.js';
import { bucketKeysOf, type StoredTagProgress } from './digest.js';
import { progressKey } from './extract.js';

/** The prefix of a backfill's own progress for [startUs, endUs]: never the live `ts:`. */
export function backfillPrefix(startUs: number, endUs: number): string {
  return `bf:${startUs}-${endUs}:`;
}

/** Deletes a finished backfill's progress of these tags, digest buckets included. */
export function clearBackfillProgress(store: Store, prefix: string, webIds: readonly string[]): void {
  const done = webIds.map((w) => progressKey(prefix, w));
  store.commitStep([], [], done.flatMap((k) => [k, ...bucketKeysOf(k, store.getProgress<StoredTagProgress>(k))]));
}
