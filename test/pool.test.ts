/**
 * "At most N at once" (agent/pool.ts): pump keeps N tasks running while it has work, asks again as
 * each one settles, and stops at the first failure once the running ones are done; forEachLimited
 * over a list with a stop condition; Limiter serves waiters in arrival order.
 */
import t from 'tap';
import { forEachLimited, Limiter, pump } from '../agent/pool.js';

/** A task that ends when told: `done(i)` resolves task i, `fail(i)` rejects it. */
function gate() {
  const ends = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  const started: number[] = [];
  let running = 0;
  let most = 0;
  const task = (i: number): Promise<void> => {
    started.push(i);
    most = Math.max(most, ++running);
    return new Promise<void>((resolve, reject) => ends.set(i, { resolve, reject })).finally(() => running--);
  };
  const tick = () => new Promise((r) => setImmediate(r));
  return {
    task,
    started,
    most: () => most,
    running: () => running,
    done: async (i: number) => {
      ends.get(i)!.resolve();
      await tick();
    },
    fail: async (i: number, e: Error) => {
      ends.get(i)!.reject(e);
      await tick();
    },
  };
}

t.test('pump: at most `limit` running, started in order, refilled as each settles', async (t) => {
  const g = gate();
  let next = 0;
  const p = pump(2, () => (next < 5 ? g.task(next++) : undefined));
  t.same(g.started, [0, 1], 'two at once');
  await g.done(1);
  t.same(g.started, [0, 1, 2], 'a slot freed: the next one');
  await g.done(0);
  await g.done(2);
  t.same(g.started, [0, 1, 2, 3, 4]);
  await g.done(3);
  await g.done(4);
  await p;
  t.equal(g.most(), 2);
});

t.test('pump: work that appears while tasks run (a finished task queues more) is started', async (t) => {
  const queue = [0];
  const seen: number[] = [];
  let n = 0;
  await pump(3, () => {
    const i = queue.shift();
    if (i === undefined) return undefined;
    seen.push(i);
    // Each of the first five tasks queues two more when it ends.
    return Promise.resolve().then(() => {
      if (n++ < 5) queue.push(i * 10 + 1, i * 10 + 2);
    });
  });
  t.same(seen, [0, 1, 2, 11, 12, 21, 22, 111, 112, 121, 122]);
});

t.test('pump: a failure starts nothing more, waits for the running tasks, then throws the first', async (t) => {
  const g = gate();
  let next = 0;
  let settled = false;
  const p = pump(3, () => (next < 10 ? g.task(next++) : undefined)).then(
    () => undefined,
    (e: unknown) => {
      settled = true;
      return e;
    },
  );
  t.same(g.started, [0, 1, 2]);
  await g.fail(1, new Error('first'));
  t.same(g.started, [0, 1, 2], 'no task after the failure');
  await g.fail(0, new Error('second'));
  t.equal(settled, false, 'task 2 still runs');
  await g.done(2);
  t.match(await p, { message: 'first' });
  t.equal(g.running(), 0);
});

t.test('pump: next() that throws is a failure too; nothing to start: done at once', async (t) => {
  const g = gate();
  let calls = 0;
  const p = pump(2, () => {
    if (calls++ === 1) throw new Error('store failed');
    return g.task(calls);
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.same(g.started, [1]);
  await g.done(1);
  t.match(await p, { message: 'store failed' });
  await pump(4, () => undefined);
  t.pass('an empty pump returns');
});

t.test('forEachLimited: items in order with their index, `stop` asked before each', async (t) => {
  const seen: [string, number][] = [];
  let stops = 0;
  await forEachLimited(
    ['a', 'b', 'c', 'd'],
    2,
    async (x, i) => {
      seen.push([x, i]);
    },
    () => ++stops > 3,
  );
  t.same(
    seen,
    [
      ['a', 0],
      ['b', 1],
      ['c', 2],
    ],
    'stopped before the fourth',
  );
  // Asked whenever an item could start: for a, b and c, then for d (refused), and for d again once c settled.
  t.equal(stops, 5);
  let asked = 0;
  await forEachLimited(
    [],
    2,
    async () => undefined,
    () => ++asked > 0,
  );
  t.equal(asked, 0, 'no items: stop is not asked');
  await t.rejects(
    forEachLimited([1, 2, 3], 1, async (x) => {
      if (x === 2) throw new Error('two');
    }),
    { message: 'two' },
  );
});

t.test('Limiter: at most `max` at once, waiters in arrival order', async (t) => {
  const limiter = new Limiter(2);
  const g = gate();
  const runs = [0, 1, 2, 3].map((i) => limiter.run(() => g.task(i)));
  await new Promise((r) => setImmediate(r));
  t.same(g.started, [0, 1]);
  await g.done(1);
  t.same(g.started, [0, 1, 2]);
  await g.done(0);
  t.same(g.started, [0, 1, 2, 3]);
  await g.done(2);
  await g.done(3);
  await Promise.all(runs);
  t.equal(g.most(), 2);
});
