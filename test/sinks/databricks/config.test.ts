/**
 * `sink.proxy` in the config file: the URL alone or a mapping with a login by secret reference and
 * no_proxy; a login inside the URL is refused without being echoed; the password is redacted.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { loadConfig, redactor } from '../../../agent/config/index.js';
import { ConfigError } from '../../../agent/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'pi-agent-proxy-config-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
const write = (proxyLines: string): string => {
  const file = join(dir, `c${++n}.yaml`);
  writeFileSync(
    file,
    `site: plant-a
state_dir: ./state
pi:
  url: http://127.0.0.1:8443/piwebapi
tags:
  - { dataserver: SIMPI, name_filter: "*" }
sink:
  type: databricks
  host: adb-123.azuredatabricks.net
  http_path: /sql/1.0/warehouses/abc123
  auth: { type: token, token: \${DATABRICKS_TOKEN} }
  catalog: main
  schema: pi
  volume: pi_agent
${proxyLines}`,
  );
  chmodSync(file, 0o600);
  return file;
};
const env = { DATABRICKS_TOKEN: 'dapi-token', PROXY_PASSWORD: 'pr0xy-s3cret' };
const problems = (file: string): string[] => {
  try {
    loadConfig(file, { env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
};
const proxyOf = (file: string) => {
  const c = loadConfig(file, { env });
  if (c.sink.type !== 'databricks') throw new Error('not databricks');
  return c.sink.proxy;
};

t.test('the URL alone', async (t) => {
  t.same(proxyOf(write('  proxy: http://proxy.plant.local:3128\n')), { url: 'http://proxy.plant.local:3128' });
  t.same(proxyOf(write('  proxy: http://proxy.plant.local:3128/\n')), { url: 'http://proxy.plant.local:3128' }, 'a trailing / is dropped');
  t.same(proxyOf(write('  proxy: http://proxy.plant.local\n')), { url: 'http://proxy.plant.local' }, 'port 80 when none is written');
});

t.test('absent: no proxy', async (t) => {
  t.equal(proxyOf(write('')), undefined);
});

t.test('a mapping with a login by secret reference and no_proxy; the password is redacted', async (t) => {
  const file = write(`  proxy:
    url: http://proxy.plant.local:3128
    username: svc-pi-agent
    password: \${PROXY_PASSWORD}
    no_proxy: [plant.local, 10.0.0.0/8]
`);
  const c = loadConfig(file, { env });
  t.same(c.sink.type === 'databricks' && c.sink.proxy, {
    url: 'http://proxy.plant.local:3128',
    username: 'svc-pi-agent',
    password: 'pr0xy-s3cret',
    no_proxy: ['plant.local', '10.0.0.0/8'],
  });
  const redact = redactor(c);
  const basic = Buffer.from('svc-pi-agent:pr0xy-s3cret').toString('base64');
  t.equal(redact(`password pr0xy-s3cret, header Proxy-Authorization: Basic ${basic}`), 'password ***, header Proxy-Authorization: Basic ***');
});

t.test('the password must be a secret reference', async (t) => {
  const p = problems(write('  proxy:\n    url: http://proxy.plant.local:3128\n    username: svc\n    password: hunter2\n'));
  t.equal(p.length, 1);
  t.match(p[0], /sink\.proxy\.password is written in clear in the config file/);
  t.notMatch(p[0], 'hunter2');
});

t.test('a login inside the URL is refused and not echoed', async (t) => {
  for (const url of ['http://svc:hunter2@proxy.plant.local:3128', 'http://svc@proxy.plant.local:3128']) {
    const p = problems(write(`  proxy: ${url}\n`));
    t.equal(p.length, 1, url);
    t.match(p[0], /sink\.proxy has a login inside the URL, in clear.*username: and password: \$\{PROXY_PASSWORD\}/);
    t.notMatch(p[0], 'hunter2');
    t.notMatch(p[0], 'svc@');
  }
  const p = problems(write('  proxy:\n    url: http://svc:hunter2@proxy.plant.local:3128\n'));
  t.match(p[0], /sink\.proxy\.url has a login inside the URL/);
  t.notMatch(p[0], 'hunter2');
});

t.test('only http://host:port', async (t) => {
  t.match(problems(write('  proxy: https://proxy.plant.local:3128\n'))[0], /sink\.proxy: proxies are reached with http:\/\/ \(CONNECT\), got https:\/\//);
  t.match(problems(write('  proxy: socks5://proxy.plant.local:1080\n'))[0], /got socks5:\/\//);
  t.match(problems(write('  proxy: http://proxy.plant.local:3128/path\n'))[0], /sink\.proxy must be http:\/\/host:port, without a path/);
  t.match(problems(write('  proxy: proxy.plant.local:3128\n'))[0], /sink\.proxy/);
});

t.test('username and password come together', async (t) => {
  t.match(problems(write('  proxy:\n    url: http://proxy.plant.local:3128\n    username: svc\n'))[0], /sink\.proxy needs both username and password, or neither/);
  t.match(problems(write('  proxy:\n    url: http://proxy.plant.local:3128\n    password: ${PROXY_PASSWORD}\n'))[0], /sink\.proxy needs both username and password/);
});

t.test('a mapping without url, and unknown keys, are named', async (t) => {
  t.match(problems(write('  proxy:\n    username: svc\n    password: ${PROXY_PASSWORD}\n'))[0], /missing required key 'sink\.proxy\.url'/);
  t.match(problems(write('  proxy:\n    url: http://proxy.plant.local:3128\n    noproxy: [a]\n'))[0], /unknown key 'noproxy' in sink\.proxy.*did you mean 'no_proxy'/);
});
