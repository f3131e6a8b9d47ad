/**
 * Issue 6, the operator commands through the real CLI process (agent/cli/main.ts bundled with esbuild
 * for a quick start): run --once, status (--json contract fields and text), flush without and with
 * the long-running service, check (ok and PI unreachable), setup --print-sql; secrets never appear
 * in any output or log file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { buildStatus } from '../../agent/service/status.js';
import { assertExact, startRig } from './dbx-env.js';
import { bundle } from '../helpers/bundle.js';

const cli = await bundle(t, fileURLToPath(new URL('../../agent/cli/main.ts', import.meta.url)));

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}
const outputs: string[] = [];

function start(args: string[]): { child: ChildProcess; done: Promise<Ran> } {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<Ran>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      outputs.push(stdout, stderr);
      resolve({ code, stdout, stderr });
    });
  });
  return { child, done };
}
const cliRun = (...args: string[]) => start(args).done;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

// ~15 CLI process start-ups: on a loaded machine this can outlast tap's 300 s default.
t.setTimeout(600_000);

t.test('the operator commands end to end', async (t) => {
  const { sim, w, env } = await startRig(t, { tags: 3, now: '2026-01-01T00:30:00Z', tokenVar: 'E2E_CLI_DBX_TOKEN' });
  const cfg = ['--config', env.configFile];
  let service: ChildProcess | undefined;
  t.teardown(() => {
    if (service && service.exitCode === null) service.kill('SIGKILL');
  });

  const sql = await cliRun('setup', '--print-sql', ...cfg);
  t.equal(sql.code, 0, 'setup --print-sql exits 0');
  t.match(sql.stdout, /CREATE SCHEMA IF NOT EXISTS `main`\.`pi`/);
  t.match(sql.stdout, /CREATE VOLUME IF NOT EXISTS `main`\.`pi`\.`pi_agent`/);
  t.match(sql.stdout, /CREATE TABLE IF NOT EXISTS `main`\.`pi`\.`pi_timeseries`/);

  const chk = await cliRun('check', ...cfg);
  t.equal(chk.code, 0, `check exits 0 (${chk.stderr.slice(-300)})`);
  t.match(chk.stdout, /^ok\s+PI Web API/m, 'check: PI line ok');
  t.notMatch(chk.stdout, /^FAIL/m, 'check: no FAIL line');
  t.match(chk.stdout, /^ok\s+stream updates available: changes older than the lookback window are found$/m, 'check: stream updates probed');
  t.ok(chk.stdout.split('\n').filter((l) => l.startsWith('ok')).length >= 3, `check prints ok lines:\n${chk.stdout}`);

  // PI unreachable: same config, a closed port.
  const deadCfg = path.join(env.dir, 'dead-pi.yaml');
  writeFileSync(deadCfg, readFileSync(env.configFile, 'utf8').replace(sim.url, `http://127.0.0.1:${await freePort()}/piwebapi`), { mode: 0o600 });
  const dead = await cliRun('check', '--config', deadCfg);
  t.equal(dead.code, 1, 'check exits 1 when PI is unreachable');
  t.match(
    dead.stdout,
    /^FAIL\s+.*PI Web API.*(ECONNREFUSED|unreachable|refused)/im,
    `an actionable FAIL line: ${dead.stdout.split('\n').find((l) => l.startsWith('FAIL')) ?? dead.stdout}`,
  );

  // Warehouse down: run --once extracts, keeps the data, exits 3 (data left in the buffer).
  await w.faults.refuseConnections(true);
  const r1 = await cliRun('run', '--once', ...cfg);
  t.equal(r1.code, 3, 'run --once with the warehouse down exits 3');
  const s1 = JSON.parse((await cliRun('status', '--json', ...cfg)).stdout) as Awaited<ReturnType<typeof buildStatus>>;
  const ts1 = s1.sources.find((s) => s.name === 'timeseries');
  t.ok(ts1, 'status --json lists the timeseries source');
  t.type(ts1?.last_success, 'string', 'last_success is set');
  t.equal(ts1?.last_error, null, 'no source error');
  t.equal(ts1?.lag_seconds, 0, 'lag 0: extracted up to the PI clock');
  t.ok(s1.buffer.sealed_batches > 0 && s1.buffer.bytes > 0, `buffer holds ${s1.buffer.sealed_batches} sealed batches`);
  t.equal(s1.sink.type, 'databricks');
  t.equal(s1.sink.last_commit, null, 'nothing committed yet');
  t.not(s1.sink.state, 'ok', `sink state ${s1.sink.state}`);

  // flush with no service while the warehouse refuses connections: partial (exit 3), the reason,
  // nothing lost (--help and the README promise 3 for an unreachable sink).
  const f0 = await cliRun('flush', ...cfg);
  t.equal(f0.code, 3, `flush exits 3 while the sink is unreachable: ${f0.stdout.trim()} ${f0.stderr.trim()}`);
  t.match(f0.stdout, new RegExp(`^flush stopped: SINK_UNREACHABLE: .*; ${s1.buffer.sealed_batches} batch\\(es\\) still buffered; nothing is lost`, 'm'));

  // flush with no service: uploads here, exit 0.
  await w.faults.refuseConnections(false);
  const f1 = await cliRun('flush', ...cfg);
  t.equal(f1.code, 0, `flush exits 0: ${f1.stdout.trim()}`);
  // store.stats() counts the rows of sealed batches as pending_rows (every row is sealed at once).
  t.match(f1.stdout, new RegExp(`\\b${s1.buffer.pending_rows} row\\(s\\)`), `flush uploaded the ${s1.buffer.pending_rows} buffered rows status reported`);
  await assertExact(t, sim, w, sim.sim.nowIso(), 'after flush');
  const s2 = JSON.parse((await cliRun('status', '--json', ...cfg)).stdout) as typeof s1;
  t.equal(s2.buffer.sealed_batches, 0, 'buffer empty');
  t.equal(s2.sink.state, 'ok');
  t.type(s2.sink.last_commit, 'string', 'last_commit set');

  sim.sim.advance('10m');
  const r2 = await cliRun('run', '--once', ...cfg);
  t.equal(r2.code, 0, 'run --once exits 0');
  await assertExact(t, sim, w, sim.sim.nowIso(), 'after run --once');
  const text = await cliRun('status', ...cfg);
  t.equal(text.code, 0);
  for (const word of [/timeseries/, /tags/, /buffer/i, /sink/i, /databricks/]) t.match(text.stdout, word, `status text mentions ${word.source}`);

  // flush through the running service: buffer data first (warehouse down), start `run`, then flush.
  await w.faults.refuseConnections(true);
  sim.sim.advance('10m');
  t.equal((await cliRun('run', '--once', ...cfg)).code, 3, 'more data buffered');
  const svc = start(['run', ...cfg]);
  service = svc.child;
  for (let i = 0; i < 300 && !(await buildStatus(env.config())).agent.running; i++) await new Promise((r) => setTimeout(r, 100));
  t.ok((await buildStatus(env.config())).agent.running, 'the service is running');
  const f3 = await cliRun('flush', ...cfg);
  t.equal(f3.code, 3, `flush through the service exits 3 while the sink is unreachable: ${f3.stdout.trim()} ${f3.stderr.trim()}`);
  t.match(f3.stdout, /^flush stopped: SINK_UNREACHABLE: .*batch\(es\) still buffered; nothing is lost, the running agent keeps retrying$/m);
  await w.faults.refuseConnections(false);
  const f2 = await cliRun('flush', ...cfg);
  t.equal(f2.code, 0, `flush with the service running exits 0: ${f2.stdout.trim()}`);
  t.match(f2.stdout, /through the running agent/, 'flush went through the service (one uploader)');
  await assertExact(t, sim, w, sim.sim.nowIso(), 'after flush through the service');
  svc.child.kill('SIGTERM');
  const sv = await svc.done;
  t.equal(sv.code, 0, 'the service stops cleanly on SIGTERM');
  t.equal((await buildStatus(env.config())).buffer.sealed_batches, 0);

  // Secrets: the token is in none of the outputs and none of the log files.
  const logs = path.join(env.stateDir, 'logs');
  const logText = readdirSync(logs)
    .map((f) => readFileSync(path.join(logs, f), 'utf8'))
    .join('\n');
  t.ok(logText.length > 0, 'the log file has content');
  t.notOk(
    outputs.some((o) => o.includes(w.token)),
    `the token is in no stdout/stderr (${outputs.length} streams)`,
  );
  t.notOk(logText.includes(w.token), 'the token is in no log file');
});
