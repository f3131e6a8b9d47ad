/**
 * The one way a scheme gives up: PI_AUTH_FAILED naming the scheme, what the server offers and what
 * the operator should check. Callers pass only non-secret facts (user names, SPNs, URLs).
 */
import { PiError } from '../../errors.js';
import { offeredSchemes } from './challenge.js';
import type { RawResponse } from './types.js';

export function authFailed(what: string, check: string, res?: RawResponse, cause?: unknown): PiError {
  const status = res ? ` (HTTP ${res.status}; the server offers: ${offeredSchemes(res)})` : '';
  return new PiError('PI_AUTH_FAILED', `${what}${status}. ${check}`, {
    ...(res ? { status: res.status } : {}),
    ...(cause === undefined ? {} : { cause }),
  });
}
