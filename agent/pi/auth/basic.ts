/**
 * HTTP Basic, sent with every request (no 401 round trip first). Only safe over HTTPS; the config
 * layer refuses it over plain HTTP.
 */
import { authFailed } from './failure.js';
import type { PiAuth, RawResponse, SendOnce } from './types.js';

export class BasicAuth implements PiAuth {
  readonly scheme = 'basic' as const;
  private readonly header: string;

  constructor(
    private readonly username: string,
    password: string,
  ) {
    this.header = 'Basic ' + Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
  }

  async send(sendOnce: SendOnce): Promise<RawResponse> {
    const res = await sendOnce({ authorization: this.header });
    if (res.status === 401) {
      throw authFailed(
        `PI Web API rejected Basic authentication for user '${this.username}'`,
        "Check pi.auth.username and pi.auth.password (a domain account may need DOMAIN\\user), and that Basic is in PI Web API's AuthenticationMethods.",
        res,
      );
    }
    return res;
  }

  async close(): Promise<void> {}
}
