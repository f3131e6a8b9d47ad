/**
 * Emulator security and fault injection, seen through the REAL @databricks/sql driver: TLS
 * verification, bad and expired tokens, OAuth M2M token endpoint, 503/429, refused connections,
 * slow statements, and failures before/after a COPY INTO commit.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Agent, fetch } from 'undici';
import { startWarehouse } from './databricks/server.js';
import { connect, writeParquet, type Conn } from './databricks/test-client.js';

const root = await mkdtemp(join(tmpdir(), 'dbx-faults-'));
const local = join(root, 'local');
await mkdir(local, { recursive: true });
const oauth = { clientId: 'pi-agent-sp', clientSecret: 'not-a-real-secret' };
const w = await startWarehouse({ dataDir: join(root, 'data'), oauth });
const dispatcher = new Agent({ connect: { ca: await readFile(w.caPath, 'utf8') } });
const conns: Conn[] = [];
t.teardown(async () => {
  for (const c of conns) await c.close().catch(() => undefined);
  await w.close();
  await dispatcher.close();
  await rm(root, { recursive: true, force: true });
});
const open = async (over: Parameters<typeof connect>[1] = {}) => {
  const c = await connect(w, over);
  conns.push(c);
  return c;
};
const main = await open();
t.afterEach(() => w.faults.reset());

await main.run(`CREATE SCHEMA IF NOT EXISTS main.pi`);
await main.run(`CREATE VOLUME IF NOT EXISTS main.pi.v`);
await main.run(`CREATE TABLE IF NOT EXISTS main.pi.t (k INT NOT NULL, v STRING)`);
const upload = async (name: string, from: number, count: number): Promise<void> => {
  const f = join(local, name);
  await writeParquet(f, `SELECT i::INT AS k, 'v' || i AS v FROM range(${from}, ${from + count}) r(i)`);
  await main.run(`PUT '${f}' INTO '/Volumes/main/pi/v/${name}' OVERWRITE`, { stagingAllowedLocalPath: local });
};
const copy = (name: string) => main.run(`COPY INTO main.pi.t FROM '/Volumes/main/pi/v' FILEFORMAT = PARQUET FILES = ('${name}')`);
const count = async () => Number((await w.query(`SELECT count(*) AS n FROM pi.t`))[0]!.n);

t.test('TLS is verified: a client without the CA cannot connect', async (t) => {
  await t.rejects(connect(w, { ca: false }), /self[- ]signed|unable to verify|certificate/i);
});

t.test('a wrong token is rejected with 401', async (t) => {
  await t.rejects(connect(w, { token: 'dapi-wrong' }), /401/);
});

t.test('expired tokens answer 401 until cleared', async (t) => {
  w.faults.expireTokens(true);
  await t.rejects(main.run('SELECT 1 AS x'), /401/);
  w.faults.expireTokens(false);
  t.same(await main.run('SELECT 1 AS x'), [{ x: 1 }]);
});

t.test('OAuth M2M: discovery, client_credentials token, token accepted by the warehouse', async (t) => {
  const base = `https://127.0.0.1:${w.port}`;
  const disc = await fetch(`${base}/oidc/.well-known/oauth-authorization-server`, { dispatcher });
  const meta = (await disc.json()) as { token_endpoint: string };
  t.equal(meta.token_endpoint, `${base}/oidc/v1/token`);
  const basic = Buffer.from(`${oauth.clientId}:${oauth.clientSecret}`).toString('base64');
  const bad = await fetch(meta.token_endpoint, {
    dispatcher,
    method: 'POST',
    headers: { authorization: 'Basic ' + Buffer.from(`${oauth.clientId}:nope`).toString('base64'), 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&scope=all-apis',
  });
  t.equal(bad.status, 401);
  await bad.body?.cancel();
  const res = await fetch(meta.token_endpoint, {
    dispatcher,
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&scope=all-apis',
  });
  t.equal(res.status, 200);
  const tok = (await res.json()) as { access_token: string; token_type: string; expires_in: number };
  t.equal(tok.token_type, 'Bearer');
  t.equal(tok.expires_in, 3600);
  const c = await open({ token: tok.access_token });
  t.same(await c.run('SELECT 42 AS answer'), [{ answer: 42 }]);
});

t.test('503 and 429 reach the client (ExecuteStatement is never retried by the driver)', async (t) => {
  w.faults.failRequests(503, 1);
  await t.rejects(main.run('SELECT 1 AS x'), /503/);
  t.same(await main.run('SELECT 1 AS x'), [{ x: 1 }], 'one request only');
  w.faults.failRequests(429, 1);
  await t.rejects(open(), /429/);
  t.same(w.faults.state().http_status, null);
});

t.test('refused connections, then back on the same port', async (t) => {
  await w.faults.refuseConnections(true);
  await t.rejects(main.run('SELECT 1 AS x'), /ECONNREFUSED|socket hang up|ECONNRESET/);
  await w.faults.refuseConnections(false);
  const c = await open();
  t.same(await c.run('SELECT 2 AS x'), [{ x: 2 }]);
});

t.test('slow statements finish through GetOperationStatus polling', async (t) => {
  w.faults.slowStatements(300);
  t.same(await main.run(`SELECT 'slow' AS s`), [{ s: 'slow' }]);
});

t.test('failure before the COPY: nothing loaded, a retry loads the file', async (t) => {
  await upload('a.parquet', 0, 5);
  w.faults.failNextCommit('before');
  await t.rejects(copy('a.parquet'), /Injected failure/);
  t.equal(await count(), 0);
  t.same(await copy('a.parquet'), [{ num_affected_rows: 5, num_inserted_rows: 5, num_skipped_corrupt_files: 0 }]);
  t.equal(await count(), 5);
});

t.test('failure after the COPY: applied, client gets an error, the retry skips the file', async (t) => {
  await upload('b.parquet', 5, 3);
  w.faults.failNextCommit('after');
  await t.rejects(copy('b.parquet'));
  t.equal(await count(), 8, 'the COPY was applied');
  t.same(await copy('b.parquet'), [{ num_affected_rows: 0, num_inserted_rows: 0, num_skipped_corrupt_files: 0 }]);
  t.equal(await count(), 8);
});

t.test('a failed upload surfaces from the PUT', async (t) => {
  w.faults.failRequests(503, 1, 'upload');
  const f = join(local, 'c.parquet');
  await writeParquet(f, `SELECT 1::INT AS k`);
  await t.rejects(main.run(`PUT '${f}' INTO '/Volumes/main/pi/v/c.parquet' OVERWRITE`, { stagingAllowedLocalPath: local }), /503/);
});

t.test('the HTTP control endpoint sets and clears faults', async (t) => {
  const post = async (body: unknown) => {
    const r = await fetch(`https://127.0.0.1:${w.port}/_emulator/faults`, {
      dispatcher,
      method: 'POST',
      headers: { authorization: `Bearer ${w.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };
  const set = await post({ http_status: 503, count: 2, fail_commit: 'before', slow_ms: 10 });
  t.equal(set.status, 200);
  t.match(set.body, { http_status: 503, http_count: 2, fail_commit: 'before', slow_ms: 10 });
  const cleared = await post({ reset: true });
  t.match(cleared.body, { http_status: null, fail_commit: null, slow_ms: 0, expire_tokens: false });
  const unauth = await fetch(`https://127.0.0.1:${w.port}/_emulator/faults`, { dispatcher, method: 'POST', body: '{}' });
  t.equal(unauth.status, 401);
  await unauth.body?.cancel();
  // refuse_ms: refuses, then comes back by itself.
  await post({ refuse_ms: 300 });
  await new Promise((r) => setTimeout(r, 100));
  await t.rejects(fetch(`https://127.0.0.1:${w.port}/oidc/.well-known/oauth-authorization-server`, { dispatcher }));
  await new Promise((r) => setTimeout(r, 500));
  const back = await fetch(`https://127.0.0.1:${w.port}/oidc/.well-known/oauth-authorization-server`, { dispatcher });
  t.equal(back.status, 200);
  await back.body?.cancel();
});
