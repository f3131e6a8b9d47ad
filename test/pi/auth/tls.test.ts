import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { createPiAuth } from '../../../agent/pi/auth/index.js';
import { createSimAuth } from '../../sim/piwebapi/auth.js';
import { makeTestCerts } from '../../sim/tls.js';
import { json, sendOnceFor, startAuthServer } from './harness.js';

t.test('over HTTPS with a private CA: the CA option reaches the NTLM connection and the OIDC calls', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'pi-agent-auth-tls-'));
  const certs = await makeTestCerts(dir);
  const sim = await createSimAuth({ mode: ['ntlm', 'bearer'], users: { svc: 'Tls-Pass-1' }, clients: { agent: 'Tls-Secret-1' } });
  const srv = await startAuthServer(sim, { tls: { cert: certs.certPem, key: certs.keyPem } });
  const pool = new Agent({ connect: { ca: certs.caPem } });
  t.teardown(async () => {
    await pool.close();
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  });
  const send = sendOnceFor(srv.baseUrl + '/system', pool);

  const ntlm = await createPiAuth({ type: 'ntlm', username: 'svc', password: 'Tls-Pass-1', domain: 'PISIM' }, { baseUrl: srv.baseUrl, ca: certs.caPem });
  t.teardown(() => ntlm.close());
  const r1 = await ntlm.send(send);
  t.equal(r1.status, 200);
  t.equal(json(r1).user, 'PISIM\\svc');
  t.equal(json(await ntlm.send(send)).remotePort, json(r1).remotePort, 'same TLS connection');
  t.equal(sim.stats.ntlmHandshakes, 1);

  const oidc = await createPiAuth({ type: 'oidc', client_id: 'agent', client_secret: 'Tls-Secret-1' }, { baseUrl: srv.baseUrl, ca: Buffer.from(certs.caPem) });
  t.teardown(() => oidc.close());
  t.equal(json(await oidc.send(send)).user, 'agent');

  // Without the CA, verification stays on and fails loudly.
  const untrusting = await createPiAuth({ type: 'oidc', client_id: 'agent', client_secret: 'Tls-Secret-1' }, { baseUrl: srv.baseUrl });
  t.teardown(() => untrusting.close());
  await t.rejects(untrusting.send(send), { code: 'PI_UNREACHABLE', retryable: true, message: /openid-configuration.*(certificate|self.signed)/i });
  const ntlmUntrusting = await createPiAuth({ type: 'ntlm', username: 'svc', password: 'Tls-Pass-1' }, { baseUrl: srv.baseUrl });
  t.teardown(() => ntlmUntrusting.close());
  await t.rejects(ntlmUntrusting.send(send), { message: /certificate|self.signed/i });
});
