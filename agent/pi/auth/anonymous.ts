/** No credentials: PI Web API with Anonymous enabled in AuthenticationMethods (fidelity §10). */
import { authFailed } from './failure.js';
import type { PiAuth, RawResponse, SendOnce } from './types.js';

export class AnonymousAuth implements PiAuth {
  readonly scheme = 'none' as const;

  async send(sendOnce: SendOnce): Promise<RawResponse> {
    const res = await sendOnce({});
    if (res.status === 401) {
      throw authFailed('PI Web API requires authentication', 'Set pi.auth to one of the schemes it offers (kerberos, ntlm, basic, bearer/oidc).', res);
    }
    return res;
  }

  async close(): Promise<void> {}
}
