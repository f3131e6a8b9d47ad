/**
 * The emulator's Unity Catalog privilege model: principals (a token authenticates as one), the
 * grants they hold, object owners, and the checks the statements the agent sends make.
 *
 * Sources (each rule below names its own):
 * - Privileges and inheritance: "Unity Catalog privileges reference" and "Manage privileges in Unity
 *   Catalog" (docs.databricks.com/data-governance/unity-catalog/access-control/privileges-reference,
 *   .../manage-privileges/): a privilege granted on a catalog or schema applies to every current and
 *   future object in it; the principal that creates an object owns it, and owners hold all
 *   privileges on it and may grant them; metastore admins manage privileges on every object.
 * - Volumes: "Privileges for Unity Catalog volumes" (docs.databricks.com/en/volumes/privileges.html):
 *   read or list files needs USE CATALOG, USE SCHEMA, READ VOLUME; create, delete or update files
 *   needs READ VOLUME and WRITE VOLUME; creating a volume needs CREATE VOLUME on the schema.
 * - COPY INTO from a volume: "Load data using COPY INTO with Unity Catalog volumes"
 *   (docs.databricks.com/ingestion/cloud-object-storage/copy-into/unity-catalog): READ VOLUME on the
 *   volume, USE SCHEMA, USE CATALOG; writing the target table is MODIFY.
 * - ALTER TABLE ... ADD COLUMNS needs MODIFY ("ALTER TABLE", Required permissions,
 *   docs.databricks.com/sql/language-manual/sql-ref-syntax-ddl-alter-table.html).
 * - MERGE and the fine-grained DML privileges also need SELECT on the table ("Fine-grained DML
 *   privileges", docs.databricks.com/aws/en/data-governance/unity-catalog/access-control/fine-grained-dml-privileges).
 * - CREATE ... IF NOT EXISTS checks the CREATE privilege even when the object exists: reported in
 *   airbytehq/airbyte#35971 (CREATE SCHEMA IF NOT EXISTS fails for a token without CREATE on the
 *   catalog although the schema exists) and dbt-labs/dbt-fusion#500.
 * - The error: `[INSUFFICIENT_PERMISSIONS] Insufficient privileges:\nUser does not have <PRIVILEGE>
 *   on <Kind> '<full name>'. SQLSTATE: 42501`, as quoted in those reports and in many others
 *   ("User does not have CREATE SCHEMA on Catalog 'main'", "... READ VOLUME on Volume 'c.s.v'",
 *   "... USE SCHEMA on Schema 'system.access'. SQLSTATE: 42501").
 */
import { SqlError, parseError, type Cursor } from './sql.js';

export type Privilege =
  'USE CATALOG' | 'USE SCHEMA' | 'CREATE SCHEMA' | 'CREATE TABLE' | 'CREATE VOLUME' | 'READ VOLUME' | 'WRITE VOLUME' | 'SELECT' | 'MODIFY' | 'MANAGE' | 'ALL PRIVILEGES';
export const PRIVILEGES: readonly Privilege[] = [
  'USE CATALOG',
  'USE SCHEMA',
  'CREATE SCHEMA',
  'CREATE TABLE',
  'CREATE VOLUME',
  'READ VOLUME',
  'WRITE VOLUME',
  'SELECT',
  'MODIFY',
  'MANAGE',
  'ALL PRIVILEGES',
];

export type SecurableKind = 'CATALOG' | 'SCHEMA' | 'TABLE' | 'VOLUME';
export interface Securable {
  kind: SecurableKind;
  /** [catalog], [catalog, schema] or [catalog, schema, name]; compared without case */
  path: string[];
}

/** The principal behind the emulator's default token: a metastore admin, every check passes. */
export const ADMIN = 'admin';

const KIND_NAME: Record<SecurableKind, string> = { CATALOG: 'Catalog', SCHEMA: 'Schema', TABLE: 'Table', VOLUME: 'Volume' };

/** The securable and its containers, innermost first (privileges inherit downwards). */
const chain = (s: Securable): string[] => {
  const out = [`${s.kind}:${s.path.map((p) => p.toLowerCase()).join('.')}`];
  if (s.path.length >= 3) out.push(`SCHEMA:${s.path.slice(0, 2).join('.').toLowerCase()}`);
  if (s.path.length >= 2) out.push(`CATALOG:${s.path[0]!.toLowerCase()}`);
  return out;
};

export class PrivilegeModel {
  /** principal → `<PRIVILEGE>@<KIND>:<path>` */
  private readonly grants = new Map<string, Set<string>>();
  /** `<KIND>:<path>` → owning principal */
  private readonly owners = new Map<string, string>();
  private readonly admins = new Set<string>([ADMIN]);

  isAdmin(principal: string): boolean {
    return this.admins.has(principal);
  }

  /** The creator owns what it creates ("Manage object ownership"). */
  setOwner(s: Securable, principal: string): void {
    this.owners.set(chain(s)[0]!, principal);
  }

  ownerOf(s: Securable): string | undefined {
    return this.owners.get(chain(s)[0]!);
  }

  grant(principal: string, privileges: Privilege[], s: Securable): void {
    let set = this.grants.get(principal);
    if (!set) this.grants.set(principal, (set = new Set()));
    for (const p of privileges) set.add(`${p}@${chain(s)[0]!}`);
  }

  /** Direct or inherited from the schema or catalog; owners and admins hold everything. */
  has(principal: string, privilege: Privilege, s: Securable): boolean {
    if (this.admins.has(principal)) return true;
    if (this.owners.get(chain(s)[0]!) === principal) return true;
    const set = this.grants.get(principal);
    if (!set) return false;
    return chain(s).some((k) => set.has(`${privilege}@${k}`) || set.has(`ALL PRIVILEGES@${k}`));
  }

  /** Throws Databricks' INSUFFICIENT_PERMISSIONS naming the first missing privilege. */
  require(principal: string, needs: [Privilege, Securable][]): void {
    for (const [privilege, s] of needs) {
      if (this.has(principal, privilege, s)) continue;
      throw new SqlError(
        `[INSUFFICIENT_PERMISSIONS] Insufficient privileges:\nUser does not have ${privilege} on ${KIND_NAME[s.kind]} '${s.path.join('.')}'. SQLSTATE: 42501`,
        '42501',
      );
    }
  }

  /** USE CATALOG and USE SCHEMA: what every access to an object inside a schema needs first. */
  use(path: string[]): [Privilege, Securable][] {
    const out: [Privilege, Securable][] = [['USE CATALOG', { kind: 'CATALOG', path: [path[0]!] }]];
    if (path.length >= 2) out.push(['USE SCHEMA', { kind: 'SCHEMA', path: path.slice(0, 2) }]);
    return out;
  }

  /** GRANT is for metastore admins, owners and holders of MANAGE ("Who can manage privileges?"). */
  mayGrant(principal: string, s: Securable): boolean {
    if (this.admins.has(principal) || this.owners.get(chain(s)[0]!) === principal) return true;
    const set = this.grants.get(principal);
    return set !== undefined && chain(s).some((k) => set.has(`MANAGE@${k}`));
  }
}

/**
 * `GRANT <privilege>[, ...] ON {CATALOG | SCHEMA | TABLE | VOLUME} <name> TO <principal>`
 * ("GRANT", docs.databricks.com/sql/language-manual/security-grant.html); the cursor is past GRANT.
 */
export function grantStatement(model: PrivilegeModel, principal: string, c: Cursor): void {
  const words: string[][] = [[]];
  while (!c.done() && !c.isKw('ON')) {
    if (c.acceptPunct(',')) words.push([]);
    else words[words.length - 1]!.push(c.ident().toUpperCase());
  }
  c.expectKw('ON');
  const privileges = words.map((w) => (w.join(' ') === 'ALL PRIVILEGES' || w.join(' ') === 'ALL' ? 'ALL PRIVILEGES' : w.join(' ').replace(/_/g, ' ')));
  for (const p of privileges) {
    if (!(PRIVILEGES as readonly string[]).includes(p)) throw parseError(`unknown privilege '${p}' (the emulator knows ${PRIVILEGES.join(', ')})`);
  }
  const kind = c.ident().toUpperCase();
  if (kind !== 'CATALOG' && kind !== 'SCHEMA' && kind !== 'TABLE' && kind !== 'VOLUME')
    throw parseError(`GRANT ON ${kind} (the emulator grants on CATALOG, SCHEMA, TABLE, VOLUME)`);
  const path = c.name();
  const want = kind === 'CATALOG' ? 1 : kind === 'SCHEMA' ? 2 : 3;
  if (path.length !== want) throw parseError(`GRANT ON ${kind} needs a ${want}-part name, got '${path.join('.')}'`);
  c.expectKw('TO');
  const to = c.ident();
  c.expectEnd();
  const s: Securable = { kind, path };
  if (!model.mayGrant(principal, s)) model.require(principal, [['MANAGE', s]]);
  model.grant(to, privileges as Privilege[], s);
}
