/**
 * A throw-away MIT Kerberos realm on loopback for tests (platform-notes.md, "A Kerberos realm on
 * loopback"): a temp dir with krb5.conf/kdc.conf, a fresh database, the user principals with
 * passwords, `HTTP/localhost` in a keytab, and `krb5kdc` listening on 127.0.0.1 only.
 *
 * MIT krb5 reads KRB5_CONFIG, KRB5CCNAME and KRB5_KTNAME whenever a krb5 context is created (every
 * GSS context init/accept), so a test may put `kdc.env` into `process.env` (`applyEnv`) before its
 * first GSS call and the in-process `kerberos` package follows it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface KdcOptions {
  /** Default TEST.LOCAL. */
  realm?: string;
  /** User principals and their passwords; default `{ alice: <random> }`. */
  users?: Record<string, string>;
  /** Service principals put into the keytab (KRB5_KTNAME); default `['HTTP/localhost']`. */
  services?: string[];
}

export interface Kdc {
  readonly realm: string;
  readonly dir: string;
  readonly port: number;
  /** The passwords of the user principals (test data, not secrets). */
  readonly users: Record<string, string>;
  /** KRB5_CONFIG, KRB5_KDC_PROFILE, KRB5CCNAME, KRB5_KTNAME, KRB5RCACHEDIR for this realm. */
  readonly env: Record<string, string>;
  /** Gets `user`'s ticket into the realm's credential cache (KRB5CCNAME). */
  kinit(user: string, password: string): Promise<void>;
  /** Puts `env` into process.env; returns a function that restores the previous values. */
  applyEnv(): () => void;
  stop(): Promise<void>;
}

const SBIN = ['/usr/sbin', '/usr/local/sbin', '/usr/bin', '/usr/local/bin'];

function findTool(name: string): string | undefined {
  for (const d of SBIN) {
    const p = join(d, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** true when the MIT KDC tools are installed (krb5-kdc, krb5-admin-server, krb5-user). */
export function kerberosAvailable(): boolean {
  return ['krb5kdc', 'kdb5_util', 'kadmin.local', 'kinit'].every((n) => findTool(n) !== undefined);
}

/** Why tests are skipped when `kerberosAvailable()` is false. */
export const KERBEROS_SKIP_REASON = 'MIT Kerberos not installed (apt-get install krb5-kdc krb5-admin-server krb5-user libkrb5-dev)';

function run(cmd: string, args: string[], env: Record<string, string>, input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { env: { ...process.env, ...env }, timeout: 20_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args[0] ?? ''} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function krb5Conf(realm: string, port: number): string {
  return `[libdefaults]
  default_realm = ${realm}
  dns_lookup_realm = false
  dns_lookup_kdc = false
  rdns = false
  dns_canonicalize_hostname = false
  udp_preference_limit = 1
  ticket_lifetime = 1h
  forwardable = true

[realms]
  ${realm} = {
    kdc = 127.0.0.1:${port}
  }

[domain_realm]
  localhost = ${realm}
  .localhost = ${realm}
`;
}

function kdcConf(realm: string, port: number, dir: string): string {
  return `[kdcdefaults]
  kdc_listen = 127.0.0.1:${port}
  kdc_tcp_listen = 127.0.0.1:${port}

[realms]
  ${realm} = {
    database_name = ${join(dir, 'principal')}
    key_stash_file = ${join(dir, 'stash')}
    acl_file = ${join(dir, 'kadm5.acl')}
    admin_keytab = FILE:${join(dir, 'kadm5.keytab')}
    kdc_listen = 127.0.0.1:${port}
    kdc_tcp_listen = 127.0.0.1:${port}
    max_life = 1h
    supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
  }

[logging]
  kdc = FILE:${join(dir, 'kdc.log')}
  default = FILE:${join(dir, 'kdc.log')}
`;
}

export async function startKdc(opts: KdcOptions = {}): Promise<Kdc> {
  if (!kerberosAvailable()) throw new Error(KERBEROS_SKIP_REASON);
  const realm = opts.realm ?? 'TEST.LOCAL';
  const users = opts.users ?? { alice: 'alice-' + randomBytes(6).toString('hex') };
  const services = opts.services ?? ['HTTP/localhost'];
  const dir = await mkdtemp(join(tmpdir(), 'pi-agent-kdc-'));
  const env: Record<string, string> = {
    KRB5_CONFIG: join(dir, 'krb5.conf'),
    KRB5_KDC_PROFILE: join(dir, 'kdc.conf'),
    KRB5CCNAME: 'FILE:' + join(dir, 'ccache'),
    KRB5_KTNAME: 'FILE:' + join(dir, 'http.keytab'),
    KRB5RCACHEDIR: dir,
  };
  const tool = (name: string): string => findTool(name)!;
  let child: ChildProcess | undefined;

  try {
    await writeFile(join(dir, 'kadm5.acl'), '');
    let port = await freePort();
    await writeFile(env.KRB5_CONFIG!, krb5Conf(realm, port));
    await writeFile(env.KRB5_KDC_PROFILE!, kdcConf(realm, port, dir));
    await run(tool('kdb5_util'), ['create', '-s', '-r', realm, '-P', randomBytes(12).toString('hex')], env);
    for (const [user, pw] of Object.entries(users)) {
      await run(tool('kadmin.local'), ['-r', realm, '-q', `addprinc -pw ${pw} ${user}`], env);
    }
    for (const svc of services) {
      await run(tool('kadmin.local'), ['-r', realm, '-q', `addprinc -randkey ${svc}`], env);
      await run(tool('kadmin.local'), ['-r', realm, '-q', `ktadd -k ${join(dir, 'http.keytab')} ${svc}`], env);
    }

    // The port was free a moment ago; if another process took it meanwhile, pick another.
    for (let attempt = 0; ; attempt++) {
      const proc = spawn(tool('krb5kdc'), ['-n', '-r', realm], { env: { ...process.env, ...env }, stdio: 'ignore' });
      let exited = false;
      proc.once('exit', () => {
        exited = true;
      });
      for (let i = 0; i < 100 && !exited; i++) {
        if (await canConnect(port)) break;
        await sleep(50);
      }
      if (!exited && (await canConnect(port))) {
        child = proc;
        break;
      }
      proc.kill('SIGKILL');
      if (attempt >= 3) throw new Error(`krb5kdc did not start (see ${join(dir, 'kdc.log')})`);
      port = await freePort();
      await writeFile(env.KRB5_CONFIG!, krb5Conf(realm, port));
      await writeFile(env.KRB5_KDC_PROFILE!, kdcConf(realm, port, dir));
    }

    const started = child;
    const kdcPort = port;
    return {
      realm,
      dir,
      port: kdcPort,
      users,
      env,
      kinit: async (user, password) => {
        await run(tool('kinit'), [user.includes('@') ? user : `${user}@${realm}`], env, password + '\n');
      },
      applyEnv: () => {
        const saved: Record<string, string | undefined> = {};
        for (const [k, v] of Object.entries(env)) {
          saved[k] = process.env[k];
          process.env[k] = v;
        }
        return () => {
          for (const [k, v] of Object.entries(saved)) {
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
          }
        };
      },
      stop: async () => {
        if (started.exitCode === null && started.signalCode === null) {
          const gone = new Promise<void>((r) => started.once('exit', () => r()));
          started.kill('SIGTERM');
          await Promise.race([gone, sleep(3000)]);
          if (started.exitCode === null && started.signalCode === null) started.kill('SIGKILL');
        }
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    child?.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
