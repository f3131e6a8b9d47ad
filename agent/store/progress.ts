/**
 * Progress spaces: every progress entry belongs to one space, owned by the source that writes it
 * (the Cognite state-store idea: state has an owner). A space names its key prefix once, knows the
 * shape of its values and the version of that shape, and every read, write and deletion of its keys
 * goes through it. A prefix typed in two places could drift; here it cannot.
 *
 * The prefixes are the store's on-disk format: renaming one orphans every entry written under the
 * old name, so test/store/progress.test.ts pins them. A new value shape gets a new `version` and a
 * migration in store/schema.ts.
 */
import type { ProgressEntry } from './progress-table.js';

/** The store's progress API as a space needs it (the Store, or a test double). */
export interface ProgressReader {
  getProgress<T>(key: string): T | undefined;
  getProgressByPrefix<T>(prefix: string): Map<string, T>;
}

export class ProgressSpace<T> {
  /**
   * @param owner the source that owns the space (for reset and status)
   * @param prefix the key prefix, on disk; ids follow it verbatim
   * @param version the shape of the values; bumped with a migration
   */
  constructor(
    readonly owner: string,
    readonly prefix: string,
    readonly version = 1,
  ) {
    if (!prefix) throw new Error('a progress space needs a prefix');
  }

  /** The store key of `id`. */
  key(id: string): string {
    return this.prefix + id;
  }

  /** The id of a key of this space (its key minus the prefix). */
  idOf(key: string): string {
    if (!key.startsWith(this.prefix)) throw new Error(`progress key ${key} is not in space ${this.prefix}`);
    return key.slice(this.prefix.length);
  }

  get(store: Pick<ProgressReader, 'getProgress'>, id: string): T | undefined {
    return store.getProgress<T>(this.key(id));
  }

  /** Every entry of the space by store key, in key order. */
  entries(store: Pick<ProgressReader, 'getProgressByPrefix'>): Map<string, T> {
    return store.getProgressByPrefix<T>(this.prefix);
  }

  /** Every value of the space, in key order. */
  values(store: Pick<ProgressReader, 'getProgressByPrefix'>): T[] {
    return [...this.entries(store).values()];
  }

  /** How many entries the space holds (values not read). */
  count(store: { countProgressByPrefix(prefix: string): number }): number {
    return store.countProgressByPrefix(this.prefix);
  }

  /** Every store key of the space (for a reset). */
  keys(store: Pick<ProgressReader, 'getProgressByPrefix'>): string[] {
    return [...this.entries(store).keys()];
  }

  /** A write of `value` under `id`, for Store.commitStep. */
  entry(id: string, value: T): ProgressEntry {
    return { key: this.key(id), value };
  }
}

/** A progress entry under one fixed key (a source's own state, not per stream). */
export class ProgressCell<T> {
  constructor(
    readonly owner: string,
    readonly key: string,
    readonly version = 1,
  ) {}

  get(store: Pick<ProgressReader, 'getProgress'>): T | undefined {
    return store.getProgress<T>(this.key);
  }

  entry(value: T): ProgressEntry {
    return { key: this.key, value };
  }
}
