/**
 * Databricks SQL warehouse emulator: HTTPS, Thrift (TCLIService, binary protocol over HTTP POST)
 * served with the installed driver's own generated Processor, Unity Catalog volume staging through
 * presigned URLs, OAuth M2M endpoints, and fault injection. The SQL engine is ./engine.ts.
 * Facts about the driver it relies on: shared/docs/platform-notes.md (@databricks/sql section).
 */
import { randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { makeTestCerts, type TestCerts } from '../tls.js';
import { Warehouse, type DbxType, type StatementResult } from './engine.js';
import { ADMIN } from './privileges.js';
import { DEFAULT_SESSION_IDLE_MS, invalidSessionMessage, Sessions } from './sessions.js';
import { SqlError } from './sql.js';

const require = createRequire(import.meta.url);

/* Minimal shapes of the untyped generated Thrift code we call. */
interface ThriftTransport {
  commitPosition(): void;
  rollbackPosition(): void;
}
interface ThriftLib {
  TBufferedTransport: { new (buf: undefined, onFlush: (b: Buffer) => void): unknown; receiver(cb: (t: ThriftTransport) => void): (data: Buffer) => void };
  TBinaryProtocol: new (t: unknown) => unknown;
}
type Handler = Record<string, (req: ThriftReq) => Promise<Record<string, unknown>>>;
interface ThriftReq {
  sessionHandle?: { sessionId?: { guid?: Buffer } };
  operationHandle?: { operationId?: { guid?: Buffer } };
  statement?: string;
  getDirectResults?: { maxRows?: { toNumber(): number } };
  maxRows?: { toNumber(): number } | number;
  orientation?: number;
}
const thrift = require('thrift') as ThriftLib;
const TCLIService = require('@databricks/sql/thrift/TCLIService.js') as { Processor: new (h: Handler) => { process(i: unknown, o: unknown): void } };
const T = require('@databricks/sql/thrift/TCLIService_types.js') as {
  TStatusCode: Record<string, number>;
  TOperationState: Record<string, number>;
  TProtocolVersion: Record<string, number>;
  TTypeId: Record<string, number>;
  TSparkRowSetType: Record<string, number>;
  TOperationType: Record<string, number>;
  TFetchOrientation: Record<string, number>;
};

export type FaultScope = 'thrift' | 'upload' | 'all';
/** Fault injection; every fault stays until cleared unless it says otherwise. */
export interface FaultControl {
  /** Stop listening and drop open connections (ECONNREFUSED), or listen again on the same port. */
  refuseConnections(on: boolean): Promise<void>;
  /** Answer the next `count` requests of `scope` with this HTTP status (429 carries Retry-After: 1). */
  failRequests(status: 429 | 503, count?: number, scope?: FaultScope): void;
  /** Every statement takes this long (runs asynchronously; the driver polls GetOperationStatus). */
  slowStatements(ms: number): void;
  /** The next COPY INTO / MERGE fails: 'before' = nothing applied, error returned (e.g. after an
   * upload succeeded); 'after' = applied, then the connection is cut before the client gets a reply. */
  failNextCommit(when: 'before' | 'after'): void;
  /** Every token (PAT or OAuth) is refused (HTTP 401, or badTokenStatus) until cleared. */
  expireTokens(on: boolean): void;
  /** Forget every OAuth token issued so far: a client still sending one sends a bad token. */
  revokeTokens(): void;
  /** The HTTP status of a refused token: 401 (default) or 403 "Invalid access token." (see route). */
  badTokenStatus(status: 401 | 403): void;
  /** Close sessions idle for longer than this (default opts.sessionIdleMs, else 8 h: sessions.ts). */
  sessionIdle(ms: number): void;
  /** Close every open session now; the next statement in one fails "Invalid SessionHandle". */
  expireSessions(): void;
  /** COPY INTO / MERGE into these tables (names, any case) fail `[INSUFFICIENT_PERMISSIONS]` (no MODIFY grant); [] clears. */
  denyWrites(tables: string[]): void;
  reset(): void;
  /** current state, for assertions and the control endpoint */
  state(): Record<string, unknown>;
}

export interface WarehouseOptions {
  port?: number;
  dataDir: string;
  token?: string;
  oauth?: { clientId: string; clientSecret: string };
  /**
   * More tokens, each authenticating as a principal (token → principal name) that holds only what
   * GRANT statements give it (privileges.ts). The default token and OAuth tokens are the admin.
   */
  principals?: Record<string, string>;
  /**
   * Host name of the presigned URLs (default 127.0.0.1). Databricks hands out presigned URLs of the
   * workspace's cloud storage, another host than the workspace (e.g. `<account>.blob.core.windows.net`,
   * `<bucket>.s3.<region>.amazonaws.com`); the driver PUTs to them itself (DBSQLSession
   * handleStagingPut, node-fetch with the connection's agent). A name under `.invalid` never resolves
   * (RFC 6761 §6.4), so only a client that goes through a proxy mapping it to 127.0.0.1 reaches it.
   * The certificate covers it and every `*.emulator.invalid` name.
   */
  stagingHost?: string;
  /** Close a session idle for longer than this (default 8 h, sessions.ts). */
  sessionIdleMs?: number;
}

export interface RunningWarehouse {
  host: '127.0.0.1';
  port: number;
  /** /sql/1.0/warehouses/<id> */
  path: string;
  token: string;
  caPath: string;
  faults: FaultControl;
  /** Direct DuckDB read for tests. */
  query(sql: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

interface Operation {
  sessionKey: string;
  done: boolean;
  result?: StatementResult;
  error?: SqlError;
  cursor: number;
  wait: Promise<void>;
}

/** One Thrift request: whether to cut its reply (a fault) and the principal its token authenticates. */
interface ThriftCtx {
  cut: boolean;
  principal: string;
}

interface Presigned {
  operation: 'PUT' | 'GET' | 'REMOVE';
  file: string;
  expires: number;
  /** The URL's signature (query `sig`), as an Azure SAS or S3 presigned URL carries one. */
  sig: string;
}

const ok = () => ({ statusCode: T.TStatusCode.SUCCESS_STATUS });
const errStatus = (msg: string, sqlState = 'HY000') => ({ statusCode: T.TStatusCode.ERROR_STATUS, errorMessage: msg, sqlState });
const newGuid = () => Buffer.from(randomUUID().replace(/-/g, ''), 'hex');
const key = (guid: Buffer | undefined) => (guid ? guid.toString('hex') : '');

const TYPE_IDS: Record<DbxType, string> = {
  STRING: 'STRING_TYPE',
  INT: 'INT_TYPE',
  BIGINT: 'BIGINT_TYPE',
  DOUBLE: 'DOUBLE_TYPE',
  FLOAT: 'FLOAT_TYPE',
  BOOLEAN: 'BOOLEAN_TYPE',
  TIMESTAMP: 'TIMESTAMP_TYPE',
  TIMESTAMP_NTZ: 'TIMESTAMP_TYPE',
  DATE: 'DATE_TYPE',
  SMALLINT: 'SMALLINT_TYPE',
  DECIMAL: 'DECIMAL_TYPE',
  MAP: 'MAP_TYPE',
};

function schemaOf(r: StatementResult) {
  return {
    columns: r.columns.map((c, i) => ({
      columnName: c.name,
      position: i + 1,
      typeDesc: { types: [{ primitiveEntry: { type: T.TTypeId[TYPE_IDS[c.type]] } }] },
    })),
  };
}

/** Columnar TRowSet (the format the driver's JsonResultHandler decodes). */
function rowSet(r: StatementResult, from: number, to: number) {
  const rows = r.rows.slice(from, to);
  const columns = r.columns.map((c, ci) => {
    const nulls = Buffer.alloc(Math.ceil(rows.length / 8));
    const vals = rows.map((row, ri) => {
      const v = row[ci];
      if (v === null || v === undefined) {
        nulls[ri >> 3]! |= 1 << (ri & 7);
        return null;
      }
      return v;
    });
    switch (c.type) {
      case 'INT':
        return { i32Val: { values: vals.map((v) => Number(v ?? 0)), nulls } };
      case 'SMALLINT':
        return { i16Val: { values: vals.map((v) => Number(v ?? 0)), nulls } };
      case 'BIGINT':
        return { i64Val: { values: vals.map((v) => Number(v ?? 0)), nulls } };
      case 'DOUBLE':
      case 'FLOAT':
        return { doubleVal: { values: vals.map((v) => Number(v ?? 0)), nulls } };
      case 'BOOLEAN':
        return { boolVal: { values: vals.map((v) => Boolean(v ?? false)), nulls } };
      default:
        return { stringVal: { values: vals.map((v) => (v === null ? '' : String(v))), nulls } };
    }
  });
  return { startRowOffset: from, rows: [], columns };
}

export async function startWarehouse(opts: WarehouseOptions): Promise<RunningWarehouse> {
  // A restart on the same data directory keeps its CA, warehouse id and token, so a client
  // configured against the previous run (an outage test) reconnects unchanged.
  await mkdir(opts.dataDir, { recursive: true });
  const names = ['*.emulator.invalid', ...(opts.stagingHost ? [opts.stagingHost] : [])];
  const certs = (await reuseCerts(opts.dataDir, names)) ?? (await makeTestCerts(opts.dataDir, names));
  const identityFile = join(opts.dataDir, 'emulator.json');
  const saved = await readFile(identityFile, 'utf8').then(
    (t) => JSON.parse(t) as { warehouseId?: string; token?: string },
    (): { warehouseId?: string; token?: string } => ({}),
  );
  const warehouseId = saved.warehouseId ?? randomBytes(8).toString('hex');
  const token = opts.token ?? saved.token ?? `dapi${randomBytes(16).toString('hex')}`;
  await writeFile(identityFile, JSON.stringify({ warehouseId, token }), { mode: 0o600 });
  const warehouse = await Warehouse.open(opts.dataDir);
  const path = `/sql/1.0/warehouses/${warehouseId}`;
  const oauthTokens = new Map<string, number>(); // token → expiry (ms)
  const sessions = new Sessions(opts.sessionIdleMs);
  let tokensIssued = 0;
  const operations = new Map<string, Operation>();
  const presigned = new Map<string, Presigned>();

  const f = {
    refused: false,
    httpStatus: null as null | 429 | 503,
    httpCount: 0,
    httpScope: 'thrift' as FaultScope,
    slowMs: 0,
    commit: null as null | 'before' | 'after',
    expired: false,
    badTokenStatus: 401 as 401 | 403,
  };
  let port = opts.port ?? 0;

  const principals = new Map(Object.entries(opts.principals ?? {}));
  /** The principal a request's Bearer token authenticates (the admin unless opts.principals names it). */
  const principalOf = (req: IncomingMessage): string => principals.get(req.headers.authorization?.slice(7) ?? '') ?? ADMIN;
  const authorized = (req: IncomingMessage): 'ok' | 'missing' | 'bad' | 'expired' => {
    const h = req.headers.authorization;
    if (!h || !h.startsWith('Bearer ')) return 'missing';
    const t = h.slice(7);
    const exp = oauthTokens.get(t);
    const valid = t === token || principals.has(t) || (exp !== undefined && exp > Date.now());
    if (!valid) return exp !== undefined ? 'expired' : 'bad';
    return f.expired ? 'expired' : 'ok';
  };

  /** consume one injected HTTP failure for this scope, if armed */
  const injectedStatus = (scope: 'thrift' | 'upload'): number | null => {
    if (f.httpStatus === null || f.httpCount <= 0) return null;
    if (f.httpScope !== 'all' && f.httpScope !== scope) return null;
    f.httpCount--;
    const s = f.httpStatus;
    if (f.httpCount <= 0) f.httpStatus = null;
    return s;
  };

  const sendError = (res: ServerResponse, status: number, message: string): void => {
    const headers: Record<string, string> = { 'content-type': 'text/plain' };
    if (status === 429) headers['retry-after'] = '1';
    if (status === 503) headers['retry-after'] = '1';
    res.writeHead(status, headers);
    res.end(message);
  };

  /**
   * A missing, bad, revoked or expired token. 401 by default; with badTokenStatus(403), 403 as
   * Databricks answers an invalid or expired token: header `X-Databricks-Reason-Phrase: Invalid access
   * token.` and body `{"error_code": 403, "message": "Invalid access token."}` (a captured response in
   * databricks/databricks-sdk-go#873; also DataThirstLtd/databricks.vsts.tools#26, "Error 403 Invalid
   * access token.").
   */
  const refuseToken = (res: ServerResponse, why: 'missing' | 'bad' | 'expired'): void => {
    if (f.badTokenStatus === 403) {
      res.writeHead(403, { 'content-type': 'application/json; charset=utf-8', 'x-databricks-reason-phrase': 'Invalid access token.' });
      res.end(JSON.stringify({ error_code: 403, message: 'Invalid access token.' }));
      return;
    }
    sendError(res, 401, why === 'expired' ? 'Unauthorized: access token expired' : 'Unauthorized: invalid access token');
  };

  // ---------- statements ----------

  function finishStaging(op: Operation): void {
    const r = op.result;
    if (!r?.staging) return;
    const id = randomUUID();
    // Presigned URLs carry their credential in the query (Azure SAS `sig=`, S3 `X-Amz-Signature=`): it is a secret.
    const sig = randomBytes(16).toString('hex');
    presigned.set(id, { operation: r.staging.operation, file: r.staging.volumeFile, expires: Date.now() + 15 * 60_000, sig });
    const url = `https://${opts.stagingHost ?? '127.0.0.1'}:${port}/presigned/${id}?sig=${sig}`;
    const headers = '{"x-emulator-presigned":"1"}';
    if (r.staging.localFile === undefined) {
      // REMOVE has no local file: the driver tests `localFile !== undefined`, so the column must be absent.
      r.columns = r.columns.filter((c) => c.name !== 'localFile');
      r.rows = [[r.staging.operation, url, headers]];
    } else {
      r.rows = [[r.staging.operation, url, r.staging.localFile, headers]];
    }
  }

  function startOperation(sessionKey: string, sql: string, ctx: ThriftCtx): Operation {
    const op: Operation = { sessionKey, done: false, cursor: 0, wait: Promise.resolve() };
    const isCommit = /^\s*(COPY|MERGE)\b/i.test(sql);
    const commitFault = isCommit ? f.commit : null;
    if (commitFault) f.commit = null;
    const slow = f.slowMs;
    op.wait = (async () => {
      if (slow > 0) await new Promise((r) => setTimeout(r, slow));
      try {
        if (commitFault === 'before') throw new SqlError('[INTERNAL_ERROR] Injected failure: the statement was not executed (emulator fault before commit).', 'XX000');
        op.result = await warehouse.execute(sql, ctx.principal);
        finishStaging(op);
        if (commitFault === 'after') ctx.cut = true;
      } catch (err) {
        op.error = err instanceof SqlError ? err : new SqlError(`[INTERNAL_ERROR] ${err instanceof Error ? err.message : String(err)}`, 'XX000');
      }
      op.done = true;
    })();
    return op;
  }

  const hasRows = (op: Operation): boolean => (op.result?.columns.length ?? 0) > 0;

  function operationStatus(op: Operation) {
    if (!op.done) return { status: ok(), operationState: T.TOperationState.RUNNING_STATE };
    if (op.error) {
      return {
        status: ok(),
        operationState: T.TOperationState.ERROR_STATE,
        errorMessage: op.error.message,
        displayMessage: op.error.message,
        sqlState: op.error.sqlState,
        errorCode: 0,
      };
    }
    return { status: ok(), operationState: T.TOperationState.FINISHED_STATE, hasResultSet: hasRows(op) };
  }

  function metadata(op: Operation) {
    if (!op.done) return { status: errStatus('Operation is still running') };
    if (op.error || !op.result) return { status: errStatus(op.error?.message ?? 'no result', op.error?.sqlState) };
    return {
      status: ok(),
      schema: schemaOf(op.result),
      resultFormat: T.TSparkRowSetType.COLUMN_BASED_SET,
      lz4Compressed: false,
      isStagingOperation: op.result.staging !== undefined,
    };
  }

  function fetchRows(op: Operation, maxRows: number) {
    const r = op.result!;
    const from = op.cursor;
    const to = Math.min(r.rows.length, from + Math.max(1, maxRows));
    op.cursor = to;
    return { status: ok(), hasMoreRows: to < r.rows.length, results: rowSet(r, from, to) };
  }

  const int = (v: { toNumber(): number } | number | undefined, dflt: number): number => (v === undefined || v === null ? dflt : typeof v === 'number' ? v : v.toNumber());

  function handlerFor(ctx: ThriftCtx): Handler {
    const sessionOf = (req: ThriftReq): string | null => {
      const k = key(req.sessionHandle?.sessionId?.guid);
      if (sessions.use(k)) return k;
      for (const [id, op] of operations) if (op.sessionKey === k) operations.delete(id);
      return null;
    };
    const opOf = (req: ThriftReq): Operation | undefined => operations.get(key(req.operationHandle?.operationId?.guid));
    const invalidOp = () => ({ status: { statusCode: T.TStatusCode.INVALID_HANDLE_STATUS, errorMessage: 'Invalid OperationHandle' } });
    return {
      OpenSession: async (_req) => {
        const guid = newGuid();
        sessions.open(key(guid));
        return {
          status: ok(),
          serverProtocolVersion: T.TProtocolVersion.SPARK_CLI_SERVICE_PROTOCOL_V8,
          sessionHandle: { sessionId: { guid, secret: newGuid() } },
          configuration: {},
          canUseMultipleCatalogs: true,
        };
      },
      CloseSession: async (req) => {
        const k = key(req.sessionHandle?.sessionId?.guid);
        sessions.close(k);
        for (const [id, op] of operations) if (op.sessionKey === k) operations.delete(id);
        return { status: ok() };
      },
      ExecuteStatement: async (req) => {
        const s = sessionOf(req);
        // A closed (idle, expired) or unknown session: sessions.ts has Databricks' answer.
        if (s === null) return { status: { statusCode: T.TStatusCode.ERROR_STATUS, errorMessage: invalidSessionMessage(key(req.sessionHandle?.sessionId?.guid)) } };
        const guid = newGuid();
        const op = startOperation(s, req.statement ?? '', ctx);
        operations.set(key(guid), op);
        const operationHandle = { operationId: { guid, secret: newGuid() }, operationType: T.TOperationType.EXECUTE_STATEMENT, hasResultSet: true };
        if (f.slowMs > 0) return { status: ok(), operationHandle };
        await op.wait;
        const directResults: Record<string, unknown> = { operationStatus: operationStatus(op) };
        // No result columns (DDL): the driver must be told there is no result set, or fetchAll loops.
        operationHandle.hasResultSet = hasRows(op);
        if (!op.error && req.getDirectResults) {
          directResults.resultSetMetadata = metadata(op);
          if (hasRows(op)) directResults.resultSet = fetchRows(op, int(req.getDirectResults.maxRows, 100_000));
          if (op.cursor >= op.result!.rows.length) {
            // Everything fit: close the operation server-side, as Databricks does, so the driver
            // needs no FetchResults/CloseOperation round trips.
            directResults.closeOperation = { status: ok() };
            operations.delete(key(guid));
          }
        }
        return { status: ok(), operationHandle, directResults };
      },
      GetOperationStatus: async (req) => {
        const op = opOf(req);
        return op ? operationStatus(op) : invalidOp();
      },
      GetResultSetMetadata: async (req) => {
        const op = opOf(req);
        return op ? metadata(op) : invalidOp();
      },
      FetchResults: async (req) => {
        const op = opOf(req);
        if (!op) return invalidOp();
        if (!op.done) return { status: errStatus('Operation is still running') };
        if (op.error || !op.result) return { status: errStatus(op.error?.message ?? 'no result', op.error?.sqlState) };
        if (req.orientation === T.TFetchOrientation.FETCH_FIRST) op.cursor = 0;
        return fetchRows(op, int(req.maxRows, 100_000));
      },
      CloseOperation: async (req) => {
        operations.delete(key(req.operationHandle?.operationId?.guid));
        return { status: ok() };
      },
      CancelOperation: async (_req) => ({ status: ok() }),
    };
  }

  async function serveThrift(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const ctx: ThriftCtx = { cut: false, principal: principalOf(req) };
    const processor = new TCLIService.Processor(handlerFor(ctx));
    thrift.TBufferedTransport.receiver((input) => {
      const output = new thrift.TBinaryProtocol(
        new thrift.TBufferedTransport(undefined, (buf) => {
          if (ctx.cut) {
            req.socket.destroy();
            return;
          } // applied, but the reply never arrives
          res.writeHead(200, { 'content-type': 'application/x-thrift' });
          res.end(buf);
        }),
      );
      try {
        processor.process(new thrift.TBinaryProtocol(input), output);
        input.commitPosition();
      } catch {
        sendError(res, 400, 'malformed Thrift request');
      }
    })(body);
  }

  // ---------- presigned URLs (volume storage) ----------

  async function servePresigned(id: string, sig: string | null, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const p = presigned.get(id);
    // Azure Storage answers a wrong or expired SAS with 403 AuthenticationFailed.
    if (!p || p.expires < Date.now() || p.sig !== sig) {
      sendError(res, 403, 'AuthenticationFailed: presigned URL unknown or expired');
      return;
    }
    const injected = injectedStatus('upload');
    if (injected !== null) {
      await readBody(req);
      sendError(res, injected, 'injected failure');
      return;
    }
    if (req.method === 'PUT' && p.operation === 'PUT') {
      if (req.headers['content-length'] === undefined) {
        sendError(res, 411, 'Content-Length required');
        return;
      }
      await mkdir(dirname(p.file), { recursive: true });
      const tmp = `${p.file}.${randomBytes(4).toString('hex')}.uploading`;
      try {
        await pipeline(req, createWriteStream(tmp));
        await rename(tmp, p.file); // readers never see a half-written file
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
      res.writeHead(200);
      res.end();
      return;
    }
    if (req.method === 'GET' && p.operation === 'GET') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      await pipeline(createReadStream(p.file), res);
      return;
    }
    if (req.method === 'DELETE' && p.operation === 'REMOVE') {
      const existed = await warehouse.removeVolumeFile(p.file);
      res.writeHead(existed ? 204 : 404);
      res.end();
      return;
    }
    sendError(res, 405, 'method does not match the presigned operation');
  }

  // ---------- OAuth M2M ----------

  const base = () => `https://127.0.0.1:${port}`;
  async function serveOAuth(url: URL, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    if (req.method === 'GET' && url.pathname === '/oidc/.well-known/oauth-authorization-server') {
      json(res, 200, {
        issuer: `${base()}/oidc`,
        authorization_endpoint: `${base()}/oidc/v1/authorize`,
        token_endpoint: `${base()}/oidc/v1/token`,
        grant_types_supported: ['client_credentials', 'authorization_code', 'refresh_token'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
        scopes_supported: ['all-apis', 'sql', 'offline_access'],
        response_types_supported: ['code'],
      });
      return true;
    }
    if (req.method === 'POST' && url.pathname === '/oidc/v1/token') {
      const form = new URLSearchParams((await readBody(req)).toString('utf8'));
      let id = form.get('client_id');
      let secret = form.get('client_secret');
      const basic = req.headers.authorization;
      if (basic?.startsWith('Basic ')) {
        const [u, p] = Buffer.from(basic.slice(6), 'base64').toString('utf8').split(':');
        id = decodeURIComponent(u ?? '');
        secret = decodeURIComponent(p ?? '');
      }
      if (form.get('grant_type') !== 'client_credentials') {
        json(res, 400, { error: 'unsupported_grant_type' });
        return true;
      }
      if (!opts.oauth || id !== opts.oauth.clientId || secret !== opts.oauth.clientSecret) {
        json(res, 401, { error: 'invalid_client', error_description: 'Client authentication failed' });
        return true;
      }
      const now = Math.floor(Date.now() / 1000);
      const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
      // JWT-shaped so clients that read `exp` from the token (the driver's token providers) can.
      const access = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: id, scope: form.get('scope') ?? 'all-apis', iat: now, exp: now + 3600 })}.${randomBytes(16).toString('base64url')}`;
      oauthTokens.set(access, Date.now() + 3600_000);
      tokensIssued++;
      json(res, 200, { access_token: access, token_type: 'Bearer', expires_in: 3600, scope: form.get('scope') ?? 'all-apis' });
      return true;
    }
    return false;
  }

  // ---------- fault control ----------

  const faults: FaultControl = {
    refuseConnections: async (on) => {
      if (on === f.refused) return;
      f.refused = on;
      if (on) await stopListening();
      else await listen();
    },
    failRequests: (status, count = Number.POSITIVE_INFINITY, scope = 'thrift') => {
      f.httpStatus = status;
      f.httpCount = count;
      f.httpScope = scope;
    },
    slowStatements: (ms) => {
      f.slowMs = ms;
    },
    failNextCommit: (when) => {
      f.commit = when;
    },
    expireTokens: (on) => {
      f.expired = on;
    },
    revokeTokens: () => {
      oauthTokens.clear();
    },
    badTokenStatus: (status) => {
      f.badTokenStatus = status;
    },
    sessionIdle: (ms) => {
      sessions.idleMs = ms;
    },
    expireSessions: () => {
      sessions.expireAll();
    },
    denyWrites: (tables) => {
      warehouse.deniedTables.clear();
      for (const t of tables) warehouse.deniedTables.add(t.toLowerCase());
    },
    reset: () => {
      f.httpStatus = null;
      f.httpCount = 0;
      f.slowMs = 0;
      f.commit = null;
      f.expired = false;
      f.badTokenStatus = 401;
      sessions.idleMs = opts.sessionIdleMs ?? DEFAULT_SESSION_IDLE_MS;
      warehouse.deniedTables.clear();
    },
    state: () => ({
      refused: f.refused,
      http_status: f.httpStatus,
      http_count: Number.isFinite(f.httpCount) ? f.httpCount : 'all',
      http_scope: f.httpScope,
      slow_ms: f.slowMs,
      fail_commit: f.commit,
      expire_tokens: f.expired,
      bad_token_status: f.badTokenStatus,
      session_idle_ms: sessions.idleMs,
      sessions_opened: sessions.opened,
      oauth_tokens_issued: tokensIssued,
      deny_writes: [...warehouse.deniedTables],
    }),
  };

  /**
   * POST /_emulator/faults {refuse_ms?, http_status?, count?, scope?, slow_ms?, fail_commit?, expire_tokens?, revoke_tokens?,
   * bad_token_status?, session_idle_ms?, expire_sessions?, deny_writes?, reset?}
   */
  async function serveControl(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse((await readBody(req)).toString('utf8') || '{}') as Record<string, unknown>;
    } catch {
      json(res, 400, { error: 'body must be JSON' });
      return;
    }
    if (body.reset === true) faults.reset();
    if (body.http_status === 429 || body.http_status === 503) {
      faults.failRequests(body.http_status, typeof body.count === 'number' ? body.count : undefined, (body.scope as FaultScope | undefined) ?? 'thrift');
    }
    if (body.http_status === null) {
      f.httpStatus = null;
      f.httpCount = 0;
    }
    if (typeof body.slow_ms === 'number') faults.slowStatements(body.slow_ms);
    if (body.fail_commit === 'before' || body.fail_commit === 'after') faults.failNextCommit(body.fail_commit);
    if (typeof body.expire_tokens === 'boolean') faults.expireTokens(body.expire_tokens);
    if (body.revoke_tokens === true) faults.revokeTokens();
    if (body.bad_token_status === 401 || body.bad_token_status === 403) faults.badTokenStatus(body.bad_token_status);
    if (typeof body.session_idle_ms === 'number') faults.sessionIdle(body.session_idle_ms);
    if (body.expire_sessions === true) faults.expireSessions();
    if (Array.isArray(body.deny_writes)) faults.denyWrites(body.deny_writes.map(String));
    const refuseMs = typeof body.refuse_ms === 'number' ? body.refuse_ms : 0;
    json(res, 200, { ...faults.state(), refuse_ms: refuseMs });
    if (refuseMs > 0) {
      // Refusing takes the control endpoint down too, so it comes back by itself. The timer is not
      // unref'd: with the server closed it is all that keeps a standalone emulator (main.ts) alive
      // until it listens again.
      res.on('finish', () => {
        void faults.refuseConnections(true).then(() => {
          setTimeout(() => {
            void faults.refuseConnections(false);
          }, refuseMs);
        });
      });
    }
  }

  // ---------- HTTP plumbing ----------

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', base());
    if (url.pathname.startsWith('/presigned/')) {
      await servePresigned(url.pathname.slice('/presigned/'.length), url.searchParams.get('sig'), req, res);
      return;
    }
    if (url.pathname.startsWith('/oidc/')) {
      if (await serveOAuth(url, req, res)) return;
    }
    if (req.method === 'POST' && (url.pathname === path || url.pathname === '/_emulator/faults')) {
      const a = authorized(req);
      if (url.pathname === '/_emulator/faults' && a !== 'missing' && a !== 'bad') {
        await serveControl(req, res);
        return;
      }
      if (a !== 'ok') {
        await readBody(req);
        refuseToken(res, a);
        return;
      }
      const injected = injectedStatus('thrift');
      if (injected !== null) {
        await readBody(req);
        sendError(res, injected, injected === 429 ? 'Too many requests' : 'Service temporarily unavailable');
        return;
      }
      await serveThrift(req, res);
      return;
    }
    sendError(res, 404, 'not found');
  }

  const server: Server = createServer({ key: certs.keyPem, cert: certs.certPem }, (req, res) => {
    route(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, 500, err instanceof Error ? err.message : String(err));
      else res.destroy();
    });
  });
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  function listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        const a = server.address();
        if (a && typeof a === 'object') port = a.port;
        resolve();
      });
    });
  }
  function stopListening(): Promise<void> {
    return new Promise((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
  }

  await listen();

  let closed = false;
  return {
    host: '127.0.0.1',
    get port() {
      return port;
    },
    path,
    token,
    caPath: certs.caPath,
    faults,
    query: (sql) => warehouse.query(sql),
    close: async () => {
      if (closed) return;
      closed = true;
      if (!f.refused) await stopListening();
      await Promise.allSettled([...operations.values()].map((o) => o.wait));
      warehouse.close();
    },
  };
}

/** The saved certificates, if they cover `names` (wildcards tried with a sample name). */
async function reuseCerts(dir: string, names: string[]): Promise<TestCerts | undefined> {
  try {
    const [caPem, certPem, keyPem] = await Promise.all(['ca.pem', 'server.pem', 'server-key.pem'].map((f) => readFile(join(dir, f), 'utf8')));
    const cert = new X509Certificate(certPem!);
    if (!names.every((n) => cert.checkHost(n.replace(/^\*/, 'x')))) return undefined;
    return { caPem: caPem!, certPem: certPem!, keyPem: keyPem!, caPath: join(dir, 'ca.pem') };
  } catch {
    return undefined;
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
