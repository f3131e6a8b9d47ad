/**
 * Every failure the agent reports carries a stable code and a message that tells an operator what
 * to do next. One module, one base class, one small subclass per family (the undici pattern).
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_INSECURE'
  | 'PI_UNREACHABLE'
  | 'PI_AUTH_FAILED'
  | 'PI_FORBIDDEN'
  | 'PI_NOT_FOUND'
  | 'PI_BAD_REQUEST'
  | 'PI_LIMIT_EXCEEDED'
  | 'PI_RATE_LIMITED'
  | 'PI_SERVER_ERROR'
  | 'PI_TIMEOUT'
  | 'PI_BAD_RESPONSE'
  | 'PI_TRUNCATED'
  | 'PI_KERBEROS_UNAVAILABLE'
  | 'PI_VERSION_UNSUPPORTED'
  | 'STORE_FAILED'
  | 'STORE_TOO_NEW'
  | 'STORE_LOCKED'
  | 'SITE_TAKEN'
  | 'BUFFER_FULL'
  | 'BATCH_ENCODE_FAILED'
  | 'SINK_UNREACHABLE'
  | 'SINK_AUTH_FAILED'
  | 'SINK_PERMISSION_DENIED'
  | 'SINK_FAILED'
  | 'INTERNAL';

export class AgentError extends Error {
  readonly code: ErrorCode;
  /** true when retrying later may succeed (outage, throttling); false for permanent problems. */
  readonly retryable: boolean;
  constructor(code: ErrorCode, message: string, opts: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AgentError';
    this.code = code;
    this.retryable = opts.retryable ?? false;
  }
}

export class ConfigError extends AgentError {
  /** Each problem found, already formatted as `file:line:col: message`. */
  readonly problems: string[];
  constructor(problems: string[], code: 'CONFIG_INVALID' | 'CONFIG_INSECURE' = 'CONFIG_INVALID') {
    super(code, problems.join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export class PiError extends AgentError {
  readonly status: number | undefined;
  readonly url: string | undefined;
  /** PI_LIMIT_EXCEEDED: the server limit PI named (e.g. MaxReturnedItemsPerCall), when it named one. */
  readonly limit: number | undefined;
  /** PI answered the read, but with an error on a value (`Items[].Errors`, fidelity §4), not on the stream. */
  readonly valueError: boolean;
  constructor(
    code: ErrorCode,
    message: string,
    opts: { status?: number; url?: string; cause?: unknown; retryable?: boolean; limit?: number; valueError?: boolean } = {},
  ) {
    super(code, message, opts);
    this.name = 'PiError';
    this.status = opts.status;
    this.url = opts.url;
    this.limit = opts.limit;
    this.valueError = opts.valueError ?? false;
  }
}

export class StoreError extends AgentError {
  constructor(code: 'STORE_FAILED' | 'STORE_TOO_NEW' | 'STORE_LOCKED' | 'BUFFER_FULL', message: string, opts: { cause?: unknown } = {}) {
    super(code, message, { ...opts, retryable: code === 'BUFFER_FULL' || code === 'STORE_LOCKED' });
    this.name = 'StoreError';
  }
}

/** `Store.openReadonly` found no store file: the agent has not run with this state directory yet. */
export class NoStoreError extends StoreError {
  readonly file: string;
  constructor(file: string) {
    super('STORE_FAILED', `no store at ${file}: the agent has not run with this state directory yet`);
    this.name = 'NoStoreError';
    this.file = file;
  }
}

export class SinkError extends AgentError {
  constructor(
    code: 'SINK_UNREACHABLE' | 'SINK_AUTH_FAILED' | 'SINK_PERMISSION_DENIED' | 'SINK_FAILED',
    message: string,
    opts: { cause?: unknown; retryable?: boolean } = {},
  ) {
    super(code, message, { retryable: code === 'SINK_UNREACHABLE', ...opts });
    this.name = 'SinkError';
  }
}

/**
 * Whether retrying later may succeed: the error says so itself (`AgentError.retryable`), never its
 * text. Anything that is not an AgentError was not classified at a boundary: not retryable.
 */
export function isRetryable(err: unknown): boolean {
  return err instanceof AgentError && err.retryable;
}

/** A one-line, secret-free description of any thrown value, for logs and status. */
export function describeError(err: unknown): string {
  if (err instanceof AgentError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}
