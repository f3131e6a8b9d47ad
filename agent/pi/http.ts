/**
 * The HTTP layer under the PI client: one keep-alive undici Pool per PI Web API origin, TLS trust
 * (system roots plus an optional extra CA bundle; verification stays on unless explicitly turned
 * off, fidelity §10), URLs with repeated query parameters, and one request sent once.
 */
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
