/**
 * The SQL engine of the warehouse emulator: the Databricks statements the agent sends, translated
 * explicitly onto DuckDB (one file, one DuckDB schema per Unity Catalog schema). The accepted
 * subset is documented in README.md; anything else fails with a Databricks-like error.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join, normalize, sep } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { ADMIN, PrivilegeModel, grantStatement, type Privilege, type Securable } from './privileges.js';
import { refuseUnreadableEncodings, volumePathOf } from './parquet-check.js';
import { Cursor, SqlError, emit, parseError, quoteIdent, quoteString, splitCommas, tokenize, type Token } from './sql.js';

/** Databricks type names as they appear in results and DESCRIBE. */
export type DbxType = 'STRING' | 'INT' | 'BIGINT' | 'DOUBLE' | 'BOOLEAN' | 'TIMESTAMP' | 'TIMESTAMP_NTZ' | 'DATE' | 'SMALLINT' | 'FLOAT' | 'DECIMAL' | 'MAP';

export interface ResultColumn {
  name: string;
  type: DbxType;
}
export interface StagingRequest {
  operation: 'PUT' | 'GET' | 'REMOVE';
  /** local path on the client (PUT/GET) */
  localFile?: string;
  /** absolute path in the emulator's data directory */
  volumeFile: string;
  overwrite: boolean;
}
export interface StatementResult {
  columns: ResultColumn[];
  /** values already in Databricks' result representation (string/number/boolean/null) */
  rows: (string | number | boolean | null)[][];
  staging?: StagingRequest;
  /** true for COPY INTO and MERGE: the statements the commit faults apply to */
  isCommit?: boolean;
}

const DDL_TYPES: Record<string, string> = {
  STRING: 'VARCHAR',
  INT: 'INTEGER',
  INTEGER: 'INTEGER',
  BIGINT: 'BIGINT',
  LONG: 'BIGINT',
  DOUBLE: 'DOUBLE',
  BOOLEAN: 'BOOLEAN',
  TIMESTAMP: 'TIMESTAMPTZ',
  TIMESTAMP_NTZ: 'TIMESTAMP',
  DATE: 'DATE',
  SMALLINT: 'SMALLINT',
  FLOAT: 'FLOAT',
};

/** DuckDB column type → Databricks type name. */
export function dbxType(duck: string): DbxType {
  const d = duck.toUpperCase();
  if (d === 'VARCHAR') return 'STRING';
  if (d === 'INTEGER') return 'INT';
  if (d === 'BIGINT' || d === 'HUGEINT' || d === 'UBIGINT' || d === 'UINTEGER') return 'BIGINT';
  if (d === 'DOUBLE') return 'DOUBLE';
  if (d === 'FLOAT') return 'FLOAT';
  if (d === 'BOOLEAN') return 'BOOLEAN';
  if (d === 'TIMESTAMP WITH TIME ZONE' || d === 'TIMESTAMPTZ') return 'TIMESTAMP';
  if (d.startsWith('TIMESTAMP')) return 'TIMESTAMP_NTZ';
  if (d === 'DATE') return 'DATE';
  if (d === 'SMALLINT' || d === 'TINYINT' || d === 'USMALLINT' || d === 'UTINYINT') return 'SMALLINT';
  if (d.startsWith('DECIMAL')) return 'DECIMAL';
  return 'STRING';
}

/** DuckDB type of a Parquet column → the DDL type a schema merge adds. */
function ddlForDuck(duck: string): string {
  const t = dbxType(duck);
  return t === 'TIMESTAMP' ? 'TIMESTAMPTZ' : t === 'TIMESTAMP_NTZ' ? 'TIMESTAMP' : t === 'DECIMAL' ? duck : (DDL_TYPES[t] ?? 'VARCHAR');
}

interface TableRef {
  catalog: string;
  schema: string;
  table: string;
}

export class Warehouse {
  private queue: Promise<unknown> = Promise.resolve();
  /** Grants, owners and checks (privileges.ts); kept in memory, so a restart forgets grants. */
  readonly privileges = new PrivilegeModel();
  /** The principal of the statement running now (statements run one at a time). */
  private principal = ADMIN;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    readonly dataDir: string,
  ) {}

  static async open(dataDir: string): Promise<Warehouse> {
    await mkdir(join(dataDir, 'volumes'), { recursive: true });
    const instance = await DuckDBInstance.create(join(dataDir, 'warehouse.duckdb'));
    const conn = await instance.connect();
    const w = new Warehouse(instance, conn, dataDir);
    await conn.run(`SET TimeZone = 'UTC'`);
    // Emulator bookkeeping lives in its own schema so tests can read it and the agent cannot clash.
    await conn.run(`CREATE SCHEMA IF NOT EXISTS _emulator`);
    await conn.run(`CREATE TABLE IF NOT EXISTS _emulator.copy_history (
      table_schema VARCHAR, table_name VARCHAR, file_path VARCHAR, rows BIGINT, loaded_at TIMESTAMPTZ DEFAULT now(),
      PRIMARY KEY (table_schema, table_name, file_path))`);
    await conn.run(`CREATE TABLE IF NOT EXISTS _emulator.volumes (catalog VARCHAR, schema VARCHAR, volume VARCHAR, PRIMARY KEY (catalog, schema, volume))`);
    await conn.run(
      `CREATE OR REPLACE VIEW _emulator.information_schema_volumes AS SELECT lower(catalog) AS volume_catalog, lower(schema) AS volume_schema, lower(volume) AS volume_name, 'MANAGED' AS volume_type FROM _emulator.volumes`,
    );
    await conn.run(`CREATE TABLE IF NOT EXISTS _emulator.clustering (table_schema VARCHAR, table_name VARCHAR, columns VARCHAR, PRIMARY KEY (table_schema, table_name))`);
    // Databricks SQL functions DuckDB names otherwise. unix_micros(TIMESTAMP) → BIGINT µs since the
    // epoch: https://docs.databricks.com/aws/en/sql/language-manual/functions/unix_micros
    await conn.run(`CREATE OR REPLACE MACRO unix_micros(ts) AS epoch_us(ts)`);
    return w;
  }

  close(): void {
    this.conn.closeSync();
    this.instance.closeSync();
  }

  /** Direct DuckDB read for tests (rows as JSON-friendly objects). */
  async query(sql: string): Promise<Record<string, unknown>[]> {
    return this.serial(async () => (await this.conn.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[]);
  }

  /**
   * Run one Databricks statement as `principal` (privileges.ts; the default token's principal is an
   * admin). Statements run one at a time, like a single-cluster warehouse queue.
   */
  async execute(sql: string, principal = ADMIN): Promise<StatementResult> {
    const toks = tokenize(sql);
    if (toks.length === 0) throw parseError('empty statement');
    return this.serial(() => {
      this.principal = principal;
      return this.dispatch(new Cursor(toks));
    });
  }

  /** Unity Catalog's privilege checks for the running statement (privileges.ts). */
  private need(...needs: [Privilege, Securable][]): void {
    this.privileges.require(this.principal, needs);
  }
  private use(path: string[]): [Privilege, Securable][] {
    return this.privileges.use(path);
  }
  private tableNeeds(r: TableRef, ...privileges: Privilege[]): [Privilege, Securable][] {
    const path = [r.catalog, r.schema, r.table];
    return [...this.use(path), ...privileges.map((p): [Privilege, Securable] => [p, { kind: 'TABLE', path }])];
  }
  /** '/Volumes/c/s/v/...' → what reading (and writing) its files needs (volumes/privileges.html). */
  private volumeNeeds(path: string, write: boolean): [Privilege, Securable][] {
    const m = /^\/Volumes\/([^/]+)\/([^/]+)\/([^/]+)/.exec(path);
    if (!m) return [];
    const vpath = [m[1]!, m[2]!, m[3]!];
    const v: Securable = { kind: 'VOLUME', path: vpath };
    return [...this.use(vpath), ['READ VOLUME', v], ...(write ? [['WRITE VOLUME', v] as [Privilege, Securable]] : [])];
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async dispatch(c: Cursor): Promise<StatementResult> {
    if (c.isKw('SELECT') || c.isKw('WITH')) return this.select(c);
    if (c.acceptKw('CREATE', 'SCHEMA') || c.acceptKw('CREATE', 'DATABASE')) return this.createSchema(c);
    if (c.acceptKw('CREATE', 'VOLUME')) return this.createVolume(c);
    if (c.acceptKw('CREATE', 'TABLE')) return this.createTable(c);
    if (c.acceptKw('ALTER', 'TABLE')) return this.alterTable(c);
    if (c.acceptKw('COPY', 'INTO')) return this.copyInto(c);
    if (c.acceptKw('MERGE', 'INTO')) return this.merge(c);
    if (c.acceptKw('DESCRIBE', 'TABLE') || c.acceptKw('DESCRIBE') || c.acceptKw('DESC')) return this.describe(c);
    if (c.acceptKw('SHOW', 'TABLES')) return this.showTables(c);
    if (c.acceptKw('DROP', 'TABLE')) return this.dropTable(c);
    if (c.acceptKw('PUT')) return this.stagingPut(c);
    if (c.acceptKw('GET')) return this.stagingGet(c);
    if (c.acceptKw('REMOVE')) return this.stagingRemove(c);
    if (c.acceptKw('GRANT')) {
      grantStatement(this.privileges, this.principal, c);
      return { columns: [], rows: [] };
    }
    throw new SqlError(
      `[UNSUPPORTED_FEATURE] The warehouse emulator does not support this statement: ${c.toks
        .slice(0, 4)
        .map((t) => t.text)
        .join(' ')} ... (see test/sim/databricks/README.md). SQLSTATE: 0A000`,
      '0A000',
    );
  }

  // ---------- names ----------

  private tableRef(parts: string[]): TableRef {
    if (parts.length === 3) return { catalog: parts[0]!, schema: parts[1]!, table: parts[2]! };
    if (parts.length === 2) return { catalog: 'main', schema: parts[0]!, table: parts[1]! };
    throw new SqlError(`[UNSUPPORTED_FEATURE] The emulator needs a qualified name (catalog.schema.table), got '${parts.join('.')}'. SQLSTATE: 0A000`, '0A000');
  }

  private sqlName(r: { schema: string; table: string }): string {
    return `${quoteIdent(r.schema.toLowerCase())}.${quoteIdent(r.table.toLowerCase())}`;
  }

  private async schemaExists(schema: string): Promise<boolean> {
    const r = await this.conn.runAndReadAll(`SELECT 1 FROM duckdb_schemas() WHERE schema_name = ${quoteString(schema.toLowerCase())} AND NOT internal`);
    return r.currentRowCount > 0;
  }

  /** Target columns in order with DuckDB types; throws TABLE_OR_VIEW_NOT_FOUND. */
  private async columns(r: TableRef): Promise<{ name: string; duck: string; nullable: boolean; comment: string | null }[]> {
    const res = await this.conn.runAndReadAll(`SELECT column_name, data_type, is_nullable, comment FROM duckdb_columns()
      WHERE schema_name = ${quoteString(r.schema.toLowerCase())} AND table_name = ${quoteString(r.table.toLowerCase())} ORDER BY column_index`);
    const rows = res.getRowsJS();
    if (rows.length === 0) {
      throw new SqlError(`[TABLE_OR_VIEW_NOT_FOUND] The table or view \`${r.catalog}\`.\`${r.schema}\`.\`${r.table}\` cannot be found. SQLSTATE: 42P01`, '42P01');
    }
    return rows.map((row) => ({ name: String(row[0]), duck: String(row[1]), nullable: row[2] === true, comment: row[3] === null ? null : String(row[3]) }));
  }

  /** '/Volumes/c/s/v/rest' → local path under dataDir/volumes (rejects escapes and unknown volumes). */
  private async volumePath(path: string): Promise<string> {
    const m = /^\/Volumes\/([^/]+)\/([^/]+)\/([^/]+)(\/.*)?$/.exec(path);
    if (!m) throw new SqlError(`[INVALID_PATH] '${path}' is not a Unity Catalog volume path (/Volumes/<catalog>/<schema>/<volume>/...). SQLSTATE: 22023`, '22023');
    const [, cat, sch, vol, rest] = m as unknown as [string, string, string, string, string | undefined];
    const known = await this.conn.runAndReadAll(
      `SELECT 1 FROM _emulator.volumes WHERE catalog = ${quoteString(cat)} AND schema = ${quoteString(sch)} AND volume = ${quoteString(vol)}`,
    );
    if (known.currentRowCount === 0) {
      throw new SqlError(`[UC_VOLUME_NOT_FOUND] Volume \`${cat}\`.\`${sch}\`.\`${vol}\` does not exist. SQLSTATE: 42704`, '42704');
    }
    const root = join(this.dataDir, 'volumes', cat, sch, vol);
    const full = normalize(join(root, rest ?? ''));
    if (full !== root && !full.startsWith(root + sep)) throw new SqlError(`[INVALID_PATH] '${path}' leaves its volume. SQLSTATE: 22023`, '22023');
    return full;
  }

  // ---------- statements ----------

  private async select(c: Cursor): Promise<StatementResult> {
    // Three-part names `catalog.schema.table` become `schema.table` (one DuckDB schema per UC schema).
    const toks = c.toks;
    const out: Token[] = [];
    for (let i = 0; i < toks.length; i++) {
      const t = toks[i]!;
      const isId = (k: Token | undefined) => k !== undefined && (k.kind === 'ident' || k.kind === 'qident');
      const prev = out[out.length - 1];
      if (isId(t) && toks[i + 1]?.text === '.' && isId(toks[i + 2]) && toks[i + 3]?.text === '.' && isId(toks[i + 4]) && prev?.text !== '.') {
        // information_schema needs USE CATALOG only (its rows are what the principal may see);
        // a table needs USE CATALOG, USE SCHEMA and SELECT (privileges-reference).
        const path = [t.text, toks[i + 2]!.text, toks[i + 4]!.text];
        if (path[1]!.toLowerCase() === 'information_schema') this.need(...this.use([path[0]!]));
        else this.need(...this.tableNeeds({ catalog: path[0]!, schema: path[1]!, table: path[2]! }, 'SELECT'));
        if (path[1]!.toLowerCase() === 'information_schema' && path[2]!.toLowerCase() === 'volumes') {
          // Unity Catalog's INFORMATION_SCHEMA.VOLUMES (sql/language-manual/information-schema/volumes)
          out.push({ kind: 'qident', text: '_emulator' }, { kind: 'punct', text: '.' }, { kind: 'qident', text: 'information_schema_volumes' });
          i += 4;
          continue;
        }
        out.push({ kind: 'qident', text: toks[i + 2]!.text.toLowerCase() }, { kind: 'punct', text: '.' }, { kind: 'qident', text: toks[i + 4]!.text.toLowerCase() });
        i += 4;
        continue;
      }
      out.push(t);
    }
    const res = await this.run(emit(out));
    return res;
  }

  private async run(sql: string): Promise<StatementResult> {
    let reader;
    try {
      reader = await this.conn.runAndReadAll(sql);
    } catch (err) {
      throw translateDuckError(err);
    }
    const names = reader.columnNames();
    const types = reader.columnTypes().map((t) => String(t));
    const columns = names.map((name, i) => ({ name, type: dbxType(types[i]!) }));
    const rows = reader.getRowsJson().map((row) => row.map((v, i) => resultValue(v, columns[i]!.type)));
    return { columns, rows };
  }

  private async createSchema(c: Cursor): Promise<StatementResult> {
    const ifNotExists = c.acceptKw('IF', 'NOT', 'EXISTS');
    const parts = c.name();
    if (parts.length > 2) throw parseError(`schema name '${parts.join('.')}'`);
    const schema = parts[parts.length - 1]!;
    if (c.acceptKw('COMMENT')) c.string();
    c.expectEnd();
    // Checked before existence, IF NOT EXISTS or not (airbytehq/airbyte#35971, dbt-labs/dbt-fusion#500).
    const catalog = parts.length === 2 ? parts[0]! : 'main';
    this.need(...this.use([catalog]), ['CREATE SCHEMA', { kind: 'CATALOG', path: [catalog] }]);
    const existed = await this.schemaExists(schema);
    if (!ifNotExists && existed) {
      throw new SqlError(`[SCHEMA_ALREADY_EXISTS] Cannot create schema \`${schema}\` because it already exists. SQLSTATE: 42P06`, '42P06');
    }
    await this.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema.toLowerCase())}`);
    if (!existed) this.privileges.setOwner({ kind: 'SCHEMA', path: [catalog, schema] }, this.principal);
    return { columns: [], rows: [] };
  }

  private async createVolume(c: Cursor): Promise<StatementResult> {
    const ifNotExists = c.acceptKw('IF', 'NOT', 'EXISTS');
    const r = this.tableRef(c.name());
    if (c.acceptKw('COMMENT')) c.string();
    c.expectEnd();
    if (!(await this.schemaExists(r.schema))) {
      throw new SqlError(`[SCHEMA_NOT_FOUND] The schema \`${r.catalog}\`.\`${r.schema}\` cannot be found. SQLSTATE: 42704`, '42704');
    }
    // Checked even when the volume exists (as CREATE SCHEMA IF NOT EXISTS, airbytehq/airbyte#35971).
    this.need(...this.use([r.catalog, r.schema]), ['CREATE VOLUME', { kind: 'SCHEMA', path: [r.catalog, r.schema] }]);
    const exists = await this.conn.runAndReadAll(
      `SELECT 1 FROM _emulator.volumes WHERE catalog = ${quoteString(r.catalog)} AND schema = ${quoteString(r.schema)} AND volume = ${quoteString(r.table)}`,
    );
    if (exists.currentRowCount > 0) {
      if (ifNotExists) return { columns: [], rows: [] };
      throw new SqlError(`[VOLUME_ALREADY_EXISTS] Cannot create volume \`${r.catalog}\`.\`${r.schema}\`.\`${r.table}\` because it already exists. SQLSTATE: 42000`);
    }
    await this.conn.run(`INSERT INTO _emulator.volumes VALUES (${quoteString(r.catalog)}, ${quoteString(r.schema)}, ${quoteString(r.table)})`);
    this.privileges.setOwner({ kind: 'VOLUME', path: [r.catalog, r.schema, r.table] }, this.principal);
    await mkdir(join(this.dataDir, 'volumes', r.catalog, r.schema, r.table), { recursive: true });
    return { columns: [], rows: [] };
  }

  /** `name TYPE [NOT NULL] [COMMENT '...']` → DuckDB column DDL plus its comment. */
  private columnDef(toks: Token[]): { name: string; ddl: string; comment?: string } {
    const c = new Cursor(toks);
    const name = c.ident();
    const typeName = c.ident().toUpperCase();
    const duck = DDL_TYPES[typeName];
    if (!duck)
      throw new SqlError(
        `[UNSUPPORTED_DATATYPE] Unsupported data type "${typeName}" (the emulator accepts ${Object.keys(DDL_TYPES).join(', ')}). SQLSTATE: 0A000`,
        '0A000',
      );
    let ddl = `${quoteIdent(name.toLowerCase())} ${duck}`;
    let comment: string | undefined;
    while (!c.done()) {
      if (c.acceptKw('NOT', 'NULL')) ddl += ' NOT NULL';
      else if (c.acceptKw('COMMENT')) comment = c.string();
      else throw parseError(`unexpected ${c.near()} in the definition of column ${name}`);
    }
    return comment === undefined ? { name, ddl } : { name, ddl, comment };
  }

  private async createTable(c: Cursor): Promise<StatementResult> {
    const ifNotExists = c.acceptKw('IF', 'NOT', 'EXISTS');
    const r = this.tableRef(c.name());
    const defs = splitCommas(c.group()).map((d) => this.columnDef(d));
    let tableComment: string | undefined;
    let cluster: string[] = [];
    while (!c.done()) {
      if (c.acceptKw('USING')) {
        const f = c.ident();
        if (f.toUpperCase() !== 'DELTA') throw new SqlError(`[UNSUPPORTED_FEATURE] Table format ${f} (the emulator only has DELTA). SQLSTATE: 0A000`, '0A000');
      } else if (c.acceptKw('CLUSTER', 'BY')) cluster = splitCommas(c.group()).map((p) => new Cursor(p).ident());
      else if (c.acceptKw('COMMENT')) tableComment = c.string();
      else if (c.acceptKw('TBLPROPERTIES')) c.group();
      else throw parseError(`unexpected ${c.near()} after the column list`);
    }
    if (!(await this.schemaExists(r.schema))) {
      throw new SqlError(`[SCHEMA_NOT_FOUND] The schema \`${r.catalog}\`.\`${r.schema}\` cannot be found. SQLSTATE: 42704`, '42704');
    }
    // Checked even when the table exists (as CREATE SCHEMA IF NOT EXISTS, airbytehq/airbyte#35971).
    this.need(...this.use([r.catalog, r.schema]), ['CREATE TABLE', { kind: 'SCHEMA', path: [r.catalog, r.schema] }]);
    const names = new Set(defs.map((d) => d.name.toLowerCase()));
    for (const col of cluster) {
      if (!names.has(col.toLowerCase()))
        throw new SqlError(`[DELTA_COLUMN_NOT_FOUND_IN_SCHEMA] Clustering column ${col} is not in the table schema. SQLSTATE: 42703`, '42703');
    }
    const exists = await this.conn.runAndReadAll(
      `SELECT 1 FROM duckdb_tables() WHERE schema_name = ${quoteString(r.schema.toLowerCase())} AND table_name = ${quoteString(r.table.toLowerCase())}`,
    );
    if (exists.currentRowCount > 0) {
      if (ifNotExists) return { columns: [], rows: [] };
      throw new SqlError(
        `[TABLE_OR_VIEW_ALREADY_EXISTS] Cannot create table or view \`${r.catalog}\`.\`${r.schema}\`.\`${r.table}\` because it already exists. SQLSTATE: 42P07`,
        '42P07',
      );
    }
    await this.conn.run('BEGIN');
    try {
      await this.conn.run(`CREATE TABLE ${this.sqlName(r)} (${defs.map((d) => d.ddl).join(', ')})`);
      for (const d of defs) {
        if (d.comment !== undefined) await this.conn.run(`COMMENT ON COLUMN ${this.sqlName(r)}.${quoteIdent(d.name.toLowerCase())} IS ${quoteString(d.comment)}`);
      }
      if (tableComment !== undefined) await this.conn.run(`COMMENT ON TABLE ${this.sqlName(r)} IS ${quoteString(tableComment)}`);
      this.privileges.setOwner({ kind: 'TABLE', path: [r.catalog, r.schema, r.table] }, this.principal);
      if (cluster.length > 0) {
        await this.conn.run(
          `INSERT OR REPLACE INTO _emulator.clustering VALUES (${quoteString(r.schema.toLowerCase())}, ${quoteString(r.table.toLowerCase())}, ${quoteString(cluster.join(','))})`,
        );
      }
      await this.conn.run('COMMIT');
    } catch (err) {
      await this.conn.run('ROLLBACK');
      throw translateDuckError(err);
    }
    return { columns: [], rows: [] };
  }

  private async alterTable(c: Cursor): Promise<StatementResult> {
    const r = this.tableRef(c.name());
    if (!(c.acceptKw('ADD', 'COLUMNS') || c.acceptKw('ADD', 'COLUMN')))
      throw new SqlError(`[UNSUPPORTED_FEATURE] The emulator supports only ALTER TABLE ... ADD COLUMNS. SQLSTATE: 0A000`, '0A000');
    const defs = c.isPunct('(') ? splitCommas(c.group()) : splitCommas(c.until([]));
    c.expectEnd();
    // ADD COLUMN needs MODIFY (sql-ref-syntax-ddl-alter-table, Required permissions).
    this.need(...this.tableNeeds(r, 'MODIFY'));
    const existing = new Set((await this.columns(r)).map((x) => x.name));
    for (const d of defs.map((x) => this.columnDef(x))) {
      if (existing.has(d.name.toLowerCase()))
        throw new SqlError(`[FIELDS_ALREADY_EXISTS] Cannot add column, because \`${d.name}\` already exists. SQLSTATE: 42710`, '42710');
      // Delta cannot add NOT NULL columns to an existing table either.
      if (/ NOT NULL$/.test(d.ddl))
        throw new SqlError(
          `[DELTA_NOT_NULL_COLUMN_NOT_FOUND_IN_STRUCT] Adding NOT NULL column ${d.name} to an existing table is not supported. SQLSTATE: 42K09`,
          '42K09',
        );
      await this.run(`ALTER TABLE ${this.sqlName(r)} ADD COLUMN ${d.ddl}`);
      if (d.comment !== undefined) await this.conn.run(`COMMENT ON COLUMN ${this.sqlName(r)}.${quoteIdent(d.name.toLowerCase())} IS ${quoteString(d.comment)}`);
    }
    return { columns: [], rows: [] };
  }

  private async dropTable(c: Cursor): Promise<StatementResult> {
    const ifExists = c.acceptKw('IF', 'EXISTS');
    const r = this.tableRef(c.name());
    c.expectEnd();
    await this.run(`DROP TABLE ${ifExists ? 'IF EXISTS ' : ''}${this.sqlName(r)}`);
    await this.conn.run(
      `DELETE FROM _emulator.copy_history WHERE table_schema = ${quoteString(r.schema.toLowerCase())} AND table_name = ${quoteString(r.table.toLowerCase())}`,
    );
    return { columns: [], rows: [] };
  }

  private async parquetColumns(file: string): Promise<{ name: string; duck: string }[]> {
    const res = await this.conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${quoteString(file)})`);
    return res.getRowsJS().map((row) => ({ name: String(row[0]), duck: String(row[1]) }));
  }

  /** Tables (lower-case names) the principal may not modify: a fault, see server.ts denyWrites. */
  readonly deniedTables = new Set<string>();

  /** Unity Catalog's answer to a write without MODIFY on the table. */
  private checkModify(r: TableRef): void {
    if (!this.deniedTables.has(r.table.toLowerCase())) return;
    throw new SqlError(
      `[INSUFFICIENT_PERMISSIONS] Insufficient privileges:\nUser does not have MODIFY on Table '${r.catalog}.${r.schema}.${r.table}'. SQLSTATE: 42501`,
      '42501',
    );
  }

  private async copyInto(c: Cursor): Promise<StatementResult> {
    const r = this.tableRef(c.name());
    this.checkModify(r);
    c.expectKw('FROM');
    const from = c.string();
    // MODIFY on the target, READ VOLUME on the source (copy-into/unity-catalog, "Before you begin").
    this.need(...this.tableNeeds(r, 'MODIFY'), ...this.volumeNeeds(from, false));
    c.expectKw('FILEFORMAT');
    c.expectPunct('=');
    const format = c.ident();
    if (format.toUpperCase() !== 'PARQUET')
      throw new SqlError(`[UNSUPPORTED_FEATURE] FILEFORMAT = ${format} (the emulator loads PARQUET only). SQLSTATE: 0A000`, '0A000');
    let files: string[] | undefined;
    let mergeSchema = false;
    while (!c.done()) {
      if (c.acceptKw('FILES')) {
        c.expectPunct('=');
        files = splitCommas(c.group()).map((p) => new Cursor(p).string());
      } else if (c.acceptKw('FORMAT_OPTIONS')) {
        const opts = options(c.group());
        if (opts.mergeSchema === 'true') mergeSchema = true;
      } else if (c.acceptKw('COPY_OPTIONS')) {
        const opts = options(c.group());
        if (opts.force === 'true')
          throw new SqlError(`[UNSUPPORTED_FEATURE] COPY_OPTIONS ('force' = 'true') would break idempotency; the emulator refuses it. SQLSTATE: 0A000`, '0A000');
        if (opts.mergeSchema === 'true') mergeSchema = true;
      } else throw parseError(`unexpected ${c.near()} in COPY INTO`);
    }
    if (files !== undefined && files.length > 1000)
      throw new SqlError(`[COPY_INTO_FILES_LIMIT] FILES accepts at most 1000 names, got ${files.length}. SQLSTATE: 54000`, '54000');
    const dir = await this.volumePath(from);
    let relFiles: string[];
    if (files === undefined) {
      relFiles = existsSync(dir) ? (await listFiles(dir)).filter((f) => f.endsWith('.parquet')) : [];
    } else {
      relFiles = files;
    }
    const target = await this.columns(r);
    const schemaName = r.schema.toLowerCase();
    const tableName = r.table.toLowerCase();
    let inserted = 0;
    await this.conn.run('BEGIN');
    try {
      for (const rel of relFiles) {
        const full = normalize(join(dir, rel));
        if (!full.startsWith(dir + sep)) throw new SqlError(`[INVALID_PATH] '${rel}' leaves the COPY INTO source directory. SQLSTATE: 22023`, '22023');
        // Idempotency is per file path and table: a loaded file is skipped even if it changed since.
        const seen = await this.conn.runAndReadAll(
          `SELECT 1 FROM _emulator.copy_history WHERE table_schema = ${quoteString(schemaName)} AND table_name = ${quoteString(tableName)} AND file_path = ${quoteString(full)}`,
        );
        if (seen.currentRowCount > 0) continue;
        if (!existsSync(full) || !(await stat(full)).isFile()) {
          throw new SqlError(`[PATH_NOT_FOUND] Path does not exist: ${from.replace(/\/$/, '')}/${rel}. SQLSTATE: 42K03`, '42K03');
        }
        // A file with an encoding Databricks cannot read fails the COPY, as on Databricks.
        await refuseUnreadableEncodings(this.conn, full, volumePathOf(dir, from));
        const fileCols = await this.parquetColumns(full);
        const targetNames = new Set(target.map((t) => t.name));
        if (mergeSchema) {
          for (const fc of fileCols) {
            if (!targetNames.has(fc.name.toLowerCase())) {
              await this.conn.run(`ALTER TABLE ${this.sqlName(r)} ADD COLUMN ${quoteIdent(fc.name.toLowerCase())} ${ddlForDuck(fc.duck)}`);
              target.push({ name: fc.name.toLowerCase(), duck: ddlForDuck(fc.duck), nullable: true, comment: null });
              targetNames.add(fc.name.toLowerCase());
            }
          }
        }
        // Columns are matched by name; file columns the table lacks are dropped (no mergeSchema).
        const shared = fileCols.filter((fc) => targetNames.has(fc.name.toLowerCase()));
        if (shared.length === 0) throw new SqlError(`[COPY_INTO_SCHEMA_MISMATCH] ${rel} has no column of ${r.table}. SQLSTATE: 42000`);
        const res = await this.conn.run(`INSERT INTO ${this.sqlName(r)} (${shared.map((s) => quoteIdent(s.name.toLowerCase())).join(', ')})
          SELECT ${shared.map((s) => quoteIdent(s.name)).join(', ')} FROM read_parquet(${quoteString(full)})`);
        inserted += res.rowsChanged;
        await this.conn.run(
          `INSERT INTO _emulator.copy_history (table_schema, table_name, file_path, rows) VALUES (${quoteString(schemaName)}, ${quoteString(tableName)}, ${quoteString(full)}, ${res.rowsChanged})`,
        );
      }
      await this.conn.run('COMMIT');
    } catch (err) {
      await this.conn.run('ROLLBACK');
      throw translateDuckError(err);
    }
    return {
      columns: [
        { name: 'num_affected_rows', type: 'BIGINT' },
        { name: 'num_inserted_rows', type: 'BIGINT' },
        { name: 'num_skipped_corrupt_files', type: 'BIGINT' },
      ],
      rows: [[inserted, inserted, 0]],
      isCommit: true,
    };
  }

  /** `(SELECT * FROM read_files('/Volumes/...', format => 'parquet'))` or a table name → DuckDB source SQL. */
  private async mergeSource(c: Cursor): Promise<string> {
    if (!c.isPunct('(')) {
      const src = this.tableRef(c.name());
      this.need(...this.tableNeeds(src, 'SELECT'));
      return this.sqlName(src);
    }
    const inner = new Cursor(c.group());
    inner.expectKw('SELECT');
    inner.expectPunct('*');
    inner.expectKw('FROM');
    if (!inner.acceptKw('READ_FILES'))
      throw new SqlError(
        `[UNSUPPORTED_FEATURE] The emulator's MERGE source must be SELECT * FROM read_files('/Volumes/...', format => 'parquet') or a table. SQLSTATE: 0A000`,
        '0A000',
      );
    const args = splitCommas(inner.group());
    inner.expectEnd();
    const path = new Cursor(args[0] ?? []).string();
    this.need(...this.volumeNeeds(path, false));
    for (const a of args.slice(1)) {
      const ac = new Cursor(a);
      const key = ac.ident();
      ac.expectPunct('=>');
      const val = ac.string();
      if (key.toLowerCase() === 'format' && val.toLowerCase() !== 'parquet')
        throw new SqlError(`[UNSUPPORTED_FEATURE] read_files format ${val} (parquet only). SQLSTATE: 0A000`, '0A000');
    }
    const local = await this.volumePath(path);
    if (!existsSync(local)) throw new SqlError(`[PATH_NOT_FOUND] Path does not exist: ${path}. SQLSTATE: 42K03`, '42K03');
    const isDir = (await stat(local)).isDirectory();
    const glob = isDir ? join(local, '**', '*.parquet') : local;
    await refuseUnreadableEncodings(this.conn, glob, isDir ? volumePathOf(local, path) : () => path);
    return `(SELECT * FROM read_parquet(${quoteString(glob)}))`;
  }

  private async merge(c: Cursor): Promise<StatementResult> {
    const r = this.tableRef(c.name());
    this.checkModify(r);
    // MERGE reads and changes the target: SELECT and MODIFY (fine-grained-dml-privileges).
    this.need(...this.tableNeeds(r, 'SELECT', 'MODIFY'));
    c.acceptKw('AS');
    const tAlias = c.isKw('USING') ? r.table : c.ident();
    c.expectKw('USING');
    const source = await this.mergeSource(c);
    c.acceptKw('AS');
    const sAlias = c.isKw('ON') ? 'source' : c.ident();
    c.expectKw('ON');
    const on = emit(c.until(['WHEN']));
    const target = await this.columns(r);
    let sourceCols: string[];
    try {
      sourceCols = (await this.conn.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`)).getRowsJS().map((row) => String(row[0]).toLowerCase());
    } catch (err) {
      throw translateDuckError(err);
    }
    const needAll = (what: string): void => {
      const missing = target.filter((t) => !sourceCols.includes(t.name)).map((t) => t.name);
      if (missing.length > 0)
        throw new SqlError(
          `[DELTA_MERGE_UNRESOLVED_EXPRESSION] Cannot resolve ${missing.map((m) => `${sAlias}.${m}`).join(', ')} in ${what} given the source columns [${sourceCols.join(', ')}]. SQLSTATE: 42601`,
          '42601',
        );
    };
    const clauses: string[] = [];
    let hasMatched = false;
    while (c.acceptKw('WHEN')) {
      const not = c.acceptKw('NOT');
      c.expectKw('MATCHED');
      if (not && c.acceptKw('BY')) {
        if (!c.acceptKw('TARGET')) throw new SqlError(`[UNSUPPORTED_FEATURE] WHEN NOT MATCHED BY SOURCE is not supported by the emulator. SQLSTATE: 0A000`, '0A000');
      }
      const cond = c.acceptKw('AND') ? ` AND ${emit(c.until(['THEN']))}` : '';
      c.expectKw('THEN');
      let action: string;
      if (!not && c.acceptKw('DELETE')) action = 'DELETE';
      else if (!not && c.acceptKw('UPDATE', 'SET')) {
        if (c.acceptPunct('*')) {
          needAll('UPDATE SET *');
          action = `UPDATE SET ${target.map((t) => `${quoteIdent(t.name)} = ${quoteIdent(sAlias)}.${quoteIdent(t.name)}`).join(', ')}`;
        } else action = `UPDATE SET ${emit(c.until(['WHEN']))}`;
      } else if (not && c.acceptKw('INSERT')) {
        if (c.acceptPunct('*')) {
          needAll('INSERT *');
          action = `INSERT (${target.map((t) => quoteIdent(t.name)).join(', ')}) VALUES (${target.map((t) => `${quoteIdent(sAlias)}.${quoteIdent(t.name)}`).join(', ')})`;
        } else {
          const cols = emit(c.group());
          c.expectKw('VALUES');
          action = `INSERT (${cols}) VALUES (${emit(c.group())})`;
        }
      } else throw parseError(`unexpected ${c.near()} in a WHEN clause`);
      if (!not) hasMatched = true;
      clauses.push(`WHEN ${not ? 'NOT ' : ''}MATCHED${cond} THEN ${action}`);
    }
    c.expectEnd();
    if (clauses.length === 0) throw parseError('MERGE needs at least one WHEN clause');
    const tgt = `${this.sqlName(r)} AS ${quoteIdent(tAlias)}`;
    const src = `${source} AS ${quoteIdent(sAlias)}`;
    await this.conn.run('BEGIN');
    try {
      if (hasMatched) {
        // DuckDB applies every match; Delta refuses several source rows for one target row.
        const dup = await this.conn.runAndReadAll(
          `SELECT count(*) FROM (SELECT ${quoteIdent(tAlias)}.rowid FROM ${tgt} JOIN ${src} ON ${on} GROUP BY 1 HAVING count(*) > 1)`,
        );
        if (Number(dup.getRowsJS()[0]![0]) > 0) {
          throw new SqlError(
            '[DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW_IN_MERGE] Cannot perform Merge as multiple source rows matched and attempted to modify the same target row in the Delta table in possibly conflicting ways. By SQL semantics of Merge, when multiple source rows match on the same target row, the result may be ambiguous as it is unclear which source row should be used to update or delete the matching target row. You can preprocess the source table to eliminate the possibility of multiple matches. SQLSTATE: 21506',
            '21506',
          );
        }
      }
      const res = await this.conn.runAndReadAll(`MERGE INTO ${tgt} USING ${src} ON ${on} ${clauses.join(' ')} RETURNING merge_action`);
      const counts = { UPDATE: 0, DELETE: 0, INSERT: 0 } as Record<string, number>;
      for (const row of res.getRowsJS()) counts[String(row[0])] = (counts[String(row[0])] ?? 0) + 1;
      await this.conn.run('COMMIT');
      const u = counts.UPDATE ?? 0;
      const d = counts.DELETE ?? 0;
      const i = counts.INSERT ?? 0;
      return {
        columns: ['num_affected_rows', 'num_updated_rows', 'num_deleted_rows', 'num_inserted_rows'].map((name) => ({ name, type: 'BIGINT' as const })),
        rows: [[u + d + i, u, d, i]],
        isCommit: true,
      };
    } catch (err) {
      await this.conn.run('ROLLBACK');
      throw translateDuckError(err);
    }
  }

  private async describe(c: Cursor): Promise<StatementResult> {
    c.acceptKw('EXTENDED');
    const r = this.tableRef(c.name());
    c.expectEnd();
    this.need(...this.use([r.catalog, r.schema]));
    const cols = await this.columns(r);
    return {
      columns: [
        { name: 'col_name', type: 'STRING' },
        { name: 'data_type', type: 'STRING' },
        { name: 'comment', type: 'STRING' },
      ],
      rows: cols.map((col) => [col.name, dbxType(col.duck).toLowerCase(), col.comment]),
    };
  }

  private async showTables(c: Cursor): Promise<StatementResult> {
    if (!(c.acceptKw('IN') || c.acceptKw('FROM'))) throw new SqlError(`[UNSUPPORTED_FEATURE] The emulator needs SHOW TABLES IN catalog.schema. SQLSTATE: 0A000`, '0A000');
    const parts = c.name();
    c.expectEnd();
    const schema = parts[parts.length - 1]!;
    if (!(await this.schemaExists(schema))) throw new SqlError(`[SCHEMA_NOT_FOUND] The schema \`${parts.join('`.`')}\` cannot be found. SQLSTATE: 42704`, '42704');
    const res = await this.conn.runAndReadAll(`SELECT table_name FROM duckdb_tables() WHERE schema_name = ${quoteString(schema.toLowerCase())} ORDER BY table_name`);
    return {
      columns: [
        { name: 'database', type: 'STRING' },
        { name: 'tableName', type: 'STRING' },
        { name: 'isTemporary', type: 'BOOLEAN' },
      ],
      rows: res.getRowsJS().map((row) => [schema, String(row[0]), false]),
    };
  }

  private async stagingPut(c: Cursor): Promise<StatementResult> {
    const localFile = c.string();
    c.expectKw('INTO');
    const target = c.string();
    // Creating or updating files: READ VOLUME and WRITE VOLUME (volumes/privileges.html); checked
    // when the presigned URL is issued, as the staging operation is.
    this.need(...this.volumeNeeds(target, true));
    const volumeFile = await this.volumePath(target);
    const overwrite = c.acceptKw('OVERWRITE');
    c.expectEnd();
    if (!overwrite && existsSync(volumeFile)) {
      throw new SqlError(`[FILE_IN_STAGING_PATH_ALREADY_EXISTS] File in staging path already exists but OVERWRITE is not set. SQLSTATE: 42K04`, '42K04');
    }
    return stagingResult({ operation: 'PUT', localFile, volumeFile, overwrite });
  }

  private async stagingGet(c: Cursor): Promise<StatementResult> {
    const source = c.string();
    this.need(...this.volumeNeeds(source, false));
    const volumeFile = await this.volumePath(source);
    c.expectKw('TO');
    const localFile = c.string();
    c.expectEnd();
    if (!existsSync(volumeFile)) throw new SqlError(`[PATH_NOT_FOUND] The file does not exist in the volume. SQLSTATE: 42K03`, '42K03');
    return stagingResult({ operation: 'GET', localFile, volumeFile, overwrite: false });
  }

  private async stagingRemove(c: Cursor): Promise<StatementResult> {
    const target = c.string();
    this.need(...this.volumeNeeds(target, true));
    const volumeFile = await this.volumePath(target);
    c.expectEnd();
    return stagingResult({ operation: 'REMOVE', volumeFile, overwrite: false });
  }

  /** Used by the presigned-URL endpoint. */
  async removeVolumeFile(file: string): Promise<boolean> {
    if (!existsSync(file)) return false;
    await rm(file, { force: true });
    return true;
  }
}

function stagingResult(staging: StagingRequest): StatementResult {
  return {
    columns: [
      { name: 'operation', type: 'STRING' },
      { name: 'presignedUrl', type: 'STRING' },
      { name: 'localFile', type: 'STRING' },
      { name: 'headers', type: 'MAP' },
    ],
    rows: [], // filled by the server, which owns the presigned URLs
    staging,
  };
}

/** `('k' = 'v', ...)` → record (keys as written). */
function options(toks: Token[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of splitCommas(toks)) {
    const c = new Cursor(part);
    const k = c.peek()?.kind === 'string' ? c.string() : c.ident();
    c.expectPunct('=');
    const v = c.peek()?.kind === 'string' ? c.string() : c.ident();
    out[k] = v.toLowerCase();
  }
  return out;
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix === '' ? e.name : `${prefix}/${e.name}`;
    if (e.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else out.push(rel);
  }
  return out.sort();
}

/** A DuckDB JSON value → the value the Thrift column carries for that Databricks type. */
function resultValue(v: unknown, type: DbxType): string | number | boolean | null {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'INT':
    case 'SMALLINT':
    case 'DOUBLE':
    case 'FLOAT':
    case 'BIGINT':
      return Number(v);
    case 'BOOLEAN':
      return Boolean(v);
    // Databricks renders TIMESTAMP in the session time zone (UTC here) without an offset.
    case 'TIMESTAMP':
      return String(v).replace(/([+-]\d\d(:\d\d)?)$/, '');
    default:
      return typeof v === 'string' ? v : JSON.stringify(v);
  }
}

function translateDuckError(err: unknown): Error {
  if (err instanceof SqlError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  if (/Catalog Error: Table with name .* does not exist/i.test(msg)) return new SqlError(`[TABLE_OR_VIEW_NOT_FOUND] ${msg} SQLSTATE: 42P01`, '42P01');
  if (/NOT NULL constraint failed/i.test(msg)) return new SqlError(`[DELTA_NOT_NULL_CONSTRAINT_VIOLATED] ${msg} SQLSTATE: 23502`, '23502');
  if (/Parser Error/i.test(msg)) return new SqlError(`[PARSE_SYNTAX_ERROR] ${msg} SQLSTATE: 42601`, '42601');
  if (/Binder Error/i.test(msg)) return new SqlError(`[UNRESOLVED_COLUMN] ${msg} SQLSTATE: 42703`, '42703');
  return new SqlError(`[INTERNAL_ERROR] ${msg}`, 'XX000');
}
