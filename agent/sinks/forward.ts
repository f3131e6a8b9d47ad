/**
 * The sink forwarding loop: drains the store unit by unit. Each unit's name and batches are in the
 * ledger before the upload, the sink commits idempotently by name, and only then are the batches
 * marked committed and deleted; so every hop is at-least-once and the result exactly once
 * (design.md "Delivery guarantee"). Retrying is the caller's choice: see `backoffDelay`.
 *
 * Failures: a retryable error (outage, throttling) stops the loop, everything waits. A permanent
 * error of one unit (a missing grant on one table, a statement the table refuses) stops only that
 * table: the other tables keep uploading, the table's batches stay buffered, and it is tried again
 * after `tableRetryMs`; the loop then throws a SinkError that names the table.
 */
import type { TableName } from '../batch/tables.js';
import { AgentError, describeError, isRetryable, SinkError, StoreError } from '../errors.js';
import type { Store } from '../store/store.js';
import type { UploadTarget } from './types.js';

export interface ForwardOptions {
  /** Only this table (default: every table, oldest batch first). */
  table?: TableName;
  /**
   * Coalesce sealed batches into units of at most this many bytes (default the sink's
   * `limits.maxBytes`, else 16 MiB; the Databricks sink's is sink.max_upload_bytes). The Databricks sink stages a unit's files one at a time, so
   * there this bounds the size of a commit, not memory; the directory sink merges them into one
   * file in memory (~15x their size). A bigger batch goes alone.
   */
  maxBytes?: number;
  /** ... and at most this many batches (default 1000, the COPY INTO FILES limit). */
  maxBatches?: number;
  /** ... and, for units with updates/deletes (MERGE), at most this many rows (default 200,000). */
  maxMergeRows?: number;
  /** Stop after this many units (default: until the store is empty). */
  maxUnits?: number;
  /** Stop between units when aborted (an in-flight upload finishes; its unit stays pending if it fails). */
  signal?: AbortSignal;
  /** A table stopped by a permanent error is tried again after this long (default 60 s). */
  tableRetryMs?: number;
  /** Milliseconds since the epoch (tests move it forward). */
  clock?: () => number;
}

export interface ForwardResult {
  units: number;
  rows: number;
}

type SinkCode = ConstructorParameters<typeof SinkError>[0];
interface Blocked {
  until: number;
  error: string;
  code: SinkCode;
}

/**
 * Tables stopped by a permanent error, per store (so per process: `run --once` tries them again at
 * once; the service every `tableRetryMs`, and whenever an upload of the table is asked for again).
 */
const blockedTables = new WeakMap<Store, Map<TableName, Blocked>>();

/** Tables a permanent error stopped, with the error (for status and tests). */
export function blockedTablesOf(store: Store): Map<TableName, { error: string; until: Date }> {
  return new Map([...(blockedTables.get(store) ?? new Map<TableName, Blocked>())].map(([t, b]) => [t, { error: b.error, until: new Date(b.until) }]));
}

/**
 * Uploads every pending and sealed batch. Throws the sink's error for the unit that failed, after
 * recording it in the ledger (the unit stays pending and is retried first next time); with tables
 * stopped by a permanent error, throws after everything else was uploaded.
 */
export async function forwardAll(store: Store, sink: UploadTarget, opts: ForwardOptions = {}): Promise<ForwardResult> {
  const limits = {
    maxBytes: opts.maxBytes ?? sink.limits?.maxBytes ?? 16 * 1024 * 1024,
    maxBatches: opts.maxBatches ?? 1000,
    maxMergeRows: opts.maxMergeRows ?? 200_000,
  };
  const retryMs = opts.tableRetryMs ?? 60_000;
  const result: ForwardResult = { units: 0, rows: 0 };
  let blocked = blockedTables.get(store);
  if (!blocked) blockedTables.set(store, (blocked = new Map<TableName, Blocked>()));
  const clock = opts.clock ?? Date.now;
  const now = clock();
  for (const [t, b] of blocked) if (b.until <= now) blocked.delete(t);
  let prepared = false;
  let exhausted = false;
  while (opts.maxUnits === undefined || result.units < opts.maxUnits) {
    if (opts.signal?.aborted) break;
    const unit = store.nextUploadUnit(opts.table, { ...limits, exclude: blocked.keys() });
    if (unit === undefined) {
      exhausted = true;
      break;
    }
    if (!prepared && sink.prepare) {
      try {
        await sink.prepare();
      } catch (err) {
        store.recordSinkState(sink.type, isRetryable(err) ? 'retrying' : 'failed', describeError(err));
        throw err;
      }
    }
    prepared = true;
    // `pi-agent status` says so while a unit is in flight (a large one takes a while): not the
    // previous pass's 'idle' or 'ok'. Each unit's outcome below replaces it.
    store.recordSinkState(sink.type, 'uploading');
    try {
      await sink.upload({ name: unit.name, table: unit.table, store: store.storeId, rows: unit.rows, files: store.unitFiles(unit), ops: unit.ops });
    } catch (err) {
      const message = describeError(err);
      store.recordUnitFailure(unit.name, message);
      if (!isTableError(err)) {
        store.recordSinkState(sink.type, isRetryable(err) ? 'retrying' : 'failed', message);
        throw err;
      }
      blocked.set(unit.table, { until: clock() + retryMs, error: message, code: err instanceof SinkError ? (err.code as SinkCode) : 'SINK_FAILED' });
      store.recordSinkState(sink.type, 'failed', `table ${unit.table}: ${message}`);
      continue;
    }
    store.markUnitCommitted(unit.name, sink.type);
    blocked.delete(unit.table);
    result.units++;
    result.rows += unit.rows;
  }
  const stopped = opts.table === undefined ? [...blocked] : [...blocked].filter(([t]) => t === opts.table);
  // Reported once the rest is uploaded (or when only stopped tables are left), so a caller that
  // loops one unit at a time (flush) still uploads every other table first.
  if (exhausted && stopped.length > 0) {
    const text = stopped.map(([t, b]) => `table ${t}: ${b.error}`).join('; ');
    const err = new SinkError(
      stopped[0]![1].code,
      `${stopped.length === 1 ? 'a table is' : `${stopped.length} tables are`} not uploaded (data kept in the buffer): ${text}`,
      { retryable: false },
    );
    store.recordSinkState(sink.type, 'failed', describeError(err));
    throw err;
  }
  if (result.units > 0 && stopped.length === 0) store.recordSinkState(sink.type, 'ok');
  return result;
}

/**
 * A permanent error about one unit's table: the destination refused it (grant, statement, schema)
 * or one of its batch files cannot be read. Credentials are everyone's problem (every table would
 * fail the same way), and so are the store's own errors.
 */
function isTableError(err: unknown): boolean {
  if (err instanceof SinkError) return !err.retryable && err.code !== 'SINK_AUTH_FAILED' && !(err.cause instanceof StoreError);
  return err instanceof AgentError && err.code === 'BATCH_ENCODE_FAILED';
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
