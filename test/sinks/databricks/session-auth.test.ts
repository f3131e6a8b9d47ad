/**
 * Issue 17 item 5, through the REAL @databricks/sql driver against the warehouse emulator:
 * - a session the warehouse closed while idle ("Invalid SessionHandle") is reopened and the
 *   statement run again: the upload lands exactly once and the table is not stopped;
 * - a token refused with HTTP 403 "Invalid access token." is an authentication failure (not a
 *   missing grant) with the hint for the credential in use; a cached OAuth token is dropped and a
 *   new one fetched.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import type { Op, Row } from '../../../agent/batch/tables.js';
import { SinkError } from '../../../agent/errors.js';
import { DatabricksSink, type DatabricksSinkOptions } from '../../../agent/sinks/databricks/sink.js';
import { blockedTablesOf, forwardAll } from '../../../agent/sinks/forward.js';
import { Store } from '../../../agent/store/store.js';
import { startWarehouse } from '../../sim/databricks/server.js';
import { connect } from '../../sim/databricks/test-client.js';
import { emulatorSinkOptions } from '../../helpers/dbx-sink.js';
import { secondRows } from '../../helpers/batch.js';

const root = await mkdtemp(join(tmpdir(), 'dbx-sess-'));
const oauth = { clientId: 'sp-pi-agent', clientSecret: 'sp-secret-value' };
const w = await startWarehouse({ dataDir: join(root, 'data'), oauth });
const base: DatabricksSinkOptions = await emulatorSinkOptions(w, root);
const closers: (() => unknown)[] = [];
const makeSink = (over: Partial<DatabricksSinkOptions> = {}) => {
  const s = new DatabricksSink({ ...base, stagingDir: join(root, `staging-${closers.length}`), ...over });
  closers.push(() => s.close());
  return s;
};
const openStore = async () => {
  const s = Store.open({ stateDir: await mkdtemp(join(root, 'state-')), site: 'plant-a' });
  closers.push(() => s.close());
  return s;
};
t.teardown(async () => {
  for (const c of closers) await c();
  await w.close();
  await rm(root, { recursive: true, force: true });
});
t.afterEach(() => w.faults.reset());

const T0 = Date.UTC(2026, 0, 1) * 1000;
const rows = (tag: string, n: number, op: Op = 'insert'): Row[] => secondRows(tag, n, { t0: T0, ingestedAt: T0, op });
const count = async (tag: string) => Number((await w.query(`SELECT count(*) AS n FROM pi.pi_timeseries WHERE tag_webid = '${tag}'`))[0]!.n);
const state = () => w.faults.state() as { sessions_opened: number; oauth_tokens_issued: number };

t.test('emulator: an idle session is closed; its next statement fails "Invalid SessionHandle" (real driver)', async (t) => {
  const conn = await connect(w);
  t.teardown(() => conn.close());
  t.same(await conn.run('SELECT 1 AS x'), [{ x: 1 }]);
  w.faults.sessionIdle(200);
  await sleep(350);
  await t.rejects(conn.run('SELECT 1 AS x'), {
    name: 'Status Error',
    message: /^Invalid SessionHandle: SessionHandle \[[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\]$/,
  });
  w.faults.sessionIdle(60_000);
  await t.rejects(conn.run('SELECT 1 AS x'), /Invalid SessionHandle/, 'closed stays closed');
});

t.test('emulator: a bad token can be answered 403 "Invalid access token." (real driver)', async (t) => {
  w.faults.badTokenStatus(403);
  await t.rejects(connect(w, { token: 'dapi-not-a-token' }), { message: 'Received a response with a bad HTTP status code: 403', statusCode: 403 });
  const err = await connect(w, { token: 'dapi-not-a-token' }).then(
    () => undefined,
    (e: unknown) => e as { response?: { headers: { get(h: string): string | null }; text(): Promise<string> } },
  );
  t.equal(err?.response?.headers.get('x-databricks-reason-phrase'), 'Invalid access token.');
  t.same(JSON.parse(await err!.response!.text()), { error_code: 403, message: 'Invalid access token.' });
  w.faults.badTokenStatus(401);
  await t.rejects(
    connect(w, { token: 'dapi-not-a-token' }),
    { message: 'Received a response with a bad HTTP status code: 401', statusCode: 401 },
    'the default stays 401',
  );
});

t.test('a session expired between uploads: reconnect, the upload lands once, no table pause', async (t) => {
  const sink = makeSink();
  const store = await openStore();
  store.commitStep([{ table: 'pi_timeseries', rows: rows('SESS-A', 500) }], []);
  t.same(await forwardAll(store, sink), { units: 1, rows: 500 });
  const opened = state().sessions_opened;
  // The warehouse closes the sink's idle session (the idle timeout itself: the emulator test above;
  // closed at once here so that a slow machine cannot close it again mid-upload).
  w.faults.expireSessions();
  store.commitStep([{ table: 'pi_timeseries', rows: rows('SESS-B', 700) }], []);
  t.same(await forwardAll(store, sink), { units: 1, rows: 700 }, 'uploaded at once, no error');
  t.equal(state().sessions_opened, opened + 1, 'one new session: the sink reconnected');
  t.same([...blockedTablesOf(store).keys()], [], 'no table stopped');
  t.equal(await count('SESS-A'), 500);
  t.equal(await count('SESS-B'), 700, 'exactly once');
  t.equal(store.nextUploadUnit(undefined, { maxBytes: 1 << 30, maxBatches: 1000 }), undefined, 'nothing left in the buffer');
});

t.test('sessions closed under a MERGE unit too (several PUTs share the closed session)', async (t) => {
  const sink = makeSink();
  const store = await openStore();
  store.commitStep([{ table: 'pi_timeseries', rows: rows('SESS-M', 300) }], []);
  await forwardAll(store, sink);
  w.faults.expireSessions();
  store.commitStep([{ table: 'pi_timeseries', rows: rows('SESS-M', 300, 'update').map((r) => ({ ...r, value_double: 7 })) }], []);
  store.commitStep([{ table: 'pi_timeseries', rows: rows('SESS-N', 50) }], []);
  t.equal((await forwardAll(store, sink)).rows, 350);
  t.same([...blockedTablesOf(store).keys()], []);
  t.equal(await count('SESS-M'), 300);
  t.same(await w.query(`SELECT DISTINCT value_double AS v FROM pi.pi_timeseries WHERE tag_webid = 'SESS-M'`), [{ v: 7 }]);
});

t.test('403 "Invalid access token." with OAuth: auth failure, token dropped and fetched again', async (t) => {
  const sink = makeSink({ auth: { type: 'oauth', client_id: oauth.clientId, client_secret: oauth.clientSecret } });
  const store = await openStore();
  store.commitStep([{ table: 'pi_timeseries', rows: rows('TOK-A', 100) }], []);
  await forwardAll(store, sink);
  const issued = state().oauth_tokens_issued;
  w.faults.badTokenStatus(403);
  w.faults.revokeTokens(); // the cached token is now a bad token
  w.faults.expireSessions(); // so the next request is a new session's (carries the token again either way)
  store.commitStep([{ table: 'pi_timeseries', rows: rows('TOK-B', 100) }], []);
  const err = await forwardAll(store, sink).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof SinkError, 'a SinkError');
  const e = err as SinkError;
  t.equal(e.code, 'SINK_AUTH_FAILED');
  t.equal(e.retryable, true, 'OAuth: the next try fetches a new token');
  t.match(e.message, /403: Invalid access token\. \(the OAuth access token was refused; a new one is fetched on the next try/);
  t.notMatch(e.message, /lacks a grant/);
  t.same([...blockedTablesOf(store).keys()], [], 'credentials stop no single table');
  t.equal(await count('TOK-B'), 0);
  t.same(await forwardAll(store, sink), { units: 1, rows: 100 }, 'next try works');
  t.equal(state().oauth_tokens_issued, issued + 1, 'exactly one new token fetched');
  t.equal(await count('TOK-B'), 100);
});

t.test('403 "Invalid access token." with a personal access token: auth failure, not retried fast, token hint', async (t) => {
  w.faults.badTokenStatus(403);
  const sink = makeSink({ auth: { type: 'token', token: 'dapi-revoked' } });
  const err = await sink.prepare().then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof SinkError);
  const e = err as SinkError;
  t.equal(e.code, 'SINK_AUTH_FAILED');
  t.equal(e.retryable, false);
  t.match(e.message, /403: Invalid access token\. \(the token is invalid, expired or revoked; put a valid one in sink\.auth\.token\)/);
  t.notMatch(e.message, /dapi-revoked/, 'the token is not in the message');
});
