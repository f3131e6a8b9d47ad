import t from 'tap';
import { PiError } from '../../../agent/errors.js';
import { extractTimeseries, type ExtractOptions, type RecordedRequest, type TimeseriesStore } from '../../../agent/sources/timeseries/extract.js';

// minPosUs (the lag) is folded from each tag as it leaves the cycle: done, failed, not due, or
// still queued when the cycle pauses.
const S = Date.UTC(2026, 0, 1) * 1000;
const MIN = 60_000_000;

function memStore(init: Record<string, unknown>, full = false): TimeseriesStore {
  const m = new Map<string, unknown>(Object.entries(init));
  return {
    getProgress: <T>(k: string) => m.get(k) as T | undefined,
    commitStep: (_steps, progress, del = []) => {
      for (const k of del) m.delete(k);
      for (const p of progress) m.set(p.key, JSON.parse(JSON.stringify(p.value)));
    },
    isBufferFull: () => full,
  };
}

const iso = (us: number): string => new Date(us / 1000).toISOString();

function opts(store: TimeseriesStore, nowUs: number): ExtractOptions {
  return {
    site: 's',
    tags: [{ webId: 'A' }, { webId: 'B' }, { webId: 'C' }],
    reader: {
      read: async (reqs: RecordedRequest[]) =>
        reqs.map((r) => (r.webId === 'B' ? { items: [], error: new PiError('PI_BAD_RESPONSE', 'broken') } : { items: [{ Timestamp: iso(r.startUs), Value: 1 }] })),
    },
    store,
    nowUs,
    startUs: S,
    lookbackUs: 0,
    tagsPerRequest: 10,
    maxCount: 100,
    maxValuesPerRequest: 1000,
    concurrency: 1,
    parseTime: (s) => Date.parse(s) * 1000,
  };
}

t.test('done, failed and not-due tags all count; the least wins', async (t) => {
  const now = S + 10 * MIN;
  // C is ahead of now: not read this cycle, its position still counts.
  const store = memStore({ 'ts:A': { pos: S + MIN }, 'ts:B': { pos: S + 2 * MIN }, 'ts:C': { pos: now + 5 } });
  const r = await extractTimeseries(opts(store, now));
  t.equal(r.errors.size, 1);
  t.ok(r.errors.has('B'));
  t.equal(store.getProgress<{ pos: number }>('ts:A')!.pos, now + 1, 'A read to now');
  t.equal(r.minPosUs, S + 2 * MIN, 'B failed: its old position is the least');
});

t.test('a paused cycle counts the tags still queued', async (t) => {
  const now = S + 10 * MIN;
  const store = memStore({ 'ts:A': { pos: S + 3 * MIN }, 'ts:B': { pos: S + 4 * MIN }, 'ts:C': { pos: now + 5 } }, true);
  const r = await extractTimeseries(opts(store, now));
  t.equal(r.paused, true);
  t.equal(r.requests, 0);
  t.equal(r.minPosUs, S + 3 * MIN);
});

t.test('no tag read yet: null', async (t) => {
  const r = await extractTimeseries(opts(memStore({}, true), S + MIN));
  t.equal(r.minPosUs, null);
});
