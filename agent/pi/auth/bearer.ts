/**
 * Bearer tokens (fidelity §10): a fixed token from the config, or OpenID Connect client credentials
 * with the token endpoint from `token_url` or the discovery document at
 * `<base>/.well-known/openid-configuration`. The OIDC token is cached and renewed before it
 * expires, so steady polling never meets a 401; a 401 still triggers one renewal and one retry.
 */
import { Agent, request, type Dispatcher } from 'undici';
import { PiError } from '../../errors.js';
import { findChallenge } from './challenge.js';
import { authFailed } from './failure.js';
import type { PiAuth, RawResponse, SendOnce } from './types.js';

/** Renew when this fraction of the token's lifetime has passed. */
const RENEW_AT = 0.8;
/** Assumed lifetime when the token endpoint omits `expires_in`. */
const DEFAULT_LIFETIME_S = 300;
const TIMEOUT_MS = 30_000;

export class StaticBearerAuth implements PiAuth {
  readonly scheme = 'bearer' as const;
  constructor(private readonly token: string) {}

  async send(sendOnce: SendOnce): Promise<RawResponse> {
    const res = await sendOnce({ authorization: `Bearer ${this.token}` });
    if (res.status === 401) {
      const error = findChallenge(res, 'Bearer')?.params.error;
      throw authFailed(
        `PI Web API rejected the configured bearer token${error ? ` (${error})` : ''}`,
        'The token may have expired: issue a new one, or use pi.auth.type oidc so the agent renews tokens itself.',
        res,
      );
    }
    return res;
  }

  async close(): Promise<void> {}
}

export interface OidcOptions {
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  tokenUrl?: string;
  scope?: string;
  /** TLS settings for the discovery document and token endpoint. */
  connect: { ca?: string[]; rejectUnauthorized: boolean };
  now: () => number;
}

interface CachedToken {
  value: string;
  renewAt: number;
}

interface Endpoint {
  url: string;
  /** true when the provider accepts only HTTP Basic client authentication. */
  basicClientAuth: boolean;
}

export class OidcAuth implements PiAuth {
  readonly scheme = 'bearer' as const;
  private readonly dispatcher: Dispatcher;
  private endpoint: Endpoint | undefined;
  private cached: CachedToken | undefined;
  private inflight: Promise<CachedToken> | undefined;

  constructor(private readonly o: OidcOptions) {
    this.dispatcher = new Agent({ connect: o.connect });
    if (o.tokenUrl) this.endpoint = { url: o.tokenUrl, basicClientAuth: false };
  }

  async send(sendOnce: SendOnce): Promise<RawResponse> {
    const first = await this.token();
    let res = await sendOnce({ authorization: `Bearer ${first}` });
    if (res.status !== 401) return res;
    // Revoked or expired early: renew once, unless a concurrent request already did.
    const second = this.cached && this.cached.value !== first ? this.cached.value : (await this.renew()).value;
    res = await sendOnce({ authorization: `Bearer ${second}` });
    if (res.status === 401) {
      const error = findChallenge(res, 'Bearer')?.params.error;
      throw authFailed(
        `PI Web API rejected a freshly issued OIDC token for client '${this.o.clientId}'${error ? ` (${error})` : ''}`,
        'Check that PI Web API trusts this identity provider and that the client is mapped to a PI identity.',
        res,
      );
    }
    return res;
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  private async token(): Promise<string> {
    if (this.cached && this.o.now() < this.cached.renewAt) return this.cached.value;
    return (await this.renew()).value;
  }

  /** One token request at a time; concurrent callers share it. */
  private renew(): Promise<CachedToken> {
    this.inflight ??= this.fetchToken().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetchToken(): Promise<CachedToken> {
    const endpoint = this.endpoint ?? (this.endpoint = await this.discover());
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (endpoint.basicClientAuth) {
      // RFC 6749 §2.3.1: form-encode id and secret before joining them.
      const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
      headers.authorization = 'Basic ' + Buffer.from(`${enc(this.o.clientId)}:${enc(this.o.clientSecret)}`).toString('base64');
    } else {
      form.set('client_id', this.o.clientId);
      form.set('client_secret', this.o.clientSecret);
    }
    if (this.o.scope) form.set('scope', this.o.scope);
    const requestedAt = this.o.now();
    const { status, body } = await this.call(endpoint.url, 'POST', headers, form.toString());
    if (status === 400 || status === 401) {
      const error = typeof body?.error === 'string' ? ` (${body.error})` : '';
      throw new PiError('PI_AUTH_FAILED',
        `The OIDC token endpoint ${endpoint.url} refused client '${this.o.clientId}'${error}. Check pi.auth.client_id, pi.auth.client_secret and pi.auth.scope.`,
        { status });
    }
    if (status >= 500) {
      throw new PiError('PI_SERVER_ERROR', `The OIDC token endpoint ${endpoint.url} failed with HTTP ${status}; will retry.`, { status, retryable: true });
    }
    const value = body?.access_token;
    if (status !== 200 || typeof value !== 'string' || value === '') {
      throw new PiError('PI_BAD_RESPONSE', `The OIDC token endpoint ${endpoint.url} answered HTTP ${status} without an access_token.`, { status });
    }
    // Some providers send expires_in as a string ("3599").
    const expiresIn = Number(body?.expires_in);
    const lifetime = Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : DEFAULT_LIFETIME_S;
    // Measured from the request, so time spent waiting for the answer counts against the token.
    this.cached = { value, renewAt: requestedAt + lifetime * 1000 * RENEW_AT };
    return this.cached;
  }

  private async discover(): Promise<Endpoint> {
    const url = this.o.baseUrl.replace(/\/+$/, '') + '/.well-known/openid-configuration';
    const { status, body } = await this.call(url, 'GET', { accept: 'application/json' });
    const tokenEndpoint = body?.token_endpoint;
    if (status !== 200 || typeof tokenEndpoint !== 'string') {
      throw new PiError('PI_AUTH_FAILED',
        `No OpenID Connect discovery document at ${url} (HTTP ${status}). Set pi.auth.token_url to the identity provider's token endpoint, or enable OIDC in PI Web API.`,
        { status });
    }
    const methods = body?.token_endpoint_auth_methods_supported;
    const basicOnly = Array.isArray(methods) && !methods.includes('client_secret_post') && methods.includes('client_secret_basic');
    return { url: tokenEndpoint, basicClientAuth: basicOnly };
  }

  private async call(url: string, method: 'GET' | 'POST', headers: Record<string, string>, body?: string):
    Promise<{ status: number; body: Record<string, unknown> | undefined }> {
    let res;
    try {
      res = await request(url, { method, headers, body, dispatcher: this.dispatcher, headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new PiError('PI_UNREACHABLE', `Cannot reach the OIDC endpoint ${url}: ${reason}`, { retryable: true, cause: err });
    }
    const text = await res.body.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const obj = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
    return { status: res.statusCode, body: obj };
  }
}
