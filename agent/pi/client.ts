/**
 * PiClient: every PI Web API call of the agent goes through here. One keep-alive pool, at most
 * `concurrency` requests in flight, authentication by the configured PiAuth, JSON in and out, and
 * retries with backoff for what is worth retrying (piwebapi-fidelity.md §10).
 */
import { setTimeout as sleepMs } from 'node:timers/promises';
import type { Pool } from 'undici';
import { AgentError, PiError } from '../errors.js';
import { Limiter } from '../pool.js';
import type { ErrorCode } from '../errors.js';
import type { PiAuth, RawResponse, SendOnce } from './auth/types.js';
import { badBodyFailure, networkFailure, statusFailure } from './failures.js';
import type { Failure } from './failures.js';
import { buildQuery, createPool, parseBaseUrl, sendRequest } from './http.js';
import type { PiEndpoint, Query } from './http.js';
import { DEFAULT_RETRY_POLICY, nextRetry } from './retry.js';
import type { RetryPolicy } from './retry.js';
import { WebIdAliases, type WebIdAliasStore } from './webid-aliases.js';

export interface RequestInfo {
  method: string;
  /** Path without the query string (which may carry search terms). */
  path: string;
  /** HTTP status, or 0 when no response arrived. */
  status: number;
  bytes: number;
  ms: number;
  /** 1 for the first try of a call, 2 for its first retry... */
  attempt: number;
}

export interface PiClientOptions {
  /** `https://host/piwebapi` */
  baseUrl: string;
  /** The client owns it: `close()` closes it too. */
  auth: PiAuth;
  /** Extra CA bundle (PEM) trusted in addition to the system roots. */
  ca?: string | Buffer;
  /** Certificate verification is on unless this is explicitly `false` (fidelity §10). */
  rejectUnauthorized?: boolean;
  /** Requests in flight at once (default 8). */
  concurrency?: number;
  /** Per request: time to the response headers and between body chunks (default 120 000 ms). */
  timeoutMs?: number;
  /** Retries of transient failures after the first attempt (default 5). */
  retries?: number;
  /** Retries of 500 and other non-transient 5xx (default 2). */
  serverErrorRetries?: number;
  /** Backoff tuning (defaults in retry.ts). */
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  retryAfterCapMs?: number;
  userAgent?: string;
  /** Called after every HTTP exchange, auth handshakes included. */
  onRequest?: (info: RequestInfo) => void;
  /** How to wait between attempts; tests pass one that records the delays instead of waiting. */
  sleep?: (ms: number) => Promise<void>;
  /** Where a WebID 1.0 server's ids persist against their keys (pi/webid-aliases.ts); in memory without. */
  webIdAliases?: WebIdAliasStore;
}

export interface PiClientStats {
  /** HTTP requests sent, auth handshakes and retries included. */
  requests: number;
  bytesReceived: number;
  /** Attempts repeated after a failure. */
  retries: number;
  /** Failed attempts by code, retried or not. */
  errorsByCode: Partial<Record<ErrorCode, number>>;
}

type Outcome<T> = { ok: true; value: T } | { ok: false; failure: Failure };

export class PiClient {
  readonly stats: PiClientStats = { requests: 0, bytesReceived: 0, retries: 0, errorsByCode: {} };
  /** Keys ↔ a WebID 1.0 server's own ids, translated at the wire (pi/webid-aliases.ts). */
  readonly webIds: WebIdAliases;
  private readonly endpoint: PiEndpoint;
  private readonly pool: Pool;
  private readonly limiter: Limiter;
  private readonly policy: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private closed = false;
  private readonly stopping = new AbortController();

  constructor(private readonly opts: PiClientOptions) {
    this.endpoint = parseBaseUrl(opts.baseUrl);
    this.timeoutMs = opts.timeoutMs ?? 120_000;
    const concurrency = Math.max(1, opts.concurrency ?? 8);
    this.pool = createPool(this.endpoint.origin, {
      connections: concurrency,
      timeoutMs: this.timeoutMs,
      ca: opts.ca,
      rejectUnauthorized: opts.rejectUnauthorized,
    });
    this.limiter = new Limiter(concurrency);
    this.policy = {
      retries: opts.retries ?? DEFAULT_RETRY_POLICY.retries,
      serverErrorRetries: opts.serverErrorRetries ?? DEFAULT_RETRY_POLICY.serverErrorRetries,
      baseDelayMs: opts.retryBaseDelayMs ?? DEFAULT_RETRY_POLICY.baseDelayMs,
      maxDelayMs: opts.retryMaxDelayMs ?? DEFAULT_RETRY_POLICY.maxDelayMs,
      retryAfterCapMs: opts.retryAfterCapMs ?? DEFAULT_RETRY_POLICY.retryAfterCapMs,
    };
    this.sleep = opts.sleep ?? ((ms) => sleepMs(ms, undefined, { signal: this.stopping.signal }));
    this.webIds = new WebIdAliases(opts.webIdAliases);
  }

  /** `https://host:port`, without credentials. */
  get origin(): string {
    return this.endpoint.origin;
  }

  /** The URL of `path` without query or credentials, for error reports. */
  urlOf(path: string): string {
    return this.endpoint.origin + this.endpoint.basePath + path;
  }

  /** Length of the URL a GET of `path` with `query` sends (to keep streamset URLs short, fidelity §3). */
  urlLength(path: string, query?: Query): number {
    return this.endpoint.origin.length + this.endpoint.basePath.length + this.webIds.outbound(path + buildQuery(query)).length;
  }

  /**
   * GET `path` (below the base URL, e.g. `/points`) and parse the JSON. Array values repeat the
   * parameter (`webId=A&webId=B`). Path segments are sent as given: encode them if needed.
   */
  get<T>(path: string, query?: Query): Promise<T> {
    return this.call<T>('GET', path, query, undefined);
  }

  /**
   * POST a JSON body (with the CSRF header PI requires, fidelity §5). Retried like a GET: the
   * agent's POSTs (`/batch` of reads, stream-updates registration) are safe to repeat.
   */
  post<T>(path: string, body: unknown, query?: Query): Promise<T> {
    return this.call<T>('POST', path, query, JSON.stringify(body));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopping.abort();
    await Promise.allSettled([this.pool.close(), this.opts.auth.close()]);
  }

  private async call<T>(method: 'GET' | 'POST', path: string, query: Query | undefined, keyedBody: string | undefined): Promise<T> {
    if (this.closed) throw new PiError('INTERNAL', `PI client already closed (${method} ${path})`);
    const fullPath = this.endpoint.basePath + (path.startsWith('/') ? path : `/${path}`);
    const where = `${method} ${fullPath}`;
    const url = this.endpoint.origin + fullPath;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.opts.userAgent) headers['user-agent'] = this.opts.userAgent;
    if (method === 'POST') {
      headers['content-type'] = 'application/json; charset=utf-8';
      headers['x-requested-with'] = 'XMLHttpRequest';
    }
    // Keys go out as a WebID 1.0 server's own ids (nothing changes on a 2.0 server).
    const pathAndQuery = this.webIds.outbound(fullPath + buildQuery(query));
    const body = keyedBody === undefined ? undefined : this.webIds.outbound(keyedBody);
    const done = { retries: 0, serverRetries: 0 };

    for (let attempt = 1; ; attempt++) {
      const sendOnce: SendOnce = async (extraHeaders, dispatcher) => {
        const started = performance.now();
        let status = 0;
        let bytes = 0;
        try {
          const res = await sendRequest(dispatcher ?? this.pool, {
            method,
            origin: this.endpoint.origin,
            pathAndQuery,
            headers: { ...headers, ...extraHeaders },
            body,
            timeoutMs: this.timeoutMs,
          });
          status = res.status;
          bytes = res.body.length;
          return res;
        } finally {
          this.stats.requests++;
          this.stats.bytesReceived += bytes;
          try {
            this.opts.onRequest?.({ method, path: fullPath, status, bytes, ms: Math.round(performance.now() - started), attempt });
          } catch {
            // An observer must not break the request it observes.
          }
        }
      };

      let outcome: Outcome<T>;
      try {
        const res = await this.limiter.run(() => this.opts.auth.send(sendOnce));
        outcome = this.interpret<T>(res, where, url);
      } catch (err) {
        outcome = { ok: false, failure: this.thrownFailure(err, where, url) };
      }
      if (outcome.ok) return outcome.value;

      const { failure } = outcome;
      const code = failure.error.code;
      this.stats.errorsByCode[code] = (this.stats.errorsByCode[code] ?? 0) + 1;
      const next = nextRetry(failure, done, this.policy);
      if (!next) throw attempt > 1 ? withAttempts(failure.error, attempt) : failure.error;
      done.retries++;
      if (failure.retry === 'server') done.serverRetries++;
      this.stats.retries++;
      await this.sleep(next.delayMs).catch(() => undefined);
      // close() cuts the wait short (service stop): report the last failure rather than retry.
      if (this.closed) throw withAttempts(failure.error, attempt);
    }
  }

  /** A complete HTTP response → the parsed JSON or a failure. */
  private interpret<T>(res: RawResponse, where: string, url: string): Outcome<T> {
    let json: unknown;
    const text = res.body.toString('utf8');
    if (text.trim() !== '') {
      try {
        json = JSON.parse(text);
      } catch (err) {
        if (res.status >= 200 && res.status < 300) {
          return { ok: false, failure: badBodyFailure(where, url, res.status, `${(err as Error).message} (${res.body.length} bytes)`) };
        }
        json = undefined; // an error page from a proxy: the status says enough
      }
    }
    if (res.status < 200 || res.status >= 300) {
      return { ok: false, failure: statusFailure(res.status, json, where, url, res.headers) };
    }
    // A 200 whose body failed while streaming (fidelity §4): a failure with that status.
    const we = json !== null && typeof json === 'object' && !Array.isArray(json) ? (json as { WebException?: unknown }).WebException : undefined;
    if (we !== undefined && we !== null && typeof we === 'object') {
      const sc = (we as { StatusCode?: unknown }).StatusCode;
      const status = typeof sc === 'number' && sc >= 400 ? sc : 500;
      return { ok: false, failure: statusFailure(status, json, `${where} (WebException in a ${res.status} body)`, url) };
    }
    this.webIds.sniff(text);
    return { ok: true, value: this.webIds.inbound(json, text) as T };
  }

  private thrownFailure(err: unknown, where: string, url: string): Failure {
    if (err instanceof PiError) return { error: err, retry: err.retryable ? 'transient' : 'never' };
    if (err instanceof AgentError) {
      // Auth schemes report their own failures (e.g. PI_KERBEROS_UNAVAILABLE); keep code and text.
      const e = new PiError(err.code, err.message, { url, cause: err, retryable: err.retryable });
      return { error: e, retry: err.retryable ? 'transient' : 'never' };
    }
    return networkFailure(err, where, url, this.endpoint.origin, this.timeoutMs);
  }
}

function withAttempts(e: PiError, attempts: number): PiError {
  return new PiError(e.code, `${e.message} (gave up after ${attempts} attempts)`, {
    status: e.status,
    url: e.url,
    cause: e.cause,
    retryable: e.retryable,
    ...(e.limit === undefined ? {} : { limit: e.limit }),
  });
}
