import t from 'tap';
import type { Test } from 'tap';
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { createPiAuth } from '../../../agent/pi/auth/index.js';
import { md4, md4Js } from '../../../agent/pi/auth/md4.js';
import { answerChallenge, decodeAuthenticate, encodeTargetInfo, ntowfv2 } from '../../../agent/pi/auth/ntlm-messages.js';
import { ntlmIdentity } from '../../../agent/pi/auth/ntlm.js';
import { createSimAuth } from '../../sim/piwebapi/auth.js';
import { errorText, json, newPool, sendOnceFor, startAuthServer } from './harness.js';

const PASSWORD = 'Ntlm-Secret-Pa55!';

t.test('MD4 matches RFC 1320 and the MS-NLMP NT hash', async (t) => {
  const vectors: Array<[string, string]> = [
    ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
    ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
    ['message digest', 'd9130a8164549fe818874806e1c7014b'],
    ['12345678901234567890123456789012345678901234567890123456789012345678901234567890', 'e33b4ddc9c38f2199c3e7b164fcc0536'],
  ];
  for (const [input, hex] of vectors) {
    t.equal(md4Js(Buffer.from(input)).toString('hex'), hex, JSON.stringify(input));
    t.equal(md4(Buffer.from(input)).toString('hex'), hex);
  }
  t.equal(md4(Buffer.from('Password', 'utf16le')).toString('hex'), 'a4f49c406510bdcab6824ee7c30fd852');
});

t.test('NTLMv2 reproduces MS-NLMP §4.2.4', async (t) => {
  t.equal(ntowfv2('Password', 'User', 'Domain').toString('hex'), '0c868a403bfd7a93a3001ef22ef02e3f');
  const targetInfo = encodeTargetInfo([
    { id: 2, value: Buffer.from('Domain', 'utf16le') },
    { id: 1, value: Buffer.from('Server', 'utf16le') },
  ]);
  const type3 = answerChallenge(
    { flags: 0xe28a8233, serverChallenge: Buffer.from('0123456789abcdef', 'hex'), targetName: 'Domain', targetInfo },
    { user: 'User', password: 'Password', domain: 'Domain', workstation: 'COMPUTER' },
    { clientChallenge: Buffer.alloc(8, 0xaa), now: -11644473600000 /* FILETIME 0 */ },
  );
  const a = decodeAuthenticate(type3);
  t.equal(a.ntResponse.subarray(0, 16).toString('hex'), '68cd0ab851e51c96aabc927bebef6a1c', 'NTProofStr');
  t.equal(a.lmResponse.toString('hex'), '86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa', 'LMv2');
  t.same([a.user, a.domain, a.workstation], ['User', 'Domain', 'COMPUTER']);
});

t.test('user names: DOMAIN\\user splits, a UPN goes whole', async (t) => {
  t.same(ntlmIdentity('PISIM\\svc', undefined), { domain: 'PISIM', user: 'svc' });
  t.same(ntlmIdentity('svc@pisim.local', undefined), { domain: '', user: 'svc@pisim.local' });
  t.same(ntlmIdentity('svc', 'CORP'), { domain: 'CORP', user: 'svc' });
});

async function setup(t: Test) {
  const sim = await createSimAuth({ mode: ['negotiate', 'ntlm'], users: { svc: PASSWORD }, ntlmDomain: 'PISIM' });
  const srv = await startAuthServer(sim);
  const pool = newPool();
  t.teardown(async () => {
    await pool.close();
    await srv.close();
  });
  return { sim, srv, send: sendOnceFor(srv.baseUrl + '/system', pool) };
}

t.test('ntlm: right password; later requests reuse the authenticated connection', async (t) => {
  const { sim, srv, send } = await setup(t);
  const auth = await createPiAuth({ type: 'ntlm', username: 'svc', password: PASSWORD, domain: 'PISIM' }, { baseUrl: srv.baseUrl });
  t.teardown(() => auth.close());
  t.equal(auth.scheme, 'ntlm');
  const first = await auth.send(send);
  t.equal(first.status, 200);
  t.equal(json(first).user, 'PISIM\\svc');
  // probe (401 listing schemes) → type 1 (401 + type 2) → type 3 (200), all on one socket.
  t.equal(srv.seen.length, 3);
  t.equal(new Set(srv.seen.map((s) => s.remotePort)).size, 1);
  t.match(srv.seen[1]!.authorization, /^NTLM TlRMTVNTUAAB/);
  t.match(srv.seen[2]!.authorization, /^NTLM TlRMTVNTUAAD/);

  const more = [];
  for (let i = 0; i < 5; i++) more.push(await auth.send(send));
  t.same(
    more.map((r) => r.status),
    [200, 200, 200, 200, 200],
  );
  t.same(new Set(more.map((r) => json(r).remotePort)), new Set([json(first).remotePort]), 'same connection');
  t.equal(sim.stats.ntlmHandshakes, 1);
  t.equal(srv.seen.length, 8, 'no more handshakes');
  t.same(
    srv.seen.slice(3).map((s) => s.authorization),
    [undefined, undefined, undefined, undefined, undefined],
  );

  // Concurrent sends are serialized over the one connection.
  const parallel = await Promise.all(Array.from({ length: 4 }, () => auth.send(send)));
  t.same(
    parallel.map((r) => json(r).remotePort),
    Array(4).fill(json(first).remotePort),
  );
  t.equal(sim.stats.ntlmHandshakes, 1);
});

t.test('ntlm: a new connection must handshake again', async (t) => {
  const { sim, srv, send } = await setup(t);
  const auth = await createPiAuth({ type: 'ntlm', username: 'PISIM\\svc', password: PASSWORD }, { baseUrl: srv.baseUrl });
  t.teardown(() => auth.close());
  const a = await auth.send(send);
  t.equal(a.status, 200);

  // Another socket without the handshake is refused, although this one is authenticated.
  const raw = await new Promise<string>((resolve, reject) => {
    const s = connect(srv.port, '127.0.0.1', () => s.end('GET /piwebapi/system HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    let data = '';
    s.on('data', (d) => {
      data += d.toString();
    });
    s.on('end', () => resolve(data));
    s.on('error', reject);
  });
  t.match(raw, /^HTTP\/1\.1 401/);

  // The server drops the connection (restart, idle timeout): the agent handshakes on the new one.
  await srv.dropConnections();
  const b = await auth.send(send);
  t.equal(b.status, 200);
  t.not(json(b).remotePort, json(a).remotePort);
  t.equal(sim.stats.ntlmHandshakes, 2);

  // A second agent session is a second connection with its own handshake.
  const other = await createPiAuth({ type: 'ntlm', username: 'svc', password: PASSWORD, domain: 'PISIM' }, { baseUrl: srv.baseUrl });
  t.teardown(() => other.close());
  t.equal((await other.send(send)).status, 200);
  t.equal(sim.stats.ntlmHandshakes, 3);
});

t.test('ntlm: a wrong password is PI_AUTH_FAILED without the password', async (t) => {
  const { sim, srv, send } = await setup(t);
  const wrong = 'Wrong-Ntlm-Pass-33';
  const auth = await createPiAuth({ type: 'ntlm', username: 'svc', password: wrong, domain: 'PISIM' }, { baseUrl: srv.baseUrl });
  t.teardown(() => auth.close());
  const err = await auth.send(send).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.match(err, { code: 'PI_AUTH_FAILED', status: 401, message: /rejected NTLM authentication for PISIM\\svc/ });
  t.equal(sim.stats.ntlmHandshakes, 0);
  const text = errorText(err);
  t.notOk(text.includes(wrong));
  t.notOk(text.includes(PASSWORD));

  const unknown = await createPiAuth({ type: 'ntlm', username: 'svc', password: PASSWORD, domain: 'OTHER' }, { baseUrl: srv.baseUrl });
  t.teardown(() => unknown.close());
  await t.rejects(unknown.send(send), { code: 'PI_AUTH_FAILED', message: /OTHER\\svc/ });
});

t.test('ntlm: a server offering only Negotiate gets NTLM inside Negotiate', async (t) => {
  const sim = await createSimAuth({ mode: 'negotiate', users: { svc: PASSWORD } });
  const srv = await startAuthServer(sim);
  const pool = newPool();
  t.teardown(async () => {
    await pool.close();
    await srv.close();
  });
  const auth = await createPiAuth({ type: 'ntlm', username: 'svc', password: PASSWORD, domain: 'PISIM' }, { baseUrl: srv.baseUrl });
  t.teardown(() => auth.close());
  const send = sendOnceFor(srv.baseUrl + '/system', pool);
  t.equal(json(await auth.send(send)).user, 'PISIM\\svc');
  t.match(srv.seen[1]!.authorization, /^Negotiate TlRMTVNTUAAB/);
  t.match(srv.seen[2]!.authorization, /^Negotiate TlRMTVNTUAAD/);
  t.equal((await auth.send(send)).status, 200);
  t.equal(sim.stats.ntlmHandshakes, 1);
});

t.test('ntlm: a server without NTLM is named in the error', async (t) => {
  const srv = await startAuthServer(await createSimAuth({ mode: 'basic' }));
  const pool = newPool();
  t.teardown(async () => {
    await pool.close();
    await srv.close();
  });
  const auth = await createPiAuth({ type: 'ntlm', username: 'svc', password: PASSWORD }, { baseUrl: srv.baseUrl });
  t.teardown(() => auth.close());
  await t.rejects(auth.send(sendOnceFor(srv.baseUrl + '/system', pool)), {
    code: 'PI_AUTH_FAILED',
    message: /does not offer NTLM \(HTTP 401; the server offers: Basic\)/,
  });
});

function curl(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    execFile('curl', ['-s', '-w', '\n%{http_code}', ...args], { timeout: 15_000 }, (err, stdout) => {
      resolve({ code: err && typeof err.code === 'number' ? err.code : 0, out: stdout });
    });
  });
}

t.test('sim: curl, an independent NTLM client, authenticates (and fails with a wrong password)', async (t) => {
  const { srv } = await setup(t);
  const ok = await curl(['--ntlm', '-u', `PISIM\\svc:${PASSWORD}`, srv.baseUrl + '/system']);
  const [body, status] = ok.out.split('\n');
  t.equal(status, '200');
  t.equal(JSON.parse(body!).user, 'PISIM\\svc');
  const bad = await curl(['--ntlm', '-u', 'PISIM\\svc:nope', srv.baseUrl + '/system']);
  t.equal(bad.out.split('\n').at(-1), '401');
});
