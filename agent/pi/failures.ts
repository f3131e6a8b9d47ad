/**
 * Turns what went wrong on one PI Web API request (an HTTP status, a `WebException` inside a 200,
 * a stream's `Errors`, an unparseable body, a socket error) into a PiError with a stable code, an
 * operator-readable message, and how the client may retry it (piwebapi-fidelity.md §10).
 *
 * The one place that reads PI's error text: what it says (a limit, a missing stream) becomes the
 * PiError's code, status and fields here, and nothing after this reads a message to decide.
 *
 * Messages name the method and path, never the query string (it may carry search terms or, on
 * misconfigured servers, tokens) and never credentials.
 */
import { PiError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { parseChallenges } from './auth/challenge.js';

/**
 * `never`: permanent (400/401/403/404/409/413, TLS trust); `transient`: outage or throttling
 * (429/502/503/504, timeouts, resets, truncated bodies), retried up to the full budget; `server`:
 * 500 and other 5xx, which are usually real bugs, retried only a few times (§10).
 */
export type RetryClass = 'never' | 'transient' | 'server';

export interface Failure {
  error: PiError;
  retry: RetryClass;
  /** Raw `Retry-After` header, when the response had one. */
  retryAfter?: string | undefined;
}

/** Text PI put in a body: `Errors` (array of strings), `Message`, or `WebException.Errors`. */
export function piErrorText(body: unknown): string {
  if (body === null || typeof body !== 'object') return '';
  const b = body as Record<string, unknown>;
  const parts: string[] = [];
  const collect = (v: unknown): void => {
    if (Array.isArray(v)) for (const e of v) collect(e);
    else if (typeof v === 'string') parts.push(v);
    else if (v !== null && typeof v === 'object') {
      // Per-value errors look like {FieldName, Message: [...]}.
      const o = v as Record<string, unknown>;
      if ('Message' in o) collect(o['Message']);
    }
  };
  collect(b['Errors']);
  if (typeof b['Message'] === 'string') parts.push(b['Message']);
  const we = b['WebException'];
  if (we !== null && typeof we === 'object') collect((we as Record<string, unknown>)['Errors']);
  const text = parts.join('; ');
  return text.length > 1000 ? `${text.slice(0, 1000)}…` : text;
}

function withText(prefix: string, text: string, advice: string): string {
  const said = text.replace(/[.\s]+$/, '');
  return `${prefix}${said ? `: ${said}` : ''}${advice ? `. ${advice}` : ''}`;
}

/** PI's wording when maxCount is over MaxReturnedItemsPerCall (fidelity §3). */
const LIMIT_RE = /greater than the maximum allowed/i;
/** The limit PI names in that wording: `... greater than the maximum allowed (150000).` */
const NAMED_LIMIT_RE = /maximum allowed \((\d+)\)/i;

/** A stream's `Errors` come without a status: the likely one, from PI's text (inferred, §3). */
export function streamErrorStatus(body: unknown): number {
  const text = piErrorText(body);
  if (/not found|could not be found|cannot be found|does not exist|unknown/i.test(text)) return 404;
  if (/permission|denied|not authori[sz]ed|access/i.test(text)) return 403;
  if (LIMIT_RE.test(text)) return 400;
  return 500;
}

function header(headers: Record<string, string | string[] | undefined> | undefined, name: string): string | undefined {
  const v = headers?.[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** The schemes a 401 offers, without any challenge data (a Negotiate token is opaque noise). */
function offeredSchemes(headers: Record<string, string | string[] | undefined> | undefined): string {
  return [...new Set(parseChallenges(headers?.['www-authenticate']).map((c) => c.scheme))].join(', ');
}

/**
 * A non-2xx status (or a WebException's StatusCode) on `where` (`GET /piwebapi/points`).
 * `headers` are the response's, lower-cased.
 */
export function statusFailure(status: number, body: unknown, where: string, url: string, headers?: Record<string, string | string[] | undefined>): Failure {
  const f: StatusContext = {
    status,
    where,
    text: piErrorText(body),
    headers,
    retryAfter: header(headers, 'retry-after'),
    mk: (code, msg, retryable) => new PiError(code, msg, { status, url, retryable }),
  };
  if (status === 400 && LIMIT_RE.test(f.text)) return limitFailure(f, url);
  if (status >= 500) return serverFailure(f);
  if (status >= 400) return clientFailure(f);
  // 1xx/3xx: undici does not follow redirects, and PI Web API does not send them to API calls.
  const location = header(headers, 'location');
  return {
    retry: 'never',
    error: f.mk('PI_BAD_RESPONSE', `PI Web API answered ${where} with unexpected status ${status}${location ? ` (redirect to ${location}; check pi.url)` : ''}`, false),
  };
}

/** What every status's failure is made from. */
interface StatusContext {
  status: number;
  where: string;
  /** PI's own error text from the body, if any. */
  text: string;
  headers: Record<string, string | string[] | undefined> | undefined;
  retryAfter: string | undefined;
  mk: (code: ErrorCode, msg: string, retryable: boolean) => PiError;
}

/** 400 over MaxReturnedItemsPerCall and the like: the limit PI names is kept on the error. */
function limitFailure(f: StatusContext, url: string): Failure {
  const named = Number(NAMED_LIMIT_RE.exec(f.text)?.[1] ?? NaN);
  const limit = Number.isSafeInteger(named) && named >= 1 ? { limit: named } : {};
  const msg = withText(`PI Web API refused ${f.where} as over a server limit (400)`, f.text, 'Ask for fewer values per call (lower maxCount or a shorter time range)');
  return { retry: 'never', error: new PiError('PI_LIMIT_EXCEEDED', msg, { status: f.status, url, retryable: false, ...limit }) };
}

/** 4xx: never retried as such, except 408 (a timeout) and 429 (throttling). */
function clientFailure(f: StatusContext): Failure {
  const { status, where, text, mk, retryAfter } = f;
  switch (true) {
    case status === 413:
      return {
        retry: 'never',
        error: mk(
          'PI_LIMIT_EXCEEDED',
          withText(`PI Web API refused ${where}: request body too large (413)`, text, 'Send smaller batches (MaxRequestContentLength is 4 MB by default)'),
          false,
        ),
      };
    case status === 401: {
      const schemes = offeredSchemes(f.headers);
      return {
        retry: 'never',
        error: mk(
          'PI_AUTH_FAILED',
          withText(
            `PI Web API rejected the credentials for ${where} (401${schemes ? `; server offers ${schemes}` : ''})`,
            text,
            'Check pi.auth in the config and that the scheme is enabled on the server',
          ),
          false,
        ),
      };
    }
    case status === 403:
      return {
        retry: 'never',
        error: mk(
          'PI_FORBIDDEN',
          withText(`PI Web API denied ${where} (403)`, text, 'Grant the service account read access in PI Web API and the PI Data Archive / AF'),
          false,
        ),
      };
    case status === 404:
      return {
        retry: 'never',
        error: mk('PI_NOT_FOUND', withText(`PI Web API found nothing at ${where} (404)`, text, 'Check the configured server, database, tag or path names'), false),
      };
    case status === 429:
      return {
        retry: 'transient',
        retryAfter,
        error: mk('PI_RATE_LIMITED', withText(`PI Web API rate-limited ${where} (429)`, text, 'Lower pi.concurrency if this persists'), true),
      };
    case status === 408:
      return {
        retry: 'transient',
        retryAfter,
        error: mk('PI_TIMEOUT', withText(`PI Web API timed out on ${where} (${status})`, text, 'Ask for less per call or raise the server timeout'), true),
      };
    default:
      return { retry: 'never', error: mk('PI_BAD_REQUEST', withText(`PI Web API rejected ${where} (${status})`, text, ''), false) };
  }
}

/** 5xx: retried, except 501 (the server cannot do it at all). */
function serverFailure(f: StatusContext): Failure {
  const { status, where, text, mk, retryAfter } = f;
  switch (true) {
    case status === 504:
      return {
        retry: 'transient',
        retryAfter,
        error: mk('PI_TIMEOUT', withText(`PI Web API timed out on ${where} (${status})`, text, 'Ask for less per call or raise the server timeout'), true),
      };
    case status === 502 || status === 503:
      return {
        retry: 'transient',
        retryAfter,
        error: mk(
          'PI_SERVER_ERROR',
          withText(`PI Web API unavailable for ${where} (${status})`, text, 'The server is restarting or overloaded; the agent retries'),
          true,
        ),
      };
    case status === 501:
      return { retry: 'never', error: mk('PI_SERVER_ERROR', withText(`PI Web API cannot serve ${where} (501)`, text, ''), false) };
    default:
      return {
        retry: 'server',
        retryAfter,
        error: mk('PI_SERVER_ERROR', withText(`PI Web API failed on ${where} (${status})`, text, 'See the PI Web API server logs'), true),
      };
  }
}

/** A 2xx body that is not the JSON it should be: usually a connection cut mid-body. */
export function badBodyFailure(where: string, url: string, status: number, detail: string): Failure {
  return {
    retry: 'transient',
    error: new PiError('PI_BAD_RESPONSE', `PI Web API sent an unreadable body for ${where} (${status}): ${detail}`, { status, url, retryable: true }),
  };
}

/** The first `code` on an error, its `cause` chain or an AggregateError's members. */
function errorCode(err: unknown, depth = 0): string | undefined {
  if (depth > 5 || err === null || typeof err !== 'object') return undefined;
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && e.code !== 'UND_ERR') return e.code;
  if (Array.isArray(e.errors))
    for (const sub of e.errors) {
      const c = errorCode(sub, depth + 1);
      if (c) return c;
    }
  return errorCode(e.cause, depth + 1);
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);
const TRUNCATION_CODES = new Set(['UND_ERR_RES_CONTENT_LENGTH_MISMATCH']);
/** The request never left: a bug or a closed client, not the network. Retrying cannot help. */
const LOCAL_CODES = new Set([
  'UND_ERR_INVALID_ARG',
  'UND_ERR_NOT_SUPPORTED',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
  'ERR_INVALID_ARG_TYPE',
  'ERR_INVALID_ARG_VALUE',
  'ERR_INVALID_CHAR',
  'ERR_INVALID_HTTP_TOKEN',
]);
const TLS_RE = /CERT|^ERR_TLS_|^ERR_SSL_|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/;

/** A request that got no (complete) HTTP response. `origin` is scheme://host:port, no credentials. */
export function networkFailure(err: unknown, where: string, url: string, origin: string, timeoutMs: number): Failure {
  const code = errorCode(err) ?? 'unknown error';
  const opts = { url, cause: err };
  if (TIMEOUT_CODES.has(code)) {
    return {
      retry: 'transient',
      error: new PiError('PI_TIMEOUT', `No answer from PI Web API at ${origin} within ${Math.round(timeoutMs / 1000)} s for ${where} (${code})`, {
        ...opts,
        retryable: true,
      }),
    };
  }
  if (TRUNCATION_CODES.has(code)) {
    return { retry: 'transient', error: new PiError('PI_BAD_RESPONSE', `PI Web API cut the body short for ${where} (${code})`, { ...opts, retryable: true }) };
  }
  if (LOCAL_CODES.has(code)) {
    return {
      retry: 'never',
      error: new PiError('INTERNAL', `The agent could not send ${where} (${code}): ${(err as Error)?.message ?? String(err)}`, { ...opts, retryable: false }),
    };
  }
  if (TLS_RE.test(code)) {
    return {
      retry: 'never',
      error: new PiError(
        'PI_UNREACHABLE',
        `TLS handshake with PI Web API at ${origin} failed for ${where} (${code}). If the server uses an internal CA, put its certificate in pi.ca`,
        { ...opts, retryable: false },
      ),
    };
  }
  return {
    retry: 'transient',
    error: new PiError('PI_UNREACHABLE', `Cannot reach PI Web API at ${origin} for ${where} (${code}). Check pi.url, the network and that the PI Web API service runs`, {
      ...opts,
      retryable: true,
    }),
  };
}
