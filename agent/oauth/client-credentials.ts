/**
 * OAuth 2.0 client credentials (RFC 6749 §4.4) and the one token cache of the agent. Its users:
 * PI Web API behind an OpenID Connect provider (pi/auth/bearer.ts) and Databricks M2M OAuth
 * (sinks/databricks/sink.ts).
 *
 * - A token is reused until its renewal time, which each user sets (`renewAt`): so steady use never
 *   meets an expired token.
 * - Concurrent callers share one token request.
 * - `replace(rejected)` is for a token the resource server refused (revoked, or expired early):
 *   the token a concurrent caller already got, else a new one. `invalidate()` drops the token.
 * - Failures are handed to the user's `failure` function, which returns the error to throw: each
 *   layer keeps its own error codes and wording, and this leaf module imports neither pi/ nor sinks/.
 */
import { Agent, request, type Dispatcher } from 'undici';

/** Where to ask for tokens. */
export type TokenEndpoint =
  /** `basic`: id and secret in an HTTP Basic header (RFC 6749 §2.3.1); `post`: in the form body. */
  | { url: string; clientAuth: 'basic' | 'post' }
  /**
   * An OpenID Connect discovery document (`.../.well-known/openid-configuration`) that names the
   * token endpoint. Read on first use; read again after a failure, never after a success.
   * The secret goes in the body unless the provider accepts HTTP Basic only.
   */
  | { discovery: string };

/** What went wrong getting a token; `url` is the endpoint's, never with a secret in it. */
export type TokenFailure =
  /** No HTTP answer (connection refused, reset, TLS, timeout). */
  | { kind: 'unreachable'; url: string; cause: unknown }
  /** The discovery document is missing or names no token endpoint. */
  | { kind: 'no-discovery'; url: string; status: number }
  /** The token endpoint answered a status other than 200; `error` is its OAuth error code (RFC 6749 §5.2), when it sent one. */
  | { kind: 'status'; url: string; status: number; error?: string }
  /** A 200 without an access_token (or with a body that is not JSON). */
  | { kind: 'no-token'; url: string; status: number };

/** When a token is renewed, from when it was asked for and received (ms) and its lifetime. */
export type RenewAt = (t: { requestedAt: number; receivedAt: number; lifetimeMs: number }) => number;

export interface ClientCredentialsOptions {
  clientId: string;
  clientSecret: string;
  /** The `scope` form field; none when undefined or empty. */
  scope?: string;
  endpoint: TokenEndpoint;
  /** TLS settings for the token endpoint and the discovery document. */
  connect?: { ca?: string[]; rejectUnauthorized?: boolean };
  /** Makes the dispatcher for the requests (e.g. through a proxy); an undici Agent with `connect` when undefined. */
  dispatcher?: () => Dispatcher;
  /** Header and body timeout of each request; undici's defaults when undefined. */
  timeoutMs?: number;
  /** Clock (ms). */
  now: () => number;
  renewAt: RenewAt;
  /** Lifetime assumed when the token endpoint sends no usable `expires_in`. */
  defaultLifetimeS: number;
  /** The error to throw for a failure. */
  failure: (f: TokenFailure) => unknown;
}

interface CachedToken {
  value: string;
  renewAt: number;
}

export class ClientCredentials {
  private dispatcher: Dispatcher | undefined;
  /** The token endpoint, once known (discovery is read until it succeeds once). */
  private endpoint: { url: string; clientAuth: 'basic' | 'post' } | undefined;
  private cached: CachedToken | undefined;
  private inflight: Promise<CachedToken> | undefined;

  constructor(private readonly o: ClientCredentialsOptions) {}

  /** The cached token until its renewal time, else a new one. */
  async token(): Promise<string> {
    if (this.cached && this.o.now() < this.cached.renewAt) return this.cached.value;
    return (await this.renew()).value;
  }

  /**
   * A token other than `rejected`, which the resource server refused: the one a concurrent caller
   * already got, else a new one.
   */
  async replace(rejected: string): Promise<string> {
    if (this.cached && this.cached.value !== rejected) return this.cached.value;
    return (await this.renew()).value;
  }

  /** Drops the cached token: the next `token()` asks for a new one. */
  invalidate(): void {
    this.cached = undefined;
  }

  async close(): Promise<void> {
    const d = this.dispatcher;
    this.dispatcher = undefined;
    await d?.close();
  }

  /** One token request at a time; concurrent callers share it. */
  private renew(): Promise<CachedToken> {
    this.inflight ??= this.fetchToken().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetchToken(): Promise<CachedToken> {
    const e = this.o.endpoint;
    const endpoint = this.endpoint ?? (this.endpoint = 'url' in e ? e : await this.discover(e.discovery));
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (endpoint.clientAuth === 'basic') {
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
    if (status !== 200) {
      const error = typeof body?.error === 'string' ? body.error : undefined;
      throw this.o.failure({ kind: 'status', url: endpoint.url, status, ...(error === undefined ? {} : { error }) });
    }
    const value = body?.access_token;
    if (typeof value !== 'string' || value === '') throw this.o.failure({ kind: 'no-token', url: endpoint.url, status });
    // Some providers send expires_in as a string ("3599").
    const expiresIn = Number(body?.expires_in);
    const lifetimeS = Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : this.o.defaultLifetimeS;
    this.cached = { value, renewAt: this.o.renewAt({ requestedAt, receivedAt: this.o.now(), lifetimeMs: lifetimeS * 1000 }) };
    return this.cached;
  }

  private async discover(url: string): Promise<{ url: string; clientAuth: 'basic' | 'post' }> {
    const { status, body } = await this.call(url, 'GET', { accept: 'application/json' });
    const tokenEndpoint = body?.token_endpoint;
    if (status !== 200 || typeof tokenEndpoint !== 'string') throw this.o.failure({ kind: 'no-discovery', url, status });
    const methods = body?.token_endpoint_auth_methods_supported;
    const basicOnly = Array.isArray(methods) && !methods.includes('client_secret_post') && methods.includes('client_secret_basic');
    return { url: tokenEndpoint, clientAuth: basicOnly ? 'basic' : 'post' };
  }

  private async call(
    url: string,
    method: 'GET' | 'POST',
    headers: Record<string, string>,
    body?: string,
  ): Promise<{ status: number; body: Record<string, unknown> | undefined }> {
    this.dispatcher ??= this.o.dispatcher?.() ?? new Agent(this.o.connect ? { connect: this.o.connect } : {});
    const timeouts = this.o.timeoutMs === undefined ? {} : { headersTimeout: this.o.timeoutMs, bodyTimeout: this.o.timeoutMs };
    let res;
    try {
      res = await request(url, { method, headers, body, dispatcher: this.dispatcher, ...timeouts });
    } catch (err) {
      throw this.o.failure({ kind: 'unreachable', url, cause: err });
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
