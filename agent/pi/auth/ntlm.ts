/**
 * NTLM (fidelity §10; platform-notes.md "NTLM"): the handshake authenticates one TCP connection, so
 * this scheme owns an undici `Client` (one socket, no pipelining), sends every request over it one
 * at a time, and handshakes again whenever that socket was replaced.
 */
import { hostname } from 'node:os';
import { Client } from 'undici';
import { findChallenge } from './challenge.js';
import { authFailed } from './failure.js';
import { answerChallenge, decodeChallenge, encodeNegotiate, type NtlmCredentials } from './ntlm-messages.js';
import type { PiAuth, RawResponse, SendOnce } from './types.js';

export interface NtlmOptions {
  baseUrl: string;
  username: string;
  password: string;
  domain?: string;
  workstation?: string;
  connect: { ca?: string[]; rejectUnauthorized: boolean };
}

/** `DOMAIN\user` and `user@domain` (UPN, sent whole with an empty domain) as Windows clients do. */
export function ntlmIdentity(username: string, domain: string | undefined): { user: string; domain: string } {
  const slash = username.indexOf('\\');
  if (slash >= 0) return { domain: domain ?? username.slice(0, slash), user: username.slice(slash + 1) };
  return { user: username, domain: domain ?? '' };
}

export class NtlmAuth implements PiAuth {
  readonly scheme = 'ntlm' as const;
  private readonly client: Client;
  private readonly cred: NtlmCredentials;
  /** Bumped on every new socket; the handshake belongs to one value. */
  private connection = 0;
  private authenticatedConnection = -1;
  /** `NTLM`, or `Negotiate` when the server offers NTLM only inside Negotiate. */
  private prefix: 'NTLM' | 'Negotiate' | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(o: NtlmOptions) {
    const id = ntlmIdentity(o.username, o.domain);
    this.cred = {
      ...id,
      password: o.password,
      workstation: o.workstation ?? hostname().split('.')[0]!.toUpperCase(),
    };
    this.client = new Client(new URL(o.baseUrl).origin, { pipelining: 1, connect: o.connect });
    this.client.on('connect', () => {
      this.connection++;
    });
    this.client.on('disconnect', () => {
      this.authenticatedConnection = -1;
    });
  }

  /** One request at a time: a request slipped between type 1 and type 3 would break the handshake. */
  send(sendOnce: SendOnce): Promise<RawResponse> {
    const run = this.queue.then(() => this.sendSerial(sendOnce));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  private async sendSerial(sendOnce: SendOnce): Promise<RawResponse> {
    if (this.authenticatedConnection === this.connection) {
      const res = await sendOnce({}, this.client);
      // A 401 here means the socket was replaced or the server forgot it: handshake again.
      if (res.status !== 401) return res;
      this.authenticatedConnection = -1;
    }
    return this.handshake(sendOnce);
  }

  private async handshake(sendOnce: SendOnce): Promise<RawResponse> {
    if (!this.prefix) {
      const probe = await sendOnce({}, this.client);
      if (probe.status !== 401) return probe;
      if (findChallenge(probe, 'NTLM')) this.prefix = 'NTLM';
      else if (findChallenge(probe, 'Negotiate')) this.prefix = 'Negotiate';
      else
        throw authFailed(
          'PI Web API does not offer NTLM',
          'Set pi.auth.type to a scheme it offers, or enable Windows authentication (Kerberos/NTLM) in PI Web API.',
          probe,
        );
    }
    const prefix = this.prefix;
    const r1 = await sendOnce({ authorization: `${prefix} ${encodeNegotiate().toString('base64')}` }, this.client);
    if (r1.status !== 401) return r1;
    const token = findChallenge(r1, prefix)?.token;
    let challenge;
    try {
      if (!token) throw new Error('no challenge token');
      challenge = decodeChallenge(Buffer.from(token, 'base64'));
    } catch (err) {
      throw authFailed(
        'PI Web API answered the NTLM negotiate message without an NTLM challenge',
        'NTLM may be disabled on the server; use a scheme it offers.',
        r1,
        err,
      );
    }
    const socket = this.connection;
    const r2 = await sendOnce({ authorization: `${prefix} ${answerChallenge(challenge, this.cred).toString('base64')}` }, this.client);
    if (r2.status === 401) {
      const who = this.cred.domain ? `${this.cred.domain}\\${this.cred.user}` : this.cred.user;
      const dropped =
        socket !== this.connection
          ? ' The connection was closed during the handshake: a proxy or load balancer that does not keep connections breaks NTLM (use Kerberos or basic).'
          : '';
      throw authFailed(
        `PI Web API rejected NTLM authentication for ${who}`,
        `Check pi.auth.username, pi.auth.password and pi.auth.domain, and that the account may use PI Web API.${dropped}`,
        r2,
      );
    }
    if (socket === this.connection) this.authenticatedConnection = socket;
    return r2;
  }
}
