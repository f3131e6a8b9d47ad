/**
 * Test helpers: the REAL @databricks/sql driver connected to a running emulator, and Parquet files
 * written by a separate in-memory DuckDB.
 */
import { readFileSync } from 'node:fs';
import { DBSQLClient } from '@databricks/sql';
import { DuckDBInstance } from '@duckdb/node-api';
import type { RunningWarehouse } from './server.js';

type IDBSQLSession = Awaited<ReturnType<DBSQLClient['openSession']>>;

export interface Conn {
  client: DBSQLClient;
  session: IDBSQLSession;
  /** execute, fetch all rows, close the operation */
  run(sql: string, opts?: { stagingAllowedLocalPath?: string | string[] }): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

const silent = { log: () => undefined };

export async function connect(w: RunningWarehouse, over: { token?: string; ca?: boolean } = {}): Promise<Conn> {
  const client = new DBSQLClient({ logger: silent });
  const base = { host: w.host, port: w.port, path: w.path, token: over.token ?? w.token, telemetryEnabled: false, retryMaxAttempts: 1 };
  await client.connect(over.ca === false ? base : { ...base, customCaCert: readFileSync(w.caPath) });
  let session: IDBSQLSession;
  try {
    session = await client.openSession();
  } catch (err) {
    await client.close();
    throw err;
  }
  return {
    client,
    session,
    run: async (sql, opts = {}) => {
      const op = await session.executeStatement(sql, opts);
      try {
        return (await op.fetchAll()) as Record<string, unknown>[];
      } finally {
        await op.close().catch(() => undefined);
      }
    },
    close: async () => {
      await session.close().catch(() => undefined);
      await client.close();
    },
  };
}

/** Write `SELECT ...` (DuckDB SQL) to a Parquet file. */
export async function writeParquet(file: string, select: string): Promise<void> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    await c.run(`SET TimeZone = 'UTC'`);
    await c.run(`COPY (${select}) TO '${file.replace(/'/g, "''")}' (FORMAT parquet)`);
  } finally {
    c.closeSync();
    db.closeSync();
  }
}
