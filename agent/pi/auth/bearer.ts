/**
 * Bearer tokens (fidelity §10): a fixed token from the config, or OpenID Connect client credentials
 * with the token endpoint from `token_url` or the discovery document at
 * `<base>/.well-known/openid-configuration`. The OIDC token is cached and renewed before it
 * expires (oauth/client-credentials.ts, at 80% of its lifetime), so steady polling never meets a
 * 401; a 401 still triggers one renewal and one retry.
 */
import { PiError } from '../../errors.js';
import { ClientCredentials, type TokenFailure } from '../../oauth/client-credentials.js';
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

export class OidcAuth implements PiAuth {
  readonly scheme = 'bearer' as const;
  private readonly tokens: ClientCredentials;

  constructor(private readonly o: OidcOptions) {
    this.tokens = new ClientCredentials({
      clientId: o.clientId,
      clientSecret: o.clientSecret,
      ...(o.scope === undefined ? {} : { scope: o.scope }),
      endpoint: o.tokenUrl ? { url: o.tokenUrl, clientAuth: 'post' } : { discovery: o.baseUrl.replace(/\/+$/, '') + '/.well-known/openid-configuration' },
      connect: o.connect,
      timeoutMs: TIMEOUT_MS,
      now: o.now,
      // Measured from the request, so time spent waiting for the answer counts against the token.
      renewAt: ({ requestedAt, lifetimeMs }) => requestedAt + lifetimeMs * RENEW_AT,
      defaultLifetimeS: DEFAULT_LIFETIME_S,
      failure: (f) => this.failure(f),
    });
  }

  async send(sendOnce: SendOnce): Promise<RawResponse> {
    const first = await this.tokens.token();
    let res = await sendOnce({ authorization: `Bearer ${first}` });
    if (res.status !== 401) return res;
    // Revoked or expired early: renew once, unless a concurrent request already did.
    const second = await this.tokens.replace(first);
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
    await this.tokens.close();
  }

  /** A failed discovery or token request as a PiError (the OIDC provider is part of the PI boundary). */
  private failure(f: TokenFailure): PiError {
    switch (f.kind) {
      case 'unreachable': {
        const reason = f.cause instanceof Error ? f.cause.message : String(f.cause);
        return new PiError('PI_UNREACHABLE', `Cannot reach the OIDC endpoint ${f.url}: ${reason}`, { retryable: true, cause: f.cause });
      }
      case 'no-discovery':
        return new PiError(
          'PI_AUTH_FAILED',
          `No OpenID Connect discovery document at ${f.url} (HTTP ${f.status}). Set pi.auth.token_url to the identity provider's token endpoint, or enable OIDC in PI Web API.`,
          { status: f.status },
        );
      case 'status':
        if (f.status === 400 || f.status === 401) {
          return new PiError(
            'PI_AUTH_FAILED',
            `The OIDC token endpoint ${f.url} refused client '${this.o.clientId}'${f.error === undefined ? '' : ` (${f.error})`}. Check pi.auth.client_id, pi.auth.client_secret and pi.auth.scope.`,
            { status: f.status },
          );
        }
        if (f.status >= 500) {
          return new PiError('PI_SERVER_ERROR', `The OIDC token endpoint ${f.url} failed with HTTP ${f.status}; will retry.`, { status: f.status, retryable: true });
        }
        return new PiError('PI_BAD_RESPONSE', `The OIDC token endpoint ${f.url} answered HTTP ${f.status} without an access_token.`, { status: f.status });
      case 'no-token':
        return new PiError('PI_BAD_RESPONSE', `The OIDC token endpoint ${f.url} answered HTTP ${f.status} without an access_token.`, { status: f.status });
    }
  }
}
