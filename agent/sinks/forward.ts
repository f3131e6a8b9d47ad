/**
 * The sink forwarding loop: drains the store unit by unit. Each unit's name and batches are in the
 * ledger before the upload, the sink commits idempotently by name, and only then are the batches
 * marked committed and deleted; so every hop is at-least-once and the result exactly once
 * (design.md "Delivery guarantee"). Retrying is the caller's choice: see `backoffDelay`.
 */
import type { TableName } from '../batch/tables.js';
import { describeError } from '../errors.js';
import type { Store } from '../store/store.js';
import type { Sink } from './types.js';

export interface ForwardOptions {
  /** Only this table (default: every table, oldest batch first). */
  table?: TableName;
  /**
   * Coalesce sealed batches into units of at most this many bytes (default 16 MiB). Merging decodes
   * the batches in memory (~15x their size), so this bounds memory; a bigger batch goes alone, as is.
   */
  maxBytes?: number;
  /** ... and at most this many batches (default 1000, the COPY INTO FILES limit). */
  maxBatches?: number;
  /** Stop after this many units (default: until the store is empty). */
  maxUnits?: number;
  /** Stop between units when aborted (an in-flight upload finishes; its unit stays pending if it fails). */
  signal?: AbortSignal;
}

export interface ForwardResult {
  units: number;
  rows: number;
}

/**
 * Uploads every pending and sealed batch. Throws the sink's error for the unit that failed, after
 * recording it in the ledger (the unit stays pending and is retried first next time).
 */
export async function forwardAll(store: Store, sink: Sink, opts: ForwardOptions = {}): Promise<ForwardResult> {
  const limits = { maxBytes: opts.maxBytes ?? 16 * 1024 * 1024, maxBatches: opts.maxBatches ?? 1000 };
  const result: ForwardResult = { units: 0, rows: 0 };
  let prepared = false;
  while (opts.maxUnits === undefined || result.units < opts.maxUnits) {
    if (opts.signal?.aborted) break;
    const unit = store.nextUploadUnit(opts.table, limits);
    if (unit === undefined) break;
    try {
      if (!prepared && sink.prepare) await sink.prepare();
      prepared = true;
      const data = store.unitData(unit);
      await sink.upload({ name: unit.name, table: unit.table, rows: unit.rows, data, ops: unit.ops });
    } catch (err) {
      const message = describeError(err);
      store.recordUnitFailure(unit.name, message);
      store.recordSinkState(sink.type, isRetryable(err) ? 'retrying' : 'failed', message);
      throw err;
    }
    store.markUnitCommitted(unit.name, sink.type);
    result.units++;
    result.rows += unit.rows;
  }
  if (result.units > 0) store.recordSinkState(sink.type, 'ok');
  return result;
}

function isRetryable(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { retryable?: unknown }).retryable === true;
}

/**
 * Delay before retry number `attempt` (0-based): exponential from `baseMs` up to `maxMs`, with
 * "full jitter" so a fleet of agents does not reconnect in step after a shared outage.
 */
export function backoffDelay(attempt: number, opts: { baseMs?: number; maxMs?: number; random?: () => number } = {}): number {
  const base = opts.baseMs ?? 1000;
  const max = opts.maxMs ?? 5 * 60 * 1000;
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt, 30));
  return Math.round((opts.random ?? Math.random)() * ceiling);
}
