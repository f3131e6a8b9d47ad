import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { loadConfig } from '../../agent/config/load.js';
import { createLogger, formatConsoleLine } from '../../agent/observe/log.js';
import { AgentError } from '../../agent/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'pi-agent-log-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function config(extra: string) {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    file,
    `site: plant-a
state_dir: ./state
${extra}
pi:
  url: https://pi.plant/piwebapi
  auth: { type: basic, username: svc, password: \${PI_PASSWORD} }
sink: { type: directory, path: out }
`,
  );
  chmodSync(file, 0o600);
  return loadConfig(file, { env: { PI_PASSWORD: 'S3cret-Pa55' } });
}

t.test('secrets never reach the log file, whichever way they are logged', async (t) => {
  const c = config('log: { level: debug }');
  const { logger, file, close } = createLogger(c, { console: false });
  t.equal(file, join(dir, 'state', 'logs', 'pi-agent.log'));
  logger.info({ auth: { password: 'S3cret-Pa55', username: 'svc' } }, 'connecting');
  logger.debug({ headers: { authorization: 'Basic c3ZjOlMzY3JldC1QYTU1' } }, 'request');
  logger.warn('the server echoed S3cret-Pa55 back');
  logger.error({ err: new AgentError('PI_AUTH_FAILED', 'rejected password S3cret-Pa55') }, 'auth failed');
  logger.trace('below the level');
  close();
  const text = readFileSync(file!, 'utf8');
  t.notMatch(text, /S3cret-Pa55/);
  t.notMatch(text, /c3ZjOlMzY3JldC1QYTU1/);
  const lines = text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  t.equal(lines.length, 4);
  t.same(lines[0]!.auth, { password: '***', username: 'svc' });
  t.same(lines[1]!.headers, { authorization: '***' });
  t.equal(lines[2]!.msg, 'the server echoed *** back');
  t.match(lines[3]!.err, { code: 'PI_AUTH_FAILED', message: 'rejected password ***' });
  t.equal(lines[0]!.site, 'plant-a');
  t.equal(statSync(file!).mode & 0o777, 0o600);
});

t.test('the file rotates by size and keeps max_files old files', async (t) => {
  const c = config('log: { max_size: 1KB, max_files: 2, file: ./rot/agent.log }');
  const { logger, file, close } = createLogger(c, { console: false });
  for (let i = 0; i < 60; i++) logger.info({ i }, 'a line of roughly one hundred bytes once pino has added its fields');
  close();
  t.equal(file, join(dir, 'rot', 'agent.log'));
  for (const f of [file!, `${file}.1`, `${file}.2`]) {
    t.ok(existsSync(f), f);
    t.ok(statSync(f).size <= 1024, `${f} within max_size`);
  }
  t.notOk(existsSync(`${file}.3`));
  const last = readFileSync(file!, 'utf8').trim().split('\n').pop()!;
  t.equal((JSON.parse(last) as { i: number }).i, 59);
  const older = readFileSync(`${file}.1`, 'utf8').trim().split('\n').pop()!;
  t.equal((JSON.parse(older) as { i: number }).i + 1, (JSON.parse(readFileSync(file!, 'utf8').split('\n')[0]!) as { i: number }).i, 'no line lost between files');
});

t.test('console lines are short and human', async (t) => {
  t.equal(
    formatConsoleLine(
      '{"level":40,"time":1764158400000,"pid":1,"site":"a","msg":"sink unreachable","retry_in":"30s","err":{"code":"SINK_UNREACHABLE","message":"refused","stack":"x"}}',
    ),
    '12:00:00 WARN  sink unreachable retry_in=30s err=SINK_UNREACHABLE: refused\n',
  );
});
