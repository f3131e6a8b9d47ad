/**
 * Uploads from the store to the sink (sinks/forward.ts): the sink loop's pass, and the unit-by-unit
 * loop that `flush` runs, in the service or on its own.
 */
import type { Logger } from '../observe/log.js';
import { forwardAll, type ForwardResult } from '../sinks/forward.js';
import type { UploadTarget } from '../sinks/index.js';
import type { Store } from '../store/store.js';

/** Uploads everything buffered that can go now; logs what was committed. */
export async function uploadBuffered(o: { store: Store; sink: UploadTarget; logger: Logger }, signal?: AbortSignal): Promise<ForwardResult> {
  const r = await forwardAll(o.store, o.sink, signal ? { signal } : {});
  if (r.units > 0) o.logger.info({ sink: o.sink.type, units: r.units, rows: r.rows }, 'uploaded');
  return r;
}

export interface FlushProgress {
  units: number;
  rows: number;
  /** Batches still buffered. */
  remaining: number;
}

/**
 * Uploads one unit at a time until nothing is left, the signal fires or `deadline` (ms since the
 * epoch) passes, reporting after each unit. `done` is false when it stopped with data left.
 */
export async function flushUnits(
  store: Store,
  sink: UploadTarget,
  o: { signal: AbortSignal; deadline?: number; progress?: (p: FlushProgress) => void },
): Promise<FlushProgress & { done: boolean }> {
  let units = 0;
  let rows = 0;
  for (;;) {
    if (o.signal.aborted || (o.deadline !== undefined && Date.now() > o.deadline)) {
      return { units, rows, remaining: store.stats().sealed_batches, done: false };
    }
    const r = await forwardAll(store, sink, { maxUnits: 1, signal: o.signal });
    if (r.units === 0) return { units, rows, remaining: store.stats().sealed_batches, done: true };
    units += r.units;
    rows += r.rows;
    o.progress?.({ units, rows, remaining: store.stats().sealed_batches });
  }
}
