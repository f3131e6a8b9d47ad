/**
 * Kerberos through SPNEGO ("Negotiate", fidelity §10) with the service account's own credentials
 * (ticket cache or keytab); no password in the config. Uses the optional native `kerberos` package
 * (platform-notes.md: GSSAPI on Linux/macOS, SSPI on Windows).
 *
 * The first request goes without a token; once the server has asked for Negotiate, every request
 * carries a fresh token (a Kerberos AP-REQ authenticates one request, not the connection).
 */
import { PiError } from '../../errors.js';
import { SINGLE_BINARY } from '../../version.js';
import { findChallenge } from './challenge.js';
import { authFailed } from './failure.js';
import { isSspiAddon, sspiKerberos } from './sspi.js';
import type { PiAuth, RawResponse, SendOnce } from './types.js';

/** The part of the `kerberos` package this client uses. */
export interface KerberosModule {
  GSS_MECH_OID_SPNEGO: number;
  initializeClient(service: string, options?: { mechOID?: number; flags?: number }): Promise<KerberosClientContext>;
}

/**
 * GSS request flags (RFC 2744 §3.9.1 values, as the `kerberos` package exports them; SSPI's
 * ISC_REQ_DELEGATE, ISC_REQ_MUTUAL_AUTH and ISC_REQ_SEQUENCE_DETECT have the same values).
 */
export const GSS_C_DELEG_FLAG = 1;
export const GSS_C_MUTUAL_FLAG = 2;
export const GSS_C_SEQUENCE_FLAG = 8;

export interface KerberosOptions {
  /**
   * Ask for a delegated credential (`pi.auth.delegate`): PI Web API then acts as the agent's account
   * towards a Data Archive or AF server on another host (the Kerberos "double hop"). The domain
   * decides what PI Web API may do with it (constrained delegation in Active Directory); the
   * agent's ticket must be forwardable.
   */
  delegate: boolean;
  /** Where the agent runs (default this process): the hints differ (SSPI on Windows, GSSAPI elsewhere). */
  platform?: NodeJS.Platform;
}

/** What to check when no service ticket can be had, where the agent runs. */
function ticketHint(platform: NodeJS.Platform): string {
  return platform === 'win32'
    ? 'Check that the service runs as a domain account (or gMSA) that PI Web API trusts (not LocalSystem on a machine outside the domain), that a domain controller is reachable, ' +
        "that the SPN is registered on PI Web API's service account (setspn -Q HTTP/<host>; set pi.auth.spn if PI Web API uses another name) and, for pi.auth.delegate, that the account may be delegated."
    : "Check that the agent's account has Kerberos credentials (kinit, or a keytab in KRB5_CLIENT_KTNAME), that the KDC is reachable and that the SPN exists (set pi.auth.spn if PI Web API uses another name).";
}

/** An error text from GSSAPI or SSPI on one printable line (wine's SSPI messages carry stray bytes). */
function printable(text: string): string {
  return text
    .replace(/[^\x20-\x7e\u00a0-\uffef]+/g, ' ')
    .replace(/\uFFFD+/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

export interface KerberosClientContext {
  step(challenge: string): Promise<string>;
  contextComplete: boolean;
}

/**
 * Loads `kerberos`, or on Windows node-expose-sspi's SSPI addon (sspi.ts); the specifier is a
 * variable so builds and typechecks work without either.
 */
export async function loadKerberos(): Promise<KerberosModule> {
  const name = process.platform === 'win32' ? 'node-expose-sspi/lib/api.js' : 'kerberos';
  let mod: KerberosModule & { default?: KerberosModule };
  try {
    mod = (await import(name)) as KerberosModule & { default?: KerberosModule };
  } catch (err) {
    throw kerberosUnavailable(err);
  }
  const sspi: unknown = isSspiAddon(mod.default) ? mod.default : mod;
  if (isSspiAddon(sspi)) return sspiKerberos(sspi);
  const k = mod.default && typeof mod.default.initializeClient === 'function' ? mod.default : mod;
  if (typeof k.initializeClient !== 'function') throw kerberosUnavailable(new Error('kerberos module has no initializeClient'));
  return k;
}

/**
 * What to do when Kerberos cannot be loaded, by where pi-agent runs: on Windows it is SSPI through the
 * binary's `node-expose-sspi` addon; the npm install builds the optional `kerberos` module (it needs
 * the Kerberos development files); the Linux single binary carries that module and opens the
 * system's MIT Kerberos libraries at run time (README "System requirements"), so there the fix is
 * the runtime package.
 */
export function kerberosUnavailable(cause: unknown, where: { platform?: NodeJS.Platform; singleBinary?: boolean } = {}): PiError {
  const platform = where.platform ?? process.platform;
  const singleBinary = where.singleBinary ?? SINGLE_BINARY;
  const reason = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
  const message =
    platform === 'win32'
      ? `Kerberos on Windows uses SSPI through the 'node-expose-sspi' module, which could not be loaded (${reason}). ` +
        "Use the release's pi-agent-win-x64.exe, which carries it, or set pi.auth.type to ntlm or basic."
      : singleBinary
        ? `Kerberos authentication needs the system's MIT Kerberos libraries, which could not be loaded (${reason}). ` +
          'Install them (RHEL/Rocky/Alma: dnf install krb5-libs; Debian/Ubuntu: apt-get install libgssapi-krb5-2; SLES: zypper install krb5) ' +
          'and start pi-agent again, or set pi.auth.type to basic or ntlm.'
        : `Kerberos authentication needs the optional 'kerberos' module, which could not be loaded (${reason}). ` +
          'Install the Kerberos development files (Debian/Ubuntu: apt-get install libkrb5-dev; RHEL/Fedora: dnf install krb5-devel) ' +
          'and reinstall pi-agent so the module builds, or set pi.auth.type to basic or ntlm.';
  return new PiError('PI_KERBEROS_UNAVAILABLE', message, { cause });
}

/**
 * GSSAPI wants `HTTP@host`, SSPI wants `HTTP/host` (platform-notes.md); accept either spelling in
 * the config, since Windows admins write SPNs as `HTTP/host` (setspn).
 */
export function servicePrincipal(baseUrl: string, spn: string | undefined, platform: NodeJS.Platform = process.platform): string {
  const windows = platform === 'win32';
  if (!spn) {
    const host = new URL(baseUrl).hostname.replace(/^\[|\]$/g, '');
    return windows ? `HTTP/${host}` : `HTTP@${host}`;
  }
  if (windows) return spn.replace(/^([^/@]+)@/, '$1/');
  // `HTTP/host@REALM` → `HTTP@host`: a host-based service name has no realm (domain_realm maps it).
  const m = /^([^/@]+)\/([^@]+)(?:@.*)?$/.exec(spn);
  return m ? `${m[1]}@${m[2]}` : spn;
}

export class KerberosAuth implements PiAuth {
  readonly scheme = 'negotiate' as const;
  /** Set once the server has asked for Negotiate: from then on send tokens up front. */
  private preemptive = false;

  constructor(
    private readonly k: KerberosModule,
    private readonly spn: string,
    private readonly opts: KerberosOptions = { delegate: false },
  ) {}

  /**
   * GSS flags of each context. Without delegation the package's own default (mutual
   * authentication and sequencing); with it the same plus GSS_C_DELEG_FLAG, which makes GSSAPI
   * (or SSPI's ISC_REQ_DELEGATE) send a forwarded credential in the authenticator.
   */
  private flags(): { flags?: number } {
    if (!this.opts.delegate) return {};
    return { flags: GSS_C_DELEG_FLAG | GSS_C_MUTUAL_FLAG | GSS_C_SEQUENCE_FLAG };
  }

  async send(sendOnce: SendOnce): Promise<RawResponse> {
    if (!this.preemptive) {
      const res = await sendOnce({});
      if (res.status !== 401) return res;
      if (!findChallenge(res, 'Negotiate')) {
        throw authFailed(
          'PI Web API does not offer Kerberos (Negotiate)',
          "Set pi.auth.type to a scheme it offers, or add Kerberos to PI Web API's AuthenticationMethods.",
          res,
        );
      }
    }
    const res = await this.sendWithToken(sendOnce);
    if (res.status === 401) {
      throw authFailed(
        `PI Web API rejected the Kerberos ticket for ${this.spn}`,
        `Check that ${this.spn} is registered (setspn) on PI Web API's service account, that the agent's clock is in sync with the domain, and that the agent's account is allowed to use PI Web API.`,
        res,
      );
    }
    this.preemptive = true;
    return res;
  }

  async close(): Promise<void> {}

  private async sendWithToken(sendOnce: SendOnce): Promise<RawResponse> {
    let ctx: KerberosClientContext;
    let token: string;
    try {
      ctx = await this.k.initializeClient(this.spn, { mechOID: this.k.GSS_MECH_OID_SPNEGO, ...this.flags() });
      token = await ctx.step('');
    } catch (err) {
      const reason = printable(err instanceof Error ? err.message : String(err));
      throw authFailed(`Kerberos could not get a service ticket for ${this.spn}: ${reason}`, ticketHint(this.opts.platform ?? process.platform), undefined, err);
    }
    const res = await sendOnce({ authorization: `Negotiate ${token}` });
    const mutual = res.status < 400 ? findChallenge(res, 'Negotiate')?.token : undefined;
    if (mutual) {
      // Mutual authentication: the server proves it holds the service key.
      try {
        await ctx.step(mutual);
      } catch (err) {
        throw authFailed(
          `The server's Kerberos mutual-authentication token for ${this.spn} did not verify`,
          'PI Web API may not be the server it claims to be; check the SPN and DNS.',
          undefined,
          err,
        );
      }
    }
    return res;
  }
}
