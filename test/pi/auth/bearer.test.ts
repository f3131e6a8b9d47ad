import t from 'tap';
import type { Test } from 'tap';
import { createPiAuth } from '../../../agent/pi/auth/index.js';
import { createSimAuth, OIDC_DISCOVERY_PATH, OIDC_TOKEN_PATH } from '../../sim/piwebapi/auth.js';
import { errorText, json, newPool, sendOnceFor, startAuthServer } from './harness.js';

const SECRET = 'client-secret-4f9a1c';

/** A clock tests move by hand; one for the simulator, one for the agent. */
function clock(start = 1_800_000_000_000) {
  let t = start;
  return {
    now: () => t,
    advance: (s: number) => {
      t += s * 1000;
    },
  };
}

async function setup(t: Test, lifetime = 100) {
  const simClock = clock();
  const agentClock = clock();
  const sim = await createSimAuth({ mode: 'bearer', clients: { 'pi-agent': SECRET }, tokenLifetimeSeconds: lifetime, now: simClock.now });
  const srv = await startAuthServer(sim);
  const pool = newPool();
  t.teardown(async () => {
    await pool.close();
    await srv.close();
  });
  return { sim, srv, pool, simClock, agentClock, send: sendOnceFor(srv.baseUrl + '/points', pool) };
}

t.test('oidc: discovery, token, then the token is reused until 80% of its lifetime', async (t) => {
  const { sim, srv, simClock, agentClock, send } = await setup(t);
  const auth = await createPiAuth({ type: 'oidc', client_id: 'pi-agent', client_secret: SECRET }, { baseUrl: srv.baseUrl, now: agentClock.now });
  t.teardown(() => auth.close());
  t.equal(auth.scheme, 'bearer');

  const r1 = await auth.send(send);
  t.equal(r1.status, 200);
  t.equal(json(r1).user, 'pi-agent');
  t.equal(sim.stats.tokensIssued, 1);
  t.same(
    srv.seen.map((s) => `${s.method} ${s.path}`),
    [`GET ${OIDC_DISCOVERY_PATH}`, `POST ${OIDC_TOKEN_PATH}`, 'GET /piwebapi/points'],
  );

  for (const step of [30, 30]) {
    simClock.advance(step);
    agentClock.advance(step);
    t.equal((await auth.send(send)).status, 200);
  }
  t.equal(sim.stats.tokensIssued, 1, 'still the first token at 60 s');

  // Past 80 s of 100: renewed before use, so the server never answers 401.
  simClock.advance(25);
  agentClock.advance(25);
  t.equal((await auth.send(send)).status, 200);
  t.equal(sim.stats.tokensIssued, 2, 'renewed before expiry');
  t.equal(sim.stats.unauthorized, 0);
  t.equal(srv.seen.filter((s) => s.path === OIDC_DISCOVERY_PATH).length, 1, 'discovery fetched once');

  // As the simulated lifetime keeps passing, the count keeps going up, always before a 401.
  for (let i = 0; i < 3; i++) {
    simClock.advance(85);
    agentClock.advance(85);
    t.equal((await auth.send(send)).status, 200);
  }
  t.equal(sim.stats.tokensIssued, 5);
  t.equal(sim.stats.unauthorized, 0);
});

t.test('oidc: a 401 (expired or revoked token) renews once and retries', async (t) => {
  const { sim, simClock, send, srv, agentClock } = await setup(t);
  const auth = await createPiAuth({ type: 'oidc', client_id: 'pi-agent', client_secret: SECRET }, { baseUrl: srv.baseUrl, now: agentClock.now });
  t.teardown(() => auth.close());
  t.equal((await auth.send(send)).status, 200);

  // The server's clock ran ahead: the agent's cached token is expired there.
  simClock.advance(150);
  const raw = await send({ authorization: `Bearer ${srv.seen.at(-1)!.authorization!.slice(7)}` });
  t.equal(raw.status, 401);
  t.same(raw.headers['www-authenticate'], 'Bearer error="invalid_token"');
  const before = sim.stats.unauthorized;
  const r = await auth.send(send);
  t.equal(r.status, 200);
  t.equal(sim.stats.tokensIssued, 2);
  t.equal(sim.stats.unauthorized, before + 1, 'one 401, then success');

  sim.revokeTokens();
  t.equal((await auth.send(send)).status, 200);
  t.equal(sim.stats.tokensIssued, 3);
});

t.test('oidc: explicit token_url skips discovery; concurrent requests share one token request', async (t) => {
  const { sim, srv, send, agentClock } = await setup(t);
  const tokenUrl = `http://127.0.0.1:${srv.port}${OIDC_TOKEN_PATH}`;
  const auth = await createPiAuth(
    { type: 'oidc', client_id: 'pi-agent', client_secret: SECRET, token_url: tokenUrl, scope: 'piwebapi' },
    { baseUrl: srv.baseUrl, now: agentClock.now },
  );
  t.teardown(() => auth.close());
  const all = await Promise.all([auth.send(send), auth.send(send), auth.send(send)]);
  t.same(
    all.map((r) => r.status),
    [200, 200, 200],
  );
  t.equal(sim.stats.tokensIssued, 1);
  t.equal(srv.seen.filter((s) => s.path === OIDC_DISCOVERY_PATH).length, 0);
});

t.test('oidc: a wrong client secret is PI_AUTH_FAILED without the secret', async (t) => {
  const { srv, send, agentClock } = await setup(t);
  const wrong = 'not-the-secret-77e1';
  const auth = await createPiAuth({ type: 'oidc', client_id: 'pi-agent', client_secret: wrong }, { baseUrl: srv.baseUrl, now: agentClock.now });
  t.teardown(() => auth.close());
  const err = await auth.send(send).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.match(err, { code: 'PI_AUTH_FAILED', status: 401, message: /refused client 'pi-agent' \(invalid_client\)/ });
  const text = errorText(err);
  t.notOk(text.includes(wrong));
  t.notOk(text.includes(SECRET));
});

t.test('oidc: no discovery document tells the operator to set token_url', async (t) => {
  const srv = await startAuthServer(await createSimAuth({ mode: 'basic' }));
  const pool = newPool();
  t.teardown(async () => {
    await pool.close();
    await srv.close();
  });
  const auth = await createPiAuth({ type: 'oidc', client_id: 'x', client_secret: SECRET }, { baseUrl: srv.baseUrl });
  t.teardown(() => auth.close());
  const err = await auth.send(sendOnceFor(srv.baseUrl + '/points', pool)).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.match(err, { code: 'PI_AUTH_FAILED', message: /No OpenID Connect discovery document .* Set pi\.auth\.token_url/ });
  t.notOk(errorText(err).includes(SECRET));
});

t.test('bearer: a static token is sent as is; a rejected one is PI_AUTH_FAILED without it', async (t) => {
  const good = 'static-token-a1b2c3d4';
  const bad = 'static-token-zzzz9999';
  const srv = await startAuthServer(await createSimAuth({ mode: 'bearer', staticTokens: { [good]: 'svc-pi' } }));
  const pool = newPool();
  t.teardown(async () => {
    await pool.close();
    await srv.close();
  });
  const send = sendOnceFor(srv.baseUrl + '/points', pool);
  const ok = await createPiAuth({ type: 'bearer', token: good }, { baseUrl: srv.baseUrl });
  const res = await ok.send(send);
  t.equal(res.status, 200);
  t.equal(json(res).user, 'svc-pi');
  const no = await createPiAuth({ type: 'bearer', token: bad }, { baseUrl: srv.baseUrl });
  const err = await no.send(send).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.match(err, { code: 'PI_AUTH_FAILED', status: 401, message: /bearer token \(invalid_token\)/ });
  t.notOk(errorText(err).includes(bad));
});
