/**
 * Adaptive splitting on timeouts (issue 3): a recorded-values request that times out is asked again
 * with half the tags, half the window and half the maxCount, down to a floor, and grows back after
 * a success; a tag that still times out at the floor fails the cycle without moving its progress.
 * Against the simulator's `slow` fault (the client gives up first: PI_TIMEOUT), and against a
 * scripted archive whose requests time out above a size.
 */
import t, { type Test } from 'tap';
import type { Row } from '../../../agent/batch/tables.js';
import { PiError } from '../../../agent/errors.js';
import { PiClient } from '../../../agent/pi/client.js';
import { parsePiTimestamp } from '../../../agent/pi/time.js';
import { BatchRecordedReader, parseTimeUs } from '../../../agent/sources/pi.js';
import { extractTimeseries, type RecordedReader, type RecordedRequest, type RecordedResult, type TimeseriesStore } from '../../../agent/sources/timeseries/extract.js';
import type { PiValueItem } from '../../../agent/sources/timeseries/values.js';
import { expectedEvents, landedEventsByTag } from '../../helpers/agent-env.js';
import type { LandedRow } from '../../helpers/landed.js';
import { anonymousAuth } from '../../helpers/scripted-server.js';
import { startSimulator } from '../../sim/piwebapi/server.js';

const START = '2026-01-01T00:00:00Z';
const NOW = '2026-01-01T03:00:00Z';
const SEC = 1_000_000;
const POINT_TYPES: Record<string, string> = { FLOAT32: 'Float32', INT32: 'Int32', DIGITAL: 'Digital', STRING: 'String', TIMESTAMP: 'Timestamp' };

class MemStore implements TimeseriesStore {
  progress = new Map<string, unknown>();
  table = new Map<string, Row>();
  getProgress<T>(key: string) {
    return this.progress.get(key) as T | undefined;
  }
  isBufferFull() {
    return false;
  }
  commitStep(steps: { table: 'pi_timeseries'; rows: Row[] }[], progress: { key: string; value: unknown }[]) {
    for (const s of steps)
      for (const r of s.rows) {
        const k = `${r.tag_webid}|${r.timestamp}|${r.ordinal}`;
        if (r.op === 'insert' && this.table.has(k)) throw new Error(`duplicate insert ${k}`);
        if (r.op === 'delete') this.table.delete(k);
        else this.table.set(k, r);
      }
    for (const p of progress) this.progress.set(p.key, JSON.parse(JSON.stringify(p.value)));
  }
}

/** Records what each request asked for. */
class Logged implements RecordedReader {
  log: RecordedRequest[][] = [];
  constructor(private readonly inner: RecordedReader) {}
  read(reqs: RecordedRequest[]): Promise<RecordedResult[]> {
    this.log.push(reqs.map((r) => ({ ...r })));
    return this.inner.read(reqs);
  }
}

async function simSetup(t: Test, tags: number) {
  const sim = await startSimulator({ port: 0, tags, seed: 31, historyStart: START, now: NOW });
  // No client retries: the first timeout reaches the source, which splits.
  const client = new PiClient({ baseUrl: sim.url, auth: anonymousAuth, timeoutMs: 400, retries: 0 });
  t.teardown(async () => {
    await client.close();
    await sim.close();
  });
  const ids = Array.from({ length: tags }, (_, i) => sim.sim.tagWebId(i));
  const reader = new Logged(new BatchRecordedReader(client));
  const store = new MemStore();
  const opts = {
    site: 'plant-a',
    tags: ids.map((webId, i) => ({ webId, pointType: POINT_TYPES[sim.sim.tagName(i).split('.')[1]!] ?? 'Float64' })),
    reader,
    store,
    nowUs: parsePiTimestamp(NOW).us,
    startUs: parsePiTimestamp(START).us,
    lookbackUs: 30 * 60 * SEC,
    tagsPerRequest: tags,
    maxCount: 1000,
    maxValuesPerRequest: 100_000,
    concurrency: 1,
    parseTime: parseTimeUs,
  };
  return { sim, ids, reader, store, opts };
}

t.test('simulator: requests that time out are split, then the data lands exactly', async (t) => {
  const { sim, ids, reader, store, opts } = await simSetup(t, 6);
  // The first two POST /batch answer after 1.5 s; the client gives up after 0.4 s.
  sim.sim.setFaults([{ kind: 'slow', route: '/batch', method: 'POST', delayMs: 1500, count: 2 }]);
  const r = await extractTimeseries(opts);
  t.equal(r.errors.size, 0, 'no tag failed');
  t.equal(r.timeouts, 6 + 3, 'six tags timed out in the first request, three in the second');
  const [first, second, third] = reader.log;
  t.equal(first!.length, 6, 'first request: all six tags');
  t.equal(second!.length, 3, 'after a timeout: half the tags');
  t.equal(third!.length, 3, 'the other half of the first request');
  t.ok(
    reader.log.some((g) => g.length === 1),
    'after two timeouts: a quarter of the tags',
  );
  const full = first![0]!;
  const half = second![0]!;
  t.equal(half.startUs, full.startUs);
  t.equal(half.endUs - half.startUs + 1, Math.floor((full.endUs - full.startUs + 1) / 2), 'half the window');
  t.equal(half.maxCount, Math.floor(full.maxCount / 2), 'half the maxCount');
  t.ok(
    reader.log.some((g) => g.some((q) => q.endUs === opts.nowUs && q.startUs > full.startUs)),
    'the window grew back to the end',
  );
  const landed = landedEventsByTag(store.table.values() as Iterable<LandedRow>);
  for (let i = 0; i < ids.length; i++) {
    const want = expectedEvents(sim.sim.truth(i, START, NOW));
    t.same(landed.get(ids[i]!) ?? [], want, `${sim.sim.tagName(i)}: ${want.length} events equal the archive`);
  }
});

t.test('simulator: a request that still times out at the floor fails its tags; progress does not move', async (t) => {
  const { sim, reader, store, opts } = await simSetup(t, 2);
  sim.sim.setFaults([{ kind: 'slow', route: '/batch', method: 'POST', delayMs: 1500 }]);
  const r = await extractTimeseries({ ...opts, maxTimeoutSplits: 2 });
  t.equal(r.errors.size, 2, 'both tags failed');
  for (const e of r.errors.values()) t.match(e, { code: 'PI_TIMEOUT' });
  t.equal(reader.log.length, 1 + 2 + 2, 'the full request, then two halvings of one tag each');
  t.equal(r.timeouts, 2 + 2 + 2);
  t.equal(store.progress.size, 0, 'no progress committed');
  t.equal(store.table.size, 0, 'no rows');
});

t.test('scripted: requests over a size time out; windows shrink until they pass, never grow back to a size that timed out, and a hopeless tag fails alone', async (t) => {
  const S = Date.parse(START) * 1000;
  const now = S + 4 * 3600 * SEC;
  const data = new Map<string, number[]>();
  for (const tag of ['A', 'B', 'C', 'BAD'])
    data.set(
      tag,
      Array.from({ length: (4 * 3600) / 10 }, (_, i) => S + i * 10 * SEC),
    ); // 1 value / 10 s
  let served = 0;
  const reader = new Logged({
    async read(reqs) {
      // PI gives up on requests that would scan more than 40 minutes of archive, or on BAD at all.
      const scanned = reqs.reduce((n, q) => n + (q.endUs - q.startUs), 0);
      if (scanned > 40 * 60 * SEC) throw new PiError('PI_TIMEOUT', 'No answer from PI Web API within 1 s');
      return reqs.map((q) => {
        if (q.webId === 'BAD') return { items: [], error: new PiError('PI_TIMEOUT', 'PI Web API timed out on a sub-request (504)') };
        const evs = data
          .get(q.webId)!
          .filter((ts) => ts >= q.startUs && ts <= q.endUs)
          .slice(0, q.maxCount);
        served += evs.length;
        const items: PiValueItem[] = evs.map((ts) => ({ Timestamp: new Date(ts / 1000).toISOString(), Value: ts / SEC, Good: true }));
        return { items };
      });
    },
  });
  const store = new MemStore();
  const r = await extractTimeseries({
    site: 'plant-a',
    tags: ['A', 'B', 'C', 'BAD'].map((webId) => ({ webId })),
    reader,
    store,
    nowUs: now,
    startUs: S,
    lookbackUs: 0,
    tagsPerRequest: 4,
    maxCount: 10_000,
    maxValuesPerRequest: 100_000,
    concurrency: 1,
    parseTime: (s) => Date.parse(s) * 1000,
  });
  t.same([...r.errors.keys()], ['BAD'], 'only BAD failed');
  t.match(r.errors.get('BAD'), { code: 'PI_TIMEOUT' });
  t.notOk(store.progress.has('ts:BAD'), 'BAD has no progress');
  for (const tag of ['A', 'B', 'C']) {
    const got = [...store.table.values()]
      .filter((x) => x.tag_webid === tag)
      .map((x) => x.timestamp as number)
      .sort((a, b) => a - b);
    t.same(got, data.get(tag), `${tag}: all ${got.length} events once`);
  }
  t.equal(served, 3 * 4 * 360, `every value served once (${r.requests} requests, ${r.timeouts} timeouts)`);
  const spans = reader.log
    .flat()
    .filter((q) => q.webId === 'A')
    .map((q) => q.endUs - q.startUs);
  const firstSmall = spans.findIndex((x) => x <= 40 * 60 * SEC);
  t.ok(firstSmall > 0, `A's window shrank from ${spans[0]! / 60e6} to ${spans[firstSmall]! / 60e6} min`);
  // Once a window passed, A is never again asked for a window as large as one that timed out
  // (re-growing to it only buys another timeout): 38 requests, 16 timeouts (47 and 25 before).
  t.ok(
    spans.slice(firstSmall + 1).every((x) => x < spans[firstSmall - 1]!),
    `A never grows back to the ${spans[firstSmall - 1]! / 60e6} min that timed out`,
  );
  t.same([r.requests, r.timeouts], [38, 16], 'requests and timeouts');
});
