/**
 * `dpapi:` secrets. DPAPI itself exists only on Windows (not on this machine): these tests pin what
 * can be checked here — the refusal elsewhere, the input validation, the exact PowerShell exchange
 * (blob on stdin, base64 plaintext on stdout) with a stand-in runner, and that neither the blob nor the
 * secret reaches an error message.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { loadConfig } from '../../agent/config/index.js';
import { unprotectDpapi, type PowerShellRunner } from '../../agent/config/dpapi.js';
import { ConfigError } from '../../agent/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'pi-agent-dpapi-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const BLOB = Buffer.from('not really encrypted, only a stand-in blob').toString('base64');
const SECRET = 'pässwörd-Ω-42';

function config(password: string): string {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    file,
    `site: a
pi:
  url: https://pi.plant/piwebapi
  auth: { type: basic, username: pi, password: "${password}" }
sink: { type: directory, path: out }
`,
  );
  chmodSync(file, 0o600);
  return file;
}

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

t.test('the stand-in runner gets the blob on stdin and the secret comes back decoded', async (t) => {
  const calls: { script: string; stdin: string }[] = [];
  const run: PowerShellRunner = (script, stdin) => {
    calls.push({ script, stdin });
    return Buffer.from(SECRET, 'utf8').toString('base64') + '\r\n';
  };
  const c = loadConfig(config(`dpapi:${BLOB}`), { env: {}, dpapi: { platform: 'win32', run } });
  t.same(c.pi.auth, { type: 'basic', username: 'pi', password: SECRET });
  t.equal(calls.length, 1);
  t.equal(calls[0]!.stdin, BLOB, 'the blob travels on stdin, not on the command line');
  t.notOk(calls[0]!.script.includes(BLOB));
  t.match(calls[0]!.script, /ProtectedData\]::Unprotect/);
});

t.test('on Linux a dpapi: secret is refused with what to write instead', async (t) => {
  const p = problems(() => loadConfig(config(`dpapi:${BLOB}`), { env: {}, dpapi: { platform: 'linux' } }));
  t.equal(p.length, 1);
  t.match(p[0]!, /:4:\d+: pi\.auth\.password: dpapi: secrets can only be decrypted on Windows — on this machine use \$\{ENV_VAR\} or file:/);
  t.notOk(p[0]!.includes(BLOB));
});

t.test('a blob that does not decrypt names the scope rule, never the blob or PowerShell output', async (t) => {
  const run: PowerShellRunner = () => {
    throw new Error(`Exception calling "Unprotect": Key not valid for use in specified state. ${BLOB}`);
  };
  const p = problems(() => loadConfig(config(`dpapi:${BLOB}`), { env: {}, dpapi: { platform: 'win32', run } }));
  t.equal(p.length, 1);
  t.match(p[0]!, /dpapi: the secret could not be decrypted — it must be protected on this machine \(LocalMachine scope\) or by the account the service runs as/);
  t.notOk(p[0]!.includes(BLOB));
  t.notOk(p[0]!.includes('Key not valid'));
});

t.test('not base64, or empty after decryption', async (t) => {
  t.same(unprotectDpapi('abc$%', { platform: 'win32', run: () => 'x' }), {
    problem: 'dpapi: value is not base64',
    hint: 'paste the whole output of the protect command in installer/windows/README.md after dpapi:',
  });
  t.match(unprotectDpapi(BLOB, { platform: 'win32', run: () => '' }), { problem: 'dpapi: the decrypted secret is empty' });
});

t.test('read-only commands (status) do not decrypt', async (t) => {
  let called = 0;
  const c = loadConfig(config(`dpapi:${BLOB}`), { env: {}, resolveSecrets: false, dpapi: { platform: 'win32', run: () => (called++, '') } });
  t.same(c.pi.auth, { type: 'basic', username: 'pi', password: '' });
  t.equal(called, 0);
});
