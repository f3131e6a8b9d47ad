import t from 'tap';
import type { Test } from 'tap';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ClientCredentials, type ClientCredentialsOptions, type TokenFailure } from '../../agent/oauth/client-credentials.js';

interface Seen {
  method: string;
  path: string;
  authorization?: string;
  form: URLSearchParams;
}
type Handler = (req: Seen, res: ServerResponse) => void;

/** A token endpoint on loopback; `handler` answers each request, `seen` records them. */
async function endpoint(t: Test, handler: Handler) {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      const s: Seen = { method: req.method ?? '', path: req.url ?? '', form: new URLSearchParams(body) };
      if (req.headers.authorization) s.authorization = req.headers.authorization;
      seen.push(s);
      handler(s, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
};

/** Hands out tok-1, tok-2, ... with `expires_in` (left out when undefined). */
function issuer(expiresIn: unknown): Handler {
  let n = 0;
  return (_req, res) => json(res, 200, { access_token: `tok-${++n}`, token_type: 'Bearer', expires_in: expiresIn });
}

class Failed extends Error {
  constructor(readonly f: TokenFailure) {
    super(f.kind);
  }
}

function make(t: Test, over: Partial<ClientCredentialsOptions> & Pick<ClientCredentialsOptions, 'endpoint'>) {
  let now = 1_000_000;
  const c = new ClientCredentials({
    clientId: 'agent id',
    clientSecret: 's3cret:x',
    now: () => now,
    renewAt: ({ requestedAt, lifetimeMs }) => requestedAt + lifetimeMs * 0.8,
    defaultLifetimeS: 300,
    failure: (f) => new Failed(f),
    ...over,
  });
  t.teardown(() => c.close());
  return {
    c,
    advance: (s: number) => {
      now += s * 1000;
    },
  };
}

const failureOf = async (p: Promise<unknown>): Promise<TokenFailure> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof Failed)) throw new Error(`expected a token failure, got ${String(err)}`);
  return err.f;
};

t.test('a token is reused until the renewal time its user sets', async (t) => {
  const ep = await endpoint(t, issuer(100));
  const { c, advance } = make(t, { endpoint: { url: `${ep.base}/token`, clientAuth: 'post' }, scope: 'api' });
  t.equal(await c.token(), 'tok-1');
  advance(79);
  t.equal(await c.token(), 'tok-1', 'before 80% of 100 s');
  advance(1);
  t.equal(await c.token(), 'tok-2', 'at 80 s: renewed');
  t.equal(ep.seen.length, 2);
  t.same(Object.fromEntries(ep.seen[0]!.form), { grant_type: 'client_credentials', client_id: 'agent id', client_secret: 's3cret:x', scope: 'api' });
  t.equal(ep.seen[0]!.authorization, undefined, 'post: no Basic header');
});

t.test('renewAt sees when the token was asked for, received, and its lifetime; expires_in may be a string or missing', async (t) => {
  const lifetimes: number[] = [];
  for (const expiresIn of ['3599', undefined, 0, 'soon']) {
    const ep = await endpoint(t, issuer(expiresIn));
    const { c } = make(t, {
      endpoint: { url: `${ep.base}/token`, clientAuth: 'post' },
      renewAt: ({ requestedAt, receivedAt, lifetimeMs }) => {
        lifetimes.push(lifetimeMs);
        t.ok(receivedAt >= requestedAt);
        return receivedAt + lifetimeMs - 60_000;
      },
    });
    await c.token();
  }
  t.same(lifetimes, [3_599_000, 300_000, 300_000, 300_000], 'the default lifetime when expires_in is absent or unusable');
});

t.test('basic client authentication form-encodes id and secret (RFC 6749 §2.3.1)', async (t) => {
  const ep = await endpoint(t, issuer(100));
  const { c } = make(t, { endpoint: { url: `${ep.base}/token`, clientAuth: 'basic' }, scope: 'all-apis' });
  await c.token();
  const [id, secret] = Buffer.from(ep.seen[0]!.authorization!.slice('Basic '.length), 'base64').toString().split(':');
  t.equal(id, 'agent+id');
  t.equal(secret, 's3cret%3Ax');
  t.same(Object.fromEntries(ep.seen[0]!.form), { grant_type: 'client_credentials', scope: 'all-apis' }, 'no secret in the body');
});

t.test('concurrent callers share one token request; replace() and invalidate()', async (t) => {
  const ep = await endpoint(t, issuer(100));
  const { c } = make(t, { endpoint: { url: `${ep.base}/token`, clientAuth: 'post' } });
  t.same(await Promise.all([c.token(), c.token(), c.token()]), ['tok-1', 'tok-1', 'tok-1']);
  t.equal(ep.seen.length, 1);
  // Two requests see tok-1 refused: one renewal between them.
  t.same(await Promise.all([c.replace('tok-1'), c.replace('tok-1')]), ['tok-2', 'tok-2']);
  t.equal(await c.replace('tok-1'), 'tok-2', 'a caller late with the old token gets the one already renewed');
  t.equal(ep.seen.length, 2);
  c.invalidate();
  t.equal(await c.token(), 'tok-3');
});

t.test('discovery: read once; the provider decides the client authentication; read again after a failure', async (t) => {
  let discoveryUp = false;
  let basicOnly = true;
  const ep = await endpoint(t, (req, res) => {
    if (req.path === '/.well-known/openid-configuration') {
      if (!discoveryUp) return json(res, 404, 'not here');
      return json(res, 200, {
        token_endpoint: `${base}/token`,
        token_endpoint_auth_methods_supported: basicOnly ? ['client_secret_basic'] : ['client_secret_basic', 'client_secret_post'],
      });
    }
    json(res, 200, { access_token: 'tok', expires_in: 1 });
  });
  const base = ep.base;
  const { c, advance } = make(t, { endpoint: { discovery: `${base}/.well-known/openid-configuration` } });
  t.same(await failureOf(c.token()), { kind: 'no-discovery', url: `${base}/.well-known/openid-configuration`, status: 404 });
  discoveryUp = true;
  await c.token();
  advance(10);
  basicOnly = false;
  await c.token();
  t.same(
    ep.seen.map((s) => `${s.method} ${s.path}`),
    ['GET /.well-known/openid-configuration', 'GET /.well-known/openid-configuration', 'POST /token', 'POST /token'],
  );
  t.match(ep.seen[2]!.authorization, /^Basic /, 'basic only: Basic');
  t.match(ep.seen[3]!.authorization, /^Basic /, 'the first discovery holds');
});

t.test('failures reach the user as its own errors, with what it needs to classify them', async (t) => {
  let answer: (res: ServerResponse) => void = (res) => json(res, 401, { error: 'invalid_client', error_description: 'bad secret' });
  const ep = await endpoint(t, (_req, res) => answer(res));
  const url = `${ep.base}/token`;
  const { c } = make(t, { endpoint: { url, clientAuth: 'post' } });
  t.same(await failureOf(c.token()), { kind: 'status', url, status: 401, error: 'invalid_client' });
  answer = (res) => json(res, 503, 'busy');
  t.same(await failureOf(c.token()), { kind: 'status', url, status: 503 });
  answer = (res) => json(res, 200, '<html>proxy login</html>');
  t.same(await failureOf(c.token()), { kind: 'no-token', url, status: 200 });
  answer = (res) => json(res, 200, { token_type: 'Bearer' });
  t.same(await failureOf(c.token()), { kind: 'no-token', url, status: 200 });
  answer = (res) => json(res, 200, { access_token: 'tok-ok' });
  t.equal(await c.token(), 'tok-ok', 'a failure caches nothing: the next call asks again');

  const closed = make(t, { endpoint: { url: 'http://127.0.0.1:1/token', clientAuth: 'post' } });
  const f = await failureOf(closed.c.token());
  t.equal(f.kind, 'unreachable');
  t.match((f as { cause: unknown }).cause, { code: 'ECONNREFUSED' }, 'the cause as the network reported it');
});
