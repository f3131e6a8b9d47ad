import type { Dispatcher } from 'undici';

/** A response as the PI client sees it: status, lower-cased headers, whole body. */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * Sends the request once with the given extra headers, over `dispatcher` if one is given (NTLM
 * pins a handshake and the requests after it to one connection), otherwise over the shared pool.
 */
export type SendOnce = (extraHeaders: Record<string, string>, dispatcher?: Dispatcher) => Promise<RawResponse>;

/**
 * One authentication scheme. `send` performs whatever handshake the scheme needs around the
 * request (a 401 challenge, a token refresh, an NTLM type 1/2/3 exchange) and returns the final
 * response. It never logs or returns credentials.
 */
export interface PiAuth {
  readonly scheme: 'none' | 'basic' | 'bearer' | 'negotiate' | 'ntlm';
  send(sendOnce: SendOnce): Promise<RawResponse>;
  close(): Promise<void>;
}
