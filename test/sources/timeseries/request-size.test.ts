/**
 * The memory bound of a cycle (issue 7): whatever the backlog and whatever `pi.concurrency`, no
 * recorded-values request asks for more than VALUES_PER_REQUEST values, and a catch-up still reads
 * every event exactly once. The service's own options (timeseriesOptions) and PI client against the
 * simulator, with the reader observed.
 */
import t from 'tap';
import { parsePiTimestamp } from '../../../agent/pi/time.js';
import { knownTags, runTagDiscovery as runTagsSource } from '../../../agent/sources/tags/source.js';
import { timeseriesOptions, VALUES_PER_REQUEST } from '../../../agent/sources/timeseries/source.js';
import { extractTimeseries, type RecordedReader } from '../../../agent/sources/timeseries/extract.js';
import { makeAgentEnv, simAgentYaml, withAgent } from '../../helpers/agent-env.js';
import { startSimulator } from '../../sim/piwebapi/server.js';

const START = '2026-01-01T00:00:00Z';
const NOW = '2026-01-01T02:00:00Z';
const us = (iso: string): number => parsePiTimestamp(iso).us;

t.test('a catch-up asks at most VALUES_PER_REQUEST values per request at any concurrency', async (t) => {
  t.equal(VALUES_PER_REQUEST, 7_500);
  // 60 tags × 2 h of 5-second data: 1,441 events a tag, 86,460 in all, with room for 150,000 a page.
  const sim = await startSimulator({ port: 0, tags: 60, seed: 5, historyStart: START, now: NOW, intervalSec: 5 });
  t.teardown(() => sim.close());
  let archived = 0;
  for (let i = 0; i < 60; i++) archived += sim.sim.truth(i, START, NOW).length;
  for (const concurrency of [1, 4, 8]) {
    const env = makeAgentEnv((paths) =>
      simAgentYaml(paths, {
        piUrl: sim.url,
        pi: { max_count: 150000, tags_per_request: 200, concurrency },
        timeseries: { lookback: '10m', stream_updates: 'off' },
      }),
    );
    t.teardown(() => env.cleanup());
    const seen = await withAgent(env, async (agent) => {
      await runTagsSource(agent);
      const tags = knownTags(agent.store);
      const opts = timeseriesOptions(agent.config, agent.client, agent.store, tags, { nowUs: us(NOW), startUs: us(START), lookbackUs: 10 * 60e6 });
      const asks: number[] = [];
      const inner = opts.reader;
      const reader: RecordedReader = {
        read: (reqs) => {
          asks.push(reqs.reduce((n, r) => n + r.maxCount, 0));
          return inner.read(reqs);
        },
      };
      const r = await extractTimeseries({ ...opts, reader });
      return { asks, inserts: r.inserts, updates: r.updates + r.deletes, errors: r.errors.size, tags: tags.length };
    });
    t.equal(seen.tags, 60);
    t.equal(seen.errors, 0);
    t.equal(seen.inserts, archived, `concurrency ${concurrency}: every event inserted once (${archived})`);
    t.equal(seen.updates, 0);
    t.ok(Math.max(...seen.asks) <= VALUES_PER_REQUEST, `concurrency ${concurrency}: largest request asks ${Math.max(...seen.asks)} values`);
    // The first request shares 7,500 among the 60 tags (rates unknown), the next ones ask 6,400
    // (five tags a request, by their rates): 16 requests whatever the concurrency.
    t.same(seen.asks, [7500, ...Array<number>(15).fill(6400)], `concurrency ${concurrency}: ${seen.asks.length} requests`);
  }
});
