/**
 * MD4 (RFC 1320), needed only for the NTLM NT hash: Node's OpenSSL 3 leaves MD4 in the legacy
 * provider, so `crypto.createHash('md4')` usually throws (platform-notes.md, NTLM).
 */
import { createHash, getHashes } from 'node:crypto';

const opensslHasMd4 = ((): boolean => {
  if (!getHashes().includes('md4')) return false;
  try {
    createHash('md4').update('').digest();
    return true;
  } catch {
    return false;
  }
})();

const rotl = (x: number, s: number): number => (x << s) | (x >>> (32 - s));

// Per round: message word order and the four shift amounts (RFC 1320 §3.4).
const ROUNDS: Array<{ order: number[]; shifts: number[]; k: number; f: (x: number, y: number, z: number) => number }> = [
  {
    order: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    shifts: [3, 7, 11, 19],
    k: 0,
    f: (x, y, z) => (x & y) | (~x & z),
  },
  {
    order: [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15],
    shifts: [3, 5, 9, 13],
    k: 0x5a827999,
    f: (x, y, z) => (x & y) | (x & z) | (y & z),
  },
  {
    order: [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15],
    shifts: [3, 9, 11, 15],
    k: 0x6ed9eba1,
    f: (x, y, z) => x ^ y ^ z,
  },
];

/** The pure-JS MD4; exported for its test vectors. */
export function md4Js(data: Buffer): Buffer {
  const len = data.length;
  const blocks = ((len + 8) >>> 6) + 1;
  const msg = Buffer.alloc(blocks * 64);
  data.copy(msg);
  msg[len] = 0x80;
  msg.writeUInt32LE((len * 8) >>> 0, msg.length - 8);
  msg.writeUInt32LE(Math.floor(len / 0x20000000) >>> 0, msg.length - 4);

  const h = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
  const x = new Array<number>(16);
  for (let off = 0; off < msg.length; off += 64) {
    for (let i = 0; i < 16; i++) x[i] = msg.readUInt32LE(off + i * 4);
    const v = h.slice();
    for (const r of ROUNDS) {
      for (let i = 0; i < 16; i++) {
        // Steps rotate the target register a, d, c, b (RFC 1320's [abcd k s] notation).
        const t = (4 - (i & 3)) & 3;
        const sum = (v[t]! + r.f(v[(t + 1) & 3]!, v[(t + 2) & 3]!, v[(t + 3) & 3]!) + x[r.order[i]!]! + r.k) | 0;
        v[t] = rotl(sum, r.shifts[i & 3]!);
      }
    }
    for (let i = 0; i < 4; i++) h[i] = (h[i]! + v[i]!) | 0;
  }
  const out = Buffer.alloc(16);
  for (let i = 0; i < 4; i++) out.writeInt32LE(h[i]!, i * 4);
  return out;
}

export function md4(data: Buffer): Buffer {
  return opensslHasMd4 ? createHash('md4').update(data).digest() : md4Js(data);
}
