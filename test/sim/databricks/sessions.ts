/**
 * Sessions of the warehouse emulator, closed when idle as a SQL warehouse closes them.
 *
 * - Idle timeout: Databricks closes a session that runs nothing for a while ("SQL Warehouses now
 *   have a 8 hour session idle timeout", databricks/databricks-sql-go#77; "sessions are expired
 *   after some period of time", databricks/databricks-sql-python#400). Default here 8 h;
 *   `sessionIdleMs` / the `session_idle_ms` fault shorten it for tests.
 * - The reply to a statement in a closed session: Thrift status ERROR_STATUS with
 *   "Invalid SessionHandle: SessionHandle [<id>]" (Hive's SessionManager text; the error users
 *   report from Databricks: databricks/databricks-sql-python#204, featurebyte/featurebyte#2960,
 *   mullerpeter/databricks-grafana#27). The driver throws it as a StatusError from
 *   executeStatement. The advice in databricks-sql-python#400: open a new session and re-execute.
 */
export const DEFAULT_SESSION_IDLE_MS = 8 * 3600_000;

export class Sessions {
  /** session key (hex guid) → last time it was used (ms) */
  private readonly lastUsed = new Map<string, number>();
  idleMs: number;
  /** Sessions opened so far (tests: a reconnect opens one more). */
  opened = 0;

  constructor(idleMs = DEFAULT_SESSION_IDLE_MS) {
    this.idleMs = idleMs;
  }

  open(key: string): void {
    this.opened++;
    this.lastUsed.set(key, Date.now());
  }

  close(key: string): void {
    this.lastUsed.delete(key);
  }

  /**
   * Whether the session can run a request now (and marks it used). An idle session past the
   * timeout is closed here, as the warehouse would have closed it in the meantime.
   */
  use(key: string): boolean {
    const at = this.lastUsed.get(key);
    if (at === undefined) return false;
    if (Date.now() - at > this.idleMs) {
      this.lastUsed.delete(key);
      return false;
    }
    this.lastUsed.set(key, Date.now());
    return true;
  }

  /** Closes every open session now (the warehouse restarted or timed them all out). */
  expireAll(): void {
    this.lastUsed.clear();
  }

  has(key: string): boolean {
    return this.lastUsed.has(key);
  }
}

/** The error message Databricks gives for a statement in a closed or unknown session. */
export function invalidSessionMessage(guidHex: string): string {
  const h = guidHex.padEnd(32, '0');
  return `Invalid SessionHandle: SessionHandle [${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}]`;
}
