/**
 * `npm run databricks-emulator` contract (design.md, Contracts): one line once it accepts
 * connections, tables in DIR/warehouse.duckdb, clean exit on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import t, { type Test } from 'tap';
import { Agent, fetch } from 'undici';
import { DuckDBInstance } from '@duckdb/node-api';
import { connect } from './databricks/test-client.js';
import type { RunningWarehouse } from './databricks/server.js';

async function startCli(t: Test, dir: string): Promise<{ line: string; exited: Promise<number | null>; stop(): void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/sim/databricks/main.ts', '--port', '0', '--data', dir], {
    cwd: join(import.meta.dirname, '..', '..'),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once('line', resolve);
    child.once('exit', () => reject(new Error('emulator exited before printing its line')));
  });
  return { line, exited, stop: () => child.kill('SIGTERM') };
}

const CONTRACT = /^databricks-emulator host=127\.0\.0\.1 port=(\d+) path=(\/sql\/1\.0\/warehouses\/[0-9a-f]+) token=(\S+) ca=(\S+)$/;

t.test('prints the contract line, serves the driver, stops on SIGTERM, restarts with its data', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dbx-main-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const { line, exited, stop } = await startCli(t, dir);
  const m = CONTRACT.exec(line);
  t.ok(m, `contract line: ${line.replace(/token=\S+/, 'token=***')}`);
  if (!m) return;
  t.equal(m[4], join(dir, 'ca.pem'));
  const w = { host: '127.0.0.1', port: Number(m[1]), path: m[2]!, token: m[3]!, caPath: m[4]! } as RunningWarehouse;
  const c = await connect(w);
  await c.run('CREATE SCHEMA IF NOT EXISTS main.pi');
  await c.run('CREATE TABLE IF NOT EXISTS main.pi.pi_agent_status (site STRING, version STRING)');
  t.same(await c.run('SHOW TABLES IN main.pi'), [{ database: 'pi', tableName: 'pi_agent_status', isTemporary: false }]);
  await c.close();
  stop();
  t.equal(await exited, 0, 'clean exit on SIGTERM');
  t.ok(existsSync(join(dir, 'warehouse.duckdb')));
  // The file is a plain DuckDB database with one schema per UC schema.
  const db = await DuckDBInstance.create(join(dir, 'warehouse.duckdb'));
  const conn = await db.connect();
  const rows = (await conn.runAndReadAll(`SELECT table_name FROM duckdb_tables() WHERE schema_name = 'pi'`)).getRowsJS();
  conn.closeSync();
  db.closeSync();
  t.same(rows, [['pi_agent_status']]);

  // Restart on the same directory: same path, token and CA; the tables are still there.
  const again = await startCli(t, dir);
  const m2 = CONTRACT.exec(again.line);
  t.same(m2?.slice(2), m.slice(2), 'same path, token and CA file');
  const c2 = await connect({ ...w, port: Number(m2![1]) });
  t.same(await c2.run('SHOW TABLES IN main.pi'), [{ database: 'pi', tableName: 'pi_agent_status', isTemporary: false }]);
  await c2.close();

  // refuse_ms: the emulator stops listening for a while and comes back by itself; the standalone
  // process must outlive the pause (a refusal used to let it exit with nothing left to wait on).
  const dispatcher = new Agent({ connect: { ca: readFileSync(m[4]!) } });
  t.teardown(() => dispatcher.close());
  const r = await fetch(`https://127.0.0.1:${m2![1]}/_emulator/faults`, {
    dispatcher,
    method: 'POST',
    headers: { authorization: `Bearer ${m[3]}`, 'content-type': 'application/json' },
    body: JSON.stringify({ refuse_ms: 300 }),
  });
  t.equal(r.status, 200);
  await r.arrayBuffer();
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const c3 = await connect({ ...w, port: Number(m2![1]) });
  t.same(await c3.run('SHOW TABLES IN main.pi'), [{ database: 'pi', tableName: 'pi_agent_status', isTemporary: false }], 'serving again after the pause');
  await c3.close();
  again.stop();
  t.equal(await again.exited, 0);
});
