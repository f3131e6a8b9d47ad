/**
 * Issue 17 item 4, through the plant's proxy from the config file: `sink.proxy` with a login by
 * secret reference; the PI simulator → agent (run once) → CONNECT proxy → warehouse emulator, whose
 * workspace and storage names resolve only in the proxy (`*.emulator.invalid`, RFC 6761 §6.4).
 * `check` names the proxy (never the password); a wrong password fails check with the proxy's name.
 */
import t from 'tap';
import { loadConfig } from '../../agent/config/load.js';
import { bareLogger } from '../../agent/observe/log.js';
import { check } from '../../agent/service/check.js';
import { startConnectProxy } from '../helpers/connect-proxy.js';
import { assertExact, once, startRig } from './dbx-env.js';

const PASSWORD = 'pr0xy-e2e-s3cret';
process.env.E2E_PROXY_PASSWORD = PASSWORD;

t.test('run once and check through the proxy; wrong password named in check', async (t) => {
  const proxy = await startConnectProxy({ login: { username: 'svc-pi-agent', password: PASSWORD }, map: { '*.emulator.invalid': '127.0.0.1' } });
  t.teardown(() => proxy.close());
  const sinkProxy = (passwordVar: string) =>
    `  proxy:\n    url: ${proxy.url}\n    username: svc-pi-agent\n    password: \${${passwordVar}}\n    no_proxy: [plant.local]\n`;
  const { sim, w, env } = await startRig(t, {
    tags: 4,
    now: '2026-01-01T01:00:00Z',
    sinkHost: 'workspace.emulator.invalid',
    stagingHost: 'files.emulator.invalid',
    sinkExtra: sinkProxy('E2E_PROXY_PASSWORD'),
  });

  let out = '';
  const io = { pi: false, sink: true, logger: bareLogger('silent'), print: (s: string) => void (out += s) };
  t.equal(await check(env.config(), io), 'ok', out);
  t.match(out, `through proxy ${proxy.url} as svc-pi-agent, not for plant.local`);
  t.notMatch(out, PASSWORD);

  t.same(await once(env), { ok: true, problems: [] }, 'run once ok');
  await assertExact(t, sim, w, sim.sim.nowIso(), 'through the proxy');
  t.ok((proxy.tunnels.get('workspace.emulator.invalid') ?? 0) >= 1, 'warehouse through the proxy');
  t.ok((proxy.tunnels.get('files.emulator.invalid') ?? 0) >= 1, 'presigned uploads through the proxy');

  const wrong = loadConfig(env.configFile, { env: { ...process.env, E2E_PROXY_PASSWORD: 'wrong-proxy-password' } });
  out = '';
  t.equal(await check(wrong, io), 'failed');
  t.match(out, new RegExp(`FAIL .*proxy 127\\.0\\.0\\.1:${proxy.port} refused the login \\(HTTP 407`));
  t.notMatch(out, 'wrong-proxy-password');
});
