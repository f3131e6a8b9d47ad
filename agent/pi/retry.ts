/**
 * When the PI client tries again and how long it waits (piwebapi-fidelity.md §10): exponential
 * backoff with full jitter, or the server's `Retry-After` (capped) when it gave one.
 */
import type { Failure } from './failures.js';

export interface RetryPolicy {
  /** Retries after the first attempt for transient failures (429/502/503/504, timeouts, resets). */
  retries: number;
  /** Retries for 500 and other 5xx, which are rarely transient (§10: "500 once or twice"). */
  serverErrorRetries: number;
  /** First backoff ceiling; doubles per retry. */
  baseDelayMs: number;
  /** Ceiling of any backoff. */
  maxDelayMs: number;
  /** Ceiling of a server-requested `Retry-After`, so a bad header cannot stall the agent for hours. */
  retryAfterCapMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  retries: 5,
  serverErrorRetries: 2,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  retryAfterCapMs: 60_000,
};

/** `Retry-After` as delta-seconds or an HTTP date, in ms from `nowMs`; undefined if unreadable. */
export function parseRetryAfter(value: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** Full jitter: uniform in [0, min(max, base·2^(retry-1))] (the AWS architecture blog's variant). */
export function backoffDelayMs(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * ceiling);
}

/**
 * Whether to retry after `failure`, given how many retries of each kind were already made, and if
 * so after how long.
 */
export function nextRetry(
  failure: Failure,
  done: { retries: number; serverRetries: number },
  policy: RetryPolicy,
  random: () => number = Math.random,
  nowMs: number = Date.now(),
): { delayMs: number } | undefined {
  if (failure.retry === 'never') return undefined;
  if (done.retries >= policy.retries) return undefined;
  if (failure.retry === 'server' && done.serverRetries >= policy.serverErrorRetries) return undefined;
  const asked = parseRetryAfter(failure.retryAfter, nowMs);
  if (asked !== undefined) return { delayMs: Math.min(asked, policy.retryAfterCapMs) };
  return { delayMs: backoffDelayMs(done.retries + 1, policy, random) };
}
