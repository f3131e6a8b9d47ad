import t from 'tap';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPiAuth } from '../../../agent/pi/auth/index.js';
import {
  GSS_C_DELEG_FLAG,
  GSS_C_MUTUAL_FLAG,
  GSS_C_SEQUENCE_FLAG,
  kerberosUnavailable,
  loadKerberos,
  servicePrincipal,
  type KerberosModule,
} from '../../../agent/pi/auth/kerberos.js';
import { createSimAuth } from '../../sim/piwebapi/auth.js';
import { kerberosAvailable, KERBEROS_SKIP_REASON, startKdc, type Kdc } from '../../helpers/kdc.js';
import { errorText, json, newPool, sendOnceFor, startAuthServer } from './harness.js';

t.test('SPN: HTTP@host for GSSAPI, HTTP/host for SSPI, either spelling accepted', async (t) => {
  t.equal(servicePrincipal('https://pi.corp.local/piwebapi', undefined, 'linux'), 'HTTP@pi.corp.local');
  t.equal(servicePrincipal('https://pi.corp.local:8443/piwebapi', undefined, 'win32'), 'HTTP/pi.corp.local');
  t.equal(servicePrincipal('https://x/piwebapi', 'HTTP/pi.corp.local@CORP.LOCAL', 'linux'), 'HTTP@pi.corp.local');
  t.equal(servicePrincipal('https://x/piwebapi', 'HTTP/pi.corp.local', 'darwin'), 'HTTP@pi.corp.local');
  t.equal(servicePrincipal('https://x/piwebapi', 'HTTP@pi.corp.local', 'win32'), 'HTTP/pi.corp.local');
  t.equal(servicePrincipal('https://x/piwebapi', 'HTTP@pi.corp.local', 'linux'), 'HTTP@pi.corp.local');
});

t.test('pi.auth.delegate asks GSS for a delegated credential; without it the package default flags', async (t) => {
  const calls: Array<{ service: string; options: unknown }> = [];
  const fake: KerberosModule = {
    GSS_MECH_OID_SPNEGO: 6,
    initializeClient: (service, options) => {
      calls.push({ service, options });
      return Promise.resolve({ step: () => Promise.resolve('dG9rZW4='), contextComplete: true });
    },
  };
  const ok = { status: 200, headers: {}, body: Buffer.alloc(0) };
  const send = () => Promise.resolve(ok);
  for (const delegate of [true, false, undefined]) {
    const auth = await createPiAuth(
      { type: 'kerberos', spn: 'HTTP/pi.corp.local', ...(delegate === undefined ? {} : { delegate }) },
      { baseUrl: 'https://pi.corp.local/piwebapi', loadKerberos: () => Promise.resolve(fake) },
    );
    // A 401 with Negotiate first, so a token is made.
    let n = 0;
    await auth.send(() => Promise.resolve(n++ === 0 ? { status: 401, headers: { 'www-authenticate': ['Negotiate'] }, body: Buffer.alloc(0) } : ok));
    await auth.send(send);
  }
  t.same(
    calls.map((c) => c.options),
    [
      { mechOID: 6, flags: GSS_C_DELEG_FLAG | GSS_C_MUTUAL_FLAG | GSS_C_SEQUENCE_FLAG },
      { mechOID: 6, flags: GSS_C_DELEG_FLAG | GSS_C_MUTUAL_FLAG | GSS_C_SEQUENCE_FLAG },
      { mechOID: 6 },
      { mechOID: 6 },
      { mechOID: 6 },
      { mechOID: 6 },
    ],
    'delegate: true on every context; false and absent: the package default (mutual, sequence)',
  );
  const real = await loadKerberos().catch(() => undefined);
  if (real) {
    const k = real as unknown as Record<string, number>;
    t.same(
      [k['GSS_C_DELEG_FLAG'], k['GSS_C_MUTUAL_FLAG'], k['GSS_C_SEQUENCE_FLAG']],
      [GSS_C_DELEG_FLAG, GSS_C_MUTUAL_FLAG, GSS_C_SEQUENCE_FLAG],
      "the kerberos package's own values",
    );
  }
});

t.test('no kerberos module: PI_KERBEROS_UNAVAILABLE says how to enable it', async (t) => {
  const err = await createPiAuth(
    { type: 'kerberos' },
    {
      baseUrl: 'http://127.0.0.1:1/piwebapi',
      loadKerberos: () => Promise.reject(new Error("Cannot find module 'kerberos'")),
    },
  ).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.match(err, { code: 'PI_KERBEROS_UNAVAILABLE', message: /Cannot find module 'kerberos'/ });
  t.match(err, { message: /libkrb5-dev/ });
  t.match(err, { message: /krb5-devel/ });
  t.match(err, { message: /basic or ntlm/ });
});

t.test('single binary without the MIT Kerberos libraries: PI_KERBEROS_UNAVAILABLE names the runtime packages', async (t) => {
  // What the binary's kerberos addon throws at load when libgssapi_krb5 is missing (kerberos_gss.cc).
  const cause = new Error('Opening library libgssapi_krb5.so.2 failed: libgssapi_krb5.so.2: cannot open shared object file: No such file or directory');
  const err = kerberosUnavailable(cause, { platform: 'linux', singleBinary: true });
  t.equal(err.code, 'PI_KERBEROS_UNAVAILABLE');
  t.match(err.message, /could not be loaded \(Opening library libgssapi_krb5\.so\.2 failed/);
  t.match(err.message, /dnf install krb5-libs/);
  t.match(err.message, /apt-get install libgssapi-krb5-2/);
  t.match(err.message, /basic or ntlm/);
  t.notMatch(err.message, /libkrb5-dev|reinstall/, 'no build advice for the binary');
  t.equal(err.cause, cause);
});

t.test('Kerberos against a real KDC', { skip: kerberosAvailable() ? false : KERBEROS_SKIP_REASON }, async (t) => {
  const kdc: Kdc = await startKdc();
  // The kerberos package reads these at each context init, in this process (kdc.ts).
  const restore = kdc.applyEnv();
  t.teardown(async () => {
    restore();
    await kdc.stop();
  });
  await kdc.kinit('alice', kdc.users.alice!);

  const sim = await createSimAuth({ mode: ['negotiate', 'ntlm'] });
  const srv = await startAuthServer(sim);
  const pool = newPool();
  t.teardown(async () => {
    await pool.close();
    await srv.close();
  });
  const send = sendOnceFor(srv.baseUrl + '/system', pool);

  t.test('alice authenticates end to end, with mutual authentication', async (t) => {
    const auth = await createPiAuth({ type: 'kerberos', spn: 'HTTP/localhost' }, { baseUrl: srv.baseUrl });
    t.equal(auth.scheme, 'negotiate');
    const start = srv.seen.length;
    const res = await auth.send(send);
    t.equal(res.status, 200);
    t.equal(json(res).user, 'alice@TEST.LOCAL');
    t.match(res.headers['www-authenticate'], /^Negotiate [A-Za-z0-9+/]+=*$/, 'mutual-auth token on the 200');
    const seen = srv.seen.slice(start);
    t.equal(seen.length, 2, 'one 401 challenge, then the token');
    t.equal(seen[0]!.authorization, undefined);
    t.match(seen[1]!.authorization, /^Negotiate YII/);

    // From now on each request carries a fresh token up front.
    const again = await auth.send(send);
    t.equal(json(again).user, 'alice@TEST.LOCAL');
    t.equal(srv.seen.length, start + 3);
    t.equal(sim.stats.kerberosLogins, 2);
    t.not(srv.seen.at(-1)!.authorization, seen[1]!.authorization, 'a new token per request');
  });

  t.test('delegate: the token carries a forwarded TGT from the KDC (forwardable ticket, kdc.ts)', async (t) => {
    const tokenOf = async (delegate: boolean): Promise<Buffer> => {
      const auth = await createPiAuth({ type: 'kerberos', spn: 'HTTP/localhost', delegate }, { baseUrl: srv.baseUrl });
      const start = srv.seen.length;
      const res = await auth.send(send);
      t.equal(res.status, 200);
      t.equal(json(res).user, 'alice@TEST.LOCAL', `authenticated, delegate ${delegate}`);
      return Buffer.from(srv.seen[start + 1]!.authorization!.replace(/^Negotiate /, ''), 'base64');
    };
    const trace = join(kdc.dir, 'krb5-trace.log');
    process.env.KRB5_TRACE = trace;
    t.teardown(() => {
      delete process.env.KRB5_TRACE;
    });
    await tokenOf(false); // the service ticket is now in the cache
    const mark0 = readFileSync(trace, 'utf8').length;
    const plain = await tokenOf(false);
    const mark1 = readFileSync(trace, 'utf8').length;
    const delegated = await tokenOf(true);
    const all = readFileSync(trace, 'utf8');
    t.notMatch(all.slice(mark0, mark1), /krbtgt\/TEST\.LOCAL@TEST\.LOCAL/, 'no TGT asked for without delegation');
    const traced = all.slice(mark1);
    t.comment(`token sizes: ${plain.length} bytes without delegation, ${delegated.length} with`);
    t.ok(delegated.length > plain.length + 300, 'the authenticator holds a KRB-CRED (the forwarded TGT)');
    t.match(traced, /requesting krbtgt\/TEST\.LOCAL@TEST\.LOCAL/, 'GSSAPI asked the KDC for a TGT to forward (KRB5_TRACE)');
  });

  t.test('no ticket in the cache is PI_AUTH_FAILED naming the SPN', async (t) => {
    const saved = process.env.KRB5CCNAME;
    process.env.KRB5CCNAME = 'FILE:' + join(kdc.dir, 'empty-ccache');
    t.teardown(() => {
      process.env.KRB5CCNAME = saved;
    });
    const auth = await createPiAuth({ type: 'kerberos', spn: 'HTTP/localhost' }, { baseUrl: srv.baseUrl });
    const err = await auth.send(send).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.match(err, { code: 'PI_AUTH_FAILED', message: /could not get a service ticket for HTTP@localhost/ });
    t.match(err, { message: /kinit/ });
    t.notOk(errorText(err).includes(kdc.users.alice!));
  });

  t.test('an SPN the realm does not know is PI_AUTH_FAILED', async (t) => {
    const auth = await createPiAuth({ type: 'kerberos', spn: 'HTTP/nosuchhost.localhost' }, { baseUrl: srv.baseUrl });
    await t.rejects(auth.send(send), { code: 'PI_AUTH_FAILED', message: /HTTP@nosuchhost\.localhost/ });
  });

  t.test('a forged mutual-authentication token on the 200 is PI_AUTH_FAILED', async (t) => {
    // A server that accepts any Negotiate token and cannot prove it holds the service key.
    const fake = createServer((req, res) => {
      if (!req.headers.authorization) res.writeHead(401, { 'WWW-Authenticate': 'Negotiate' });
      else res.writeHead(200, { 'WWW-Authenticate': 'Negotiate ' + Buffer.from('forged mutual token').toString('base64') });
      res.end();
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    t.teardown(() => new Promise<void>((resolve) => fake.close(() => resolve())));
    const base = `http://127.0.0.1:${(fake.address() as AddressInfo).port}/piwebapi`;
    const auth = await createPiAuth({ type: 'kerberos', spn: 'HTTP/localhost' }, { baseUrl: base });
    await t.rejects(auth.send(sendOnceFor(base + '/system', pool)), {
      code: 'PI_AUTH_FAILED',
      message: /mutual-authentication token for HTTP@localhost did not verify/,
    });
  });

  t.test('sim: a garbage Negotiate token is refused with 401', async (t) => {
    const res = await send({ authorization: 'Negotiate ' + Buffer.from('not a gss token').toString('base64') });
    t.equal(res.status, 401);
    t.same(res.headers['www-authenticate'], ['Negotiate', 'NTLM']);
  });

  t.test('sim: curl, an independent SPNEGO client, authenticates as alice', async (t) => {
    const out = await new Promise<string>((resolve) => {
      execFile(
        'curl',
        ['-s', '--negotiate', '-u', ':', '--resolve', `localhost:${srv.port}:127.0.0.1`, `http://localhost:${srv.port}/piwebapi/system`],
        { env: { ...process.env, ...kdc.env }, timeout: 15_000 },
        (_err, stdout) => resolve(stdout),
      );
    });
    t.same(JSON.parse(out).user, 'alice@TEST.LOCAL');
  });
});
