import type { IncomingMessage, ServerResponse } from 'node:http';

export type SimAuthMode = 'none' | 'basic' | 'bearer' | 'negotiate' | 'ntlm';

/**
 * How the simulator authenticates a request. The HTTP server calls `handlePublic` first (OIDC
 * discovery and token endpoint must answer without credentials), then `authenticate`.
 */
export interface SimAuth {
  readonly mode: SimAuthMode;
  /** true when it answered the request itself (e.g. `/piwebapi/.well-known/openid-configuration`). */
  handlePublic(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  /**
   * The authenticated user name, or undefined after it wrote a 401 with the right
   * `WWW-Authenticate` header(s) (or the next NTLM/Negotiate handshake step) to `res`.
   */
  authenticate(req: IncomingMessage, res: ServerResponse): Promise<string | undefined>;
  close(): Promise<void>;
}
