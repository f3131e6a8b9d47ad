/**
 * V8 heap tuning for the agent process. During a catch-up, response bodies and rows live while
 * requests are in flight, so they reach V8's old generation; after each full GC V8 lets that space
 * grow to several times what is live (the "heap growing factor", up to 4x), and Node does not give
 * the pages back, so peak RSS grew with the tag count while live data stayed small. A fixed growing
 * factor of 1.5 keeps the old generation near what is live at the same speed (docs/benchmarks.md,
 * scripts/bench-rss.ts).
 *
 * Set at run time because the single binary takes no node command-line flags; only the growing
 * factor is changed (no heap cap, so a large backlog never ends in an out-of-memory abort).
 */
import v8 from 'node:v8';

export const HEAP_FLAGS = '--heap-growing-percent=50';

export function tuneHeap(): void {
  v8.setFlagsFromString(HEAP_FLAGS);
}
