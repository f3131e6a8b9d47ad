import t from 'tap';
import { parseLatency, requestCost, requestWork, streamReads } from './piwebapi/latency.js';
import { control, get, post, sim } from './core-util.js';

// Timing is asserted only as a floor (a response is never earlier than its modelled cost); the
// exact charge is asserted through the simulator's `served` counters.
const NOW = '2026-01-02T00:00:00Z';
const HOUR = `startTime=2026-01-01T23:00:00Z&endTime=${NOW}&maxCount=10000`;
const close = (a: number, b: number): boolean => Math.abs(a - b) < 1e-9;

t.test('a stream read pays requestMs + streamMs + valueUs per value, and is not served earlier', async (t) => {
  const s = await sim(t, { tags: 20, intervalSec: 5, mix: 'plant', now: NOW, latency: { requestMs: 40, streamMs: 3, valueUs: 10 } });
  const t0 = performance.now();
  const r = await get(s, `/streams/${s.sim.tagWebId(0)}/recorded?${HOUR}`);
  const took = performance.now() - t0;
  t.equal(r.status, 200);
  t.equal(r.json.Items.length, 721);
  const want = 40 + 3 + 721 * 0.01;
  t.ok(took >= want - 1, `served after ${took.toFixed(1)} ms, cost ${want} ms`);
  const st = s.sim.served;
  t.same({ requests: st.requests, subRequests: st.subRequests, streams: st.streams, values: st.values }, { requests: 1, subRequests: 0, streams: 1, values: 721 });
  t.ok(close(st.chargedMs, want), `charged ${st.chargedMs}`);
  t.ok(st.delayedMs >= 0 && st.delayedMs <= want, 'the wait is the cost less the time already spent');

  // A listing reads no stream: requestMs only.
  await get(s, '/dataservers');
  t.ok(close(s.sim.served.chargedMs, want + 40));
  t.equal(s.sim.served.streams, 1);
  // The control API is not PI Web API traffic: neither charged nor counted.
  const c = await control(s, 'GET', '/sim/state');
  t.equal(c.status, 200);
  t.equal(s.sim.served.requests, 2);
});

t.test('a /batch pays requestMs once, its sub-requests in parallel (sum / parallelism, at least the largest)', async (t) => {
  const s = await sim(t, { tags: 20, intervalSec: 5, now: NOW, latency: { requestMs: 20, streamMs: 10, valueUs: 100, parallelism: 2 } });
  const res = (i: number, from: string): string => `${s.url}/streams/${s.sim.tagWebId(i)}/recorded?startTime=${from}&endTime=${NOW}&maxCount=10000`;
  const body = {
    a: { Method: 'GET', Resource: res(0, '2026-01-01T23:00:00Z') }, // 721 values: 10 + 72.1 ms
    b: { Method: 'GET', Resource: res(1, '2026-01-01T23:59:00Z') }, // 13 values: 10 + 1.3 ms
    c: { Method: 'GET', Resource: res(2, '2026-01-01T23:59:00Z') }, // 13 values
    d: { Method: 'GET', Resource: `${s.url}/dataservers` }, // no stream: 10 ms
  };
  const t0 = performance.now();
  const r = await post(s, '/batch', body);
  const took = performance.now() - t0;
  t.equal(r.status, 207);
  t.equal(r.json.a.Content.Items.length, 721);
  const items = [10 + 72.1, 11.3, 11.3, 10];
  const want = 20 + Math.max(82.1, items.reduce((x, y) => x + y) / 2);
  const st = s.sim.served;
  t.same({ requests: st.requests, subRequests: st.subRequests, streams: st.streams, values: st.values }, { requests: 1, subRequests: 4, streams: 3, values: 747 });
  t.ok(close(st.chargedMs, want), `charged ${st.chargedMs}, want ${want}`);
  t.ok(took >= want - 1, `served after ${took.toFixed(1)} ms`);

  // One big sub-request dominates: the charge is at least the largest item.
  const before = st.chargedMs;
  await post(s, '/batch', { a: body.a });
  t.ok(close(s.sim.served.chargedMs - before, 20 + 82.1));
});

t.test('a streamset read is one item per stream; the model can be switched at run time', async (t) => {
  const s = await sim(t, { tags: 20, intervalSec: 60, now: NOW, latency: { requestMs: 5, streamMs: 2, valueUs: 0, parallelism: 4 } });
  const ids = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => `webId=${s.sim.tagWebId(i)}`).join('&');
  const r = await get(s, `/streamsets/recorded?${ids}&${HOUR}`);
  t.equal(r.status, 200);
  t.equal(r.json.Items.length, 8);
  t.equal(s.sim.served.streams, 8);
  t.equal(s.sim.served.values, 8 * 61);
  t.ok(close(s.sim.served.chargedMs, 5 + (8 * 2) / 4));
  s.sim.latency = undefined;
  await get(s, `/streamsets/recorded?${ids}&${HOUR}`);
  t.equal(s.sim.served.requests, 2, 'requests are counted without a model');
  t.equal(s.sim.served.streams, 8, 'nothing else is');
});

t.test('without a latency model nothing is charged', async (t) => {
  const s = await sim(t, { tags: 20 });
  await get(s, `/streams/${s.sim.tagWebId(0)}/recorded`);
  t.same(s.sim.served, { requests: 1, subRequests: 0, streams: 0, values: 0, chargedMs: 0, delayedMs: 0 });
});

t.test('work of a response body, and the --latency syntax', async (t) => {
  t.same(
    streamReads({
      Items: [
        { Timestamp: 'x', Value: 1 },
        { Timestamp: 'y', Value: 2 },
      ],
      UnitsAbbreviation: '',
    }),
    [2],
  );
  t.same(streamReads({ Links: {}, Items: [], UnitsAbbreviation: 'A' }), [0], 'an empty read is still a read');
  t.same(streamReads({ Links: {}, Items: [] }), [], 'an empty listing is not');
  t.same(
    streamReads({
      Items: [
        { WebId: 'a', Items: [{ Timestamp: 'x' }] },
        { WebId: 'b', Items: [] },
        { WebId: 'c', Errors: ['no'] },
      ],
    }),
    [1, 0, 0],
  );
  t.same(streamReads({ Items: [{ WebId: 'a', Name: 'n', Value: { Timestamp: 'x', Value: 1 } }] }), [1], '/streamsets/value');
  t.same(streamReads({ Timestamp: 'x', Value: 3, Good: true }), [1]);
  t.same(streamReads({ Items: [{ WebId: 'p', Name: 'SIM', PointType: 'Float32' }] }), [], 'a point listing');
  // A RequestTemplate entry counts each of its items as a sub-request.
  const w = requestWork(
    '/batch',
    {
      t: {
        Status: 200,
        Content: {
          Items: [
            { Status: 200, Headers: {}, Content: { Items: [{ Timestamp: 'x' }] } },
            { Status: 200, Headers: {}, Content: { Items: [] } },
          ],
        },
      },
    },
    { streamMs: 1, valueUs: 1000 },
  );
  t.same({ subRequests: w.subRequests, streams: w.streams, values: w.values, items: w.items }, { subRequests: 2, streams: 1, values: 1, items: [2, 1] });
  t.equal(requestCost(w, { requestMs: 3, parallelism: 1 }), 6);
  t.equal(requestCost({ items: [], subRequests: 0, streams: 0, values: 0 }, { requestMs: 3 }), 3);

  t.same(parseLatency('5'), { requestMs: 5, streamMs: 0, valueUs: 0, parallelism: 8 });
  t.same(parseLatency('5,1,0.5,16'), { requestMs: 5, streamMs: 1, valueUs: 0.5, parallelism: 16 });
  t.equal(parseLatency('0'), undefined);
  t.throws(() => parseLatency('5,x'), /--latency/);
  t.throws(() => parseLatency('-1'), /--latency/);
  t.throws(() => parseLatency('1,2,3,4,5'), /--latency/);
});
