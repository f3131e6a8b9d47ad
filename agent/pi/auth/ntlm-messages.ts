/**
 * NTLM messages and NTLMv2 responses (MS-NLMP §2.2 and §3.3.2), enough for HTTP authentication:
 * no signing, sealing or MIC, because HTTP only uses NTLM to authenticate the connection.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { md4 } from './md4.js';

const SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1');

export const NTLM_FLAGS = {
  UNICODE: 0x00000001,
  OEM: 0x00000002,
  REQUEST_TARGET: 0x00000004,
  NTLM: 0x00000200,
  ALWAYS_SIGN: 0x00008000,
  TARGET_TYPE_DOMAIN: 0x00010000,
  TARGET_TYPE_SERVER: 0x00020000,
  EXTENDED_SESSIONSECURITY: 0x00080000,
  TARGET_INFO: 0x00800000,
  VERSION: 0x02000000,
  N128: 0x20000000,
  N56: 0x80000000,
} as const;

/** AV pair ids in the type 2 target info (MS-NLMP §2.2.2.1). */
export const AV = {
  EOL: 0,
  NB_COMPUTER_NAME: 1,
  NB_DOMAIN_NAME: 2,
  DNS_COMPUTER_NAME: 3,
  DNS_DOMAIN_NAME: 4,
  TIMESTAMP: 7,
} as const;

export interface NtlmChallenge {
  flags: number;
  serverChallenge: Buffer;
  targetName: string;
  /** Raw AV pairs, copied into the NTLMv2 blob unchanged. */
  targetInfo: Buffer;
}

export interface NtlmAuthenticate {
  flags: number;
  lmResponse: Buffer;
  ntResponse: Buffer;
  domain: string;
  user: string;
  workstation: string;
}

/** The flags our type 1 asks for (Unicode, NTLM, extended session security). */
export const CLIENT_FLAGS =
  NTLM_FLAGS.UNICODE |
  NTLM_FLAGS.OEM |
  NTLM_FLAGS.REQUEST_TARGET |
  NTLM_FLAGS.NTLM |
  NTLM_FLAGS.ALWAYS_SIGN |
  NTLM_FLAGS.EXTENDED_SESSIONSECURITY |
  NTLM_FLAGS.N128 |
  NTLM_FLAGS.N56;

export function isNtlmMessage(buf: Buffer): boolean {
  return buf.length >= 12 && buf.subarray(0, 8).equals(SIGNATURE);
}

export function ntlmMessageType(buf: Buffer): number | undefined {
  return isNtlmMessage(buf) ? buf.readUInt32LE(8) : undefined;
}

function encodeString(s: string, unicode: boolean): Buffer {
  return Buffer.from(s, unicode ? 'utf16le' : 'latin1');
}

/** Reads a (length u16, max u16, offset u32) field; throws when it points outside the message. */
function readField(buf: Buffer, at: number): Buffer {
  if (at + 8 > buf.length) throw new Error('NTLM message too short');
  const len = buf.readUInt16LE(at);
  const off = buf.readUInt32LE(at + 4);
  if (len === 0) return Buffer.alloc(0);
  if (off + len > buf.length) throw new Error('NTLM message field out of range');
  return buf.subarray(off, off + len);
}

/** Lays out a fixed header followed by payload fields, filling in each field descriptor. */
function assemble(header: Buffer, fields: Array<{ at: number; data: Buffer }>): Buffer {
  let offset = header.length;
  for (const f of fields) {
    header.writeUInt16LE(f.data.length, f.at);
    header.writeUInt16LE(f.data.length, f.at + 2);
    header.writeUInt32LE(offset, f.at + 4);
    offset += f.data.length;
  }
  return Buffer.concat([header, ...fields.map((f) => f.data)]);
}

/** Type 1 (NEGOTIATE_MESSAGE) without domain or workstation (MS-NLMP §2.2.1.1). */
export function encodeNegotiate(flags: number = CLIENT_FLAGS): Buffer {
  const b = Buffer.alloc(32);
  SIGNATURE.copy(b);
  b.writeUInt32LE(1, 8);
  b.writeUInt32LE(flags >>> 0, 12);
  return b;
}

export function decodeNegotiate(buf: Buffer): { flags: number } {
  if (ntlmMessageType(buf) !== 1 || buf.length < 16) throw new Error('not an NTLM negotiate message');
  return { flags: buf.readUInt32LE(12) };
}

/** Type 2 (CHALLENGE_MESSAGE, MS-NLMP §2.2.1.2). */
export function encodeChallenge(c: NtlmChallenge): Buffer {
  const h = Buffer.alloc(48);
  SIGNATURE.copy(h);
  h.writeUInt32LE(2, 8);
  h.writeUInt32LE(c.flags >>> 0, 20);
  c.serverChallenge.copy(h, 24);
  const unicode = (c.flags & NTLM_FLAGS.UNICODE) !== 0;
  return assemble(h, [
    { at: 12, data: encodeString(c.targetName, unicode) },
    { at: 40, data: c.targetInfo },
  ]);
}

export function decodeChallenge(buf: Buffer): NtlmChallenge {
  if (ntlmMessageType(buf) !== 2 || buf.length < 32) throw new Error('not an NTLM challenge message');
  const flags = buf.readUInt32LE(20);
  const unicode = (flags & NTLM_FLAGS.UNICODE) !== 0;
  const name = readField(buf, 12);
  return {
    flags,
    serverChallenge: Buffer.from(buf.subarray(24, 32)),
    targetName: name.toString(unicode ? 'utf16le' : 'latin1'),
    targetInfo: (flags & NTLM_FLAGS.TARGET_INFO) !== 0 && buf.length >= 48 ? Buffer.from(readField(buf, 40)) : Buffer.alloc(0),
  };
}

/** Type 3 (AUTHENTICATE_MESSAGE, MS-NLMP §2.2.1.3) without session key, version or MIC. */
export function encodeAuthenticate(a: NtlmAuthenticate): Buffer {
  const h = Buffer.alloc(64);
  SIGNATURE.copy(h);
  h.writeUInt32LE(3, 8);
  h.writeUInt32LE(a.flags >>> 0, 60);
  const unicode = (a.flags & NTLM_FLAGS.UNICODE) !== 0;
  return assemble(h, [
    { at: 12, data: a.lmResponse },
    { at: 20, data: a.ntResponse },
    { at: 28, data: encodeString(a.domain, unicode) },
    { at: 36, data: encodeString(a.user, unicode) },
    { at: 44, data: encodeString(a.workstation, unicode) },
    { at: 52, data: Buffer.alloc(0) },
  ]);
}

export function decodeAuthenticate(buf: Buffer): NtlmAuthenticate {
  if (ntlmMessageType(buf) !== 3 || buf.length < 64) throw new Error('not an NTLM authenticate message');
  const flags = buf.readUInt32LE(60);
  const enc = (flags & NTLM_FLAGS.UNICODE) !== 0 ? 'utf16le' : 'latin1';
  return {
    flags,
    lmResponse: Buffer.from(readField(buf, 12)),
    ntResponse: Buffer.from(readField(buf, 20)),
    domain: readField(buf, 28).toString(enc),
    user: readField(buf, 36).toString(enc),
    workstation: readField(buf, 44).toString(enc),
  };
}

/** AV pairs → id/value list (stops at MsvAvEOL). */
export function parseTargetInfo(info: Buffer): Array<{ id: number; value: Buffer }> {
  const out: Array<{ id: number; value: Buffer }> = [];
  for (let i = 0; i + 4 <= info.length;) {
    const id = info.readUInt16LE(i);
    const len = info.readUInt16LE(i + 2);
    if (id === AV.EOL || i + 4 + len > info.length) break;
    out.push({ id, value: info.subarray(i + 4, i + 4 + len) });
    i += 4 + len;
  }
  return out;
}

export function encodeTargetInfo(pairs: Array<{ id: number; value: Buffer }>): Buffer {
  const parts: Buffer[] = [];
  for (const p of [...pairs, { id: AV.EOL, value: Buffer.alloc(0) }]) {
    const h = Buffer.alloc(4);
    h.writeUInt16LE(p.id, 0);
    h.writeUInt16LE(p.value.length, 2);
    parts.push(h, p.value);
  }
  return Buffer.concat(parts);
}

/** Windows FILETIME (100 ns ticks since 1601-01-01), little-endian. */
export function fileTime(ms: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE((BigInt(Math.round(ms)) + 11644473600000n) * 10000n);
  return b;
}

const hmacMd5 = (key: Buffer, ...data: Buffer[]): Buffer => {
  const h = createHmac('md5', key);
  for (const d of data) h.update(d);
  return h.digest();
};

/** NTOWFv2 (MS-NLMP §3.3.2): HMAC-MD5 of the NT hash over UPPER(user) + domain, UTF-16LE. */
export function ntowfv2(password: string, user: string, domain: string): Buffer {
  return hmacMd5(md4(Buffer.from(password, 'utf16le')), Buffer.from(user.toUpperCase() + domain, 'utf16le'));
}

/** The NTLMv2 client blob ("temp" in MS-NLMP §3.3.2). */
export function ntlmv2Blob(timestamp: Buffer, clientChallenge: Buffer, targetInfo: Buffer): Buffer {
  return Buffer.concat([Buffer.from([1, 1, 0, 0, 0, 0, 0, 0]), timestamp, clientChallenge, Buffer.alloc(4), targetInfo, Buffer.alloc(4)]);
}

/** NTProofStr: the first 16 bytes of the NTLMv2 response, the part a server verifies. */
export function ntProofStr(ntowf: Buffer, serverChallenge: Buffer, blob: Buffer): Buffer {
  return hmacMd5(ntowf, serverChallenge, blob);
}

export interface NtlmCredentials {
  user: string;
  password: string;
  domain: string;
  workstation: string;
}

/**
 * The type 3 answering `challenge` with NTLMv2 responses. `clientChallenge` and `now` are
 * parameters only so the spec's test vectors can be reproduced.
 */
export function answerChallenge(challenge: NtlmChallenge, cred: NtlmCredentials, opts: { clientChallenge?: Buffer; now?: number } = {}): Buffer {
  const clientChallenge = opts.clientChallenge ?? randomBytes(8);
  const pairs = parseTargetInfo(challenge.targetInfo);
  const serverTime = pairs.find((p) => p.id === AV.TIMESTAMP)?.value;
  const key = ntowfv2(cred.password, cred.user, cred.domain);
  const blob = ntlmv2Blob(serverTime ? Buffer.from(serverTime) : fileTime(opts.now ?? Date.now()), clientChallenge, challenge.targetInfo);
  const proof = ntProofStr(key, challenge.serverChallenge, blob);
  // With a server timestamp the LMv2 response must be zeros (MS-NLMP §3.1.5.1.2).
  const lm = serverTime ? Buffer.alloc(24) : Buffer.concat([hmacMd5(key, challenge.serverChallenge, clientChallenge), clientChallenge]);
  const flags = (challenge.flags & CLIENT_FLAGS) | NTLM_FLAGS.NTLM;
  return encodeAuthenticate({
    flags: (challenge.flags & NTLM_FLAGS.UNICODE) !== 0 ? flags | NTLM_FLAGS.UNICODE : flags & ~NTLM_FLAGS.UNICODE,
    lmResponse: lm,
    ntResponse: Buffer.concat([proof, blob]),
    domain: cred.domain,
    user: cred.user,
    workstation: cred.workstation,
  });
}
