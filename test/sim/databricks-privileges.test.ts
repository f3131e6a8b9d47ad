/**
 * The emulator's Unity Catalog privilege model (databricks/privileges.ts) through the REAL
 * @databricks/sql driver: a token that authenticates as a principal holding only what GRANT gave
 * it; CREATE ... IF NOT EXISTS checked even when the object exists; volume read/write; COPY INTO,
 * MERGE, SELECT, ALTER; inheritance from schema grants; ownership of what a principal creates.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startWarehouse } from './databricks/server.js';
import { connect, writeParquet, type Conn } from './databricks/test-client.js';

const root = await mkdtemp(join(tmpdir(), 'dbx-privs-'));
const local = join(root, 'local');
await mkdir(local, { recursive: true });
const w = await startWarehouse({ dataDir: join(root, 'data'), principals: { 'dapi-sp': 'pi-agent-sp', 'dapi-other': 'other' } });
const conns: Conn[] = [];
t.teardown(async () => {
  for (const c of conns) await c.close().catch(() => undefined);
  await w.close();
  await rm(root, { recursive: true, force: true });
});
const open = async (token?: string) => {
  const c = await connect(w, token === undefined ? {} : { token });
  conns.push(c);
  return c;
};
const admin = await open();
const sp = await open('dapi-sp');
const other = await open('dapi-other');
const denied = (priv: string, kind: string, name: string) =>
  new RegExp(`^\\[INSUFFICIENT_PERMISSIONS\\] Insufficient privileges:\\nUser does not have ${priv} on ${kind} '${name.replace(/\./g, '\\.')}'\\. SQLSTATE: 42501$`);

await admin.run(`CREATE SCHEMA IF NOT EXISTS main.pi`);
await admin.run(`CREATE VOLUME IF NOT EXISTS main.pi.v`);
await admin.run(`CREATE TABLE IF NOT EXISTS main.pi.t (k INT NOT NULL, v STRING)`);
const file = join(local, 'a.parquet');
await writeParquet(file, `SELECT i::INT AS k, 'v' || i AS v FROM range(0, 3) r(i)`);

t.test('an unknown token is still 401; a listed one authenticates', async (t) => {
  await t.rejects(connect(w, { token: 'dapi-nobody' }), /401/);
  t.same(await sp.run('SELECT 1 AS x'), [{ x: 1 }], 'a statement without objects needs no grant');
});

t.test('CREATE ... IF NOT EXISTS checks the privilege although the object exists', async (t) => {
  await t.rejects(sp.run(`CREATE SCHEMA IF NOT EXISTS main.pi`), { message: denied('USE CATALOG', 'Catalog', 'main') });
  await admin.run('GRANT USE CATALOG ON CATALOG main TO `pi-agent-sp`');
  await t.rejects(sp.run(`CREATE SCHEMA IF NOT EXISTS main.pi`), { message: denied('CREATE SCHEMA', 'Catalog', 'main') });
  await t.rejects(sp.run(`CREATE VOLUME IF NOT EXISTS main.pi.v`), { message: denied('USE SCHEMA', 'Schema', 'main.pi') });
  await admin.run('GRANT USE SCHEMA ON SCHEMA main.pi TO `pi-agent-sp`');
  await t.rejects(sp.run(`CREATE VOLUME IF NOT EXISTS main.pi.v`), { message: denied('CREATE VOLUME', 'Schema', 'main.pi') });
  await t.rejects(sp.run(`CREATE TABLE IF NOT EXISTS main.pi.t (k INT)`), { message: denied('CREATE TABLE', 'Schema', 'main.pi') });
});

t.test('information_schema needs USE CATALOG only and lists volumes', async (t) => {
  await t.rejects(other.run(`SELECT schema_name FROM main.information_schema.schemata WHERE schema_name = 'pi'`), { message: denied('USE CATALOG', 'Catalog', 'main') });
  t.same(await sp.run(`SELECT schema_name FROM main.information_schema.schemata WHERE schema_name = 'pi'`), [{ schema_name: 'pi' }]);
  t.same(await sp.run(`SELECT volume_name FROM main.information_schema.volumes WHERE volume_schema = 'pi'`), [{ volume_name: 'v' }]);
});

t.test('volume files: PUT needs READ and WRITE VOLUME, GET needs READ VOLUME', async (t) => {
  const put = () => sp.run(`PUT '${file}' INTO '/Volumes/main/pi/v/a.parquet' OVERWRITE`, { stagingAllowedLocalPath: local });
  await t.rejects(put(), { message: denied('READ VOLUME', 'Volume', 'main.pi.v') });
  await admin.run('GRANT READ VOLUME ON VOLUME main.pi.v TO `pi-agent-sp`');
  await t.rejects(put(), { message: denied('WRITE VOLUME', 'Volume', 'main.pi.v') });
  await admin.run('GRANT WRITE VOLUME ON VOLUME main.pi.v TO `pi-agent-sp`');
  await put();
  const back = join(local, 'back.parquet');
  await sp.run(`GET '/Volumes/main/pi/v/a.parquet' TO '${back}'`, { stagingAllowedLocalPath: local });
  await t.rejects(other.run(`GET '/Volumes/main/pi/v/a.parquet' TO '${back}'`, { stagingAllowedLocalPath: local }), /USE CATALOG on Catalog 'main'/);
});

t.test('COPY INTO needs MODIFY, MERGE needs SELECT and MODIFY, SELECT needs SELECT', async (t) => {
  const copy = () => sp.run(`COPY INTO main.pi.t FROM '/Volumes/main/pi/v' FILEFORMAT = PARQUET FILES = ('a.parquet')`);
  await t.rejects(copy(), { message: denied('MODIFY', 'Table', 'main.pi.t') });
  await t.rejects(sp.run(`SELECT count(*) AS n FROM main.pi.t`), { message: denied('SELECT', 'Table', 'main.pi.t') });
  await admin.run('GRANT MODIFY ON TABLE main.pi.t TO `pi-agent-sp`');
  t.same(await copy(), [{ num_affected_rows: 3, num_inserted_rows: 3, num_skipped_corrupt_files: 0 }]);
  const merge = () =>
    sp.run(
      `MERGE INTO main.pi.t AS t USING (SELECT * FROM read_files('/Volumes/main/pi/v/a.parquet', format => 'parquet')) AS s ON t.k = s.k WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *`,
    );
  await t.rejects(merge(), { message: denied('SELECT', 'Table', 'main.pi.t') });
  await admin.run('GRANT SELECT ON TABLE main.pi.t TO `pi-agent-sp`');
  t.same(await merge(), [{ num_affected_rows: 3, num_updated_rows: 3, num_deleted_rows: 0, num_inserted_rows: 0 }]);
  t.same(await sp.run(`SELECT count(*) AS n FROM main.pi.t`), [{ n: 3 }]);
  t.same(await sp.run(`ALTER TABLE main.pi.t ADD COLUMNS (extra STRING)`), [], 'ADD COLUMNS is MODIFY');
});

t.test('a schema grant is inherited by its tables; a creator owns its table', async (t) => {
  await admin.run('GRANT CREATE TABLE ON SCHEMA main.pi TO `pi-agent-sp`');
  await sp.run(`CREATE TABLE IF NOT EXISTS main.pi.mine (k INT)`);
  t.same(await sp.run(`SELECT count(*) AS n FROM main.pi.mine`), [{ n: 0 }], 'the owner may read its table');
  await admin.run('GRANT USE CATALOG ON CATALOG main TO `other`');
  await admin.run('GRANT USE SCHEMA, SELECT ON SCHEMA main.pi TO `other`');
  t.same(await other.run(`SELECT count(*) AS n FROM main.pi.mine`), [{ n: 0 }], 'SELECT on the schema covers its tables');
});

t.test('only admins, owners and MANAGE holders grant', async (t) => {
  await t.rejects(other.run('GRANT MODIFY ON TABLE main.pi.t TO `other`'), { message: denied('MANAGE', 'Table', 'main.pi.t') });
  await sp.run('GRANT SELECT ON TABLE main.pi.mine TO `other`');
  await t.rejects(admin.run('GRANT FLY ON TABLE main.pi.t TO `other`'), /PARSE_SYNTAX_ERROR.*unknown privilege 'FLY'/);
});
