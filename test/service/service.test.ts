/**
 * The long-running service (`pi-agent run`): it extracts on its schedule and uploads, serves
 * Prometheus metrics on loopback when enabled, answers `status` as running, and stops cleanly on
 * SIGTERM with everything it extracted committed.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { landedTable } from '../helpers/landed.js';
import { makeAgentEnv, simAgentYaml } from '../helpers/agent-env.js';
import { startSimulator } from '../sim/piwebapi/server.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const cli = ['--import', 'tsx', path.join(root, 'agent', 'cli', 'main.ts')];

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

t.test('run as a service: metrics, status running, clean stop on SIGTERM', async (t) => {
  const sim = await startSimulator({ port: 0, tags: 6, seed: 9, historyStart: '2026-01-01T00:00:00Z', now: '2026-01-01T01:00:00Z' });
  const port = await freePort();
  const env = makeAgentEnv((paths) =>
    simAgentYaml(paths, {
      piUrl: sim.url,
      site: 'svc',
      logLevel: 'info',
      timeseries: { lookback: '30m' },
      extra: `metrics: { enabled: true, port: ${port} }\n`,
    }),
  );
  t.teardown(async () => {
    await sim.close();
    env.cleanup();
  });
  const child = spawn(process.execPath, [...cli, 'run', '--config', env.configFile], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

  let expected = 0;
  for (let i = 0; i < sim.sim.tagCount(); i++) expected += sim.sim.truth(i, '2026-01-01T00:00:00Z', sim.sim.nowIso()).length;

  const metrics = await waitFor('metrics with extracted values', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    const text = await res.text();
    const m = /^pi_agent_values_extracted (\d+)/m.exec(text);
    return m && Number(m[1]) >= expected ? text : undefined;
  });
  t.match(metrics, /^pi_agent_pi_requests \d+/m, 'request counter exposed');
  t.match(metrics, /^pi_agent_buffer_bytes \d+/m, 'buffer gauge exposed');

  const status = await new Promise<string>((resolve) => {
    const s = spawn(process.execPath, [...cli, 'status', '--json', '--config', env.configFile], { cwd: root });
    let out = '';
    s.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    s.on('exit', () => resolve(out));
  });
  const report = JSON.parse(status) as { agent: { running: boolean; pid?: number } };
  t.equal(report.agent.running, true, 'status sees the running service');
  t.equal(report.agent.pid, child.pid, 'and its pid');

  // Everything extracted reaches the sink while the service runs (the sink loop polls every 5 s).
  await waitFor('all events in the sink', async () => {
    const rows = await landedTable(env.outDir, 'pi_timeseries');
    return rows.size === expected ? true : undefined;
  });
  child.kill('SIGTERM');
  t.equal(await exited, 0, `clean exit on SIGTERM${stderr ? `: ${stderr.slice(-500)}` : ''}`);
  const rows = await landedTable(env.outDir, 'pi_timeseries');
  t.equal(rows.size, expected, `${expected} events landed exactly once`);
});
