/**
 * `pi-agent status` lists the sources the config enables, in the order they run, from before the
 * first run on (each "waiting" until it records a cycle), then any the store still has records of
 * that the config no longer enables.
 */
import t from 'tap';
import { renderStatus } from '../../agent/observe/status.js';
import { buildStatus } from '../../agent/service/status.js';
import { Store } from '../../agent/store/store.js';
import { makeAgentEnv } from '../helpers/agent-env.js';

const yaml = (p: { outDir: string; stateDir: string }): string => `site: plant-a
state_dir: ${p.stateDir}
pi: { url: "https://127.0.0.1:9/piwebapi" }
tags: [{ dataserver: PISRV01 }]
timeseries: { start: "2026-01-01T00:00:00Z" }
af: { databases: ['\\\\AF\\DB'] }
sink: { type: directory, path: ${p.outDir} }
`;

t.test('before the first run every enabled source waits; afterwards records merge in list order', async (t) => {
  const env = makeAgentEnv(yaml);
  t.teardown(() => env.cleanup());
  const config = env.config();

  const before = await buildStatus(config);
  t.same(before.sources, [
    { name: 'tags', lag_seconds: null, last_success: null, last_error: null },
    { name: 'timeseries', lag_seconds: null, last_success: null, last_error: null },
    { name: 'af', lag_seconds: null, last_success: null, last_error: null },
  ]);
  t.equal(before.sink.state, 'never run');
  t.match(renderStatus(before), /^tags +- +- +never +waiting +-$/m, 'shown as waiting, not "no sources configured"');
  t.notMatch(renderStatus(before), /no sources configured/);

  const store = Store.open({ stateDir: env.stateDir, site: 'plant-a' });
  store.recordSourceSuccess('timeseries', { at: new Date('2026-01-01T00:05:00Z'), lagSeconds: 30 });
  store.recordSourceSuccess('event_frames', { at: new Date('2026-01-01T00:01:00Z'), lagSeconds: 0 });
  store.close();
  const after = await buildStatus(config);
  t.same(
    after.sources.map((s) => [s.name, s.last_success, s.lag_seconds]),
    [
      ['tags', null, null],
      ['timeseries', '2026-01-01T00:05:00.000Z', 30],
      ['af', null, null],
      ['event_frames', '2026-01-01T00:01:00.000Z', 0],
    ],
    'enabled sources in list order, then a source the config no longer enables',
  );
});
