/**
 * The Databricks sink (design.md "Destination"): the batch files of an upload unit are staged as
 * they are in a Unity Catalog volume folder per unit, `<site>/<table>/<store id>/<unit>/<batch id>.parquet`
 * (a store made after a lost state directory never uses an earlier store's path) (`PUT ... OVERWRITE` through @databricks/sql, one file at a time in memory, re-encoded only if it has an encoding Databricks may not read),
 * then committed idempotently: insert-only units with one `COPY INTO ... FILES = (...)` (Delta's
 * per-table load history skips files already loaded, and the COPY is one transaction), units with
 * updates/deletes with one `MERGE` reading the unit's folder, on the table's row key (re-running it
 * converges to the same rows). So re-uploading a unit after a crash never duplicates rows.
 * Driver facts: shared/docs/platform-notes.md "@databricks/sql (2.x)".
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { rootCertificates } from 'node:tls';
import { DBSQLClient } from '@databricks/sql';
import { rewriteBatch } from '../../batch/concat.js';
import { footerEncodings } from '../../batch/footer.js';
import { TABLES, type TableDef, type TableName } from '../../batch/tables.js';
import type { AgentConfig } from '../../config/types.js';
import type { DatabricksAuthConfig, ProxyConfig } from './config.js';
import { SinkError } from '../../errors.js';
import { ClientCredentials, type TokenFailure } from '../../oauth/client-credentials.js';
import type { Logger } from '../../observe/log.js';
import { forEachLimited } from '../../pool.js';
import { dropRows, supersededRows } from './arrow.js';
import { classify, errorMessage } from './classify.js';
import { cannotCreate, grantSql, lit, lookupSql, missingSteps, objectSql, PRINCIPAL_PLACEHOLDER, q, tableName } from './objects.js';
import { SinkProxy } from './proxy.js';
import { beatsOf, beatsSql, headsOf, headsSql } from './recovery.js';
import type { Sink, SinkFile, SinkUnit, SiteBeat } from '../types.js';

type Session = Awaited<ReturnType<DBSQLClient['openSession']>>;

export interface DatabricksSinkOptions {
  /** Workspace host name, no scheme. */
  host: string;
  port: number;
  /** `/sql/1.0/warehouses/<id>` */
  httpPath: string;
  auth: DatabricksAuthConfig;
  /** Extra CA bundle (PEM text), added to the bundled roots. */
  caPem?: string;
  catalog: string;
  schema: string;
  volume: string;
  site: string;
  /** Local folder for the files being staged (the driver only PUTs files from here). */
  stagingDir: string;
  /** Largest coalesced upload unit (sink.max_upload_bytes); forward.ts's default when absent. */
  maxUploadBytes?: number;
  /** The plant's HTTP proxy for the warehouse, the token endpoint and the presigned uploads (proxy.ts). */
  proxy?: ProxyConfig;
  /** sink.parquet.byte_stream_split: stage BYTE_STREAM_SPLIT batches as they are (else rewritten). */
  byteStreamSplit?: boolean;
  logger?: Logger;
}

/**
 * Tables whose deletions are kept as rows with `op = 'delete'` (design.md: AF "hierarchy snapshot,
 * upserted, with deletions marked"); in every other table a delete removes the row.
 */
const MARK_DELETIONS: ReadonlySet<TableName> = new Set<TableName>(['pi_af_elements', 'pi_af_attributes', 'pi_af_templates']);

/** parquet.thrift Encoding.BYTE_STREAM_SPLIT */
const BYTE_STREAM_SPLIT = 9;

/** Staged files PUT at the same time (each holds one batch in memory). */
const PUT_CONCURRENCY = 4;

export class DatabricksSink implements Sink {
  readonly type = 'databricks';
  private client: DBSQLClient | undefined;
  private session: Session | undefined;
  private connecting: Promise<Session> | undefined;
  private prepared = false;
  /** OAuth M2M tokens (auth type oauth), made on first connect. */
  private oauth: ClientCredentials | undefined;
  private cleanup: Promise<void> = Promise.resolve();
  private readonly proxy: SinkProxy | undefined;
  readonly label: string;
  readonly limits: { maxBytes?: number };

  constructor(private readonly opts: DatabricksSinkOptions) {
    this.label = `Databricks ${opts.host}`;
    this.limits = opts.maxUploadBytes === undefined ? {} : { maxBytes: opts.maxUploadBytes };
    this.proxy = opts.proxy && new SinkProxy(opts.proxy);
  }

  static async fromConfig(config: AgentConfig, logger?: Logger): Promise<DatabricksSink> {
    const sink = config.sink;
    if (sink.type !== 'databricks') throw new SinkError('SINK_FAILED', 'the configured sink is not databricks');
    const opts: DatabricksSinkOptions = {
      host: sink.host,
      port: sink.port,
      httpPath: sink.http_path,
      auth: sink.auth,
      catalog: sink.catalog,
      schema: sink.schema,
      volume: sink.volume,
      site: config.site,
      stagingDir: path.join(config.state_dir, 'databricks-staging'),
      maxUploadBytes: sink.max_upload_bytes,
      ...(sink.proxy ? { proxy: sink.proxy } : {}),
      byteStreamSplit: sink.parquet.byte_stream_split,
    };
    if (sink.ca !== undefined) {
      try {
        opts.caPem = await readFile(sink.ca, 'utf8');
      } catch (err) {
        throw new SinkError('SINK_FAILED', `cannot read the CA bundle ${sink.ca}: ${(err as Error).message}`, { cause: err });
      }
    }
    if (logger) opts.logger = logger;
    return new DatabricksSink(opts);
  }

  private tableName(t: TableName): string {
    return tableName(this.opts, t);
  }
  private volumeDir(t: TableName): string {
    return `/Volumes/${this.opts.catalog}/${this.opts.schema}/${this.opts.volume}/${this.opts.site}/${t}`;
  }

  /**
   * For an administrator (`pi-agent setup --print-sql`): the objects, then the GRANTs of the agent's
   * minimum privileges to `principal` (default: the OAuth client id, else a placeholder). objects.ts.
   */
  setupSql(opts: { principal?: string } = {}): string[] {
    const principal = opts.principal ?? (this.opts.auth.type === 'oauth' ? this.opts.auth.client_id : PRINCIPAL_PLACEHOLDER);
    return [...objectSql(this.opts), ...grantSql(this.opts, principal)];
  }

  /** A session opens and the schema, volume and tables are there (or created). */
  async check(): Promise<string> {
    await this.prepare();
    return `Databricks ${this.opts.host}${this.opts.httpPath}: connected, ${this.opts.catalog}.${this.opts.schema} and volume ${this.opts.volume} ready${this.proxy ? `, ${this.proxy.describe()}` : ''}`;
  }

  async setup(): Promise<string> {
    await this.prepare();
    return `Databricks objects ready: ${this.opts.catalog}.${this.opts.schema}, volume ${this.opts.volume}, tables`;
  }

  /**
   * Looks up what exists (one information_schema query: a restart costs one statement) and creates
   * only the schema, volume and tables that are missing and adds columns newer agents define, so a
   * principal without CREATE privileges starts when the objects exist (objects.ts).
   */
  async prepare(): Promise<void> {
    if (this.prepared) return;
    // Files a crash left between write and PUT; there is never more than one uploader.
    await rm(this.opts.stagingDir, { recursive: true, force: true });
    await this.step('setup', async () => {
      for (const s of missingSteps(this.opts, await this.run(lookupSql(this.opts)))) {
        try {
          await this.run(s.sql);
        } catch (err) {
          if (classify(err, this.opts.auth.type).code === 'SINK_PERMISSION_DENIED') throw cannotCreate(s, errorMessage(err));
          throw err;
        }
      }
    });
    this.prepared = true;
  }

  async upload(unit: SinkUnit): Promise<void> {
    const def = TABLES[unit.table];
    const merge = [...unit.ops].some((op) => op !== 'insert');
    // COPY INTO skips a path it loaded before, even if changed: the store id keeps a new store off old paths.
    const dir = `${this.volumeDir(unit.table)}/${unit.store === undefined ? '' : `${unit.store}/`}${unit.name}`;
    const fileName = (f: SinkFile): string => `${f.id}.parquet`;
    // MERGE fails when two source rows match one target row (platform-notes "COPY INTO and MERGE"):
    // keep the last row per key, in batch order. Every file is staged even if left empty, so a
    // retry stages exactly the same set of files in the unit's folder.
    const dropped = merge ? supersededRows(unit.files, def.key) : undefined;
    await mkdir(this.opts.stagingDir, { recursive: true });
    await this.step(`upload of ${unit.name}`, () =>
      forEachLimited(unit.files, PUT_CONCURRENCY, async (f, i) => {
        const drop = dropped?.[i];
        const src = this.readable(f.read());
        const data = drop ? dropRows(src, drop) : src;
        const local = path.join(this.opts.stagingDir, `${unit.name}.${f.id}.${randomBytes(4).toString('hex')}.parquet`);
        try {
          await writeFile(local, data);
          await this.run(`PUT ${lit(local)} INTO ${lit(`${dir}/${fileName(f)}`)} OVERWRITE`, true);
        } finally {
          await rm(local, { force: true });
        }
      }),
    );
    const result = await this.step(`commit of ${unit.name}`, () => this.run(merge ? this.mergeSql(def, dir) : this.copySql(unit.table, dir, unit.files.map(fileName))));
    this.opts.logger?.info(
      { unit: unit.name, table: unit.table, rows: unit.rows, files: unit.files.length, statement: merge ? 'MERGE' : 'COPY INTO', result: result[0] },
      'databricks unit committed',
    );
    // The load history keeps the COPY idempotent without the files, so the volume need not grow.
    await forEachLimited(unit.files, PUT_CONCURRENCY, (f) => this.run(`REMOVE ${lit(`${dir}/${fileName(f)}`)}`, true)).catch((err: unknown) => {
      this.opts.logger?.warn({ unit: unit.name, err: errorMessage(err) }, 'could not remove a committed staging file; it is harmless');
    });
  }

  /**
   * A batch sealed with BYTE_STREAM_SPLIT doubles (the default before issue 17) is written again
   * with encodings every Databricks reader takes (agent/batch/write.ts), unless the opt-in is on.
   */
  private readable(data: Uint8Array): Uint8Array {
    return this.opts.byteStreamSplit === true || !footerEncodings(data).has(BYTE_STREAM_SPLIT) ? data : rewriteBatch(data);
  }

  /** Latest event per tag of this site in pi_timeseries (µs); stores that beat for it since `sinceUs` (recovery.ts). */
  readonly timeseriesHeads = (): Promise<Map<string, number>> => this.read('pi_timeseries', (t) => headsSql(t, this.opts.site), headsOf);
  readonly recentBeats = (sinceUs: number): Promise<SiteBeat[]> => this.read('pi_agent_status', (t) => beatsSql(t, this.opts.site, sinceUs), beatsOf);

  /** A read of what `table` holds (the tables are created first when missing). */
  private async read<T>(table: TableName, sql: (name: string) => string, parse: (rows: Record<string, unknown>[]) => T): Promise<T> {
    await this.prepare();
    return parse(await this.step(`read of ${table}`, () => this.run(sql(this.tableName(table)))));
  }

  private copySql(table: TableName, dir: string, files: string[]): string {
    return `COPY INTO ${this.tableName(table)} FROM ${lit(dir)} FILEFORMAT = PARQUET FILES = (${files.map(lit).join(', ')})`;
  }

  private mergeSql(def: TableDef, dir: string): string {
    const on = def.key.map((k) => `t.${q(k)} = s.${q(k)}`).join(' AND ');
    const matched = MARK_DELETIONS.has(def.name)
      ? `WHEN MATCHED THEN UPDATE SET *`
      : `WHEN MATCHED AND s.${q('op')} = 'delete' THEN DELETE WHEN MATCHED THEN UPDATE SET *`;
    return (
      `MERGE INTO ${this.tableName(def.name)} AS t USING (SELECT * FROM read_files(${lit(dir)}, format => 'parquet')) AS s ON ${on} ` +
      `${matched} WHEN NOT MATCHED AND s.${q('op')} <> 'delete' THEN INSERT *`
    );
  }

  async close(): Promise<void> {
    await this.disconnect();
    await this.oauth?.close(); // its connections; the token is kept
  }

  // ---------- connection ----------

  /** The session, opened once even when several statements ask for it at the same time. */
  private connect(): Promise<Session> {
    if (this.session) return Promise.resolve(this.session);
    this.connecting ??= this.openSession().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async openSession(): Promise<Session> {
    const ca = this.opts.caPem !== undefined ? [...rootCertificates, this.opts.caPem] : undefined; // the proxy's tunnels; the driver's own adds customCaCert
    const client = this.proxy ? SinkProxy.client(this.proxy.httpsAgent({ ca })) : new DBSQLClient({ logger: { log: () => undefined } });
    const base = {
      host: this.opts.host,
      port: this.opts.port,
      path: this.opts.httpPath,
      telemetryEnabled: false, // plants are often air-gapped
      // Few, short retries of the calls the driver retries (status polls, closes): the sink loop
      // has its own backoff, and an outage should surface in seconds, not minutes.
      retryMaxAttempts: 3,
      retryDelayMin: 500,
      retryDelayMax: 5000,
      ...(this.opts.caPem !== undefined ? { customCaCert: this.opts.caPem } : {}),
    };
    if (this.opts.auth.type === 'token') {
      await client.connect({ ...base, token: this.opts.auth.token });
    } else {
      // The driver's own databricks-oauth flow only accepts known cloud host names; the M2M token
      // comes from the workspace's OIDC token endpoint instead, refreshed before it expires.
      const oauth = (this.oauth ??= this.oauthClient(this.opts.auth));
      await client.connect({ ...base, authType: 'custom', provider: { authenticate: async () => ({ Authorization: `Bearer ${await oauth.token()}` }) } });
    }
    this.client = client;
    try {
      this.session = await client.openSession({ initialCatalog: this.opts.catalog });
    } catch (err) {
      await this.disconnect();
      throw err;
    }
    return this.session;
  }

  /**
   * Drops the session. After a failure this runs in the background: closing retries against a
   * server that may be down (the driver retries CloseSession), and the next upload reconnects anyway.
   */
  private async disconnect(background = false): Promise<void> {
    const { session, client } = this;
    this.session = undefined;
    this.client = undefined;
    const done = (async () => {
      await session?.close().catch(() => undefined);
      await client?.close().catch(() => undefined);
    })();
    this.cleanup = Promise.all([this.cleanup, done]).then(() => undefined);
    if (!background) await this.cleanup;
  }

  /** The workspace's OIDC token endpoint, client secret in HTTP Basic, renewed a minute before expiry. */
  private oauthClient(auth: Extract<DatabricksAuthConfig, { type: 'oauth' }>): ClientCredentials {
    const id = auth.client_id;
    return new ClientCredentials({
      clientId: id,
      clientSecret: auth.client_secret,
      scope: 'all-apis',
      endpoint: { url: `https://${this.opts.host}${this.opts.port === 443 ? '' : `:${this.opts.port}`}/oidc/v1/token`, clientAuth: 'basic' },
      connect: { ca: this.opts.caPem !== undefined ? [...rootCertificates, this.opts.caPem] : [...rootCertificates] },
      ...(this.proxy ? { dispatcher: () => this.proxy!.dispatcher({ ca: this.opts.caPem !== undefined ? [...rootCertificates, this.opts.caPem] : undefined }) } : {}),
      now: Date.now,
      renewAt: ({ receivedAt, lifetimeMs }) => receivedAt + lifetimeMs - 60_000,
      defaultLifetimeS: 3600,
      failure: (f: TokenFailure) => {
        switch (f.kind) {
          // No answer: the driver's own errors are classified in one place, classify() below.
          case 'unreachable':
            return f.cause;
          case 'status':
            return f.status === 400 || f.status === 401 || f.status === 403
              ? new SinkError('SINK_AUTH_FAILED', `Databricks OAuth rejected client ${id} (HTTP ${f.status}); check sink.auth.client_id and client_secret`)
              : new SinkError('SINK_UNREACHABLE', `Databricks OAuth token endpoint answered HTTP ${f.status}`);
          case 'no-token':
          case 'no-discovery':
            return new SinkError('SINK_AUTH_FAILED', 'Databricks OAuth token endpoint returned no access_token');
        }
      },
    });
  }

  /**
   * Runs one statement and returns its rows; `staging` allows PUT/GET/REMOVE from stagingDir. A
   * session the warehouse closed (idle) ran nothing: open a new one and run the statement again,
   * once (the advice in databricks/databricks-sql-python#400). Every statement here is idempotent.
   */
  private async run(sql: string, staging = false): Promise<Record<string, unknown>[]> {
    const session = await this.connect();
    try {
      return await this.runIn(session, sql, staging);
    } catch (err) {
      if (!classify(err, this.opts.auth.type).sessionClosed) throw err;
      // Several statements may find the same closed session: only the first drops it.
      if (this.session === session) void this.disconnect(true);
      this.opts.logger?.info({ err: errorMessage(err) }, 'the warehouse closed the idle session; reconnecting');
      return this.runIn(await this.connect(), sql, staging);
    }
  }

  private async runIn(session: Session, sql: string, staging: boolean): Promise<Record<string, unknown>[]> {
    const op = await session.executeStatement(sql, staging ? { stagingAllowedLocalPath: this.opts.stagingDir } : {});
    try {
      return (await op.fetchAll()) as Record<string, unknown>[];
    } finally {
      await op.close().catch(() => undefined);
    }
  }

  /** Runs `fn`, turning failures into SinkErrors; any failure drops the session (reconnect next time). */
  private async step<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      void this.disconnect(true);
      if (err instanceof SinkError) throw err;
      const viaProxy = this.proxy?.failure(err, what);
      if (viaProxy) throw viaProxy;
      const e = classify(err, this.opts.auth.type);
      // A 401 with OAuth is an expired access token: the next try fetches a new one. With a
      // personal access token it is permanent until an operator replaces the token: the data stays
      // buffered and the service retries slowly (agent/service/run.ts), status shows the error.
      const retryable = e.code === 'SINK_AUTH_FAILED' ? this.opts.auth.type === 'oauth' : e.retryable;
      if (e.code === 'SINK_AUTH_FAILED') this.oauth?.invalidate();
      // A refused statement may be a table someone dropped or altered: set up again before the next try.
      if (!retryable) this.prepared = false;
      throw new SinkError(e.code, `Databricks ${what} failed: ${errorMessage(err)}${e.hint}`, { cause: err, retryable });
    }
  }
}
