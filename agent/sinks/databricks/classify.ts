/**
 * The Databricks sink's errors: what the @databricks/sql driver throws, mapped onto SinkError codes
 * in one place (classify), with the hint an operator needs.
 */
import type { DatabricksAuthConfig } from './config.js';

/** The driver's message on one line (Databricks puts newlines in some, e.g. INSUFFICIENT_PERMISSIONS): status and logs show one line. */
export function errorMessage(err: unknown): string {
  const msg = err instanceof Error || (typeof err === 'object' && err !== null && 'message' in err) ? String(err.message) : String(err);
  // A presigned URL's query is its credential (SAS sig=, X-Amz-Signature=): never in logs or status.
  return msg.replace(/\s*\n\s*/g, ' ').replace(/(https?:\/\/[^\s?]+)\?[^\s,]*/g, '$1?…');
}

interface Classified {
  code: 'SINK_UNREACHABLE' | 'SINK_AUTH_FAILED' | 'SINK_PERMISSION_DENIED' | 'SINK_FAILED';
  retryable: boolean;
  hint: string;
  /** The warehouse closed the session (idle timeout): nothing ran; reconnect and run it again. */
  sessionClosed?: boolean;
}

/**
 * Databricks' reason for an HTTP error, from the response headers the driver keeps on its error
 * (THTTPException.response); the driver's message has only the status code.
 */
function reasonOf(err: unknown): string {
  const headers = (err as { response?: { headers?: { get?: (name: string) => string | null } } }).response?.headers;
  if (typeof headers?.get !== 'function') return '';
  for (const h of ['x-thriftserver-error-message', 'x-databricks-reason-phrase', 'x-databricks-error-or-redirect-message']) {
    const v = headers.get(h);
    if (v) return v.replace(/\s+/g, ' ').trim();
  }
  return '';
}

/** The hint for a refused token: what the operator fixes depends on the kind of credential. */
const AUTH_HINT: Record<DatabricksAuthConfig['type'], string> = {
  token: ' (the token is invalid, expired or revoked; put a valid one in sink.auth.token)',
  oauth: ' (the OAuth access token was refused; a new one is fetched on the next try; if this persists, check the service principal sink.auth.client_id and its secret)',
};

/**
 * Maps a driver error onto the sink's error codes, the one place that reads the driver's errors.
 * Outages and throttling are retryable. Sources for the Databricks answers matched here:
 * - "Invalid SessionHandle": a statement in a session the warehouse closed (idle timeout), as a
 *   Thrift status (the driver's StatusError; databricks/databricks-sql-python#204,
 *   featurebyte/featurebyte#2960) or an HTTP error whose thrift header says so
 *   (databricks-sql-python#400 and eakmanrq/sqlframe#429: "BAD_REQUEST: Invalid SessionHandle:
 *   Session [...] is closed."). Retryable: run() reconnects at once.
 * - HTTP 403 "Invalid access token." (X-Databricks-Reason-Phrase; databricks/databricks-sdk-go#873):
 *   a bad, expired or revoked token, an authentication failure like 401, not a missing grant.
 */
export function classify(err: unknown, auth: DatabricksAuthConfig['type']): Classified {
  const e = err as { statusCode?: unknown; code?: unknown; type?: unknown };
  const msg = errorMessage(err);
  const status = typeof e.statusCode === 'number' ? e.statusCode : Number(/(?:status code:|HTTP error) (\d{3})/.exec(msg)?.[1] ?? NaN);
  const reason = reasonOf(err);
  const said = reason ? `: ${reason}` : '';
  if (/Invalid SessionHandle/i.test(`${msg} ${reason}`))
    return { code: 'SINK_FAILED', retryable: true, hint: `${said} (the warehouse closed the idle session)`, sessionClosed: true };
  if (status === 401 || (status === 403 && /Invalid access token/i.test(reason)))
    return { code: 'SINK_AUTH_FAILED', retryable: false, hint: `${said}${AUTH_HINT[auth]}` };
  if (status === 403) return { code: 'SINK_PERMISSION_DENIED', retryable: false, hint: ' (the principal lacks a grant on the catalog, schema, volume or warehouse)' };
  if (status === 429 || status >= 500) return { code: 'SINK_UNREACHABLE', retryable: true, hint: '' };
  if (/certificate|self[- ]signed|CERT_/i.test(msg))
    return { code: 'SINK_FAILED', retryable: false, hint: ' (TLS verification failed; set sink.ca to the CA bundle that signs the workspace certificate)' };
  if (
    e.type === 'system' ||
    e.type === 'request-timeout' ||
    /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|socket hang up|Premature close|timed out/i.test(msg)
  ) {
    // Presigned uploads go to cloud storage, another host than the workspace: often the first that needs the proxy.
    const dns = /ENOTFOUND|EAI_AGAIN/.test(msg) ? ' (a host name does not resolve; if this network reaches the cloud through a proxy, set sink.proxy)' : '';
    return { code: 'SINK_UNREACHABLE', retryable: true, hint: dns };
  }
  if (/PERMISSION_DENIED|INSUFFICIENT_PERMISSIONS/.test(msg))
    return { code: 'SINK_PERMISSION_DENIED', retryable: false, hint: ' (the SQL that pi-agent setup --print-sql prints grants the agent exactly its privileges)' };
  if (/\[INTERNAL_ERROR\]|TEMPORARILY_UNAVAILABLE|CONCURRENT/i.test(msg)) return { code: 'SINK_FAILED', retryable: true, hint: '' };
  return { code: 'SINK_FAILED', retryable: false, hint: '' };
}
