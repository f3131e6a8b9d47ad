/**
 * Kerberos on Windows through SSPI, as the service account (domain account or gMSA), no password:
 * the `Negotiate` package of node-expose-sspi's N-API addon (platform-notes.md; the `kerberos`
 * package has no Windows build in the npm registry). Wrapped in the KerberosModule shape that
 * KerberosAuth already drives, so the HTTP exchange is the one tested with GSSAPI.
 * SSPI calls: https://learn.microsoft.com/windows/win32/secauthn/acquirecredentialshandle--negotiate
 * and .../initializesecuritycontext--negotiate (SEC_E_OK, SEC_I_CONTINUE_NEEDED).
 */
import { GSS_C_DELEG_FLAG, type KerberosClientContext, type KerberosModule } from './kerberos.js';

/** The part of node-expose-sspi's addon (`lib/api.js`, `sspi`) used here. */
export interface SspiAddon {
  sspi: {
    AcquireCredentialsHandle(input: { packageName: string; credentialUse?: string }): { credential: object };
    InitializeSecurityContext(input: {
      credential: object;
      targetName: string;
      cbMaxToken?: number;
      SecBufferDesc?: { ulVersion: number; buffers: ArrayBuffer[] };
      contextHandle?: object;
      contextReq?: string[];
      targetDataRep?: string;
    }): { contextHandle: object; SECURITY_STATUS: string; SecBufferDesc: { ulVersion: number; buffers: ArrayBuffer[] } };
    DeleteSecurityContext(contextHandle: object): void;
    FreeCredentialsHandle(credential: object): void;
  };
}

export function isSspiAddon(mod: unknown): mod is SspiAddon {
  const s = (mod as { sspi?: { InitializeSecurityContext?: unknown } } | null)?.sspi;
  return typeof s?.InitializeSecurityContext === 'function';
}

/** Negotiate tokens larger than this are not produced (Kerberos with a large PAC stays under 48 KB). */
const MAX_TOKEN = 48_256;

/** A context still waiting for the server's answer after this long is freed. */
const ABANDON_MS = 10 * 60_000;

/** One SSPI client context per request token, like a GSSAPI context. */
class SspiContext implements KerberosClientContext {
  contextComplete = false;
  private handle: object | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly addon: SspiAddon,
    private readonly credential: object,
    private readonly spn: string,
    /** ISC_REQ_DELEGATE: a forwardable ticket goes with the token (pi.auth.delegate). */
    private readonly delegate = false,
  ) {}

  step(challenge: string): Promise<string> {
    return Promise.resolve().then(() => {
      const input: Parameters<SspiAddon['sspi']['InitializeSecurityContext']>[0] = {
        credential: this.credential,
        targetName: this.spn,
        cbMaxToken: MAX_TOKEN,
        contextReq: this.delegate ? ['ISC_REQ_MUTUAL_AUTH', 'ISC_REQ_DELEGATE'] : ['ISC_REQ_MUTUAL_AUTH'],
        targetDataRep: 'SECURITY_NATIVE_DREP',
      };
      if (challenge) {
        const b = Buffer.from(challenge, 'base64');
        input.SecBufferDesc = { ulVersion: 0, buffers: [b.buffer.slice(b.byteOffset, b.byteOffset + b.length)] };
        input.contextHandle = this.handle;
      }
      const out = this.addon.sspi.InitializeSecurityContext(input);
      if (out.SECURITY_STATUS !== 'SEC_E_OK' && out.SECURITY_STATUS !== 'SEC_I_CONTINUE_NEEDED') {
        this.close();
        throw new Error(`SSPI InitializeSecurityContext: ${out.SECURITY_STATUS}`);
      }
      this.handle = out.contextHandle;
      this.contextComplete = out.SECURITY_STATUS === 'SEC_E_OK';
      if (this.contextComplete) this.close();
      // Kept for the server's mutual-authentication token; freed even when none comes.
      else this.timer ??= setTimeout(() => this.close(), ABANDON_MS).unref();
      const token = out.SecBufferDesc.buffers[0];
      return token ? Buffer.from(token).toString('base64') : '';
    });
  }

  private close(): void {
    if (this.timer) clearTimeout(this.timer);
    try {
      if (this.handle) this.addon.sspi.DeleteSecurityContext(this.handle);
    } catch {
      // already gone
    }
    try {
      this.addon.sspi.FreeCredentialsHandle(this.credential);
    } catch {
      // already freed
    }
    this.handle = undefined;
  }
}

/** KerberosModule over SSPI: the service account's own logon credentials (no authData). */
export function sspiKerberos(addon: SspiAddon): KerberosModule {
  return {
    GSS_MECH_OID_SPNEGO: 6,
    // GSS_C_DELEG_FLAG in the flags KerberosAuth passes maps to ISC_REQ_DELEGATE.
    initializeClient: (spn, options) =>
      Promise.resolve().then(() => {
        const { credential } = addon.sspi.AcquireCredentialsHandle({ packageName: 'Negotiate', credentialUse: 'SECPKG_CRED_OUTBOUND' });
        return new SspiContext(addon, credential, spn, ((options?.flags ?? 0) & GSS_C_DELEG_FLAG) !== 0);
      }),
  };
}
