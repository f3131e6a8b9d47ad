/**
 * The agent end to end (tag discovery, recorded values, directory sink) behind each authentication
 * scheme the simulator offers (fidelity §10): Basic, NTLM, OIDC client credentials with tokens that
 * expire during the run, and Kerberos against a real KDC on loopback. Every tag's data must equal
 * the archive exactly.
 */
import t, { type Test } from 'tap';
import { expectedEvents, idOnly, landedEventsByTag, makeAgentEnv, runAgentOnce, simAgentYaml, type AgentEnv } from '../../helpers/agent-env.js';
import { kerberosAvailable, KERBEROS_SKIP_REASON, startKdc } from '../../helpers/kdc.js';
import { landedTable } from '../../helpers/landed.js';
import { createSimAuth, type SimAuthOptions } from '../../sim/piwebapi/auth.js';
import { startSimulator, type RunningSim } from '../../sim/piwebapi/server.js';

const START = '2026-01-01T00:00:00Z';
const TAGS = 4;

async function setup(t: Test, authOpts: SimAuthOptions, authYaml: string, env: Record<string, string> = {}) {
  for (const [k, v] of Object.entries(env)) {
    const before = process.env[k];
    process.env[k] = v;
    t.teardown(() => {
      if (before === undefined) delete process.env[k];
      else process.env[k] = before;
    });
  }
  const auth = await createSimAuth(authOpts);
  const sim = await startSimulator({ port: 0, tags: TAGS, seed: 41, historyStart: START, now: '2026-01-01T03:00:00Z', auth });
  const agentEnv = makeAgentEnv((paths) =>
    simAgentYaml(paths, {
      piUrl: sim.url,
      pi: { auth: authYaml, max_count: 20, tags_per_request: TAGS },
      timeseries: { lookback: '30m' },
    }),
  );
  t.teardown(async () => {
    await sim.close();
    agentEnv.cleanup();
  });
  return { auth, sim, env: agentEnv };
}

const once = runAgentOnce;

async function runAndCompare(t: Test, sim: RunningSim, env: AgentEnv): Promise<void> {
  t.same(await once(env), { ok: true, problems: [] }, 'run --once is ok');
  const landed = landedEventsByTag((await landedTable(env.outDir, 'pi_timeseries')).values());
  let events = 0;
  for (let i = 0; i < TAGS; i++) {
    const want = expectedEvents(sim.sim.truth(i, START, sim.sim.nowIso()));
    events += want.length;
    t.same(landed.get(idOnly(sim.sim.tagWebId(i))) ?? [], want, `${sim.sim.tagName(i)}: ${want.length} events equal the archive`);
  }
  t.ok(events > TAGS * 20, `${events} events, several pages of 20`);
}

t.test('Basic', async (t) => {
  const { sim, env } = await setup(t, { mode: 'basic', users: { 'pi-reader': 'b4sic-pw' } }, '{ type: basic, username: pi-reader, password: ${TS_AUTH_BASIC_PW} }', {
    TS_AUTH_BASIC_PW: 'b4sic-pw',
  });
  await runAndCompare(t, sim, env);
});

t.test('Basic with a wrong password fails the run with PI_AUTH_FAILED and lands nothing', async (t) => {
  const { env } = await setup(t, { mode: 'basic', users: { 'pi-reader': 'b4sic-pw' } }, '{ type: basic, username: pi-reader, password: ${TS_AUTH_BASIC_PW} }', {
    TS_AUTH_BASIC_PW: 'wrong-pw',
  });
  const r = await once(env);
  t.equal(r.ok, false);
  t.match(r.problems.join('\n'), /PI_AUTH_FAILED/);
  t.notOk(r.problems.join('\n').includes('wrong-pw'), 'the password is not in the problems');
  t.equal((await landedTable(env.outDir, 'pi_timeseries')).size, 0);
});

t.test('NTLM', async (t) => {
  const { auth, sim, env } = await setup(
    t,
    { mode: 'ntlm', users: { svc_pi: 'Ntlm-pw-1' }, ntlmDomain: 'PLANT' },
    '{ type: ntlm, username: svc_pi, password: ${TS_AUTH_NTLM_PW}, domain: PLANT }',
    { TS_AUTH_NTLM_PW: 'Ntlm-pw-1' },
  );
  await runAndCompare(t, sim, env);
  t.ok(auth.stats.ntlmHandshakes >= 1, `${auth.stats.ntlmHandshakes} NTLM handshake(s)`);
});

t.test('OIDC client credentials, tokens shorter-lived than the run', async (t) => {
  const { auth, sim, env } = await setup(
    t,
    { mode: 'bearer', clients: { 'pi-agent': 'oidc-secret-1' }, tokenLifetimeSeconds: 2 },
    '{ type: oidc, client_id: pi-agent, client_secret: ${TS_AUTH_OIDC_SECRET} }',
    { TS_AUTH_OIDC_SECRET: 'oidc-secret-1' },
  );
  // Each /batch takes 400 ms, so the paged reads outlast several 2 s tokens.
  sim.sim.setFaults([{ kind: 'slow', route: '/batch', delayMs: 400 }]);
  const began = Date.now();
  await runAndCompare(t, sim, env);
  const ms = Date.now() - began;
  t.ok(auth.stats.tokensIssued > 1, `${auth.stats.tokensIssued} tokens issued in a ${ms} ms run`);
  t.equal(auth.stats.unauthorized, 0, 'no request was refused: tokens were renewed before they expired');
});

t.test('Kerberos against a real KDC', { skip: kerberosAvailable() ? false : KERBEROS_SKIP_REASON }, async (t) => {
  const kdc = await startKdc();
  // The kerberos package reads KRB5_* at each context init, in this process (kdc.ts).
  const restore = kdc.applyEnv();
  t.teardown(async () => {
    restore();
    await kdc.stop();
  });
  await kdc.kinit('alice', kdc.users['alice']!);
  const { auth, sim, env } = await setup(t, { mode: 'negotiate' }, '{ type: kerberos, spn: HTTP/localhost }');
  await runAndCompare(t, sim, env);
  t.ok(auth.stats.kerberosLogins >= 1, `${auth.stats.kerberosLogins} Kerberos logins`);
});
