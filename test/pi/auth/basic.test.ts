import t from 'tap';
import { createPiAuth } from '../../../agent/pi/auth/index.js';
import { PiError } from '../../../agent/errors.js';
import { createSimAuth } from '../../sim/piwebapi/auth.js';
import { errorText, json, newPool, sendOnceFor, startAuthServer } from './harness.js';

const PASSWORD = 'Basic-Secret-8731';

t.test('basic: the right password gets through, preemptively', async (t) => {
  const srv = await startAuthServer(await createSimAuth({ mode: 'basic', users: { pi: PASSWORD } }));
  const pool = newPool();
  t.teardown(async () => {
    await pool.close();
    await srv.close();
  });
  const auth = await createPiAuth({ type: 'basic', username: 'pi', password: PASSWORD }, { baseUrl: srv.baseUrl });
  t.equal(auth.scheme, 'basic');
  const res = await auth.send(sendOnceFor(srv.baseUrl + '/system', pool));
  t.equal(res.status, 200);
  t.equal(json(res).user, 'pi');
  // No 401 round trip: one request, carrying the credentials.
  t.equal(srv.seen.length, 1);
  t.equal(srv.seen[0]!.authorization, 'Basic ' + Buffer.from(`pi:${PASSWORD}`).toString('base64'));
});

t.test('basic: a wrong password is PI_AUTH_FAILED without the password', async (t) => {
  const srv = await startAuthServer(await createSimAuth({ mode: ['negotiate', 'ntlm', 'basic'], users: { pi: PASSWORD } }));
  const pool = newPool();
  t.teardown(async () => {
    await pool.close();
    await srv.close();
  });
  const wrong = 'Wrong-Secret-5521';
  const auth = await createPiAuth({ type: 'basic', username: 'pi', password: wrong }, { baseUrl: srv.baseUrl });
  const err = await auth.send(sendOnceFor(srv.baseUrl + '/system', pool)).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof PiError);
  const e = err as PiError;
  t.equal(e.code, 'PI_AUTH_FAILED');
  t.equal(e.status, 401);
  t.equal(e.retryable, false);
  t.match(e.message, /Basic authentication for user 'pi'/);
  t.match(e.message, /the server offers: Negotiate, NTLM, Basic/);
  const text = errorText(err);
  for (const secret of [wrong, PASSWORD, Buffer.from(`pi:${wrong}`).toString('base64')]) t.notOk(text.includes(secret), 'no secret in the error');
});

t.test('sim: an unauthenticated request gets a 401 listing every enabled scheme', async (t) => {
  const srv = await startAuthServer(await createSimAuth({ mode: ['negotiate', 'ntlm', 'basic', 'bearer'] }));
  const pool = newPool();
  t.teardown(async () => {
    await pool.close();
    await srv.close();
  });
  const res = await sendOnceFor(srv.baseUrl + '/system', pool)({});
  t.equal(res.status, 401);
  t.same(res.headers['www-authenticate'], ['Negotiate', 'NTLM', 'Basic realm="PI Web API"', 'Bearer']);
  t.same(JSON.parse(res.body.toString()), { Errors: ['Authorization has been denied for this request.'] });
});

t.test('anonymous: passes where allowed, names the offered schemes where not', async (t) => {
  const open = await startAuthServer(await createSimAuth({ mode: 'none' }));
  const closed = await startAuthServer(await createSimAuth({ mode: ['ntlm', 'basic'] }));
  const pool = newPool();
  t.teardown(async () => {
    await pool.close();
    await open.close();
    await closed.close();
  });
  const auth = await createPiAuth({ type: 'anonymous' }, { baseUrl: open.baseUrl });
  t.equal(auth.scheme, 'none');
  const res = await auth.send(sendOnceFor(open.baseUrl + '/system', pool));
  t.equal(res.status, 200);
  t.equal(json(res).user, 'anonymous');
  await t.rejects(auth.send(sendOnceFor(closed.baseUrl + '/system', pool)), {
    code: 'PI_AUTH_FAILED',
    message: /requires authentication \(HTTP 401; the server offers: NTLM, Basic\)/,
  });
});
