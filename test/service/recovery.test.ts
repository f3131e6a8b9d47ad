/**
 * service/recovery.ts with the time-series source's SourceRecovery, on a real store: a store with
 * no time-series progress asks the sink what the destination holds, once; while the sink cannot
 * say, nothing is seeded and the source's error says why (the cycle waits).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { AgentConfig } from '../../agent/config/types.js';
import { SinkError } from '../../agent/errors.js';
import { bareLogger } from '../../agent/observe/log.js';
import { recoverSource } from '../../agent/service/recovery.js';
import type { Sink } from '../../agent/sinks/types.js';
import { inShard } from '../../agent/sources/tags/discover.js';
import { TAGS } from '../../agent/sources/tags/progress.js';
import { LIVE } from '../../agent/sources/timeseries/progress.js';
import { RECOVERY } from '../../agent/sources/timeseries/recovery.js';
import { timeseriesSource } from '../../agent/sources/timeseries/source.js';
import { Store } from '../../agent/store/store.js';

function openStore(t: { teardown(fn: () => void): void }): Store {
  const dir = mkdtempSync(path.join(tmpdir(), 'pi-agent-recovery-'));
  const store = Store.open({ stateDir: dir, site: 'plant-a' });
  t.teardown(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return store;
}

const config = { site: 'plant-a' } as AgentConfig;
const logger = bareLogger('silent');
const sinkWith = (heads?: () => Promise<Map<string, number>>): Sink =>
  ({ type: 'databricks', label: 'Databricks test', ...(heads ? { timeseriesHeads: heads } : {}) }) as unknown as Sink;
const US = Date.UTC(2026, 0, 1, 1) * 1000;

t.test('the destination holds events: each tag resumes at its latest, re-read as upserts; asked once', async (t) => {
  const store = openStore(t);
  let asked = 0;
  const sink = sinkWith(async () => {
    asked++;
    return new Map([
      ['W1', US],
      ['W2', US + 5_000_000],
    ]);
  });
  await recoverSource({ store, sink, logger, config }, timeseriesSource);
  t.same(LIVE.get(store, 'W1'), { pos: US, r: US + 1 });
  t.same(LIVE.get(store, 'W2'), { pos: US + 5_000_000, r: US + 5_000_001 });
  t.match(RECOVERY.get(store), { tags: 2, latest: '2026-01-01T01:00:05.000Z' });
  await recoverSource({ store, sink, logger, config }, timeseriesSource);
  t.equal(asked, 1, 'a store with progress never asks again');
});

t.test('a sharded agent seeds only the tags of its shard', async (t) => {
  const store = openStore(t);
  const shards = { count: 2, index: 1 };
  const webIds = Array.from({ length: 20 }, (_, i) => `W${i}`);
  const mine = webIds.filter((w) => inShard(w, shards));
  t.ok(mine.length > 0 && mine.length < webIds.length, 'both shards have tags');
  const sink = sinkWith(async () => new Map(webIds.map((w) => [w, US])));
  await recoverSource({ store, sink, logger, config: { ...config, timeseries: { shards } } as AgentConfig }, timeseriesSource);
  t.same([...LIVE.entries(store).keys()].sort(), mine.map((w) => LIVE.key(w)).sort());
  t.match(RECOVERY.get(store), { tags: mine.length });
});

t.test('the sink cannot be reached but the tags are known: extraction goes ahead, everything up to now as upserts', async (t) => {
  const store = openStore(t);
  store.commitStep([], [TAGS.entry('W1', { webId: 'W1', name: 'T1', path: '\\\\S\\T1', pointType: 'Float32', hash: 'h' })]);
  const sink = sinkWith(async () => {
    throw new SinkError('SINK_UNREACHABLE', 'Databricks read failed: connect ECONNREFUSED');
  });
  const before = Date.now() * 1000;
  await recoverSource({ store, sink, logger, config }, timeseriesSource);
  const head = LIVE.get(store, 'W1');
  t.equal(head?.pos, null, 'read from timeseries.start');
  t.ok(head?.r !== undefined && head.r >= before && head.r <= Date.now() * 1000, 'sent as upserts up to now');
  t.match(RECOVERY.get(store), { tags: 1, blind: true });
  t.equal(timeseriesSource.recovery!.needed(store), false, 'not asked again');
  t.match(
    timeseriesSource.status!(store, { ...config, timeseries: { lookback: 7_200_000, stream_updates: 'off', lookback_every: 'auto' } } as AgentConfig).notes?.[0],
    /^the warehouse could not be asked at first start/,
  );
});

t.test('nothing held, or a sink that cannot say: marked as asked, nothing seeded, status quiet', async (t) => {
  for (const sink of [sinkWith(async () => new Map()), sinkWith()]) {
    const store = openStore(t);
    await recoverSource({ store, sink, logger, config }, timeseriesSource);
    t.equal(LIVE.count(store), 0);
    t.match(RECOVERY.get(store), { tags: 0 });
    t.equal(timeseriesSource.recovery!.needed(store), false);
    t.notOk((timeseriesSource.status!(store, { ...config, timeseries: undefined }).notes ?? []).length);
  }
});

t.test('the sink cannot be reached and no tag is known yet: a retryable error naming why, nothing seeded, asked again next time', async (t) => {
  const store = openStore(t);
  let fail = true;
  const sink = sinkWith(async () => {
    if (fail) throw new SinkError('SINK_UNREACHABLE', 'Databricks read failed: connect ECONNREFUSED');
    return new Map([['W1', US]]);
  });
  await t.rejects(recoverSource({ store, sink, logger, config }, timeseriesSource), {
    code: 'SINK_UNREACHABLE',
    retryable: true,
    message: /timeseries waits: this store has no timeseries progress yet .* site plant-a could not be read/,
  });
  t.equal(RECOVERY.get(store), undefined, 'not marked');
  t.match(store.sourceStatuses().find((s) => s.name === 'timeseries')?.last_error, /timeseries waits/, 'status shows why');
  fail = false;
  await recoverSource({ store, sink, logger, config }, timeseriesSource);
  t.same(LIVE.get(store, 'W1'), { pos: US, r: US + 1 });
});
