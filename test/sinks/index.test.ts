/** agent/sinks/index.ts: the configured kind's heartbeat interval, asked of its section (no kind named). */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { loadConfig } from '../../agent/config/index.js';
import { databricksSection } from '../../agent/sinks/databricks/config.js';
import { directorySection } from '../../agent/sinks/directory/config.js';
import { heartbeatIntervalMs } from '../../agent/sinks/index.js';

const dir = mkdtempSync(join(tmpdir(), 'pi-agent-sinks-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function config(sink: string) {
  const file = join(dir, 'pi-agent.yaml');
  writeFileSync(
    file,
    `site: plant-a
state_dir: ./state
pi:
  url: http://127.0.0.1:8443/piwebapi
  auth: { type: basic, username: pi, password: \${PI_PASSWORD} }
tags:
  - { dataserver: SIMPI, name_filter: "*" }
timeseries:
  start: "2026-01-01T00:00:00Z"
sink:
${sink}`,
  );
  chmodSync(file, 0o600);
  return loadConfig(file, { env: { PI_PASSWORD: 'pw', DBX_TOKEN: 'dapi-x' } });
}

const DATABRICKS = `  type: databricks
  host: adb-1.azuredatabricks.net
  http_path: /sql/1.0/warehouses/abc
  auth: { type: token, token: \${DBX_TOKEN} }
  catalog: main
  schema: pi
  volume: pi_agent
`;

t.test('the heartbeat interval of the configured sink', async (t) => {
  t.equal(heartbeatIntervalMs(config('  type: directory\n  path: ./out\n')), 60_000, 'directory: every minute');
  t.equal(heartbeatIntervalMs(config(DATABRICKS)), 60_000, 'databricks: heartbeat_interval, 60s by default');
  t.equal(heartbeatIntervalMs(config(`${DATABRICKS}  heartbeat_interval: 15s\n`)), 15_000, 'databricks: heartbeat_interval as configured');
});

t.test("a section refuses another kind's sink config", async (t) => {
  const directory = config('  type: directory\n  path: ./out\n');
  t.throws(() => databricksSection.heartbeatIntervalMs(directory.sink), { message: 'sink.type directory is not databricks' });
  t.equal(directorySection.heartbeatIntervalMs(directory.sink), 60_000);
});
