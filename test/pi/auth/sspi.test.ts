/**
 * Kerberos on Windows through SSPI (node-expose-sspi's addon), with a fake SSPI module at the
 * module boundary: the calls the agent makes (Negotiate, outbound credentials, the SPN, mutual
 * authentication with the server's token, handles freed) and what it sends PI Web API. A real
 * SSPI needs a domain controller (platform-notes.md): not possible here.
 */
import t from 'tap';
import { KerberosAuth, kerberosUnavailable } from '../../../agent/pi/auth/kerberos.js';
import { isSspiAddon, sspiKerberos, type SspiAddon } from '../../../agent/pi/auth/sspi.js';
import type { RawResponse } from '../../../agent/pi/auth/types.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const ab = (s: string) => {
  const b = Buffer.from(s);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.length);
};

function fakeSspi(statuses: string[]) {
  const calls: unknown[] = [];
  let n = 0;
  const addon: SspiAddon = {
    sspi: {
      AcquireCredentialsHandle: (input) => {
        calls.push(['AcquireCredentialsHandle', input]);
        return { credential: { cred: ++n } };
      },
      InitializeSecurityContext: (input) => {
        const { credential, contextHandle, SecBufferDesc, ...rest } = input;
        calls.push([
          'InitializeSecurityContext',
          { credential, contextHandle, in: SecBufferDesc ? Buffer.from(SecBufferDesc.buffers[0]!).toString() : undefined, ...rest },
        ]);
        const status = statuses.shift() ?? 'SEC_E_INTERNAL_ERROR';
        return {
          contextHandle: contextHandle ?? { ctx: ++n },
          SECURITY_STATUS: status,
          SecBufferDesc: { ulVersion: 0, buffers: [ab(status === 'SEC_E_OK' ? '' : 'AP-REQ')] },
        };
      },
      DeleteSecurityContext: (h) => void calls.push(['DeleteSecurityContext', h]),
      FreeCredentialsHandle: (c) => void calls.push(['FreeCredentialsHandle', c]),
    },
  };
  return { addon, calls };
}

const res = (status: number, headers: Record<string, string> = {}): RawResponse => ({ status, headers, body: Buffer.from('{}') });

t.test('a request authenticates as the service account through SSPI, with mutual authentication', async (t) => {
  const { addon, calls } = fakeSspi(['SEC_I_CONTINUE_NEEDED', 'SEC_E_OK']);
  t.ok(isSspiAddon(addon));
  t.notOk(isSspiAddon({ initializeClient() {} }), 'the kerberos package is not taken for SSPI');
  const auth = new KerberosAuth(sspiKerberos(addon), 'HTTP/piwebapi.plant.local');
  const sent: Record<string, string>[] = [];
  const r = await auth.send(async (h) => {
    sent.push(h);
    return h.authorization ? res(200, { 'www-authenticate': `Negotiate ${b64('AP-REP')}` }) : res(401, { 'www-authenticate': 'Negotiate' });
  });
  t.equal(r.status, 200);
  t.same(sent, [{}, { authorization: `Negotiate ${b64('AP-REQ')}` }], 'challenge, then the SSPI token');
  t.same(calls, [
    ['AcquireCredentialsHandle', { packageName: 'Negotiate', credentialUse: 'SECPKG_CRED_OUTBOUND' }],
    [
      'InitializeSecurityContext',
      {
        credential: { cred: 1 },
        contextHandle: undefined,
        in: undefined,
        targetName: 'HTTP/piwebapi.plant.local',
        cbMaxToken: 48256,
        contextReq: ['ISC_REQ_MUTUAL_AUTH'],
        targetDataRep: 'SECURITY_NATIVE_DREP',
      },
    ],
    [
      'InitializeSecurityContext',
      {
        credential: { cred: 1 },
        contextHandle: { ctx: 2 },
        in: 'AP-REP',
        targetName: 'HTTP/piwebapi.plant.local',
        cbMaxToken: 48256,
        contextReq: ['ISC_REQ_MUTUAL_AUTH'],
        targetDataRep: 'SECURITY_NATIVE_DREP',
      },
    ],
    ['DeleteSecurityContext', { ctx: 2 }],
    ['FreeCredentialsHandle', { cred: 1 }],
  ]);
});

t.test('SSPI refusing (no ticket for the SPN) is PI_AUTH_FAILED naming the SPN and the status; handles are freed', async (t) => {
  const { addon, calls } = fakeSspi(['SEC_E_TARGET_UNKNOWN']);
  const auth = new KerberosAuth(sspiKerberos(addon), 'HTTP/piwebapi.plant.local');
  const err = await auth
    .send(async () => res(401, { 'www-authenticate': 'Negotiate' }))
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  t.match(err, { code: 'PI_AUTH_FAILED', message: /HTTP\/piwebapi\.plant\.local.*SEC_E_TARGET_UNKNOWN/ });
  t.same(
    calls.filter((c) => (c as string[])[0] !== 'InitializeSecurityContext'),
    [
      ['AcquireCredentialsHandle', { packageName: 'Negotiate', credentialUse: 'SECPKG_CRED_OUTBOUND' }],
      ['FreeCredentialsHandle', { cred: 1 }],
    ],
  );
});

t.test('a mutual-authentication token that does not verify is refused', async (t) => {
  const { addon } = fakeSspi(['SEC_I_CONTINUE_NEEDED', 'SEC_E_MUTUAL_AUTH_FAILED']);
  const auth = new KerberosAuth(sspiKerberos(addon), 'HTTP/piwebapi.plant.local');
  const err = await auth
    .send(async (h) => (h.authorization ? res(200, { 'www-authenticate': `Negotiate ${b64('FORGED')}` }) : res(401, { 'www-authenticate': 'Negotiate' })))
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  t.match(err, { message: /mutual-authentication token for HTTP\/piwebapi\.plant\.local did not verify/ });
});

t.test('on Windows, a missing SSPI module says what to use instead (not libkrb5-dev)', async (t) => {
  const e = kerberosUnavailable(new Error('native module node_expose_sspi is not part of this pi-agent binary'), { platform: 'win32' });
  t.equal(e.code, 'PI_KERBEROS_UNAVAILABLE');
  t.equal(
    e.message,
    "Kerberos on Windows uses SSPI through the 'node-expose-sspi' module, which could not be loaded (native module node_expose_sspi is not part of this pi-agent binary). Use the release's pi-agent-win-x64.exe, which carries it, or set pi.auth.type to ntlm or basic.",
  );
});

t.test('pi.auth.delegate asks SSPI for a delegated credential (ISC_REQ_DELEGATE); without it, not', async (t) => {
  for (const delegate of [true, false]) {
    const { addon, calls } = fakeSspi(['SEC_E_OK']);
    const auth = new KerberosAuth(sspiKerberos(addon), 'HTTP/piwebapi.plant.local', { delegate });
    await auth.send(async (h) => (h.authorization ? res(200) : res(401, { 'www-authenticate': 'Negotiate' })));
    const init = calls.find((c) => (c as unknown[])[0] === 'InitializeSecurityContext') as [string, { contextReq: string[] }];
    t.same(init[1].contextReq, delegate ? ['ISC_REQ_MUTUAL_AUTH', 'ISC_REQ_DELEGATE'] : ['ISC_REQ_MUTUAL_AUTH'], `delegate: ${delegate}`);
  }
});

t.test('on Windows, a refused ticket says what to check there (account, domain controller, SPN, delegation), never kinit', async (t) => {
  const { addon } = fakeSspi(['SEC_E_TARGET_UNKNOWN']);
  const auth = new KerberosAuth(sspiKerberos(addon), 'HTTP/piwebapi.plant.local', { delegate: false, platform: 'win32' });
  const err = (await auth
    .send(async () => res(401, { 'www-authenticate': 'Negotiate' }))
    .then(
      () => undefined,
      (e: unknown) => e,
    )) as Error;
  t.match(err, { code: 'PI_AUTH_FAILED' });
  t.match(err.message, /domain account \(or gMSA\).*domain controller.*setspn -Q HTTP\/<host>.*delegated/);
  t.notMatch(err.message, /kinit|KRB5_CLIENT_KTNAME|libkrb5/);
});
