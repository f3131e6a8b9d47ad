/**
 * The single executable: `npm run build:binary` builds dist/pi-agent-linux-x64 (Node 22 SEA), and it
 * runs from an empty directory with no node_modules: `version`, `check` and `run --once` against
 * the simulator. Set PI_AGENT_SKIP_BINARY=1 to skip (the build compiles better-sqlite3 for Node 22
 * the first time: a few minutes).
 */
import t from 'tap';
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startSimulator } from '../sim/piwebapi/server.js';

const run = promisify(execFile);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const binary = path.join(root, 'dist', 'pi-agent-linux-x64');
const skip = process.env.PI_AGENT_SKIP_BINARY === '1' ? 'PI_AGENT_SKIP_BINARY=1' : process.platform !== 'linux' || process.arch !== 'x64' ? 'linux-x64 only' : false;

// The build (npm ci-like rebuild of better-sqlite3 for Node 22, esbuild, postject) outlasts tap's
// 300 s default per file on a loaded machine.
t.setTimeout(1_500_000);

t.test('the single binary builds and runs from an empty directory', { skip, timeout: 1_200_000 }, async (t) => {
  const build = spawnSync('npm', ['run', 'build:binary'], { cwd: root, encoding: 'utf8', timeout: 1_100_000 });
  t.equal(build.status, 0, `build:binary: ${build.stderr.slice(-2000)}`);
  t.ok(existsSync(binary), binary);
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };

  const dir = mkdtempSync(path.join(tmpdir(), 'pi-agent-bin-'));
  chmodSync(dir, 0o700);
  const sim = await startSimulator({ port: 0, tags: 12, seed: 5, historyStart: '2026-01-01T00:00:00Z', now: '2026-01-01T01:00:00Z' });
  t.teardown(async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });
  t.same(readdirSync(dir), [], 'empty directory: no node_modules, no sources');
  const env = { PATH: '/usr/bin:/bin', HOME: dir };
  const v = await run(binary, ['version'], { cwd: dir, env });
  t.equal(v.stdout.trim(), pkg.version, 'version');

  writeFileSync(
    path.join(dir, 'pi-agent.yaml'),
    `site: bin-test
state_dir: ./state
pi:
  url: ${sim.url}
tags:
  - { dataserver: SIMPI, name_filter: "*" }
timeseries:
  start: "2026-01-01T00:00:00Z"
  lookback: 1h
sink:
  type: directory
  path: ./out
`,
    { mode: 0o600 },
  );
  const c = await run(binary, ['check', '--config', 'pi-agent.yaml'], { cwd: dir, env });
  t.match(c.stdout, /all checks passed/, 'check');
  const r = await run(binary, ['run', '--once', '--config', 'pi-agent.yaml'], { cwd: dir, env });
  void r;
  const s = await run(binary, ['status', '--json', '--config', 'pi-agent.yaml'], { cwd: dir, env });
  const status = JSON.parse(s.stdout) as { sources: { name: string; last_error: string | null }[]; buffer: { sealed_batches: number } };
  t.same(
    status.sources.map((x) => [x.name, x.last_error]),
    [
      ['tags', null],
      ['timeseries', null],
    ],
  );
  t.equal(status.buffer.sealed_batches, 0, 'everything committed');
  const files = readdirSync(path.join(dir, 'out', 'pi_timeseries'));
  t.ok(files.length > 0 && files.every((f) => f.endsWith('.parquet')), `landed ${files.length} Parquet file(s)`);
});
