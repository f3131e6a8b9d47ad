/**
 * Issue 4 against a REAL Databricks workspace (skipped unless configured). Set
 *   DATABRICKS_HOST       workspace host name, e.g. adb-123.4.azuredatabricks.net (no scheme)
 *   DATABRICKS_HTTP_PATH  SQL warehouse path, /sql/1.0/warehouses/<id>
 *   DATABRICKS_TOKEN      a PAT allowed to create a schema and a volume in the catalog
 *   DATABRICKS_CATALOG    optional, default `main`
 * The test creates a throw-away schema `pi_agent_e2e_<random>` (volume + pi_* tables), runs the
 * agent once against the PI Web API simulator, compares pi_timeseries with the truth row for row,
 * runs again after late inserts/edits/deletes, and drops the schema (CASCADE) at the end.
 */
import { randomBytes } from 'node:crypto';
import { DBSQLClient } from '@databricks/sql';
import t from 'tap';
import { TABLES } from '../../agent/batch/tables.js';
import { bareLogger } from '../../agent/observe/log.js';
import { openAgent } from '../../agent/service/agent.js';
import { runOnce } from '../../agent/service/once.js';
import { expectedEvents, idOnly, landedEventsByTag, makeAgentEnv } from '../helpers/agent-env.js';
import type { LandedRow } from '../helpers/landed.js';
import { startSimulator } from '../sim/piwebapi/server.js';

const host = process.env.DATABRICKS_HOST;
const httpPath = process.env.DATABRICKS_HTTP_PATH;
const token = process.env.DATABRICKS_TOKEN;
const catalog = process.env.DATABRICKS_CATALOG ?? 'main';
const START = '2026-01-01T00:00:00Z';

if (!host || !httpPath || !token) {
  t.plan(0, 'skipped: set DATABRICKS_HOST, DATABRICKS_HTTP_PATH and DATABRICKS_TOKEN to run against a real workspace');
} else {
  t.test('real workspace: exactly the truth, also after late changes', async (t) => {
    const schema = `pi_agent_e2e_${randomBytes(4).toString('hex')}`;
    const sim = await startSimulator({ port: 0, tags: 4, seed: 11, historyStart: START, now: '2026-01-01T00:30:00Z' });
    const env = makeAgentEnv(
      ({ stateDir }) => `
site: plant-a
state_dir: ${stateDir}
log: { level: warn }
pi:
  url: ${sim.url}
  auth: { type: anonymous }
tags:
  - { dataserver: SIMPI, name_filter: "*" }
timeseries:
  start: "${START}"
  lookback: 2h
sink:
  type: databricks
  host: ${host}
  http_path: ${httpPath}
  auth: { type: token, token: \${DATABRICKS_TOKEN} }
  catalog: ${catalog}
  schema: ${schema}
  volume: pi_agent
`,
    );
    const client = new DBSQLClient();
    await client.connect({ host, path: httpPath, token });
    const session = await client.openSession();
    const run = async (sql: string): Promise<Record<string, unknown>[]> => {
      const op = await session.executeStatement(sql);
      try {
        return (await op.fetchAll()) as Record<string, unknown>[];
      } finally {
        await op.close();
      }
    };
    t.teardown(async () => {
      await run(`DROP SCHEMA IF EXISTS \`${catalog}\`.\`${schema}\` CASCADE`).catch(() => undefined);
      await session.close();
      await client.close();
      await sim.close();
      env.cleanup();
    });
    const once = async () => {
      const agent = await openAgent(env.config(), bareLogger('error'));
      try {
        return await runOnce(agent);
      } finally {
        await agent.close();
      }
    };
    const compare = async (what: string) => {
      const cols = TABLES.pi_timeseries.columns.map((c) =>
        c.type === 'timestamp_us'
          ? `CAST(unix_micros(\`${c.name}\`) AS DOUBLE) AS \`${c.name}\``
          : c.type === 'int64'
            ? `CAST(\`${c.name}\` AS DOUBLE) AS \`${c.name}\``
            : `\`${c.name}\``,
      );
      const rows = (await run(`SELECT ${cols.join(', ')} FROM \`${catalog}\`.\`${schema}\`.pi_timeseries`)) as LandedRow[];
      const byTag = landedEventsByTag(rows);
      for (let i = 0; i < sim.sim.tagCount(); i++) {
        t.same(byTag.get(idOnly(sim.sim.tagWebId(i))) ?? [], expectedEvents(sim.sim.truth(i, START, sim.sim.nowIso())), `${what}: ${sim.sim.tagName(i)}`);
      }
    };
    t.same(await once(), { ok: true, problems: [] });
    await compare('first load');
    const recent = sim.sim.truth(0, '2026-01-01T00:10:00Z', sim.sim.nowIso());
    sim.sim.insertEvent(0, { timestamp: '2026-01-01T00:15:00.5Z', value: 42.5 });
    sim.sim.editEvent(0, recent[1]!.Timestamp, { value: -7 });
    sim.sim.deleteEvents(0, recent[2]!.Timestamp);
    sim.sim.advance('10m');
    t.same(await once(), { ok: true, problems: [] });
    await compare('after late changes');
  });
}
