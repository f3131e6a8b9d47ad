import t from 'tap';
import { createPiAuth } from '../../../agent/pi/auth/index.js';
import { createSimAuth } from '../../sim/piwebapi/auth.js';
import { startSimulator } from '../../sim/piwebapi/server.js';
import { newPool, sendOnceFor } from './harness.js';

t.test('the simulator with several schemes enabled serves each agent scheme', async (t) => {
  const auth = await createSimAuth({
    mode: ['ntlm', 'basic', 'bearer'],
    users: { svc: 'Svc-Pass-1' },
    clients: { 'pi-agent': 'Client-Secret-1' },
  });
  const sim = await startSimulator({ auth });
  const pool = newPool();
  t.teardown(async () => {
    await pool.close();
    await sim.close();
  });
  const send = sendOnceFor(sim.url + '/system', pool);

  const anon = await send({});
  t.equal(anon.status, 401);
  t.same(anon.headers['www-authenticate'], ['NTLM', 'Basic realm="PI Web API"', 'Bearer']);

  const configs = [
    { type: 'ntlm', username: 'PISIM\\svc', password: 'Svc-Pass-1' },
    { type: 'basic', username: 'svc', password: 'Svc-Pass-1' },
    { type: 'oidc', client_id: 'pi-agent', client_secret: 'Client-Secret-1' },
  ] as const;
  for (const cfg of configs) {
    const pi = await createPiAuth(cfg, { baseUrl: sim.url });
    t.teardown(() => pi.close());
    const res = await pi.send(send);
    t.equal(res.status, 200, cfg.type);
    t.equal(typeof (JSON.parse(res.body.toString()) as { ProductTitle?: unknown }).ProductTitle, 'string', `${cfg.type}: /system body`);
  }
  t.equal(auth.stats.ntlmHandshakes, 1);
  t.equal(auth.stats.tokensIssued, 1);
});
