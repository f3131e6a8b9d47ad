/**
 * `pi-agent run` prints a config warning (plain http:// to loopback) once on the console and
 * writes it once to the log file: the service no longer logs it a second time.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { makeAgentEnv, simAgentYaml } from '../helpers/agent-env.js';
import { startSimulator } from '../sim/piwebapi/server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const count = (text: string, what: string): number => text.split(what).length - 1;

t.test('the loopback http:// warning appears once on the console and once in the log file', async (t) => {
  const sim = await startSimulator({ port: 0, tags: 3, seed: 1 });
  const env = makeAgentEnv((paths) =>
    simAgentYaml(paths, {
      piUrl: sim.url,
      site: 'plant-w',
      logLevel: 'info',
      logFile: path.join(paths.stateDir, 'agent.log'),
      timeseries: false,
      extra: 'tags_refresh: "0 0 1 1 *"\n',
    }),
  );
  t.teardown(async () => {
    await sim.close();
    env.cleanup();
  });
  const logFile = path.join(env.stateDir, 'agent.log');
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), path.join(root, 'agent/cli/main.ts'), 'run', '--config', env.configFile], {
    cwd: env.dir,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => {
    stdout += b.toString();
  });
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  // Wait until the first tag discovery is logged: startup (where the duplicate was) is over.
  const deadline = Date.now() + 40_000;
  while (!(existsSync(logFile) && readFileSync(logFile, 'utf8').includes('tag discovery done'))) {
    if (Date.now() > deadline || child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGTERM');
  t.equal(await exited, 0, `the service stops cleanly (stderr: ${stderr.slice(0, 500)})`);
  const log = readFileSync(logFile, 'utf8');
  t.match(log, /tag discovery done/, 'the service got past startup');
  const warning = 'uses plain http:// (allowed only because 127.0.0.1 is this machine)';
  t.equal(count(stdout + stderr, warning), 1, 'once on the console');
  t.match(stderr, /pi-agent: warning: .*pi-agent\.yaml:\d+:\d+: pi\.url uses plain http:\/\//);
  t.equal(count(log, warning), 1, 'once in the log file');
});
