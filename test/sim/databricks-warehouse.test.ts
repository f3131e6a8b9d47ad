/**
 * The warehouse emulator driven by the REAL @databricks/sql driver: DDL, staging PUT/GET/REMOVE,
 * COPY INTO idempotency, MERGE semantics (incl. the duplicate-match failure).
 */
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startWarehouse } from './databricks/server.js';
import { connect, writeParquet } from './databricks/test-client.js';

const root = await mkdtemp(join(tmpdir(), 'dbx-wh-'));
const dataDir = join(root, 'data');
const local = join(root, 'local');
const w = await startWarehouse({ dataDir });
const conn = await connect(w);
const { run } = conn;
t.teardown(async () => {
  await conn.close();
  await w.close();
  await rm(root, { recursive: true, force: true });
});

await writeFile(join(root, 'marker'), '');
await import('node:fs/promises').then((fs) => fs.mkdir(local, { recursive: true }));

t.test('plain queries come back typed', async (t) => {
  const rows = await run(`SELECT 1 AS i, CAST(2 AS BIGINT) AS b, 1.5 AS d, 'x' AS s, true AS f, NULL AS n, TIMESTAMPTZ '2026-01-02 03:04:05.123456+00' AS ts`);
  t.same(rows, [{ i: 1, b: 2, d: 1.5, s: 'x', f: true, n: null, ts: '2026-01-02 03:04:05.123456' }]);
  const many = await run('SELECT range AS k FROM range(2500)');
  t.equal(many.length, 2500);
  t.same(many[2499], { k: 2499 });
});

t.test('DDL subset: schema, volume, table, describe, show, add columns', async (t) => {
  t.same(await run(`CREATE SCHEMA IF NOT EXISTS main.pi COMMENT 'PI data'`), []);
  await run(`CREATE SCHEMA IF NOT EXISTS main.pi`);
  await t.rejects(run(`CREATE SCHEMA main.pi`), /SCHEMA_ALREADY_EXISTS/);
  await run(`CREATE VOLUME IF NOT EXISTS main.pi.pi_agent`);
  await run(`CREATE VOLUME IF NOT EXISTS main.pi.pi_agent`);
  t.ok(existsSync(join(dataDir, 'volumes', 'main', 'pi', 'pi_agent')));
  await run(`CREATE TABLE IF NOT EXISTS main.pi.pi_tags (
      site STRING NOT NULL COMMENT 'plant', tag_webid STRING NOT NULL, name STRING, point_id INT, ingested_at TIMESTAMP
    ) USING DELTA CLUSTER BY (site, tag_webid) COMMENT 'PI points' TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true')`);
  await run(`CREATE TABLE IF NOT EXISTS main.pi.pi_tags (site STRING)`); // no-op
  await t.rejects(run(`CREATE TABLE main.pi.pi_tags (site STRING)`), /TABLE_OR_VIEW_ALREADY_EXISTS/);
  await t.rejects(run(`CREATE TABLE main.pi.bad (x VARIANT)`), /UNSUPPORTED_DATATYPE/);
  await t.rejects(run(`CREATE TABLE main.pi.bad2 (x STRING) CLUSTER BY (y)`), /DELTA_COLUMN_NOT_FOUND_IN_SCHEMA/);
  await run(`ALTER TABLE main.pi.pi_tags ADD COLUMNS (units STRING COMMENT 'eng units', step BOOLEAN)`);
  t.same(await run(`DESCRIBE TABLE main.pi.pi_tags`), [
    { col_name: 'site', data_type: 'string', comment: 'plant' },
    { col_name: 'tag_webid', data_type: 'string', comment: null },
    { col_name: 'name', data_type: 'string', comment: null },
    { col_name: 'point_id', data_type: 'int', comment: null },
    { col_name: 'ingested_at', data_type: 'timestamp', comment: null },
    { col_name: 'units', data_type: 'string', comment: 'eng units' },
    { col_name: 'step', data_type: 'boolean', comment: null },
  ]);
  t.same(await run(`SHOW TABLES IN main.pi`), [{ database: 'pi', tableName: 'pi_tags', isTemporary: false }]);
  t.same(await w.query(`SELECT columns FROM _emulator.clustering WHERE table_name = 'pi_tags'`), [{ columns: 'site,tag_webid' }]);
  await t.rejects(run(`DROP SCHEMA main.pi`), /UNSUPPORTED_FEATURE/);
  await t.rejects(run(`CREATE TABLE main.nope.t (x STRING)`), /SCHEMA_NOT_FOUND/);
  await t.rejects(run(`SELEKT 1`), /UNSUPPORTED_FEATURE/);
});

const volume = '/Volumes/main/pi/pi_agent/plant-a/pi_timeseries';

t.test('staging PUT, then COPY INTO twice loads the rows once', async (t) => {
  await run(`CREATE TABLE IF NOT EXISTS main.pi.pi_timeseries (
    site STRING NOT NULL, tag_webid STRING NOT NULL, timestamp TIMESTAMP NOT NULL, ordinal INT NOT NULL,
    value_double DOUBLE, good BOOLEAN, ingested_at TIMESTAMP) CLUSTER BY (tag_webid, timestamp)`);
  const f1 = join(local, 'b1.parquet');
  await writeParquet(
    f1,
    `SELECT 'plant-a' AS site, 'T' || (i % 2) AS tag_webid, TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_seconds(i) AS timestamp,
    0 AS ordinal, i * 0.5 AS value_double, true AS good, TIMESTAMPTZ '2026-11-26 00:00:00+00' AS ingested_at, 'insert' AS op FROM range(10) r(i)`,
  );
  const put = await run(`PUT '${f1}' INTO '${volume}/b1.parquet' OVERWRITE`, { stagingAllowedLocalPath: local });
  t.same(put, [], 'the staging operation consumed its one row');
  const stored = join(dataDir, 'volumes/main/pi/pi_agent/plant-a/pi_timeseries/b1.parquet');
  t.same(await readFile(stored), await readFile(f1), 'uploaded bytes stored under the volume');

  const copy = `COPY INTO main.pi.pi_timeseries FROM '${volume}' FILEFORMAT = PARQUET FILES = ('b1.parquet') FORMAT_OPTIONS ('mergeSchema' = 'false') COPY_OPTIONS ('mergeSchema' = 'false')`;
  t.same(await run(copy), [{ num_affected_rows: 10, num_inserted_rows: 10, num_skipped_corrupt_files: 0 }]);
  t.same(await run(copy), [{ num_affected_rows: 0, num_inserted_rows: 0, num_skipped_corrupt_files: 0 }]);
  t.same(await w.query(`SELECT count(*)::INT AS n, sum(value_double) AS s FROM pi.pi_timeseries`), [{ n: 10, s: 22.5 }]);

  // Same name, changed content: still skipped (COPY INTO's per-file idempotency).
  const f1b = join(local, 'b1b.parquet');
  await writeParquet(f1b, `SELECT 'plant-a' AS site, 'X' AS tag_webid, TIMESTAMPTZ '2026-02-01 00:00:00+00' AS timestamp, 0 AS ordinal`);
  await run(`PUT '${f1b}' INTO '${volume}/b1.parquet' OVERWRITE`, { stagingAllowedLocalPath: local });
  t.same(await run(copy), [{ num_affected_rows: 0, num_inserted_rows: 0, num_skipped_corrupt_files: 0 }]);

  // Without OVERWRITE an existing file is refused.
  await t.rejects(run(`PUT '${f1}' INTO '${volume}/b1.parquet'`, { stagingAllowedLocalPath: local }), /FILE_IN_STAGING_PATH_ALREADY_EXISTS/);
  // The driver refuses local files outside stagingAllowedLocalPath.
  await t.rejects(run(`PUT '${join(root, 'marker')}' INTO '${volume}/m' OVERWRITE`, { stagingAllowedLocalPath: local }), /not a subset of allowed/);
  // Unknown volume.
  await t.rejects(run(`PUT '${f1}' INTO '/Volumes/main/pi/nope/x.parquet' OVERWRITE`, { stagingAllowedLocalPath: local }), /UC_VOLUME_NOT_FOUND/);
  // Missing listed file: the whole COPY fails, nothing is loaded.
  await t.rejects(run(`COPY INTO main.pi.pi_timeseries FROM '${volume}' FILEFORMAT = PARQUET FILES = ('b1.parquet', 'missing.parquet')`), /PATH_NOT_FOUND/);

  // GET back and REMOVE.
  const back = join(local, 'back.parquet');
  await run(`GET '${volume}/b1.parquet' TO '${back}'`, { stagingAllowedLocalPath: local });
  t.same(await readFile(back), await readFile(f1b));
  await run(`REMOVE '${volume}/b1.parquet'`, { stagingAllowedLocalPath: local });
  t.notOk(existsSync(stored));
  await t.rejects(
    run(`COPY INTO main.pi.pi_timeseries FROM '${volume}' FILEFORMAT = PARQUET FILES = ('b1.parquet') COPY_OPTIONS ('force' = 'true')`),
    /UNSUPPORTED_FEATURE/,
  );
});

t.test('COPY INTO with mergeSchema adds the new columns', async (t) => {
  const f = join(local, 'b2.parquet');
  await writeParquet(f, `SELECT 'plant-a' AS site, 'T9' AS tag_webid, TIMESTAMPTZ '2026-03-01 00:00:00+00' AS timestamp, 1 AS ordinal, 'kW' AS units`);
  await run(`PUT '${f}' INTO '${volume}/b2.parquet' OVERWRITE`, { stagingAllowedLocalPath: local });
  t.same(await run(`COPY INTO main.pi.pi_timeseries FROM '${volume}' FILEFORMAT = PARQUET FILES = ('b2.parquet') COPY_OPTIONS ('mergeSchema' = 'true')`), [
    { num_affected_rows: 1, num_inserted_rows: 1, num_skipped_corrupt_files: 0 },
  ]);
  t.same(await run(`SELECT tag_webid, ordinal, units, timestamp FROM main.pi.pi_timeseries WHERE units IS NOT NULL`), [
    { tag_webid: 'T9', ordinal: 1, units: 'kW', timestamp: '2026-03-01 00:00:00' },
  ]);
});

t.test('MERGE applies inserts, updates and deletes; duplicate matches fail', async (t) => {
  await run(
    `CREATE TABLE IF NOT EXISTS main.pi.pi_af_elements (site STRING NOT NULL, element_webid STRING NOT NULL, parent_webid STRING, path STRING, depth INT, op STRING)`,
  );
  const seed = join(local, 'e0.parquet');
  await writeParquet(
    seed,
    `SELECT * FROM (VALUES ('plant-a', 'E1', NULL, '\\\\AF\\DB\\A', 0, 'insert'), ('plant-a', 'E2', 'E1', '\\\\AF\\DB\\A\\B', 1, 'insert'),
    ('plant-a', 'E3', 'E1', '\\\\AF\\DB\\A\\C', 1, 'insert')) v(site, element_webid, parent_webid, path, depth, op)`,
  );
  await run(`PUT '${seed}' INTO '/Volumes/main/pi/pi_agent/plant-a/pi_af_elements/e0.parquet' OVERWRITE`, { stagingAllowedLocalPath: local });
  await run(`COPY INTO main.pi.pi_af_elements FROM '/Volumes/main/pi/pi_agent/plant-a/pi_af_elements' FILEFORMAT = PARQUET FILES = ('e0.parquet')`);

  const ch = join(local, 'e1.parquet');
  await writeParquet(
    ch,
    `SELECT * FROM (VALUES ('plant-a', 'E2', 'E1', '\\\\AF\\DB\\A\\B2', 1, 'update'), ('plant-a', 'E3', 'E1', '\\\\AF\\DB\\A\\C', 1, 'delete'),
    ('plant-a', 'E4', 'E2', '\\\\AF\\DB\\A\\B2\\D', 2, 'insert'), ('plant-a', 'E5', NULL, 'gone', 0, 'delete')) v(site, element_webid, parent_webid, path, depth, op)`,
  );
  await run(`PUT '${ch}' INTO '/Volumes/main/pi/pi_agent/plant-a/pi_af_elements/e1.parquet' OVERWRITE`, { stagingAllowedLocalPath: local });
  const merge = (file: string) => `MERGE INTO main.pi.pi_af_elements AS t
    USING (SELECT * FROM read_files('/Volumes/main/pi/pi_agent/plant-a/pi_af_elements/${file}', format => 'parquet')) AS s
    ON t.site = s.site AND t.element_webid = s.element_webid
    WHEN MATCHED AND s.op = 'delete' THEN DELETE
    WHEN MATCHED THEN UPDATE SET *
    WHEN NOT MATCHED AND s.op <> 'delete' THEN INSERT *`;
  t.same(await run(merge('e1.parquet')), [{ num_affected_rows: 3, num_updated_rows: 1, num_deleted_rows: 1, num_inserted_rows: 1 }]);
  const expected = [
    { element_webid: 'E1', parent_webid: null, path: '\\\\AF\\DB\\A', depth: 0 },
    { element_webid: 'E2', parent_webid: 'E1', path: '\\\\AF\\DB\\A\\B2', depth: 1 },
    { element_webid: 'E4', parent_webid: 'E2', path: '\\\\AF\\DB\\A\\B2\\D', depth: 2 },
  ];
  t.same(await run(`SELECT element_webid, parent_webid, path, depth FROM main.pi.pi_af_elements ORDER BY element_webid`), expected);
  // Re-running the same MERGE converges (idempotent for this batch).
  await run(merge('e1.parquet'));
  t.same(await run(`SELECT element_webid, parent_webid, path, depth FROM main.pi.pi_af_elements ORDER BY element_webid`), expected);

  const dup = join(local, 'e2.parquet');
  await writeParquet(
    dup,
    `SELECT * FROM (VALUES ('plant-a', 'E2', 'E1', 'x', 1, 'update'), ('plant-a', 'E2', 'E1', 'y', 1, 'update')) v(site, element_webid, parent_webid, path, depth, op)`,
  );
  await run(`PUT '${dup}' INTO '/Volumes/main/pi/pi_agent/plant-a/pi_af_elements/e2.parquet' OVERWRITE`, { stagingAllowedLocalPath: local });
  await t.rejects(run(merge('e2.parquet')), /DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW_IN_MERGE/);
  t.same(await run(`SELECT element_webid, parent_webid, path, depth FROM main.pi.pi_af_elements ORDER BY element_webid`), expected, 'failed MERGE changed nothing');

  // A source missing a target column cannot UPDATE SET *.
  const narrow = join(local, 'e3.parquet');
  await writeParquet(narrow, `SELECT 'plant-a' AS site, 'E2' AS element_webid, 'update' AS op`);
  await run(`PUT '${narrow}' INTO '/Volumes/main/pi/pi_agent/plant-a/pi_af_elements/e3.parquet' OVERWRITE`, { stagingAllowedLocalPath: local });
  await t.rejects(run(merge('e3.parquet')), /DELTA_MERGE_UNRESOLVED_EXPRESSION/);
});
