/**
 * `sink.proxy` end to end: the REAL @databricks/sql driver and the emulator behind a real CONNECT
 * proxy on loopback. The emulator's presigned URLs name `files.emulator.invalid` and the workspace
 * is called `workspace.emulator.invalid` (`.invalid` never resolves, RFC 6761 §6.4): only the proxy
 * maps them to 127.0.0.1, so any connection that bypasses it fails instead of passing unnoticed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { encodeBatch } from '../../../agent/batch/encode.js';
import { TABLES, type Row } from '../../../agent/batch/tables.js';
import { SinkError } from '../../../agent/errors.js';
import type { ProxyConfig } from '../../../agent/sinks/databricks/config.js';
import { noProxyMatcher } from '../../../agent/sinks/databricks/proxy.js';
import { DatabricksSink, type DatabricksSinkOptions } from '../../../agent/sinks/databricks/sink.js';
import type { SinkUnit } from '../../../agent/sinks/types.js';
import { startConnectProxy } from '../../helpers/connect-proxy.js';
import { startWarehouse } from '../../sim/databricks/server.js';
import { emulatorSinkOptions } from '../../helpers/dbx-sink.js';
import { secondRows } from '../../helpers/batch.js';

const root = await mkdtemp(join(tmpdir(), 'dbx-proxy-'));
const oauth = { clientId: 'sp-pi-agent', clientSecret: 'sp-secret-value' };
const STORAGE = 'files.emulator.invalid';
const WORKSPACE = 'workspace.emulator.invalid';
const w = await startWarehouse({ dataDir: join(root, 'data'), oauth, stagingHost: STORAGE });
const login = { username: 'svc-pi-agent', password: 'pr0xy-p@ss:word/1' };
const proxy = await startConnectProxy({ login, map: { '*.emulator.invalid': '127.0.0.1' } });
const strict = await startConnectProxy({ map: { '*.emulator.invalid': '127.0.0.1' }, deny: [STORAGE] });

const sinks: DatabricksSink[] = [];
let dirs = 0;
const base = await emulatorSinkOptions(w, root, { host: WORKSPACE });
const makeSink = (over: Partial<DatabricksSinkOptions>) => {
  const s = new DatabricksSink({ ...base, stagingDir: join(root, `staging-${++dirs}`), ...over });
  sinks.push(s);
  return s;
};
const viaProxy = (over: Partial<ProxyConfig> = {}): ProxyConfig => ({ url: proxy.url, ...login, ...over });
t.teardown(async () => {
  for (const s of sinks) await s.close();
  await proxy.close();
  await strict.close();
  await w.close();
  await rm(root, { recursive: true, force: true });
});
t.beforeEach(() => proxy.tunnels.clear());

const T0 = Date.UTC(2026, 0, 1) * 1000;
const ING = Date.UTC(2026, 10, 26) * 1000;
const rows = (tag: string, n: number): Row[] => secondRows(tag, n, { t0: T0, ingestedAt: ING });
const unit = (name: string, ...batches: Row[][]): SinkUnit => {
  const files = batches.map((r, i) => {
    const data = encodeBatch(TABLES.pi_timeseries, r);
    return { id: 1 + i, rows: r.length, bytes: data.length, read: () => data };
  });
  return { name, table: 'pi_timeseries', rows: batches.flat().length, files, ops: new Set(['insert']) };
};
/** A loopback port nothing listens on. */
const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
const landed = async (tag: string) =>
  (await w.query(`SELECT value_double AS v FROM pi.pi_timeseries WHERE tag_webid = '${tag}' ORDER BY timestamp`)).map((r) => Number(r.v));

t.test('through the proxy: warehouse, OAuth token endpoint and presigned uploads; data lands exactly once', async (t) => {
  const sink = makeSink({ auth: { type: 'oauth', client_id: oauth.clientId, client_secret: oauth.clientSecret }, proxy: viaProxy() });
  const said = await sink.check();
  t.equal(said.endsWith(`through proxy ${proxy.url} as svc-pi-agent`), true, said);
  t.notMatch(said, login.password);
  await sink.upload(unit('pi_timeseries-1-2', rows('P1', 3), rows('P1', 5).slice(3)));
  t.same(await landed('P1'), [0.5, 1.5, 2.5, 3.5, 4.5], 'every row once');
  // A retried unit (the agent crashed before recording it) changes nothing: COPY INTO skips loaded files.
  await sink.upload(unit('pi_timeseries-1-2', rows('P1', 3), rows('P1', 5).slice(3)));
  t.same(await landed('P1'), [0.5, 1.5, 2.5, 3.5, 4.5], 'still once after a retry');
  // Both names resolve only in the proxy, so these tunnels are the only way the sink got through.
  t.ok((proxy.tunnels.get(WORKSPACE) ?? 0) >= 1, 'warehouse and token endpoint through the proxy');
  t.ok((proxy.tunnels.get(STORAGE) ?? 0) >= 1, 'presigned uploads through the proxy');
  t.same([...proxy.tunnels.keys()].sort(), [STORAGE, WORKSPACE], 'no other host');
  t.equal(
    proxy.authorizations.every((a) => a === `Basic ${Buffer.from(`${login.username}:${login.password}`).toString('base64')}`),
    true,
    'the login on every CONNECT, the password sent as written (not URL-encoded)',
  );
});

t.test('without the proxy the same upload cannot reach the storage host', async (t) => {
  const sink = makeSink({ host: '127.0.0.1' });
  await sink.prepare(); // the workspace itself is reachable here
  const err = await sink.upload(unit('pi_timeseries-1-1', rows('P2', 2))).catch((e: unknown) => e);
  t.type(err, SinkError);
  t.equal((err as SinkError).code, 'SINK_UNREACHABLE');
  t.match((err as SinkError).message, /files\.emulator\.invalid.*ENOTFOUND|ENOTFOUND.*files\.emulator\.invalid/);
  t.match((err as SinkError).message, /\(a host name does not resolve; if this network reaches the cloud through a proxy, set sink\.proxy\)$/);
  t.notMatch((err as SinkError).message, /sig=/, "the presigned URL's signature is not in the message");
  t.same(await landed('P2'), [], 'nothing landed');
  t.equal(proxy.tunnels.size, 0);
});

t.test('no_proxy: the workspace (SQL and OAuth token) directly, the storage through the proxy', async (t) => {
  const sink = makeSink({
    host: '127.0.0.1',
    auth: { type: 'oauth', client_id: oauth.clientId, client_secret: oauth.clientSecret },
    proxy: viaProxy({ no_proxy: ['127.0.0.0/8', '.plant.local'] }),
  });
  await sink.upload(unit('pi_timeseries-1-1', rows('P3', 4)));
  t.same(await landed('P3'), [0.5, 1.5, 2.5, 3.5]);
  t.same([...proxy.tunnels.keys()], [STORAGE], 'only the storage host went through the proxy');
});

t.test('a wrong proxy password: HTTP 407, the message names the proxy and never the secret', async (t) => {
  const wrong = 'not-the-password';
  for (const auth of [
    { type: 'token' as const, token: w.token },
    { type: 'oauth' as const, client_id: oauth.clientId, client_secret: oauth.clientSecret },
  ]) {
    const before = proxy.refused.wrong;
    const sink = makeSink({ auth, proxy: viaProxy({ password: wrong }) });
    const err = await sink.prepare().catch((e: unknown) => e);
    t.type(err, SinkError, auth.type);
    const e = err as SinkError;
    t.equal(e.code, 'SINK_AUTH_FAILED', auth.type);
    t.equal(e.retryable, false, `${auth.type}: waits for an operator`);
    t.match(e.message, `proxy 127.0.0.1:${proxy.port} refused the login (HTTP 407 Proxy Authentication Required); check sink.proxy.username and password`);
    t.notMatch(e.message, wrong);
    t.notMatch(e.message, Buffer.from(`${login.username}:${wrong}`).toString('base64'));
    t.ok(proxy.refused.wrong > before, `${auth.type}: the proxy saw the wrong login`);
  }
});

t.test('an unreachable proxy: the message names it as host:port', async (t) => {
  const free = await freePort();
  for (const auth of [
    { type: 'token' as const, token: w.token },
    { type: 'oauth' as const, client_id: oauth.clientId, client_secret: oauth.clientSecret },
  ]) {
    const sink = makeSink({ auth, proxy: viaProxy({ url: `http://127.0.0.1:${free}` }) });
    const err = await sink.prepare().catch((e: unknown) => e);
    t.type(err, SinkError, auth.type);
    t.equal((err as SinkError).code, 'SINK_UNREACHABLE', auth.type);
    t.equal((err as SinkError).retryable, true, `${auth.type}: retried with backoff`);
    t.match((err as SinkError).message, `cannot reach proxy 127.0.0.1:${free} (ECONNREFUSED); check sink.proxy`);
    t.notMatch((err as SinkError).message, login.password);
  }
});

t.test('a proxy that refuses the storage host (403) or cannot reach a host (502): named, with the host', async (t) => {
  const denied = makeSink({ proxy: { url: strict.url } });
  await denied.prepare(); // the workspace is allowed
  const err = (await denied.upload(unit('pi_timeseries-1-1', rows('P4', 1))).catch((e: unknown) => e)) as SinkError;
  t.type(err, SinkError);
  t.equal(err.code, 'SINK_PERMISSION_DENIED');
  t.equal(err.retryable, false);
  t.match(err.message, `proxy 127.0.0.1:${strict.port} does not allow CONNECT ${STORAGE}:${w.port} (HTTP 403); ask its administrators to allow it`);
  t.same(await landed('P4'), []);

  const closed = await freePort();
  const gone = makeSink({ host: 'closed.emulator.invalid', port: closed, proxy: viaProxy() });
  const e2 = (await gone.prepare().catch((e: unknown) => e)) as SinkError;
  t.equal(e2.code, 'SINK_UNREACHABLE');
  t.equal(e2.retryable, true);
  t.match(e2.message, `proxy 127.0.0.1:${proxy.port} could not open a tunnel to closed.emulator.invalid:${closed} (HTTP 502)`);
});

t.test('no_proxy matching', async (t) => {
  const m = noProxyMatcher(['plant.local', '.corp.example', '*.lab.example', '10.0.0.0/8', '192.168.1.7', 'fd00::/8', ' Mixed.Case ']);
  const yes = [
    'plant.local',
    'pi.plant.local',
    'a.b.plant.local',
    'x.corp.example',
    'corp.example',
    'y.lab.example',
    '10.1.2.3',
    '192.168.1.7',
    '[fd00::1]',
    'mixed.case',
    'PI.PLANT.LOCAL',
    'pi.plant.local.',
  ];
  const no = ['notplant.local', 'plant.local.evil.com', 'example', '11.0.0.1', '192.168.1.8', 'fe80::1', 'adb-1.azuredatabricks.net'];
  for (const h of yes) t.equal(m(h), true, `${h} bypasses`);
  for (const h of no) t.equal(m(h), false, `${h} goes through the proxy`);
  t.equal(noProxyMatcher(['*'])('anything.example'), true, '* bypasses every host');
  t.equal(noProxyMatcher([])('plant.local'), false, 'empty: every host through the proxy');
});
