/**
 * Builds the PiAuth for the configured `pi.auth` scheme (fidelity §10). Kerberos loads its native
 * module here, so a machine without it fails at start with PI_KERBEROS_UNAVAILABLE.
 */
import { rootCertificates } from 'node:tls';
import { AnonymousAuth } from './anonymous.js';
import { BasicAuth } from './basic.js';
import { OidcAuth, StaticBearerAuth } from './bearer.js';
import { PiError } from '../../errors.js';
import { KerberosAuth, kerberosUnavailable, loadKerberos, servicePrincipal, type KerberosModule } from './kerberos.js';
import { NtlmAuth } from './ntlm.js';
import type { PiAuthConfig } from '../../config/types.js';
import type { PiAuth } from './types.js';

export type { PiAuth, RawResponse, SendOnce } from './types.js';

export interface PiAuthOptions {
  /** PI Web API root, e.g. `https://pi.example.com/piwebapi`. */
  baseUrl: string;
  /** Extra trusted CA certificate(s), PEM; added to the public roots. */
  ca?: string | Buffer;
  /** Default true. */
  rejectUnauthorized?: boolean;
  /** Clock (ms) for token renewal; tests pass a fake one. Default Date.now. */
  now?: () => number;
  /** How to load the `kerberos` module; the single binary passes the addon it extracted. */
  loadKerberos?: () => Promise<KerberosModule>;
}

export async function createPiAuth(cfg: PiAuthConfig, opts: PiAuthOptions): Promise<PiAuth> {
  // A private CA must not hide the public roots: an OIDC provider may use a public certificate.
  const connect = {
    ...(opts.ca === undefined ? {} : { ca: [...rootCertificates, opts.ca.toString()] }),
    rejectUnauthorized: opts.rejectUnauthorized ?? true,
  };
  switch (cfg.type) {
    case 'anonymous':
      return new AnonymousAuth();
    case 'basic':
      return new BasicAuth(cfg.username, cfg.password);
    case 'bearer':
      return new StaticBearerAuth(cfg.token);
    case 'oidc':
      return new OidcAuth({
        baseUrl: opts.baseUrl,
        clientId: cfg.client_id,
        clientSecret: cfg.client_secret,
        ...(cfg.token_url === undefined ? {} : { tokenUrl: cfg.token_url }),
        ...(cfg.scope === undefined ? {} : { scope: cfg.scope }),
        connect,
        now: opts.now ?? Date.now,
      });
    case 'kerberos': {
      let k: KerberosModule;
      try {
        k = await (opts.loadKerberos ?? loadKerberos)();
      } catch (err) {
        throw err instanceof PiError ? err : kerberosUnavailable(err);
      }
      return new KerberosAuth(k, servicePrincipal(opts.baseUrl, cfg.spn), { delegate: cfg.delegate ?? false });
    }
    case 'ntlm':
      return new NtlmAuth({
        baseUrl: opts.baseUrl,
        username: cfg.username,
        password: cfg.password,
        ...(cfg.domain === undefined ? {} : { domain: cfg.domain }),
        ...(cfg.workstation === undefined ? {} : { workstation: cfg.workstation }),
        connect,
      });
  }
}
