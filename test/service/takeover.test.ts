/** service/takeover.ts with a sink that reports recent heartbeats: who is refused, who is not. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { AgentConfig } from '../../agent/config/types.js';
import { SinkError } from '../../agent/errors.js';
import { bareLogger } from '../../agent/observe/log.js';
import { claimSite } from '../../agent/service/takeover.js';
import type { Sink, SiteBeat } from '../../agent/sinks/types.js';
import { Store } from '../../agent/store/store.js';

const dir = mkdtempSync(path.join(tmpdir(), 'pi-agent-takeover-'));
const store = Store.open({ stateDir: dir, site: 'plant-a' });
t.teardown(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});
const NOW = new Date('2026-12-05T12:00:00Z');
const config = (shards?: { index: number; count: number }) =>
  ({ site: 'plant-a', sink: { type: 'databricks', heartbeat_interval: 60_000 }, ...(shards ? { timeseries: { shards } } : {}) }) as unknown as AgentConfig;
const logger = bareLogger('silent');
let asked: number | undefined;
const sinkOf = (beats: SiteBeat[] | Error): Sink =>
  ({
    type: 'databricks',
    label: 'Databricks test',
    recentBeats: async (since: number) => {
      asked = since;
      if (beats instanceof Error) throw beats;
      return beats;
    },
  }) as unknown as Sink;
const beat = (storeId: string, agoS: number, shard: string | null = null): SiteBeat => ({
  storeId,
  host: 'pi-edge-02',
  shard,
  atUs: (NOW.getTime() - agoS * 1000) * 1000,
});

t.test('another store beat within three intervals: SITE_TAKEN naming its host and last beat, and the way out', async (t) => {
  await t.rejects(claimSite({ store, logger, config: config(), sink: sinkOf([beat('0123456789abcdef', 100)]) }, { now: NOW }), {
    code: 'SITE_TAKEN',
    message:
      /^another pi-agent runs for site plant-a: store 0123456789abcdef on host pi-edge-02, last heartbeat 2026-12-05T11:58:20\.000Z \(within the last 3m\)\. .*'pi-agent run --take-over'/,
  });
  t.equal(asked, (NOW.getTime() - 180_000) * 1000, 'asks for beats of the last three intervals');
  await claimSite({ store, logger, config: config(), sink: sinkOf([beat('0123456789abcdef', 100)]) }, { now: NOW, takeOver: true });
  t.pass('--take-over starts anyway');
});

t.test('not refused: its own beats, another shard, no sink answer, a sink that cannot say', async (t) => {
  await claimSite({ store, logger, config: config(), sink: sinkOf([beat(store.storeId, 10)]) }, { now: NOW });
  await claimSite({ store, logger, config: config({ index: 0, count: 2 }), sink: sinkOf([beat('0123456789abcdef', 10, '1/2')]) }, { now: NOW });
  await claimSite({ store, logger, config: config(), sink: sinkOf(new SinkError('SINK_UNREACHABLE', 'down')) }, { now: NOW });
  await claimSite({ store, logger, config: config(), sink: { type: 'directory' } as unknown as Sink }, { now: NOW });
  await t.rejects(claimSite({ store, logger, config: config({ index: 1, count: 2 }), sink: sinkOf([beat('0123456789abcdef', 10, '1/2')]) }, { now: NOW }), {
    code: 'SITE_TAKEN',
    message: /site plant-a shard 1\/2/,
  });
});
