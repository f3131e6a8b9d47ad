/**
 * Throw-away TLS material for loopback test servers: a private CA and a server certificate for
 * 127.0.0.1 / localhost (SAN IP and DNS), made with the `openssl` CLI. Clients trust `caPath`.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCerts {
  caPem: string;
  certPem: string;
  keyPem: string;
  /** `<dir>/ca.pem`, the file a client passes as its CA bundle. */
  caPath: string;
}

/** `dnsNames`: more names the server certificate covers (SAN DNS), e.g. `*.emulator.invalid`. */
export async function makeTestCerts(dir: string, dnsNames: readonly string[] = []): Promise<TestCerts> {
  await mkdir(dir, { recursive: true });
  const p = (name: string): string => join(dir, name);
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });

  await openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '30',
    '-keyout',
    p('ca-key.pem'),
    '-out',
    p('ca.pem'),
    '-subj',
    '/CN=pi-agent test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  await openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('server-key.pem'), '-out', p('server.csr'), '-subj', '/CN=localhost');
  // The extension file is needed because `openssl x509 -req` ignores the CSR's extensions.
  await writeFile(
    p('server.ext'),
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=${['IP:127.0.0.1', 'DNS:localhost', ...dnsNames.map((n) => `DNS:${n}`)].join(',')}`,
      '',
    ].join('\n'),
  );
  await openssl(
    'x509',
    '-req',
    '-in',
    p('server.csr'),
    '-CA',
    p('ca.pem'),
    '-CAkey',
    p('ca-key.pem'),
    '-CAcreateserial',
    '-days',
    '30',
    '-sha256',
    '-extfile',
    p('server.ext'),
    '-out',
    p('server.pem'),
  );

  const [caPem, certPem, keyPem] = await Promise.all([readFile(p('ca.pem'), 'utf8'), readFile(p('server.pem'), 'utf8'), readFile(p('server-key.pem'), 'utf8')]);
  return { caPem, certPem, keyPem, caPath: p('ca.pem') };
}
