/**
 * The changes of one AF cycle: rows of new or changed objects (content hash against what was last
 * sent), queued with their hashes and committed together in one step (rows + progress in one
 * transaction: exactly once).
 */
import type { Row } from '../../batch/tables.js';
import type { Store } from '../../store/store.js';
import { contentHash } from './read.js';
import { KINDS, kindOfKey, knownObjects, type Kind, type KnownObjects } from './kinds.js';
import type { Known } from './progress.js';

/** What a cycle counts of the objects it read. */
export interface AfCounts {
  elements: number;
  attributes: number;
  templates: number;
  upserts: number;
}

const COUNT = { template: 'templates', element: 'elements', attribute: 'attributes' } as const;

const noRows = (): Record<Kind, Row[]> => ({ template: [], element: [], attribute: [] });

export class AfChanges {
  /** What the store holds, kept in step with every commit of this cycle. */
  readonly known: KnownObjects;
  private rows = noRows();
  private progress: { key: string; value: Known }[] = [];

  constructor(
    private readonly store: Store,
    private readonly counts: AfCounts,
    private readonly commitEvery: number,
  ) {
    this.known = knownObjects(store);
  }

  /** Queue `row` when its content differs from what was last sent. */
  offer(kind: Kind, webId: string, db: string, row: Row, seen: Set<string>): void {
    const key = KINDS[kind].space.key(webId);
    // Paging over a tree that changes meanwhile can return an object twice: send it once.
    if (seen.has(key)) return;
    seen.add(key);
    this.counts[COUNT[kind]]++;
    const { ingested_at: _i, op: _op, ...content } = row;
    const hash = contentHash(content);
    const before = this.known[kind].get(key);
    if (before && before[0] === hash && before[1] === db) return;
    this.rows[kind].push(row);
    this.progress.push({ key, value: [hash, db] });
    this.counts.upserts++;
  }

  /** Commit once commitEvery objects are queued. */
  commitIfDue(): void {
    if (this.progress.length >= this.commitEvery) this.commit();
  }

  /** Commit what is queued (rows and hashes in one step), if anything. */
  commit(): void {
    if (this.progress.length === 0) return;
    const rows = this.rows;
    this.store.commitStep(
      (Object.keys(rows) as Kind[]).map((k) => ({ table: KINDS[k].table, rows: rows[k] })),
      this.progress,
    );
    for (const p of this.progress) this.known[kindOfKey(p.key)].set(p.key, p.value);
    this.rows = noRows();
    this.progress = [];
  }
}
