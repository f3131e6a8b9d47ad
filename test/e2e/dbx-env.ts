/**
 * Shared rig for the Databricks end-to-end tests: PI Web API simulator + warehouse emulator + an
 * agent installation whose sink is the emulator (token from ${E2E_DBX_TOKEN}, as operators must
 * write secrets), and readers that turn the emulator's DuckDB table back into the landed-row shape
 * test/helpers/agent-env.ts compares with the simulator's ground truth.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { TABLES } from '../../agent/batch/tables.js';
import type { OnceResult } from '../../agent/service/once.js';
import { expectedEvents, idOnly, landedEventsByTag, makeAgentEnv, runAgentOnce, type AgentEnv } from '../helpers/agent-env.js';
import type { LandedRow } from '../helpers/landed.js';
import { startWarehouse, type RunningWarehouse } from '../sim/databricks/server.js';
import { startSimulator } from '../sim/piwebapi/server.js';

export const START = '2026-01-01T00:00:00Z';
export type RunningSim = Awaited<ReturnType<typeof startSimulator>>;

export interface DbxRig {
  sim: RunningSim;
  w: RunningWarehouse;
  env: AgentEnv;
  /** the env var the config names for the token */
  tokenVar: string;
}

export interface RigOptions {
  tags: number;
  now: string;
  maxCount?: number;
  maxBytes?: string;
  /** extra YAML appended at top level */
  extra?: string;
  tokenVar?: string;
  seed?: number;
  /** streams per request (default 7) and pi.concurrency (default 8) */
  tagsPerRequest?: number;
  piConcurrency?: number;
  /** more emulator tokens, each a principal holding only what GRANTs give it (privileges.ts) */
  principals?: Record<string, string>;
  /** the token the agent uses (default: the emulator's admin token) */
  agentToken?: string;
  /** sink.host (default 127.0.0.1), the emulator's presigned-URL host, and YAML lines added to the sink section (indented) */
  sinkHost?: string;
  stagingHost?: string;
  sinkExtra?: string;
}

export async function startRig(t: Test, opts: RigOptions): Promise<DbxRig> {
  const sim = await startSimulator({ port: 0, tags: opts.tags, seed: opts.seed ?? 11, historyStart: START, now: opts.now });
  const wDir = mkdtempSync(path.join(tmpdir(), 'pi-agent-dbx-'));
  const w = await startWarehouse({
    dataDir: wDir,
    ...(opts.principals ? { principals: opts.principals } : {}),
    ...(opts.stagingHost ? { stagingHost: opts.stagingHost } : {}),
  });
  const tokenVar = opts.tokenVar ?? 'E2E_DBX_TOKEN';
  process.env[tokenVar] = opts.agentToken ?? w.token;
  const env = makeAgentEnv(
    ({ stateDir }) => `
site: plant-a
state_dir: ${stateDir}
log: { level: info }
pi:
  url: ${sim.url}
  auth: { type: anonymous }
  max_count: ${opts.maxCount ?? 1000}
  tags_per_request: ${opts.tagsPerRequest ?? 7}
  concurrency: ${opts.piConcurrency ?? 8}
tags:
  - { dataserver: SIMPI, name_filter: "*" }
timeseries:
  start: "${START}"
  lookback: 2h
${opts.maxBytes ? `buffer:\n  max_bytes: ${opts.maxBytes}\n` : ''}sink:
  type: databricks
  host: ${opts.sinkHost ?? '127.0.0.1'}
  port: ${w.port}
  http_path: ${w.path}
  auth: { type: token, token: \${${tokenVar}} }
  ca: ${w.caPath}
  catalog: main
  schema: pi
  volume: pi_agent
${opts.sinkExtra ?? ''}${opts.extra ?? ''}`,
  );
  t.teardown(async () => {
    await sim.close();
    await w.close();
    env.cleanup();
    rmSync(wDir, { recursive: true, force: true });
  });
  return { sim, w, env, tokenVar };
}

export const once: (env: AgentEnv) => Promise<OnceResult> = runAgentOnce;

/** Every row of a table in the emulator, timestamps as µs numbers and int64 as numbers (as landed.ts). */
export async function warehouseRows(w: RunningWarehouse, table: keyof typeof TABLES): Promise<LandedRow[]> {
  const exists = await w.query(`SELECT count(*)::INT AS n FROM duckdb_tables() WHERE schema_name = 'pi' AND table_name = '${table}'`);
  if (Number(exists[0]!.n) === 0) return [];
  const cols = TABLES[table].columns.map((c) =>
    c.type === 'timestamp_us' ? `epoch_us("${c.name}")::DOUBLE AS "${c.name}"` : c.type === 'int64' ? `CAST("${c.name}" AS DOUBLE) AS "${c.name}"` : `"${c.name}"`,
  );
  const rows = await w.query(`SELECT ${cols.join(', ')} FROM pi."${table}"`);
  return rows.map((r) => {
    const o: LandedRow = {};
    for (const [k, v] of Object.entries(r)) o[k] = typeof v === 'bigint' ? Number(v) : (v as LandedRow[string]);
    return o;
  });
}

/** Rows whose key occurs more than once (must be none: exactly once). */
export async function duplicateKeys(w: RunningWarehouse, table: keyof typeof TABLES): Promise<number> {
  const exists = await w.query(`SELECT count(*)::INT AS n FROM duckdb_tables() WHERE schema_name = 'pi' AND table_name = '${table}'`);
  if (Number(exists[0]!.n) === 0) return 0;
  const key = TABLES[table].key.map((k) => `"${k}"`).join(', ');
  const r = await w.query(`SELECT coalesce(sum(n - 1), 0)::INT AS d FROM (SELECT count(*) AS n FROM pi."${table}" GROUP BY ${key})`);
  return Number(r[0]!.d);
}

export interface Comparison {
  expected: number;
  landed: number;
  missing: number;
  extra: number;
  duplicates: number;
  mismatchedTags: string[];
}

/** The warehouse's pi_timeseries against the simulator truth [START, endIso], tag by tag. */
export async function compareWarehouse(sim: RunningSim, w: RunningWarehouse, endIso: string): Promise<Comparison> {
  const rows = await warehouseRows(w, 'pi_timeseries');
  const byTag = landedEventsByTag(rows);
  const out: Comparison = { expected: 0, landed: rows.length, missing: 0, extra: 0, duplicates: await duplicateKeys(w, 'pi_timeseries'), mismatchedTags: [] };
  const known = new Set<string>();
  for (let i = 0; i < sim.sim.tagCount(); i++) {
    const id = idOnly(sim.sim.tagWebId(i));
    known.add(id);
    const want = expectedEvents(sim.sim.truth(i, START, endIso)).map((e) => JSON.stringify(e));
    const got = (byTag.get(id) ?? []).map((e) => JSON.stringify(e));
    out.expected += want.length;
    const wantSet = new Map<string, number>();
    for (const k of want) wantSet.set(k, (wantSet.get(k) ?? 0) + 1);
    for (const k of got) {
      const n = wantSet.get(k) ?? 0;
      if (n > 0) wantSet.set(k, n - 1);
      else out.extra++;
    }
    for (const n of wantSet.values()) out.missing += n;
    if (JSON.stringify(want) !== JSON.stringify(got)) out.mismatchedTags.push(sim.sim.tagName(i));
  }
  for (const [id, list] of byTag) if (!known.has(id)) out.extra += list.length;
  return out;
}

/** Asserts the warehouse equals the truth exactly; returns the number of events compared. */
export async function assertExact(t: Test, sim: RunningSim, w: RunningWarehouse, endIso: string, what = 'warehouse'): Promise<number> {
  const c = await compareWarehouse(sim, w, endIso);
  t.same(
    { missing: c.missing, extra: c.extra, duplicates: c.duplicates, mismatchedTags: c.mismatchedTags, landed: c.landed },
    { missing: 0, extra: 0, duplicates: 0, mismatchedTags: [], landed: c.expected },
    `${what}: ${c.expected} events equal the truth exactly`,
  );
  return c.expected;
}
