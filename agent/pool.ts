/**
 * "At most N at once": the one place the agent bounds how many things run concurrently. Two shapes
 * of the same bound:
 *
 * - `pump` / `forEachLimited` (pull): the pool asks for the next task whenever fewer than N run.
 *   The extraction's requests (sources/timeseries/extract.ts), the stream-update polls
 *   (updates.ts) and the sink's statements (sinks/databricks/sink.ts) run this way.
 * - `Limiter` (push): independent callers bring their tasks and wait for a slot, served in arrival
 *   order. The PI client bounds its HTTP requests this way (pi/client.ts).
 *
 * A leaf module (no imports) so that every layer may use it.
 */

/**
 * Keeps up to `limit` tasks running: calls `next()` for another task while fewer than `limit` run,
 * until it returns undefined ("nothing to start now"); each time a task settles it asks again. Ends
 * when nothing runs and `next()` has nothing to start. A task that rejects (or a `next()` that
 * throws) stops the pump: no task is started after it, the running ones are waited for, and the
 * first error is thrown.
 *
 * `next()` may answer undefined for now and a task later (a finished task queued more work): the
 * pump asks again after every settled task, so a source whose work grows as answers come in keeps
 * `limit` requests in flight for as long as it has work.
 */
export async function pump(limit: number, next: () => Promise<unknown> | undefined): Promise<void> {
  const running = new Set<Promise<unknown>>();
  let failure: { err: unknown } | undefined;
  for (;;) {
    while (failure === undefined && running.size < limit) {
      let task: Promise<unknown> | undefined;
      try {
        task = next();
      } catch (err) {
        failure = { err };
        break;
      }
      if (task === undefined) break;
      const p: Promise<unknown> = task.finally(() => running.delete(p));
      // Recorded here, not by the race below: a task may reject while the race waits on another.
      p.catch((err: unknown) => {
        failure ??= { err };
      });
      running.add(p);
    }
    if (running.size === 0) break;
    // A rejection is recorded by its own handler above (attached first, so it has run by now).
    await Promise.race(running).catch(() => undefined);
  }
  if (failure) throw failure.err;
}

/**
 * `fn` over `items` in order, at most `limit` at a time. Before each item `stop()` (when given) may
 * end the run: the items not started yet are skipped. A rejection stops it too (pump) and is thrown
 * once the running items are done.
 */
export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<unknown>, stop?: () => boolean): Promise<void> {
  let i = 0;
  await pump(limit, () => (i < items.length && !stop?.() ? fn(items[i]!, i++) : undefined));
}

/** Bounds the number of concurrently running tasks; waiters are served in arrival order. */
export class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly max: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      // Hand the slot straight to the next waiter so a newcomer cannot overtake it.
      if (next) next();
      else this.active--;
    }
  }
}
