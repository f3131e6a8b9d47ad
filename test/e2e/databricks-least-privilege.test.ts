/**
 * Issue 17 item 3, least privilege: an administrator runs exactly the SQL `pi-agent setup
 * --print-sql --principal pi-agent-sp` prints (objects, then GRANTs); the agent then runs as that
 * principal, which holds only those grants (no CREATE anything), and lands the data exactly,
 * heartbeat included. A principal missing one grant gets a clear error naming the object, the
 * privilege and setup --print-sql, keeps its data buffered, and loads it once the grant is given.
 */
import t from 'tap';
import { bareLogger } from '../../agent/observe/log.js';
import { setup } from '../../agent/service/setup.js';
import { buildStatus } from '../../agent/service/status.js';
import { connect } from '../sim/databricks/test-client.js';
import { assertExact, duplicateKeys, once, startRig, warehouseRows, type DbxRig } from './dbx-env.js';

t.setTimeout(600_000);
const PRINCIPAL = 'pi-agent-sp';
const TOKEN = 'dapi-least-privilege';

/** What `setup --print-sql --principal` prints, as the statements an administrator runs. */
async function printedSql(rig: DbxRig): Promise<string[]> {
  let out = '';
  const outcome = await setup(rig.env.config(), {
    printSql: true,
    principal: PRINCIPAL,
    print: (s) => (out += s),
    logger: bareLogger(),
    signal: new AbortController().signal,
  });
  t.equal(outcome, 'ok');
  return out
    .split(/;\n/)
    .map((s) => s.trim())
    .filter((s) => s.split('\n').some((l) => l.trim() !== '' && !l.trim().startsWith('--')));
}

/** Runs statements as the emulator's admin. */
async function asAdmin(rig: DbxRig, sql: string[]): Promise<void> {
  const admin = await connect(rig.w);
  try {
    for (const s of sql) await admin.run(s);
  } finally {
    await admin.close();
  }
}

t.test('the agent runs as a principal holding exactly the printed grants and lands data exactly', async (t) => {
  const rig = await startRig(t, { tags: 4, now: '2026-01-01T00:30:00Z', principals: { [TOKEN]: PRINCIPAL }, agentToken: TOKEN, tokenVar: 'E2E_LP_TOKEN' });
  const sql = await printedSql(rig);
  const grants = sql.filter((s) => s.includes('GRANT ')).map((s) => s.replace(/^--.*\n/gm, ''));
  t.same(
    grants.slice(0, 3),
    [
      'GRANT USE CATALOG ON CATALOG `main` TO `pi-agent-sp`',
      'GRANT USE SCHEMA ON SCHEMA `main`.`pi` TO `pi-agent-sp`',
      'GRANT READ VOLUME, WRITE VOLUME ON VOLUME `main`.`pi`.`pi_agent` TO `pi-agent-sp`',
    ],
    'catalog, schema and volume grants',
  );
  t.ok(
    grants.slice(3).every((g) => /^GRANT SELECT, MODIFY ON TABLE `main`\.`pi`\.`pi_\w+` TO `pi-agent-sp`$/.test(g)),
    'then SELECT and MODIFY per table',
  );
  t.ok(
    grants.some((g) => g.includes('`pi_agent_status`')),
    'the heartbeat table is granted too',
  );
  t.notOk(
    sql.some((s) => /^GRANT CREATE/m.test(s)),
    'no CREATE privilege is granted (CREATE TABLE is only suggested in a comment)',
  );

  // Before the administrator acts, the agent cannot even look (information_schema needs USE CATALOG).
  const before = await once(rig.env);
  t.equal(before.ok, false);
  t.match(
    before.problems.join('\n'),
    /SINK_PERMISSION_DENIED: Databricks setup failed: \[INSUFFICIENT_PERMISSIONS\] .*User does not have USE CATALOG on Catalog 'main'.*pi-agent setup --print-sql/,
    'names the privilege, the catalog and setup --print-sql',
  );
  // With USE CATALOG only it looks, finds no schema, and may not create one: a clear message.
  await asAdmin(rig, [sql.find((s) => s.startsWith('GRANT USE CATALOG'))!]);
  const half = await once(rig.env);
  t.equal(half.ok, false);
  t.match(
    half.problems.join('\n'),
    /SINK_PERMISSION_DENIED: Databricks setup needs to create schema main\.pi, which needs CREATE SCHEMA on catalog main, and the agent's principal lacks it .*pi-agent setup --print-sql.*User does not have CREATE SCHEMA on Catalog 'main'/,
    'names the object, the privilege and setup --print-sql',
  );

  await asAdmin(rig, sql);
  const r = await once(rig.env);
  t.same(r, { ok: true, problems: [] }, 'run --once as the least-privileged principal is ok');
  await assertExact(t, rig.sim, rig.w, rig.sim.sim.nowIso(), 'first run');
  t.equal((await warehouseRows(rig.w, 'pi_tags')).length, 4, 'pi_tags: one row per tag');
  t.ok((await warehouseRows(rig.w, 'pi_agent_status')).length >= 1, 'the heartbeat landed');
  rig.sim.sim.advance('10m');
  t.same(await once(rig.env), { ok: true, problems: [] }, 'a restart needs no CREATE either');
  await assertExact(t, rig.sim, rig.w, rig.sim.sim.nowIso(), 'second run');
  t.equal(await duplicateKeys(rig.w, 'pi_timeseries'), 0);
});

t.test('a principal missing one grant: a clear error, data kept, loaded once the grant is given', async (t) => {
  const rig = await startRig(t, { tags: 3, now: '2026-01-01T00:30:00Z', principals: { [TOKEN]: PRINCIPAL }, agentToken: TOKEN, tokenVar: 'E2E_LP_TOKEN2' });
  const sql = await printedSql(rig);
  const volumeGrant = sql.find((s) => s.startsWith('GRANT READ VOLUME'))!;
  t.ok(volumeGrant);
  await asAdmin(
    rig,
    sql.filter((s) => s !== volumeGrant),
  );
  await asAdmin(rig, ['GRANT READ VOLUME ON VOLUME `main`.`pi`.`pi_agent` TO `pi-agent-sp`']);
  const r = await once(rig.env);
  t.equal(r.ok, false);
  t.match(
    r.problems.join('\n'),
    /SINK_PERMISSION_DENIED: .*INSUFFICIENT_PERMISSIONS.*User does not have WRITE VOLUME on Volume 'main\.pi\.pi_agent'.*pi-agent setup --print-sql/,
    'names the privilege, the volume and setup --print-sql',
  );
  const st = await buildStatus(rig.env.config());
  t.ok(st.buffer.sealed_batches > 0, `the data stays buffered (${st.buffer.sealed_batches} batches)`);
  t.equal((await warehouseRows(rig.w, 'pi_timeseries')).length, 0, 'nothing landed');
  await asAdmin(rig, [volumeGrant]);
  t.same(await once(rig.env), { ok: true, problems: [] }, 'with the grant the next run is ok');
  await assertExact(t, rig.sim, rig.w, rig.sim.sim.nowIso(), 'after the grant');
});

t.test('a missing table the principal may not create names the table and CREATE TABLE', async (t) => {
  const rig = await startRig(t, { tags: 2, now: '2026-01-01T00:10:00Z', principals: { [TOKEN]: PRINCIPAL }, agentToken: TOKEN, tokenVar: 'E2E_LP_TOKEN3' });
  const sql = await printedSql(rig);
  // The administrator skipped pi_tags (its CREATE and its GRANT).
  await asAdmin(
    rig,
    sql.filter((s) => !s.includes('`pi_tags`')),
  );
  const r = await once(rig.env);
  t.equal(r.ok, false);
  t.match(
    r.problems.join('\n'),
    /Databricks setup needs to create table main\.pi\.pi_tags, which needs CREATE TABLE on schema main\.pi, and the agent's principal lacks it .*pi-agent setup --print-sql/,
  );
  // With CREATE TABLE (the optional grant) the agent creates it itself and owns it.
  await asAdmin(rig, ['GRANT CREATE TABLE ON SCHEMA `main`.`pi` TO `pi-agent-sp`']);
  t.same(await once(rig.env), { ok: true, problems: [] }, 'with CREATE TABLE the agent creates the missing table');
  t.equal((await warehouseRows(rig.w, 'pi_tags')).length, 2);
  await assertExact(t, rig.sim, rig.w, rig.sim.sim.nowIso());
});
