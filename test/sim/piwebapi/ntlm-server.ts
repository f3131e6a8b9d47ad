/**
 * The simulator's NTLM acceptor: type 1 → type 2 challenge → type 3 verified with NTLMv2, and the
 * result remembered per TCP socket, as IIS does (fidelity §10: NTLM authenticates a connection).
 * NTLMv1 (24-byte responses) is refused, like a Windows server at LmCompatibilityLevel 5.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import {
  AV,
  NTLM_FLAGS,
  decodeAuthenticate,
  decodeNegotiate,
  encodeChallenge,
  encodeTargetInfo,
  fileTime,
  ntProofStr,
  ntlmMessageType,
  ntowfv2,
} from '../../../agent/pi/auth/ntlm-messages.js';

export type NtlmStep = { kind: 'challenge'; token: Buffer } | { kind: 'ok'; user: string } | { kind: 'fail'; reason: string };

interface SocketState {
  challenge?: Buffer;
  user?: string;
}

export class NtlmAcceptor {
  /** Type 3 messages that verified (one per authenticated connection). */
  handshakes = 0;
  /** Type 2 challenges sent. */
  challenges = 0;
  private readonly sockets = new WeakMap<Socket, SocketState>();

  constructor(
    private readonly users: Record<string, string>,
    private readonly domain: string,
    private readonly now: () => number,
    private readonly computer = 'PISIM',
  ) {}

  /** The user this connection authenticated as, if it did. */
  socketUser(sock: Socket): string | undefined {
    return this.sockets.get(sock)?.user;
  }

  step(sock: Socket, msg: Buffer): NtlmStep {
    const type = ntlmMessageType(msg);
    if (type === 1) return this.challenge(sock, msg);
    if (type === 3) return this.verify(sock, msg);
    this.sockets.delete(sock);
    return { kind: 'fail', reason: 'unexpected NTLM message' };
  }

  private challenge(sock: Socket, msg: Buffer): NtlmStep {
    let requested: number;
    try {
      requested = decodeNegotiate(msg).flags;
    } catch {
      return { kind: 'fail', reason: 'bad NTLM negotiate message' };
    }
    const serverChallenge = randomBytes(8);
    // A new type 1 restarts authentication on this connection, even an authenticated one.
    this.sockets.set(sock, { challenge: serverChallenge });
    this.challenges++;
    const u = (s: string) => Buffer.from(s, 'utf16le');
    const unicode = (requested & NTLM_FLAGS.UNICODE) !== 0 ? NTLM_FLAGS.UNICODE : NTLM_FLAGS.OEM;
    const flags =
      unicode |
      NTLM_FLAGS.REQUEST_TARGET |
      NTLM_FLAGS.NTLM |
      NTLM_FLAGS.TARGET_TYPE_DOMAIN |
      NTLM_FLAGS.TARGET_INFO |
      (requested & (NTLM_FLAGS.EXTENDED_SESSIONSECURITY | NTLM_FLAGS.ALWAYS_SIGN | NTLM_FLAGS.N128 | NTLM_FLAGS.N56));
    const targetInfo = encodeTargetInfo([
      { id: AV.NB_DOMAIN_NAME, value: u(this.domain) },
      { id: AV.NB_COMPUTER_NAME, value: u(this.computer) },
      { id: AV.DNS_DOMAIN_NAME, value: u(this.domain.toLowerCase() + '.local') },
      { id: AV.DNS_COMPUTER_NAME, value: u(this.computer.toLowerCase() + '.' + this.domain.toLowerCase() + '.local') },
      { id: AV.TIMESTAMP, value: fileTime(this.now()) },
    ]);
    return { kind: 'challenge', token: encodeChallenge({ flags, serverChallenge, targetName: this.domain, targetInfo }) };
  }

  private verify(sock: Socket, msg: Buffer): NtlmStep {
    const state = this.sockets.get(sock);
    this.sockets.delete(sock);
    // The type 3 must arrive on the socket that received the challenge.
    if (!state?.challenge) return { kind: 'fail', reason: 'NTLM authenticate without a challenge on this connection' };
    let a;
    try {
      a = decodeAuthenticate(msg);
    } catch {
      return { kind: 'fail', reason: 'bad NTLM authenticate message' };
    }
    const account = Object.keys(this.users).find((name) => name.toLowerCase() === a.user.toLowerCase());
    if (account === undefined) return { kind: 'fail', reason: 'unknown user' };
    if (a.domain !== '' && a.domain.toLowerCase() !== this.domain.toLowerCase()) return { kind: 'fail', reason: 'unknown domain' };
    if (a.ntResponse.length <= 24) return { kind: 'fail', reason: 'NTLMv1 refused' };
    const proof = a.ntResponse.subarray(0, 16);
    const expected = ntProofStr(ntowfv2(this.users[account]!, a.user, a.domain), state.challenge, a.ntResponse.subarray(16));
    if (!timingSafeEqual(proof, expected)) return { kind: 'fail', reason: 'wrong password' };
    const user = `${this.domain}\\${account}`;
    this.sockets.set(sock, { user });
    this.handshakes++;
    return { kind: 'ok', user };
  }
}
