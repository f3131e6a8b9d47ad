/**
 * `npm run demo`: the whole path on this machine, on loopback only.
 *   PI Web API simulator (basic auth) → pi-agent run --once → Databricks warehouse emulator (HTTPS,
 *   token auth, its own CA) → pi-agent status → a query of the landed rows.
 * `npm run demo -- --sink directory` lands Parquet files in a folder instead of the emulator.
 * Everything lives in ./demo-work (recreated on each run).
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { createSimAuth } from '../test/sim/piwebapi/auth.js';
import { startSimulator } from '../test/sim/piwebapi/server.js';
import { startWarehouse } from '../test/sim/databricks/server.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { values } = parseArgs({ options: { sink: { type: 'string', default: 'databricks' }, tags: { type: 'string', default: '40' } } });
const work = path.join(root, 'demo-work');
const say = (s: string) => process.stdout.write(`\n== ${s}\n`);

/** Runs the CLI as a child process; asynchronously, since the simulator and emulator live in this process. */
function cli(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  // The TypeScript sources, so the demo always runs the code of this checkout (dist/ may be stale).
  const argv = ['--import', 'tsx', path.join(root, 'agent', 'cli', 'main.ts'), ...args];
  process.stdout.write(`$ pi-agent ${args.join(' ')}\n`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, { cwd: root, env, stdio: 'inherit' });
    child.on('exit', (code) => resolve(code ?? 1));
    child.on('error', () => resolve(1));
  });
}

async function main(): Promise<void> {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true, mode: 0o700 });
  chmodSync(work, 0o700);

  say('starting the PI Web API simulator (basic auth, 6 hours of history)');
  const auth = await createSimAuth({ mode: 'basic', users: { pi: 'demo-pi-password' } });
  const sim = await startSimulator({ port: 0, tags: Number(values.tags), seed: 1, historyStart: '2026-01-01T00:00:00Z', now: '2026-01-01T06:00:00Z', auth });
  process.stdout.write(`${sim.url} (${sim.sim.tagCount()} tags)\n`);

  const env: NodeJS.ProcessEnv = { ...process.env, PI_PASSWORD: 'demo-pi-password' };
  let sinkYaml: string;
  let warehouse: Awaited<ReturnType<typeof startWarehouse>> | undefined;
  if (values.sink === 'directory') {
    sinkYaml = `sink:\n  type: directory\n  path: ./out\n`;
  } else {
    say('starting the Databricks warehouse emulator (HTTPS with its own CA, DuckDB inside)');
    warehouse = await startWarehouse({ dataDir: path.join(work, 'warehouse') });
    process.stdout.write(`https://${warehouse.host}:${warehouse.port}${warehouse.path}\n`);
    env.DATABRICKS_TOKEN = warehouse.token;
    sinkYaml = `sink:
  type: databricks
  host: ${warehouse.host}
  port: ${warehouse.port}
  http_path: ${warehouse.path}
  auth: { type: token, token: \${DATABRICKS_TOKEN} }
  ca: ${warehouse.caPath}
  catalog: main
  schema: pi
  volume: pi_agent
`;
  }
  const configFile = path.join(work, 'pi-agent.yaml');
  writeFileSync(
    configFile,
    `# written by npm run demo
site: demo-plant
state_dir: ./state
log: { level: info }
pi:
  url: ${sim.url}
  auth: { type: basic, username: pi, password: \${PI_PASSWORD} }
tags:
  - { dataserver: SIMPI, name_filter: "SIM.*" }
timeseries:
  start: "2026-01-01T00:00:00Z"
  lookback: 2h
af:
  databases: ['\\\\SIMAF\\Plant']
event_frames:
  databases: ['\\\\SIMAF\\Plant']
  start: "2026-01-01T00:00:00Z"
${sinkYaml}`,
    { mode: 0o600 },
  );
  say(`config: ${configFile}`);

  let rc = 1;
  try {
    say('one cycle: discover tags, extract every recorded value, upload');
    rc = await cli(['run', '--once', '--config', configFile], env);
    say('status');
    await cli(['status', '--config', configFile], env);
    say('landed rows');
    if (warehouse) {
      const counts = await warehouse.query(
        `SELECT count(*) AS events, count(DISTINCT tag_webid) AS tags, min("timestamp") AS first, max("timestamp") AS last FROM pi.pi_timeseries`,
      );
      console.table(counts);
      const sample =
        await warehouse.query(`SELECT t.name, s."timestamp", s.ordinal, s.value_double, s.value_int, s.value_string, s.digital_name, s.digital_code, s.is_system_state, s.good
        FROM pi.pi_timeseries s JOIN pi.pi_tags t USING (tag_webid) WHERE s.digital_name IS NOT NULL OR s.ordinal > 0 ORDER BY s."timestamp" LIMIT 8`);
      console.table(sample);
      const af = await warehouse.query(`SELECT (SELECT count(*) FROM pi.pi_af_elements) AS af_elements, (SELECT max(depth) FROM pi.pi_af_elements) AS max_depth,
        (SELECT count(*) FROM pi.pi_af_attributes) AS af_attributes, (SELECT count(*) FROM pi.pi_af_attributes WHERE point_webid IS NOT NULL) AS tag_attributes,
        (SELECT count(*) FROM pi.pi_event_frames) AS event_frames, (SELECT count(*) FROM pi.pi_event_frames WHERE end_time IS NULL) AS open_frames`);
      console.table(af);
    } else {
      const db = await DuckDBInstance.create(':memory:');
      const con = await db.connect();
      const r = await con.runAndReadAll(
        `SELECT count(*) AS events, count(DISTINCT tag_webid) AS tags FROM read_parquet('${path.join(work, 'out', 'pi_timeseries', '*.parquet')}')`,
      );
      console.table(r.getRowObjectsJS());
      con.closeSync();
    }
    let expected = 0;
    for (let i = 0; i < sim.sim.tagCount(); i++) expected += sim.sim.truth(i, '2026-01-01T00:00:00Z', sim.sim.nowIso()).length;
    process.stdout.write(`the simulator's archive holds ${expected} events for these tags\n`);
  } finally {
    await warehouse?.close();
    await sim.close();
  }
  process.exitCode = rc;
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
