/**
 * The simulator's authentication (fidelity §10): anonymous, Basic, Bearer (OpenID Connect client
 * credentials with discovery), Negotiate (real Kerberos against the test realm's keytab) and NTLM
 * (per connection). Several may be enabled at once; a 401 lists every enabled scheme.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { isNtlmMessage } from '../../../agent/pi/auth/ntlm-messages.js';
import type { SimAuth, SimAuthMode } from './auth-types.js';
import { NtlmAcceptor } from './ntlm-server.js';

export interface SimAuthOptions {
  /** One scheme or several; 'none' next to others lets requests without credentials through. */
  mode: SimAuthMode | SimAuthMode[];
  /** Basic and NTLM (also NTLM inside Negotiate) accounts: user name → password. Default `{ pi: 'pi-password' }`. */
  users?: Record<string, string>;
  /** The NTLM domain (NetBIOS name). Default `PISIM`. */
  ntlmDomain?: string;
  /** OIDC clients allowed the client-credentials grant: client_id → secret. Default `{ 'pi-agent': 'pi-agent-secret' }`. */
  clients?: Record<string, string>;
  /** Lifetime of issued access tokens. Default 3600 s. */
  tokenLifetimeSeconds?: number;
  /** Fixed bearer tokens → user, for `{ type: 'bearer', token }` configs. */
  staticTokens?: Record<string, string>;
  /** GSS acceptor name; its key comes from KRB5_KTNAME. Default `HTTP@localhost`. */
  kerberosService?: string;
  /** Clock for token expiry (ms); tests pass a fake one. Default Date.now. */
  now?: () => number;
}

export interface SimAuthStats {
  tokensIssued: number;
  /** 401s written (challenges and rejections). */
  unauthorized: number;
  ntlmChallenges: number;
  ntlmHandshakes: number;
  kerberosLogins: number;
}

export interface SimAuthControl extends SimAuth {
  readonly modes: readonly SimAuthMode[];
  readonly stats: SimAuthStats;
  /** Invalidates every issued access token (as if the identity provider rotated its keys). */
  revokeTokens(): void;
}

/** Path of the OIDC discovery document (fidelity §10). */
export const OIDC_DISCOVERY_PATH = '/piwebapi/.well-known/openid-configuration';
/** Token endpoint the discovery document points at (path inferred, IdentityServer style). */
export const OIDC_TOKEN_PATH = '/piwebapi/identity/connect/token';

interface KerberosServerModule {
  initializeServer(service: string): Promise<{ step(token: string): Promise<string>; username: string; response: string; contextComplete: boolean }>;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(data.length), ...headers });
  res.end(data);
}

function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0]!.toLowerCase();
}

export async function createSimAuth(opts: SimAuthOptions): Promise<SimAuthControl> {
  const modes = Array.isArray(opts.mode) ? [...opts.mode] : [opts.mode];
  const on = (m: SimAuthMode) => modes.includes(m);
  const now = opts.now ?? Date.now;
  const users = opts.users ?? { pi: 'pi-password' };
  const clients = opts.clients ?? { 'pi-agent': 'pi-agent-secret' };
  const lifetime = opts.tokenLifetimeSeconds ?? 3600;
  const staticTokens = opts.staticTokens ?? {};
  const service = opts.kerberosService ?? 'HTTP@localhost';
  const tokens = new Map<string, { user: string; expiresAt: number }>();
  const ntlm = new NtlmAcceptor(users, opts.ntlmDomain ?? 'PISIM', now);
  const stats: SimAuthStats = { tokensIssued: 0, unauthorized: 0, ntlmChallenges: 0, ntlmHandshakes: 0, kerberosLogins: 0 };

  let kerberos: KerberosServerModule | undefined;
  if (on('negotiate')) {
    try {
      const mod = (await import('kerberos')) as unknown as KerberosServerModule & { default?: KerberosServerModule };
      kerberos = mod.default ?? mod;
    } catch (err) {
      throw new Error('simulator negotiate auth needs the kerberos package', { cause: err });
    }
  }

  /** Every enabled scheme, in the order IIS lists them. */
  function challengeHeaders(bearerError?: string): string[] {
    const h: string[] = [];
    if (on('negotiate')) h.push('Negotiate');
    if (on('ntlm')) h.push('NTLM');
    if (on('basic')) h.push('Basic realm="PI Web API"');
    if (on('bearer')) h.push(bearerError ? `Bearer error="${bearerError}"` : 'Bearer');
    return h;
  }

  function deny(res: ServerResponse, headers: string[] = challengeHeaders()): undefined {
    stats.unauthorized++;
    sendJson(res, 401, { Errors: ['Authorization has been denied for this request.'] }, { 'WWW-Authenticate': headers });
    return undefined;
  }

  function basic(token: string, res: ServerResponse): string | undefined {
    const decoded = Buffer.from(token, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return deny(res);
    const name = decoded.slice(0, colon);
    const pw = users[name];
    if (pw === undefined || !safeEqual(pw, decoded.slice(colon + 1))) return deny(res);
    return name;
  }

  function bearer(token: string, res: ServerResponse): string | undefined {
    const fixed = staticTokens[token];
    if (fixed !== undefined) return fixed;
    const t = tokens.get(token);
    if (!t || now() >= t.expiresAt) return deny(res, challengeHeaders('invalid_token'));
    return t.user;
  }

  function ntlmStep(scheme: string, msg: Buffer, req: IncomingMessage, res: ServerResponse): string | undefined {
    const r = ntlm.step(req.socket, msg);
    stats.ntlmChallenges = ntlm.challenges;
    stats.ntlmHandshakes = ntlm.handshakes;
    if (r.kind === 'ok') return r.user;
    // Mid-handshake IIS answers with the one scheme in use and the type 2 token.
    if (r.kind === 'challenge') return deny(res, [`${scheme} ${r.token.toString('base64')}`]);
    return deny(res);
  }

  async function negotiate(token: string, res: ServerResponse): Promise<string | undefined> {
    try {
      const ctx = await kerberos!.initializeServer(service);
      await ctx.step(token);
      if (!ctx.contextComplete) return deny(res, ctx.response ? [`Negotiate ${ctx.response}`] : challengeHeaders());
      // Mutual authentication: the final SPNEGO token rides on the successful response.
      if (ctx.response) res.setHeader('WWW-Authenticate', `Negotiate ${ctx.response}`);
      stats.kerberosLogins++;
      return ctx.username;
    } catch {
      return deny(res);
    }
  }

  return {
    mode: modes[0] ?? 'none',
    modes,
    stats,

    revokeTokens() {
      tokens.clear();
    },

    async handlePublic(req, res) {
      if (!on('bearer')) return false;
      const path = pathOf(req);
      const origin = `${(req.socket as TLSSocket).encrypted ? 'https' : 'http'}://${req.headers.host ?? 'localhost'}`;
      if (req.method === 'GET' && path === OIDC_DISCOVERY_PATH) {
        sendJson(res, 200, {
          issuer: `${origin}/piwebapi/identity`,
          token_endpoint: origin + OIDC_TOKEN_PATH,
          grant_types_supported: ['client_credentials'],
          token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
          response_types_supported: ['token'],
        });
        return true;
      }
      if (path !== OIDC_TOKEN_PATH) return false;
      if (req.method !== 'POST') {
        sendJson(res, 405, { error: 'invalid_request' });
        return true;
      }
      const form = new URLSearchParams(await readBody(req));
      let id = form.get('client_id') ?? undefined;
      let secret = form.get('client_secret') ?? undefined;
      const auth = req.headers.authorization;
      if (auth?.toLowerCase().startsWith('basic ')) {
        const d = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
        const i = d.indexOf(':');
        if (i >= 0) {
          id = decodeURIComponent(d.slice(0, i));
          secret = decodeURIComponent(d.slice(i + 1));
        }
      }
      const noStore = { 'Cache-Control': 'no-store' };
      if (form.get('grant_type') !== 'client_credentials') {
        sendJson(res, 400, { error: 'unsupported_grant_type' }, noStore);
        return true;
      }
      const known = id === undefined ? undefined : clients[id];
      if (id === undefined || known === undefined || secret === undefined || !safeEqual(known, secret)) {
        sendJson(res, 401, { error: 'invalid_client' }, noStore);
        return true;
      }
      const token = randomBytes(32).toString('base64url');
      tokens.set(token, { user: id, expiresAt: now() + lifetime * 1000 });
      stats.tokensIssued++;
      const scope = form.get('scope');
      sendJson(res, 200, { access_token: token, token_type: 'Bearer', expires_in: lifetime, ...(scope ? { scope } : {}) }, noStore);
      return true;
    },

    async authenticate(req, res) {
      if (modes.length === 1 && on('none')) return 'anonymous';
      const header = req.headers.authorization;
      if (!header) {
        // IIS keeps an NTLM-authenticated connection authenticated (fidelity §10).
        const connUser = ntlm.socketUser(req.socket);
        if (connUser !== undefined) return connUser;
        if (on('none')) return 'anonymous';
        return deny(res);
      }
      const m = /^(\S+)\s*(.*)$/.exec(header.trim());
      const scheme = m?.[1]?.toLowerCase() ?? '';
      const token = m?.[2]?.trim() ?? '';
      if (scheme === 'basic' && on('basic')) return basic(token, res);
      if (scheme === 'bearer' && on('bearer')) return bearer(token, res);
      if ((scheme === 'ntlm' && on('ntlm')) || (scheme === 'negotiate' && (on('negotiate') || on('ntlm')))) {
        const msg = Buffer.from(token, 'base64');
        // IIS's Negotiate provider also accepts raw NTLM, what SSPI falls back to without Kerberos.
        if (isNtlmMessage(msg)) return ntlmStep(m![1]!, msg, req, res);
        if (scheme === 'negotiate' && kerberos) return negotiate(token, res);
      }
      return deny(res);
    },

    async close() {
      tokens.clear();
    },
  };
}
