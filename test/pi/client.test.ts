import t from 'tap';
import type { Test } from 'tap';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { AgentError, PiError } from '../../agent/errors.js';
import { PiClient } from '../../agent/pi/client.js';
import type { PiClientOptions, RequestInfo } from '../../agent/pi/client.js';
import type { PiAuth } from '../../agent/pi/auth/types.js';
import { anonymousAuth, json, recordingSleep, startScripted } from '../helpers/scripted-server.js';
import type { Script } from '../helpers/scripted-server.js';

async function caught(p: Promise<unknown>): Promise<PiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof PiError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

/** A client against a scripted server; delays are recorded, not waited. */
async function setup(t: Test, script: Script, opts: Partial<PiClientOptions> = {}) {
  const server = await startScripted(script);
  const rec = recordingSleep();
  const infos: RequestInfo[] = [];
  const client = new PiClient({ baseUrl: server.url, auth: anonymousAuth, sleep: rec.sleep, onRequest: (i) => infos.push(i), ...opts });
  t.teardown(async () => {
    await client.close();
    await server.close();
  });
  return { server, client, delays: rec.delays, infos };
}

t.test('GET sends query parameters, repeated webIds and JSON headers', async (t) => {
  const { server, client, infos } = await setup(t, (_req, res) => json(res, 200, { Items: [1, 2] }), { userAgent: 'pi-agent/test' });
  const body = await client.get<{ Items: number[] }>('/streamsets/recorded', { webId: ['A', 'B'], path: '\\\\SRV\\tag 1', maxCount: 10, skip: undefined });
  t.same(body, { Items: [1, 2] });
  t.equal(server.seen.length, 1);
  const req = server.seen[0]!;
  t.equal(req.method, 'GET');
  const u = new URL(req.url, 'http://x');
  t.equal(u.pathname, '/piwebapi/streamsets/recorded');
  t.same(u.searchParams.getAll('webId'), ['A', 'B']);
  t.equal(u.searchParams.get('path'), '\\\\SRV\\tag 1');
  t.equal(u.searchParams.get('maxCount'), '10');
  t.notOk(u.searchParams.has('skip'));
  t.equal(req.headers['accept'], 'application/json');
  t.equal(req.headers['user-agent'], 'pi-agent/test');
  t.equal(req.headers['x-requested-with'], undefined);
  t.equal(client.stats.requests, 1);
  t.equal(client.stats.bytesReceived, JSON.stringify({ Items: [1, 2] }).length);
  t.equal(client.stats.retries, 0);
  t.same(
    infos.map((i) => [i.method, i.path, i.status, i.bytes, i.attempt]),
    [['GET', '/piwebapi/streamsets/recorded', 200, 15, 1]],
  );
});

t.test('POST sends JSON with the CSRF header', async (t) => {
  const { server, client } = await setup(t, (req, res) => json(res, 207, { echo: JSON.parse(req.body) }));
  const body = await client.post<{ echo: unknown }>('/batch', { '1': { Method: 'GET', Resource: 'x' } });
  t.same(body, { echo: { '1': { Method: 'GET', Resource: 'x' } } });
  const req = server.seen[0]!;
  t.equal(req.method, 'POST');
  t.equal(req.headers['x-requested-with'], 'XMLHttpRequest');
  t.match(req.headers['content-type'], /^application\/json/);
});

t.test('429 with Retry-After seconds is retried after that delay', async (t) => {
  const { server, client, delays } = await setup(t, (_req, res, n) => {
    if (n <= 2) json(res, 429, { Errors: ['Rate limit was reached'] }, { 'retry-after': '2' });
    else json(res, 200, { ok: true });
  });
  t.same(await client.get('/system'), { ok: true });
  t.equal(server.seen.length, 3);
  t.same(delays, [2000, 2000]);
  t.equal(client.stats.retries, 2);
  t.same(client.stats.errorsByCode, { PI_RATE_LIMITED: 2 });
});

t.test('Retry-After as an HTTP date, and capped', async (t) => {
  const farFuture = new Date(Date.now() + 3_600_000).toUTCString();
  const { client, delays } = await setup(
    t,
    (_req, res, n) => {
      if (n === 1) json(res, 503, { Errors: ['restarting'] }, { 'retry-after': farFuture });
      else json(res, 200, {});
    },
    { retryAfterCapMs: 5000 },
  );
  await client.get('/system');
  t.same(delays, [5000]);
});

t.test('backoff without Retry-After uses full jitter under a doubling ceiling', async (t) => {
  const { client, delays } = await setup(
    t,
    (_req, res, n) => {
      if (n <= 4) json(res, 502, {});
      else json(res, 200, {});
    },
    { retryBaseDelayMs: 100, retryMaxDelayMs: 350 },
  );
  await client.get('/system');
  t.equal(delays.length, 4);
  const ceilings = [100, 200, 350, 350];
  delays.forEach((d, i) => t.ok(d >= 0 && d < ceilings[i]!, `delay ${i} = ${d} < ${ceilings[i]}`));
});

t.test('503 then 200 succeeds on the second attempt', async (t) => {
  const { server, client, infos } = await setup(t, (_req, res, n) => {
    if (n === 1) json(res, 503, { Errors: ['Service Unavailable'] });
    else json(res, 200, { Name: 'ok' });
  });
  t.same(await client.get('/dataservers'), { Name: 'ok' });
  t.equal(server.seen.length, 2);
  t.same(
    infos.map((i) => [i.status, i.attempt]),
    [
      [503, 1],
      [200, 2],
    ],
  );
});

t.test('503 forever: 1 + retries attempts, then PI_SERVER_ERROR with the PI text', async (t) => {
  const { server, client } = await setup(t, (_req, res) => json(res, 503, { Errors: ['The service is starting.'] }), { retries: 3 });
  const err = await caught(client.get('/dataservers', { path: '\\\\SECRETSERVER' }));
  t.equal(err.code, 'PI_SERVER_ERROR');
  t.equal(err.status, 503);
  t.equal(err.retryable, true);
  t.equal(server.seen.length, 4);
  t.match(err.message, /The service is starting\./);
  t.match(err.message, /GET \/piwebapi\/dataservers/);
  t.match(err.message, /gave up after 4 attempts/);
  t.notMatch(err.message, /SECRETSERVER/);
  t.same(client.stats.errorsByCode, { PI_SERVER_ERROR: 4 });
});

t.test('500 is retried only serverErrorRetries times', async (t) => {
  const { server, client } = await setup(t, (_req, res) => json(res, 500, { Errors: ['Object reference not set'] }));
  const err = await caught(client.get('/points'));
  t.equal(err.code, 'PI_SERVER_ERROR');
  t.equal(server.seen.length, 3);
  t.equal(client.stats.retries, 2);
});

t.test('500 counts against both budgets when mixed with 503', async (t) => {
  const { server, client } = await setup(t, (_req, res, n) => json(res, n % 2 ? 503 : 500, {}), { retries: 5, serverErrorRetries: 1 });
  const err = await caught(client.get('/points'));
  // 503, 500 (server retry 1), 503, 500: no server retries left.
  t.equal(server.seen.length, 4);
  t.equal(err.status, 500);
});

const permanent: Array<[number, unknown, string, RegExp]> = [
  [400, { Errors: ["Parameter 'maxCount' is greater than the maximum allowed (150000)."] }, 'PI_LIMIT_EXCEEDED', /greater than the maximum allowed \(150000\)/],
  [400, { Errors: ["The value 'x' is not valid for startTime."] }, 'PI_BAD_REQUEST', /not valid for startTime/],
  [401, { Errors: ['Unauthorized'] }, 'PI_AUTH_FAILED', /server offers Negotiate, NTLM, Basic/],
  [403, { Errors: ['Forbidden: missing X-Requested-With'] }, 'PI_FORBIDDEN', /missing X-Requested-With/],
  [404, { Errors: ["PI Point not found '\\\\SRV\\NOPE'."] }, 'PI_NOT_FOUND', /PI Point not found/],
  [404, { Message: "No HTTP resource was found that matches the request URI 'x'." }, 'PI_NOT_FOUND', /No HTTP resource/],
  [409, { Errors: ['Invalid marker supplied'] }, 'PI_BAD_REQUEST', /Invalid marker/],
  [413, { Errors: ['Request body too large'] }, 'PI_LIMIT_EXCEEDED', /too large/],
  [501, { Errors: ['Unsupported value type'] }, 'PI_SERVER_ERROR', /Unsupported value type/],
];
for (const [status, body, code, text] of permanent) {
  t.test(`${status} ${code} is not retried`, async (t) => {
    const { server, client } = await setup(t, (_req, res) => json(res, status, body, status === 401 ? { 'www-authenticate': 'Negotiate, NTLM, Basic realm="PI"' } : {}));
    const err = await caught(client.get('/streams/X/recorded'));
    t.equal(err.code, code);
    t.equal(err.status, status);
    t.equal(err.retryable, false);
    t.match(err.message, text);
    t.match(err.message, /GET \/piwebapi\/streams\/X\/recorded/);
    t.equal(server.seen.length, 1);
    t.equal(client.stats.retries, 0);
  });
}

t.test('reset socket is retried; a reset every time ends in PI_UNREACHABLE', async (t) => {
  const { server, client } = await setup(t, (_req, res, n) => {
    if (n === 1) res.socket?.destroy();
    else json(res, 200, { ok: 1 });
  });
  t.same(await client.get('/system'), { ok: 1 });
  t.equal(server.seen.length, 2);
  t.same(client.stats.errorsByCode, { PI_UNREACHABLE: 1 });

  const always = await setup(
    t,
    (_req, res) => {
      res.socket?.destroy();
    },
    { retries: 2 },
  );
  const err = await caught(always.client.get('/system'));
  t.equal(err.code, 'PI_UNREACHABLE');
  t.equal(err.retryable, true);
  t.equal(always.server.seen.length, 3);
  t.match(err.message, /Cannot reach PI Web API at http:\/\/127\.0\.0\.1:\d+ for GET \/piwebapi\/system/);
});

t.test('connection refused: PI_UNREACHABLE after every retry', async (t) => {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const rec = recordingSleep();
  const infos: RequestInfo[] = [];
  const client = new PiClient({
    baseUrl: `http://user:hunter2@127.0.0.1:${port}/piwebapi`,
    auth: anonymousAuth,
    sleep: rec.sleep,
    onRequest: (i) => infos.push(i),
    retries: 3,
  });
  t.teardown(() => client.close());
  const err = await caught(client.get('/system'));
  t.equal(err.code, 'PI_UNREACHABLE');
  t.match(err.message, /ECONNREFUSED/);
  t.notMatch(err.message, /hunter2/);
  t.notMatch(err.url ?? '', /hunter2/);
  t.equal(infos.length, 4);
  t.same(
    infos.map((i) => i.status),
    [0, 0, 0, 0],
  );
  t.equal(rec.delays.length, 3);
});

t.test('truncated JSON in a 200 is retried as PI_BAD_RESPONSE', async (t) => {
  const { server, client } = await setup(t, (_req, res, n) => {
    if (n === 1) {
      const cut = '{"Items":[{"Timestamp":"2024-01-01T00:00:00Z","Val';
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': cut.length });
      res.end(cut);
    } else json(res, 200, { Items: [] });
  });
  t.same(await client.get('/streams/X/recorded'), { Items: [] });
  t.equal(server.seen.length, 2);
  t.same(client.stats.errorsByCode, { PI_BAD_RESPONSE: 1 });

  const always = await setup(
    t,
    (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"Items":[');
    },
    { retries: 1 },
  );
  const err = await caught(always.client.get('/streams/X/recorded'));
  t.equal(err.code, 'PI_BAD_RESPONSE');
  t.equal(always.server.seen.length, 2);
});

t.test('a body cut short of its Content-Length is retried', async (t) => {
  const { server, client } = await setup(t, (_req, res, n) => {
    if (n === 1) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 1000 });
      res.write('{"Items":[');
      setTimeout(() => res.socket?.destroy(), 20);
    } else json(res, 200, { Items: [1] });
  });
  t.same(await client.get('/streams/X/recorded'), { Items: [1] });
  t.equal(server.seen.length, 2);
  t.equal(client.stats.retries, 1);
});

t.test('WebException inside a 200 fails with its StatusCode', async (t) => {
  const { server, client } = await setup(t, (_req, res, n) => {
    if (n === 1) json(res, 200, { WebException: { Errors: ['Timeout while streaming'], StatusCode: 503 } });
    else json(res, 200, { Items: [] });
  });
  t.same(await client.get('/streams/X/recorded'), { Items: [] });
  t.equal(server.seen.length, 2);

  const notFound = await setup(t, (_req, res) => json(res, 200, { WebException: { Errors: ['Point was deleted'], StatusCode: 404 } }));
  const err = await caught(notFound.client.get('/streams/X/recorded'));
  t.equal(err.code, 'PI_NOT_FOUND');
  t.equal(err.status, 404);
  t.match(err.message, /Point was deleted/);
  t.match(err.message, /WebException/);
  t.equal(notFound.server.seen.length, 1);

  const server500 = await setup(t, (_req, res) => json(res, 200, { WebException: { Errors: ['boom'], StatusCode: 500 } }));
  const e500 = await caught(server500.client.get('/streams/X/recorded'));
  t.equal(e500.code, 'PI_SERVER_ERROR');
  t.equal(server500.server.seen.length, 3);
});

t.test('a response slower than timeoutMs is PI_TIMEOUT and retried', async (t) => {
  const { server, client } = await setup(
    t,
    (_req, res, n) => {
      if (n === 1) return; // never answers; the server's close() destroys the socket
      json(res, 200, { late: false });
    },
    { timeoutMs: 300 },
  );
  t.same(await client.get('/system'), { late: false });
  t.equal(server.seen.length, 2);
  t.same(client.stats.errorsByCode, { PI_TIMEOUT: 1 });

  const hang = await setup(t, () => undefined, { timeoutMs: 200, retries: 1 });
  const err = await caught(hang.client.get('/system'));
  t.equal(err.code, 'PI_TIMEOUT');
  t.equal(err.retryable, true);
  t.equal(hang.server.seen.length, 2);
});

t.test('a body that stalls mid-way is PI_TIMEOUT', async (t) => {
  const { client } = await setup(
    t,
    (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"Items":[');
    },
    { timeoutMs: 200, retries: 0 },
  );
  const err = await caught(client.get('/system'));
  t.equal(err.code, 'PI_TIMEOUT');
});

t.test('at most `concurrency` requests are in flight', async (t) => {
  let active = 0;
  let maxActive = 0;
  const { client, server } = await setup(
    t,
    (_req, res) => {
      active++;
      maxActive = Math.max(maxActive, active);
      setTimeout(() => {
        active--;
        json(res, 200, {});
      }, 30);
    },
    { concurrency: 2 },
  );
  await Promise.all(Array.from({ length: 6 }, (_, i) => client.get(`/points/${i}`)));
  t.equal(server.seen.length, 6);
  t.equal(maxActive, 2);
});

t.test('auth failures keep their code and retry only when retryable', async (t) => {
  let calls = 0;
  const failing: PiAuth = {
    scheme: 'negotiate',
    send: async () => {
      calls++;
      throw new AgentError('PI_KERBEROS_UNAVAILABLE', 'no Kerberos ticket for HTTP@pi.example');
    },
    close: async () => {},
  };
  const { client } = await setup(t, (_req, res) => json(res, 200, {}), { auth: failing });
  const err = await caught(client.get('/system'));
  t.equal(err.code, 'PI_KERBEROS_UNAVAILABLE');
  t.equal(calls, 1);

  let n = 0;
  const flaky: PiAuth = {
    scheme: 'bearer',
    send: async (sendOnce) => {
      if (++n === 1) throw new PiError('PI_UNREACHABLE', 'token endpoint unreachable', { retryable: true });
      return sendOnce({ authorization: 'Bearer abc' });
    },
    close: async () => {},
  };
  const second = await setup(t, (req, res) => json(res, 200, { auth: req.headers['authorization'] }), { auth: flaky });
  t.same(await second.client.get('/system'), { auth: 'Bearer abc' });
  t.equal(n, 2);
});

t.test('a 401 message names the offered schemes, never the credentials sent', async (t) => {
  const auth: PiAuth = { scheme: 'basic', send: (s) => s({ authorization: `Basic ${Buffer.from('pi:s3cret').toString('base64')}` }), close: async () => {} };
  const { client } = await setup(
    t,
    (_req, res) => json(res, 401, { Errors: ['Authorization has been denied'] }, { 'www-authenticate': 'Bearer realm="pi", error="invalid_token"' }),
    { auth },
  );
  const err = await caught(client.get('/system'));
  t.equal(err.code, 'PI_AUTH_FAILED');
  t.match(err.message, /server offers Bearer\b/);
  t.notMatch(err.message, /s3cret|cGk6czNjcmV0/);
});

t.test('empty 2xx body is undefined; closed client refuses', async (t) => {
  const { client } = await setup(t, (_req, res) => {
    res.writeHead(204);
    res.end();
  });
  t.equal(await client.get('/x'), undefined);
  await client.close();
  const err = await caught(client.get('/x'));
  t.equal(err.code, 'INTERNAL');
});

t.test('a request undici refuses to send is INTERNAL and not retried', async (t) => {
  const bad: PiAuth = { scheme: 'bearer', send: (s) => s({ authorization: 'Bearer a\r\nb' }), close: async () => {} };
  const { server, client } = await setup(t, (_req, res) => json(res, 200, {}), { auth: bad });
  const err = await caught(client.get('/system'));
  t.equal(err.code, 'INTERNAL');
  t.equal(server.seen.length, 0);
  t.equal(client.stats.retries, 0);
  t.notMatch(err.message, /Bearer a/);
});

t.test('close() during a backoff wait ends the call with the last failure', async (t) => {
  const server = await startScripted((_req, res) => json(res, 503, { Errors: ['down'] }, { 'retry-after': '600' }));
  t.teardown(() => server.close());
  const client = new PiClient({ baseUrl: server.url, auth: anonymousAuth, retryAfterCapMs: 600_000 });
  const pending = caught(client.get('/system'));
  while (server.seen.length === 0) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 20));
  await client.close();
  const err = await pending;
  t.equal(err.code, 'PI_SERVER_ERROR');
  t.equal(server.seen.length, 1);
});
