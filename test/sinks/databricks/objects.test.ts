/**
 * agent/sinks/databricks/objects.ts: what is missing is created and nothing else; the GRANTs of the
 * minimum privileges; the principal the printed GRANTs name.
 */
import t from 'tap';
import { TABLES } from '../../../agent/batch/tables.js';
import { grantSql, missingSteps, PRINCIPAL_PLACEHOLDER } from '../../../agent/sinks/databricks/objects.js';
import { DatabricksSink } from '../../../agent/sinks/databricks/sink.js';

const n = { catalog: 'main', schema: 'pi', volume: 'pi_agent' };
const allRows = (): Record<string, unknown>[] => [
  { kind: 'schema', name: 'pi', column_name: null },
  { kind: 'volume', name: 'pi_agent', column_name: null },
  ...Object.values(TABLES).flatMap((d) => d.columns.map((c) => ({ kind: 'table', name: d.name, column_name: c.name }))),
];

t.test('everything exists: nothing to run', async (t) => {
  t.same(missingSteps(n, allRows()), []);
});

t.test('only what is missing: the volume, one table, one column', async (t) => {
  const rows = allRows().filter((r) => r.kind !== 'volume' && r.name !== 'pi_tags' && !(r.name === 'pi_timeseries' && r.column_name === 'annotated'));
  const steps = missingSteps(n, rows);
  t.equal(steps[0]!.action, 'create volume main.pi.pi_agent', 'the volume first');
  t.same(steps.map((s) => [s.action, s.privilege, s.sql.split(' (')[0]]).sort(), [
    ['add columns annotated to table main.pi.pi_timeseries', 'MODIFY on table main.pi.pi_timeseries', 'ALTER TABLE `main`.`pi`.`pi_timeseries` ADD COLUMNS'],
    ['create table main.pi.pi_tags', 'CREATE TABLE on schema main.pi', 'CREATE TABLE IF NOT EXISTS `main`.`pi`.`pi_tags`'],
    ['create volume main.pi.pi_agent', 'CREATE VOLUME on schema main.pi', "CREATE VOLUME IF NOT EXISTS `main`.`pi`.`pi_agent` COMMENT 'pi-agent staging files'"],
  ]);
});

t.test('nothing exists: schema, volume, then every table', async (t) => {
  const steps = missingSteps(n, []);
  t.same(
    steps.slice(0, 2).map((s) => s.action),
    ['create schema main.pi', 'create volume main.pi.pi_agent'],
  );
  t.equal(steps.length, 2 + Object.keys(TABLES).length);
});

t.test('grants: catalog, schema, volume, then SELECT and MODIFY per table; CREATE TABLE only as a comment', async (t) => {
  const g = grantSql(n, 'sp-1');
  t.same(g.slice(0, 3), [
    'GRANT USE CATALOG ON CATALOG `main` TO `sp-1`',
    'GRANT USE SCHEMA ON SCHEMA `main`.`pi` TO `sp-1`',
    'GRANT READ VOLUME, WRITE VOLUME ON VOLUME `main`.`pi`.`pi_agent` TO `sp-1`',
  ]);
  t.same(
    g.slice(3, -1),
    Object.keys(TABLES).map((name) => `GRANT SELECT, MODIFY ON TABLE \`main\`.\`pi\`.\`${name}\` TO \`sp-1\``),
  );
  t.ok(
    g[g.length - 1]!.split('\n').every((l) => l.startsWith('--')),
    'the CREATE TABLE grant is a comment',
  );
  t.match(
    grantSql(n, PRINCIPAL_PLACEHOLDER)[0],
    /^-- Replace `<agent principal>` with .*\n.*--principal <name>\.\nGRANT USE CATALOG ON CATALOG `main` TO `<agent principal>`$/,
  );
});

t.test('the principal of the printed GRANTs: --principal, else the OAuth client id, else the placeholder', async (t) => {
  const base = { host: 'h', port: 443, httpPath: '/p', catalog: 'main', schema: 'pi', volume: 'pi_agent', site: 's', stagingDir: '/tmp/x' };
  const oauth = new DatabricksSink({ ...base, auth: { type: 'oauth', client_id: 'app-123', client_secret: 'x' } });
  const pat = new DatabricksSink({ ...base, auth: { type: 'token', token: 'x' } });
  const to = (sql: string[]) => sql.find((s) => s.includes('GRANT USE SCHEMA'))!.split(' TO ')[1];
  t.equal(to(oauth.setupSql()), '`app-123`');
  t.equal(to(pat.setupSql()), '`<agent principal>`');
  t.equal(to(pat.setupSql({ principal: 'sp-9' })), '`sp-9`');
  t.match(pat.setupSql()[0], /^CREATE SCHEMA IF NOT EXISTS `main`\.`pi`/, 'objects first');
});
