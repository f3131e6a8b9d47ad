/** agent/sinks/index.ts: the configured kind's heartbeat interval, asked of its section (no kind named). */
import t, { type Test } from 'tap';
import type { AgentConfig } from '../../agent/config/types.js';
import { databricksSection } from '../../agent/sinks/databricks/config.js';
import { directorySection } from '../../agent/sinks/directory/config.js';
import { heartbeatIntervalMs } from '../../agent/sinks/index.js';
import { makeAgentEnv } from '../helpers/agent-env.js';

process.env['SINKS_TEST_DBX_TOKEN'] = 'dapi-token';

/** The loaded config of an installation with this `sink:` section. */
function configWith(t: Test, sink: string): AgentConfig {
  const env = makeAgentEnv(
    ({ stateDir }) => `site: plant-a
state_dir: ${stateDir}
pi:
  url: http://127.0.0.1:8443/piwebapi
  auth: { type: anonymous }
tags:
  - { dataserver: SIMPI, name_filter: "*" }
timeseries:
  start: "2026-01-01T00:00:00Z"
sink:
${sink}`,
  );
  t.teardown(env.cleanup);
  return env.config();
}

const DIRECTORY = '  type: directory\n  path: ./out\n';
const DATABRICKS = `  type: databricks
  host: adb-1.azuredatabricks.net
  http_path: /sql/1.0/warehouses/abc
  auth: { type: token, token: \${SINKS_TEST_DBX_TOKEN} }
  catalog: main
  schema: pi
  volume: pi_agent
`;

t.test('the heartbeat interval of the configured sink', async (t) => {
  t.equal(heartbeatIntervalMs(configWith(t, DIRECTORY)), 60_000, 'directory: every minute');
  t.equal(heartbeatIntervalMs(configWith(t, DATABRICKS)), 60_000, 'databricks: heartbeat_interval, 60s by default');
  t.equal(heartbeatIntervalMs(configWith(t, `${DATABRICKS}  heartbeat_interval: 15s\n`)), 15_000, 'databricks: heartbeat_interval as configured');
});

t.test("a section refuses another kind's sink config", async (t) => {
  const directory = configWith(t, DIRECTORY);
  t.throws(() => databricksSection.heartbeatIntervalMs(directory.sink), { message: 'sink.type directory is not databricks' });
  t.equal(directorySection.heartbeatIntervalMs(directory.sink), 60_000);
});
