/**
 * The HTTP layer under the PI client: one keep-alive undici Pool per PI Web API origin, TLS trust
 * (system roots plus an optional extra CA bundle; verification stays on unless explicitly turned
 * off, fidelity §10), URLs with repeated query parameters, and one request sent once.
 */
import { isAscii } from 'node:buffer';
import { rootCertificates } from 'node:tls';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import type { RawResponse } from './auth/types.js';

export interface TlsOptions {
  /** Extra CA bundle (PEM), added to the system roots rather than replacing them. */
  ca?: string | Buffer | undefined;
  /** Only an explicit `false` turns certificate verification off. */
  rejectUnauthorized?: boolean | undefined;
}

/**
 * undici `connect` options for these TLS settings. Exported so an auth scheme that needs its own
 * connection (NTLM pins one socket, platform-notes.md "NTLM") trusts the same CAs.
 */
export function tlsConnectOptions(tls: TlsOptions): { ca?: string[]; rejectUnauthorized: boolean } {
  const out: { ca?: string[]; rejectUnauthorized: boolean } = { rejectUnauthorized: tls.rejectUnauthorized !== false };
  if (tls.ca !== undefined) out.ca = [...rootCertificates, tls.ca.toString()];
  return out;
}

/** The base URL split into what requests need; any user:password in it is dropped, never echoed. */
export interface PiEndpoint {
  /** `https://host:port` */
  origin: string;
  /** `/piwebapi` (no trailing slash; may be empty). */
  basePath: string;
}

export function parseBaseUrl(baseUrl: string): PiEndpoint {
  const u = new URL(baseUrl);
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new TypeError(`PI Web API URL must be http(s): ${u.protocol}`);
  return { origin: u.origin, basePath: u.pathname.replace(/\/+$/, '') };
}

export type QueryValue = string | number | boolean | readonly string[] | undefined;
export type Query = Record<string, QueryValue>;

/** `?a=1&webId=X&webId=Y`; arrays repeat the name (fidelity §3), undefined values are left out. */
export function buildQuery(query: Query | undefined): string {
  if (!query) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    const values = Array.isArray(v) ? (v as readonly string[]) : [String(v)];
    for (const one of values) parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(one)}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

export interface PoolOptions extends TlsOptions {
  connections: number;
  timeoutMs: number;
}

export function createPool(origin: string, opts: PoolOptions): Pool {
  return new Pool(origin, {
    connections: opts.connections,
    pipelining: 1,
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    connectTimeout: Math.min(opts.timeoutMs, 30_000),
    connect: tlsConnectOptions(opts),
  });
}

export interface OneRequest {
  method: 'GET' | 'POST';
  origin: string;
  /** Path and query, e.g. `/piwebapi/points?path=...`. */
  pathAndQuery: string;
  headers: Record<string, string>;
  body?: string | undefined;
  timeoutMs: number;
}

/** Sends one request and reads the whole body. Rejects only when no complete response arrived. */
export async function sendRequest(dispatcher: Dispatcher, req: OneRequest): Promise<RawResponse> {
  const res = await dispatcher.request({
    origin: req.origin,
    method: req.method,
    path: req.pathAndQuery,
    headers: req.headers,
    body: req.body,
    headersTimeout: req.timeoutMs,
    bodyTimeout: req.timeoutMs,
  });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, body };
}

/** ASCII hex digits, for `\uXXXX` escapes. */
const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
/** 32-bit words (16 KB) checked at once with `isAscii` before looking closer. */
const ASCII_BLOCK_WORDS = 4096;

/** Writes `\uXXXX` for the UTF-16 code unit `u` at `at`; returns the next position. */
function writeEscape(out: Buffer, at: number, u: number): number {
  out[at] = 0x5c; // backslash
  out[at + 1] = 0x75; // u
  out[at + 2] = HEX_DIGITS[u >> 12]!;
  out[at + 3] = HEX_DIGITS[(u >> 8) & 15]!;
  out[at + 4] = HEX_DIGITS[(u >> 4) & 15]!;
  out[at + 5] = HEX_DIGITS[u & 15]!;
  return at + 6;
}

/**
 * A UTF-8 JSON body as pure-ASCII text that JSON.parse reads to exactly the value it reads from
 * `body.toString('utf8')`, or undefined when that cannot be promised (invalid UTF-8, or a non-ASCII
 * character right after a backslash): the caller then decodes the usual way, which also gives the
 * usual errors. Why: Node's UTF-8 decoding of a response with a single non-ASCII character (PI
 * sends units such as `°C` on every value) runs at ~450 MB/s, a tenth of a Latin-1 copy; a catch-up
 * decodes hundreds of MB. Each non-ASCII character becomes a `\uXXXX` escape (two for a code point
 * beyond U+FFFF), which JSON defines as the same character inside a string and rejects outside one,
 * just like the raw character.
 */
export function asciiJsonText(body: Buffer): string | undefined {
  const n = body.length;
  if (isAscii(body)) return body.toString('latin1');
  // 1. The maximal runs of bytes >= 0x80, as [start, end) pairs; found a 32-bit word at a time, in
  //    blocks that isAscii has not already cleared.
  let runs = new Int32Array(64);
  let count = 0;
  let runEnd = -1;
  const mark = (i: number): void => {
    if (i === runEnd) {
      runs[2 * count - 1] = ++runEnd;
      return;
    }
    if (2 * count + 2 > runs.length) {
      const grown = new Int32Array(runs.length * 2);
      grown.set(runs);
      runs = grown;
    }
    runs[2 * count] = i;
    runs[2 * count + 1] = runEnd = i + 1;
    count++;
  };
  const head = Math.min(n, (4 - (body.byteOffset & 3)) & 3);
  for (let i = 0; i < head; i++) if (body[i]! & 0x80) mark(i);
  const words = (n - head) >> 2;
  const w = new Int32Array(body.buffer, body.byteOffset + head, words);
  for (let k0 = 0; k0 < words; k0 += ASCII_BLOCK_WORDS) {
    const k1 = Math.min(words, k0 + ASCII_BLOCK_WORDS);
    if (isAscii(body.subarray(head + 4 * k0, head + 4 * k1))) continue;
    for (let k = k0; k < k1; k++) {
      if (w[k]! & 0x80808080) {
        const at = head + 4 * k;
        for (let j = at; j < at + 4; j++) if (body[j]! & 0x80) mark(j);
      }
    }
  }
  for (let i = head + 4 * words; i < n; i++) if (body[i]! & 0x80) mark(i);

  // 2. Copy, each run decoded (strict UTF-8: no overlongs, surrogates or code points past U+10FFFF,
  //    which toString would turn into U+FFFD) and written as escapes: at most 3 bytes per byte
  //    (2 → 6, 3 → 6, 4 → 12).
  let bound = n;
  for (let r = 0; r < count; r++) bound += 2 * (runs[2 * r + 1]! - runs[2 * r]!);
  const out = Buffer.allocUnsafe(bound);
  let at = 0;
  let from = 0;
  for (let r = 0; r < count; r++) {
    const start = runs[2 * r]!;
    const end = runs[2 * r + 1]!;
    // `\` + a raw character is an invalid escape; `\` + `\u00b0` would be a valid one.
    let backslashes = 0;
    for (let k = start - 1; k >= 0 && body[k] === 0x5c; k--) backslashes++;
    if (backslashes & 1) return undefined;
    at += body.copy(out, at, from, start);
    for (let p = start; p < end;) {
      const b0 = body[p]!;
      let cp: number;
      let len: number;
      let lo = 0x80;
      let hi = 0xbf;
      if (b0 >= 0xc2 && b0 <= 0xdf) {
        cp = b0 & 0x1f;
        len = 2;
      } else if (b0 >= 0xe0 && b0 <= 0xef) {
        cp = b0 & 0x0f;
        len = 3;
        if (b0 === 0xe0) lo = 0xa0;
        else if (b0 === 0xed) hi = 0x9f;
      } else if (b0 >= 0xf0 && b0 <= 0xf4) {
        cp = b0 & 0x07;
        len = 4;
        if (b0 === 0xf0) lo = 0x90;
        else if (b0 === 0xf4) hi = 0x8f;
      } else return undefined;
      if (p + len > end) return undefined;
      for (let j = 1; j < len; j++) {
        const c = body[p + j]!;
        if (c < lo || c > hi) return undefined;
        lo = 0x80;
        hi = 0xbf;
        cp = (cp << 6) | (c & 0x3f);
      }
      if (cp >= 0x10000) {
        cp -= 0x10000;
        at = writeEscape(out, at, 0xd800 + (cp >> 10));
        at = writeEscape(out, at, 0xdc00 + (cp & 0x3ff));
      } else at = writeEscape(out, at, cp);
      p += len;
    }
    from = end;
  }
  at += body.copy(out, at, from, n);
  return out.toString('latin1', 0, at);
}
