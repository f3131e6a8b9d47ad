/**
 * The Databricks objects the sink needs (schema, volume, pi_* tables), how it finds which exist
 * without privileges it need not have, and the GRANTs of its minimum privileges (issue 17 item 3).
 *
 * Unity Catalog checks the CREATE privilege of `CREATE SCHEMA/VOLUME/TABLE IF NOT EXISTS` even when
 * the object exists (airbytehq/airbyte#35971, dbt-labs/dbt-fusion#500), so a principal holding
 * only what it needs could not start if the agent ran them every time. The sink looks first, in
 * one information_schema query (which needs USE CATALOG only, and lists the objects the principal
 * may use: "INFORMATION_SCHEMA.VOLUMES ... The rows returned are limited to the volumes the user is
 * privileged to interact with", sql/language-manual/information-schema/volumes), and creates only
 * what is missing.
 *
 * Minimum privileges (each from the Databricks documentation):
 * - USE CATALOG on the catalog, USE SCHEMA on the schema: needed by every access to an object in them
 *   ("Unity Catalog privileges reference").
 * - READ VOLUME and WRITE VOLUME on the volume: PUT and REMOVE of staged files ("Create, delete, or
 *   update files: READ VOLUME, WRITE VOLUME", volumes/privileges), COPY INTO and read_files read it
 *   ("READ VOLUME privilege on a volume", copy-into/unity-catalog).
 * - SELECT and MODIFY on each pi_* table: COPY INTO and MERGE write it (MODIFY), MERGE reads it
 *   (SELECT, as "Fine-grained DML privileges" require), ALTER TABLE ... ADD COLUMNS when a newer agent
 *   adds a column (MODIFY, "ALTER TABLE" Required permissions). pi_agent_status, the heartbeat, is
 *   loaded with COPY INTO like any insert-only table.
 * - CREATE TABLE on the schema only if the agent should create tables itself (a newer agent's new
 *   table); CREATE SCHEMA / CREATE VOLUME only if it should create those.
 */
import { TABLES, type ColumnType, type TableDef, type TableName } from '../../batch/tables.js';
import { SinkError } from '../../errors.js';

export interface ObjectNames {
  catalog: string;
  schema: string;
  volume: string;
}

export const SQL_TYPES: Record<ColumnType, string> = {
  string: 'STRING',
  int32: 'INT',
  int64: 'BIGINT',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  timestamp_us: 'TIMESTAMP',
};

/** `name` → `` `name` `` (backquotes doubled). */
export const q = (name: string): string => `\`${name.replace(/`/g, '``')}\``;
/** A Databricks SQL string literal: backslashes are escapes there, so PI paths need doubling. */
export const lit = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

const ns = (n: ObjectNames): string => `${q(n.catalog)}.${q(n.schema)}`;
export const tableName = (n: ObjectNames, t: TableName): string => `${ns(n)}.${q(t)}`;

export function createSchemaSql(n: ObjectNames): string {
  return `CREATE SCHEMA IF NOT EXISTS ${ns(n)} COMMENT 'PI System data loaded by pi-agent'`;
}
export function createVolumeSql(n: ObjectNames): string {
  return `CREATE VOLUME IF NOT EXISTS ${ns(n)}.${q(n.volume)} COMMENT 'pi-agent staging files'`;
}
export function createTableSql(n: ObjectNames, def: TableDef): string {
  const cols = def.columns.map((c) => `  ${q(c.name)} ${SQL_TYPES[c.type]}${c.nullable ? '' : ' NOT NULL'} COMMENT ${lit(c.comment)}`);
  return `CREATE TABLE IF NOT EXISTS ${tableName(n, def.name)} (\n${cols.join(',\n')}\n) USING DELTA CLUSTER BY (${def.clusterBy.map(q).join(', ')}) COMMENT ${lit(def.comment)}`;
}

/** The objects, in creation order. */
export function objectSql(n: ObjectNames): string[] {
  return [createSchemaSql(n), createVolumeSql(n), ...Object.values(TABLES).map((def) => createTableSql(n, def))];
}

/** Stands for the agent's principal when `setup --print-sql` is not told it. */
export const PRINCIPAL_PLACEHOLDER = '<agent principal>';

/** The GRANTs of the agent's minimum privileges (see the top of this file). */
export function grantSql(n: ObjectNames, principal: string): string[] {
  const to = `TO ${q(principal)}`;
  const head =
    principal === PRINCIPAL_PLACEHOLDER
      ? `-- Replace ${q(PRINCIPAL_PLACEHOLDER)} with the user or service principal (application id) of sink.auth,\n-- or run pi-agent setup --print-sql --principal <name>.\n`
      : '';
  return [
    `${head}GRANT USE CATALOG ON CATALOG ${q(n.catalog)} ${to}`,
    `GRANT USE SCHEMA ON SCHEMA ${ns(n)} ${to}`,
    `GRANT READ VOLUME, WRITE VOLUME ON VOLUME ${ns(n)}.${q(n.volume)} ${to}`,
    ...Object.values(TABLES).map((def) => `GRANT SELECT, MODIFY ON TABLE ${tableName(n, def.name)} ${to}`),
    `-- Optional: lets a newer agent create a pi_* table it adds (otherwise an administrator runs\n-- the new setup --print-sql after the upgrade):\n-- GRANT CREATE TABLE ON SCHEMA ${ns(n)} ${to}`,
  ];
}

/** One query for what exists: the schema, the volume, every column of every table in the schema. */
export function lookupSql(n: ObjectNames): string {
  const info = (view: string): string => `${q(n.catalog)}.information_schema.${view}`;
  const schema = lit(n.schema.toLowerCase());
  return (
    `SELECT 'schema' AS kind, schema_name AS name, CAST(NULL AS STRING) AS column_name FROM ${info('schemata')} WHERE schema_name = ${schema} ` +
    `UNION ALL SELECT 'volume' AS kind, volume_name AS name, CAST(NULL AS STRING) AS column_name FROM ${info('volumes')} WHERE volume_schema = ${schema} AND volume_name = ${lit(n.volume.toLowerCase())} ` +
    `UNION ALL SELECT 'table' AS kind, table_name AS name, column_name FROM ${info('columns')} WHERE table_schema = ${schema}`
  );
}

/** One object the sink creates or alters, and the privilege that needs. */
export interface Step {
  sql: string;
  /** e.g. `create schema main.pi`, `add columns a, b to table main.pi.pi_tags` */
  action: string;
  privilege: string;
}

/** The statements that create what `lookupSql`'s rows say is missing, in order. */
export function missingSteps(n: ObjectNames, rows: Record<string, unknown>[]): Step[] {
  const has = (kind: string): boolean => rows.some((r) => r.kind === kind);
  const columns = new Map<string, Set<string>>();
  for (const r of rows) {
    if (r.kind !== 'table') continue;
    const t = String(r.name).toLowerCase();
    if (!columns.has(t)) columns.set(t, new Set());
    columns.get(t)!.add(String(r.column_name).toLowerCase());
  }
  const schemaName = `${n.catalog}.${n.schema}`;
  const steps: Step[] = [];
  if (!has('schema')) steps.push({ sql: createSchemaSql(n), action: `create schema ${schemaName}`, privilege: `CREATE SCHEMA on catalog ${n.catalog}` });
  if (!has('volume')) steps.push({ sql: createVolumeSql(n), action: `create volume ${schemaName}.${n.volume}`, privilege: `CREATE VOLUME on schema ${schemaName}` });
  for (const def of Object.values(TABLES)) {
    const have = columns.get(def.name);
    const table = `${schemaName}.${def.name}`;
    if (!have) {
      steps.push({ sql: createTableSql(n, def), action: `create table ${table}`, privilege: `CREATE TABLE on schema ${schemaName}` });
      continue;
    }
    // New columns are always nullable: Delta cannot add NOT NULL columns to existing rows.
    const missing = def.columns.filter((c) => !have.has(c.name.toLowerCase()));
    if (missing.length > 0) {
      const cols = missing.map((c) => `${q(c.name)} ${SQL_TYPES[c.type]} COMMENT ${lit(c.comment)}`).join(', ');
      steps.push({
        sql: `ALTER TABLE ${tableName(n, def.name)} ADD COLUMNS (${cols})`,
        action: `add columns ${missing.map((c) => c.name).join(', ')} to table ${table}`,
        privilege: `MODIFY on table ${table}`,
      });
    }
  }
  return steps;
}

/**
 * What is missing and may not be created by the agent's principal: names the object, the privilege
 * and the fix. (An object the principal may not use looks missing: information_schema hides it.)
 */
export function cannotCreate(step: Step, detail: string): SinkError {
  return new SinkError(
    'SINK_PERMISSION_DENIED',
    `Databricks setup needs to ${step.action}, which needs ${step.privilege}, and the agent's principal lacks it ` +
      `(if the object exists, the principal lacks USE CATALOG/USE SCHEMA or a grant on it). ` +
      `An administrator can create the objects and grant exactly the agent's privileges with the SQL that \`pi-agent setup --print-sql\` prints. [${detail}]`,
    { retryable: false },
  );
}
