import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { loadConfig, redactor } from '../../agent/config/index.js';
import { ConfigError } from '../../agent/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'pi-agent-config-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** Writes a config file (mode 600 unless told) and returns its path. */
function write(text: string, mode = 0o600): string {
  const file = join(dir, `c${++n}.yaml`);
  writeFileSync(file, text);
  chmodSync(file, mode);
  return file;
}

function problems(file: string, env: NodeJS.ProcessEnv = {}): { code: string; problems: string[] } {
  try {
    loadConfig(file, { env });
  } catch (err) {
    if (err instanceof ConfigError) return { code: err.code, problems: err.problems };
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const MINIMAL = `site: plant-a
state_dir: ./state
pi:
  url: http://127.0.0.1:8443/piwebapi
  auth: { type: basic, username: pi, password: \${PI_PASSWORD} }
tags:
  - { dataserver: SIMPI, name_filter: "*" }      # or { path: '\\\\SIMPI\\TAG1' }
timeseries:
  start: "2026-01-01T00:00:00Z"
  lookback: 2h
af:
  databases: ['\\\\SIMAF\\Plant']
event_frames:
  databases: ['\\\\SIMAF\\Plant']
  start: "2026-01-01T00:00:00Z"
sink:
  type: directory
  path: ./out
`;

t.test('the minimal config of design.md loads, with defaults filled in', async (t) => {
  const file = write(MINIMAL);
  const c = loadConfig(file, { env: { PI_PASSWORD: 'pw-from-env' } });
  t.equal(c.site, 'plant-a');
  t.equal(c.state_dir, join(dir, 'state'));
  t.equal(c.config_file, file);
  t.same(c.log, { level: 'info', file: join(dir, 'state', 'logs', 'pi-agent.log'), max_size: 10 * 1024 * 1024, max_files: 5 });
  t.same(c.metrics, { enabled: false, port: 9464, host: '127.0.0.1' });
  t.same(c.pi, {
    url: 'http://127.0.0.1:8443/piwebapi',
    auth: { type: 'basic', username: 'pi', password: 'pw-from-env' },
    concurrency: 8,
    timeout: 120_000,
    max_count: 10000,
    tags_per_request: 200,
  });
  t.same(c.tags, [{ dataserver: 'SIMPI', name_filter: '*' }]);
  t.equal(c.tags_refresh, '0 * * * *');
  t.same(c.timeseries, {
    start: '2026-01-01T00:00:00.000Z',
    lookback: 7_200_000,
    lookback_every: 'auto',
    lookback_full_every: 21_600_000,
    stream_updates: 'auto',
    schedule: '*/1 * * * *',
  });
  t.same(c.af, { databases: ['\\\\SIMAF\\Plant'], schedule: '0 * * * *' });
  t.same(c.event_frames, {
    databases: ['\\\\SIMAF\\Plant'],
    start: '2026-01-01T00:00:00.000Z',
    schedule: '*/5 * * * *',
    rescan_horizon: 604_800_000,
    rescan_every: 3_600_000,
  });
  t.same(c.buffer, { max_bytes: 2 * 1024 ** 3 });
  t.same(c.sink, { type: 'directory', path: join(dir, 'out'), parquet: { byte_stream_split: false } });
  t.same(c.warnings, [`${file}:4:8: pi.url uses plain http:// (allowed only because 127.0.0.1 is this machine)`]);
});

t.test('several mistakes are reported at once, in file order, with line and column', async (t) => {
  const file = write(`site: Plant A
pi:
  url: https://pi.example/piwebapi
  concurency: 4
  timeout: soon
  auth: { type: basic, username: pi }
timeseries:
  start: "2026-01-01T00:00:00Z"
  schedule: "61 * * * *"
tags: [{ dataserver: S }]
metrics: { enabled: yes }
sink:
  type: directory
`);
  const r = problems(file);
  t.equal(r.code, 'CONFIG_INVALID');
  t.same(r.problems, [
    `${file}:1:7: site: 'Plant A' is not allowed — use lower-case letters, digits, - and _ only, e.g. site: plant-a`,
    `${file}:4:3: unknown key 'concurency' in pi — did you mean 'concurrency'?`,
    `${file}:5:12: pi.timeout: 'soon' is not a duration — write a duration such as timeout: 120s (units ms, s, m, h, d, w)`,
    `${file}:6:3: missing required key 'pi.auth.password' — add password: \${PI_PASSWORD}`,
    `${file}:9:13: timeseries.schedule: '61 * * * *' is not a valid cron expression (61 is a invalid expression for minute) — write a cron expression in quotes, e.g. schedule: '*/5 * * * *'`,
    `${file}:11:21: metrics.enabled must be true or false, got 'yes' — write enabled: true or false`,
    `${file}:12:1: missing required key 'sink.path' — add path: <value>`,
  ]);
});

t.test('timeseries.lookback_every: auto, a duration, or a clear error', async (t) => {
  const yaml = (every: string) =>
    write(`site: a
pi: { url: "https://pi/piwebapi", auth: { type: anonymous } }
tags: [{ dataserver: S }]
timeseries: { start: "2026-01-01T00:00:00Z", lookback_every: ${every} }
sink: { type: directory, path: out }
`);
  t.equal(loadConfig(yaml('auto')).timeseries?.lookback_every, 'auto');
  t.equal(loadConfig(yaml('20m')).timeseries?.lookback_every, 1_200_000);
  t.equal(loadConfig(yaml('0s')).timeseries?.lookback_every, 0);
  const file = yaml('sometimes');
  t.same(problems(file).problems, [
    `${file}:4:62: timeseries.lookback_every: 'sometimes' is not a duration — write a duration such as lookback_every: 15m (units ms, s, m, h, d, w), or auto`,
  ]);
});

t.test('unknown keys: the closest known key, or the list of known keys', async (t) => {
  const file = write(`site: a
sinkk: {}
pi: { url: "https://pi/piwebapi" }
sink: { type: directry, path: out }
zzzzzzzz: 1
`);
  const r = problems(file);
  t.same(r.problems, [
    `${file}:2:1: unknown key 'sinkk' — did you mean 'sink'?`,
    `${file}:4:15: sink.type: unknown type 'directry' — did you mean 'directory'? (one of directory, databricks)`,
    `${file}:5:1: unknown key 'zzzzzzzz' — known keys here: site, state_dir, log, metrics, pi, tags, tags_refresh, timeseries, af, event_frames, buffer, sink`,
  ]);
});

t.test('missing required top-level keys point at the start of the file', async (t) => {
  const file = write(`state_dir: ./s\n`);
  t.same(problems(file).problems, [
    `${file}:1:1: missing required key 'site' — add site: plant-a`,
    `${file}:1:1: missing required key 'pi' — add pi: with url: https://pi.plant.local/piwebapi under it`,
    `${file}:1:1: missing required key 'sink' — add sink: { type: directory | databricks, ... }`,
  ]);
});

t.test('YAML syntax errors carry their position', async (t) => {
  const file = write(`site: a\npi:\n  url: [oops\n`);
  const r = problems(file);
  t.equal(r.problems.length > 0, true);
  t.match(r.problems[0], new RegExp(`^${file.replace(/[.\\]/g, '\\$&')}:\\d+:\\d+: YAML syntax: `));
});

t.test('secrets: ${ENV} and file: references are resolved', async (t) => {
  const secretFile = join(dir, 'db-token');
  writeFileSync(secretFile, 'dapi-token-from-file\n');
  chmodSync(secretFile, 0o600);
  const file = write(`site: a
pi:
  url: https://pi.plant/piwebapi
  auth: { type: oidc, client_id: agent, client_secret: \${OIDC_SECRET}, token_url: "https://idp.plant/token" }
sink:
  type: databricks
  host: adb-1.azuredatabricks.net
  http_path: /sql/1.0/warehouses/abc
  auth: { type: token, token: "file:${secretFile}" }
  catalog: main
  schema: pi
  volume: pi_agent
`);
  const c = loadConfig(file, { env: { OIDC_SECRET: 'oidc-secret-value' } });
  t.same(c.pi.auth, { type: 'oidc', client_id: 'agent', client_secret: 'oidc-secret-value', token_url: 'https://idp.plant/token' });
  t.same(c.sink, {
    type: 'databricks',
    host: 'adb-1.azuredatabricks.net',
    port: 443,
    http_path: '/sql/1.0/warehouses/abc',
    auth: { type: 'token', token: 'dapi-token-from-file' },
    catalog: 'main',
    schema: 'pi',
    volume: 'pi_agent',
    max_upload_bytes: 256 * 1024 * 1024,
    heartbeat_interval: 60_000,
    parquet: { byte_stream_split: false },
  });
  const redact = redactor(c);
  t.equal(redact('sent dapi-token-from-file and oidc-secret-value, "oidc-secret-value"'), 'sent *** and ***, "***"');
});

t.test('a short secret is replaced where it stands alone, never inside other words', async (t) => {
  const file = write(`site: a
pi:
  url: https://pi.plant/piwebapi
  auth: { type: basic, username: svc, password: \${PI_PASSWORD} }
sink: { type: directory, path: out }
`);
  const redact = redactor(loadConfig(file, { env: { PI_PASSWORD: 'e' } }));
  t.equal(redact('connected; password e sent as "e", then user=svc:e@host'), 'connected; password *** sent as "***", then user=svc:***@host');
  const basic = Buffer.from('svc:e').toString('base64');
  t.equal(redact(`Authorization: Basic ${basic}`), 'Authorization: Basic ***', 'the Basic header is still replaced');
});

t.test('a literal secret is rejected without echoing it', async (t) => {
  const file = write(`site: a
pi:
  url: https://pi.plant/piwebapi
  auth:
    type: ntlm
    username: svc
    password: Hunter2-literal
sink: { type: directory, path: out }
`);
  const r = problems(file);
  t.same(r.problems, [
    `${file}:7:15: pi.auth.password is written in clear in the config file — write password: \${PI_PASSWORD} (environment variable), password: file:/etc/pi-agent/password (a file readable only by the service) or, on Windows, password: dpapi:<base64> (installer/windows/README.md)`,
  ]);
  t.notMatch(r.problems.join('\n'), /Hunter2/);
});

t.test('a missing environment variable is named, and no secret appears', async (t) => {
  const file = write(`site: a
pi:
  url: https://pi.plant/piwebapi
  auth: { type: bearer, token: \${PI_TOKEN} }
sink: { type: directory, path: \${OUT_DIR} }
`);
  const env = { OTHER_SECRET: 'top-secret-value' };
  const r = problems(file, env);
  t.same(r.problems, [
    `${file}:4:32: pi.auth.token: environment variable PI_TOKEN is not set — set PI_TOKEN in the service environment (systemd: EnvironmentFile=; Windows: the service's environment)`,
    `${file}:5:32: sink.path: environment variable OUT_DIR is not set — set OUT_DIR in the service environment`,
  ]);
  t.notMatch(r.problems.join('\n'), /top-secret-value/);
});

t.test('https is required for PI except on this machine; rules across keys run alongside', async (t) => {
  const file = write(`site: a
pi: { url: "http://pi.plant/piwebapi" }
timeseries:
  start: 2026-01-01
  shards: { count: 2, index: 2 }
sink: { type: directory, path: out }
`);
  t.same(problems(file).problems, [
    `${file}:2:12: pi.url: plain http:// to pi.plant would send credentials and data unencrypted — use https://pi.plant/piwebapi`,
    `${file}:3:1: timeseries is configured but no tags are selected — add a tags: list, e.g. tags: [{ dataserver: PISRV01, name_filter: '*' }]`,
    `${file}:5:30: timeseries.shards.index is 2 but count is 2 — write an index from 0 to 1`,
  ]);
});

t.test('permissions: a config readable by others is refused with the chmod to run, 600 is accepted', { skip: process.platform === 'win32' }, async (t) => {
  const text = `site: a\npi: { url: "https://pi.plant/piwebapi" }\nsink: { type: directory, path: out }\n`;
  const file = write(text, 0o644);
  const r = problems(file);
  t.equal(r.code, 'CONFIG_INSECURE');
  t.same(r.problems, [`${file}: accessible to other users (mode 0644) — run: chmod 600 ${file} (or 640 to share it with the service's group)`]);
  chmodSync(file, 0o600);
  t.equal(loadConfig(file, { env: {} }).site, 'a');
  t.equal(loadConfig(write(text, 0o644), { env: {}, checkPermissions: false }).site, 'a');

  const stateDir = join(dir, 'state-open');
  mkdirSync(stateDir, { mode: 0o755 });
  chmodSync(stateDir, 0o755);
  const f2 = write(`site: a\nstate_dir: ${stateDir}\npi: { url: "https://pi.plant/piwebapi" }\nsink: { type: directory, path: out }\n`);
  const r2 = problems(f2);
  t.equal(r2.code, 'CONFIG_INSECURE');
  t.same(r2.problems, [`${stateDir}: state directory accessible to other users (mode 0755) — run: chmod 700 ${stateDir} (or 750 to share it with the service's group)`]);
  chmodSync(stateDir, 0o700);
  t.equal(loadConfig(f2, { env: {} }).state_dir, stateDir);
});

t.test('the example config loads', async (t) => {
  const example = readFileSync(new URL('../../conf/pi-agent.example.yaml', import.meta.url), 'utf8');
  const file = write(example);
  const c = loadConfig(file, { env: { PI_PASSWORD: 'x' } });
  t.equal(c.site, 'plant-a');
  t.same(c.tags, [
    { dataserver: 'PISRV01', name_filter: '*' },
    { path: '\\\\PISRV01\\sinusoid' },
    { af_element: '\\\\AFSRV01\\Plant\\Area1', template: 'Pump', recursive: true },
  ]);
  t.same(c.warnings, []);
});

t.test('resolveSecrets: false checks the form of references but reads nothing (status)', async (t) => {
  const file = write(`site: a
pi:
  url: https://pi.plant/piwebapi
  auth: { type: basic, username: pi, password: \${NOT_IN_THIS_SHELL} }
sink:
  type: databricks
  host: h.example
  http_path: /sql/1.0/warehouses/x
  auth: { type: oauth, client_id: app, client_secret: "file:/nonexistent/secret" }
  catalog: main
  schema: pi
  volume: v
`);
  const c = loadConfig(file, { env: {}, resolveSecrets: false });
  t.same(c.pi.auth, { type: 'basic', username: 'pi', password: '' });
  t.match(c.sink, { auth: { type: 'oauth', client_id: 'app', client_secret: '' } });
  const literal = write(`site: a\npi: { url: "https://p/x", auth: { type: bearer, token: abc } }\nsink: { type: directory, path: o }\n`);
  t.throws(() => loadConfig(literal, { env: {}, resolveSecrets: false }), { code: 'CONFIG_INVALID' });
});
