/**
 * Benchmark suite (issue 7). The simulator and the warehouse emulator run in this process; the agent,
 * the naive connector and the ceiling clients each run as a child process (scripts/bench/child.ts),
 * so every peak RSS is that process's own. Prints figures; asserts nothing.
 *
 *   npm run bench -- [--quick] [--json] [--tags 30000] [--hours 1] [--interval 5] [--backfill-tags 1000]
 *                    [--backfill-days 30] [--backfill-interval 60] [--naive-tags 200] [--lookback 10m]
 *                    [--lookback-every auto] (catch-up and backfill; the steady cycles set their own)
 *                    [--latency 5,1,1,8] [--only a,b] [--profile DIR] [--keep] [--no-service-env]
 *                    [--agent-node-options OPTS]
 *   --only: catch-up, steady, upload, service, backfill (default all). service = `pi-agent run` end
 *   to end into the warehouse emulator, extraction and upload at once in one process (service());
 *   --service-sink directory: the same into a local folder of Parquet files (no SQL driver).
 *   BENCH_MEM_TRACE=FILE: the service child appends process.memoryUsage() and its resident set
 *   (anonymous / mapped files) every second to FILE, one JSON line each.
 *
 * Data: the simulator's regular series (one value every --interval s for catch-up and steady state,
 * every --backfill-interval s for the deep backfill) with its `plant` mix (70% Float32, Float64,
 * Int32, Int16, Digital, String; quantised process values, mostly good quality), i.e. the issue's
 * "1 hour of 5-second data" and "30 days of 1-minute data" exactly.
 * Latency: every request to the simulator pays the modelled cost of a production PI Web API
 * (test/sim/piwebapi/latency.ts; --latency REQUEST_MS,STREAM_MS,VALUE_US,PARALLELISM, 0 = none);
 * the agent, the naive connector and the ceiling client all pay it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { TABLES } from '../agent/batch/tables.js';
import { startWarehouse } from '../test/sim/databricks/server.js';
import { parseLatency, type LatencyOptions } from '../test/sim/piwebapi/latency.js';
import { startSimulator, type RunningSim } from '../test/sim/piwebapi/server.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CHILD_SRC = path.join(here, 'bench', 'child.ts');
// The children run as one esbuild bundle (as the single binary does), not under tsx: the tsx
// loader alone adds ~30 MB of RSS and its transpile time to every measured process. The bundle
// sits under node_modules so its external packages resolve. Split at dynamic imports, so the
// baseline children do not load the agent's modules (and their packages) at all.
const CHILD_DIR = path.join(here, '..', 'node_modules', '.cache', 'pi-agent-bench');
const CHILD = path.join(CHILD_DIR, 'child.js');

interface ChildOut {
  values: number;
  requests: number;
  bytes_received: number;
  work_s: number;
  peak_rss_mb: number;
  cpu_s: number;
  wall_s: number;
  extra?: Record<string, unknown>;
}

export interface ScenarioResult {
  name: string;
  tags: number;
  values: number;
  values_per_s: number | null;
  requests: number | null;
  naive_values_per_s: number | null;
  naive_requests: number | null;
  ceiling_values_per_s: number | null;
  peak_rss_mb: number | null;
  bytes_per_value: number | null;
  json_bytes_per_value: number | null;
  wall_s: number;
  [k: string]: unknown;
}

interface Target {
  target: string;
  scenario: string;
  figure: string;
  met: boolean;
}

const { values: argv } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    tags: { type: 'string' },
    hours: { type: 'string' },
    'backfill-tags': { type: 'string' },
    'backfill-days': { type: 'string' },
    'naive-tags': { type: 'string' },
    interval: { type: 'string', default: '5' },
    'backfill-interval': { type: 'string', default: '60' },
    latency: { type: 'string', default: '5,1,1,8' },
    lookback: { type: 'string', default: '10m' },
    'lookback-every': { type: 'string', default: 'auto' },
    only: { type: 'string' },
    profile: { type: 'string' },
    keep: { type: 'boolean', default: false },
    'no-service-env': { type: 'boolean', default: false },
    'agent-node-options': { type: 'string' },
    'service-sink': { type: 'string', default: 'databricks' },
  },
});
const quick = argv.quick === true;
const TAGS = Number(argv.tags ?? (quick ? 200 : 30000));
const HOURS = Number(argv.hours ?? 1);
const INTERVAL = Number(argv.interval);
const BF_TAGS = Number(argv['backfill-tags'] ?? (quick ? 20 : 1000));
const BF_DAYS = Number(argv['backfill-days'] ?? (quick ? 1 : 30));
const BF_INTERVAL = Number(argv['backfill-interval']);
// A multiple of 20 keeps the plant mix (tags.ts PLANT_PATTERN) in the sample.
const NAIVE_TAGS = Math.min(TAGS, Number(argv['naive-tags'] ?? (quick ? 20 : 200)));
const LATENCY: LatencyOptions | undefined = parseLatency(argv.latency);
const ONLY = argv.only ? new Set(argv.only.split(',')) : undefined;
const want = (s: string): boolean => !ONLY || ONLY.has(s);
const SERVICE_SINK = ((v: string): 'databricks' | 'directory' => {
  if (v === 'databricks' || v === 'directory') return v;
  throw new Error(`--service-sink ${v}: databricks or directory`);
})(argv['service-sink']);

const NOW = '2026-01-02T00:00:00Z';
const NOW_MS = Date.parse(NOW);
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');
const log = (s: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}\n`);
};
const round = (x: number | null, d = 1): number | null => (x === null || !Number.isFinite(x) ? null : Math.round(x * 10 ** d) / 10 ** d);

const work = mkdtempSync(path.join(os.tmpdir(), 'pi-agent-bench-'));

let childSeq = 0;

/**
 * The agent children run in the environment the installed Linux service gives the agent: the
 * `Environment=` lines of installer/linux/pi-agent.service (glibc malloc: two arenas instead of one
 * per thread, ~20 MB less peak RSS at 30,000 tags; a fixed mmap threshold, a few MB less in the
 * service scenario). `--no-service-env` runs them without it.
 */
function serviceUnitEnv(unitText: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [, k, v] of unitText.matchAll(/^Environment=([A-Za-z_][A-Za-z0-9_]*)=(.*)$/gm)) env[k!] = v!.trim();
  return env;
}
const SERVICE_ENV: Record<string, string> = {
  ...(argv['no-service-env'] ? {} : serviceUnitEnv(readFileSync(path.join(here, '..', 'installer', 'linux', 'pi-agent.service'), 'utf8'))),
  // --agent-node-options: NODE_OPTIONS for the agent children only (the simulator is untouched).
  ...(argv['agent-node-options'] ? { NODE_OPTIONS: argv['agent-node-options'] } : {}),
};

function runChild(mode: string, args: unknown, env: Record<string, string> = {}, onSpawn?: (p: ChildProcess) => void): Promise<ChildOut> {
  if (mode.startsWith('agent')) env = { ...SERVICE_ENV, ...env };
  const node: string[] = [];
  if (argv.profile && mode.startsWith('agent')) node.unshift('--cpu-prof', `--cpu-prof-dir=${path.resolve(argv.profile)}`);
  // Arguments go through a file: thousands of WebIDs exceed the argv limit (E2BIG).
  const argFile = path.join(work, `args-${++childSeq}.json`);
  writeFileSync(argFile, JSON.stringify(args));
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...node, CHILD, mode, `@${argFile}`], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
    onSpawn?.(p);
    let out = '';
    p.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
    });
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(`bench child ${mode} exited with ${code}`));
      const line = out.trim().split('\n').pop() ?? '';
      resolve({ ...(JSON.parse(line) as Omit<ChildOut, 'wall_s'>), wall_s: (performance.now() - t0) / 1000 });
    });
  });
}

/** The config's `sink:` for the warehouse emulator (its token from the child's environment). */
function warehouseSink(wh: { port: number; path: string; caPath: string }): string {
  return `sink:
  type: databricks
  host: 127.0.0.1
  port: ${wh.port}
  http_path: ${wh.path}
  auth: { type: token, token: \${BENCH_DBX_TOKEN} }
  ca: ${JSON.stringify(wh.caPath)}
  catalog: main
  schema: pi
  volume: pi_agent
  max_upload_bytes: 256MB`;
}

/** Resident set of a running process (Linux /proc), MB; null where it cannot be read. */
function rssOf(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/**
 * The service end to end, as a plant runs it: `pi-agent run` (runService, one process) with a
 * fresh state directory against the simulator and the warehouse emulator, extracting and uploading
 * at once (the sink loop uploads what is sealed while the catch-up goes on). Done when the
 * warehouse holds every value of the simulator's archive for the window; then SIGTERM, as systemd
 * stops it. Figures: values committed per second from the process start, the peak RSS of the one
 * process (both paths together), its RSS and the warehouse rows every 10 s.
 */
async function service(tags: number, hours: number, sinkType: 'databricks' | 'directory'): Promise<ScenarioResult> {
  const dir = path.join(work, 'service');
  const startMs = NOW_MS - hours * 3600_000;
  const sim = await startSimulator(simOptions(tags, INTERVAL, iso(startMs - 24 * 3600_000)));
  // The warehouse emulator's DuckDB also counts the directory sink's files.
  const wh = await startWarehouse({ dataDir: path.join(dir, 'warehouse') });
  try {
    let expected = 0;
    for (let i = 0; i < sim.sim.tagCount(); i++) expected += sim.sim.truth(i, iso(startMs), sim.sim.nowIso()).length;
    const out = path.join(dir, 'out');
    const sink = sinkType === 'databricks' ? warehouseSink(wh) : `sink: { type: directory, path: ${JSON.stringify(out)} }`;
    const cfg = writeConfig({ dir, piUrl: sim.url, start: iso(startMs), nameFilter: '*', sink }, 'agent-service.yaml');
    log(
      `service: pi-agent run, ${tags} tags × ${hours} h of ${INTERVAL}-second data (${expected} values) into ${sinkType === 'databricks' ? 'the warehouse emulator' : 'a directory'}`,
    );
    const table = sinkType === 'databricks' ? 'pi.pi_timeseries' : `read_parquet('${path.join(out, 'pi_timeseries', '*.parquet')}')`;
    const count = async (): Promise<number> => {
      // The table (the first file) appears with the first upload.
      try {
        return Number((await wh.query(`SELECT count(*) AS n FROM ${table}`))[0]?.n ?? 0);
      } catch {
        return 0;
      }
    };
    let child: ChildProcess | undefined;
    const t0 = performance.now();
    const done = runChild('agent-service', { config: cfg }, { BENCH_DBX_TOKEN: wh.token }, (p) => {
      child = p;
    });
    const timeline: { s: number; rss_mb: number | null; rows: number }[] = [];
    let rows = 0;
    let doneAt: number | null = null;
    let lastChange = performance.now();
    let exited = false;
    void done
      .finally(() => {
        exited = true;
      })
      .catch(() => undefined);
    for (let tick = 0; !exited; tick++) {
      await new Promise((r) => setTimeout(r, 1000));
      const rss = rssOf(child?.pid);
      const n = await count();
      if (n !== rows) lastChange = performance.now();
      rows = n;
      if (tick % 10 === 9) timeline.push({ s: Math.round((performance.now() - t0) / 1000), rss_mb: round(rss), rows });
      // Done when everything is in; given up when nothing has moved for 2 minutes (reported).
      if (rows >= expected || performance.now() - lastChange > 120_000) {
        if (rows >= expected) doneAt = performance.now();
        child?.kill('SIGTERM');
        break;
      }
    }
    const res = await done;
    const wall = ((doneAt ?? performance.now()) - t0) / 1000;
    // Keys seen more than once, by the table's own row key (agent/batch/tables.ts).
    const key = TABLES.pi_timeseries.key.map((c) => `"${c}"`).join(', ');
    const dupes = Number((await wh.query(`SELECT count(*) AS n FROM (SELECT ${key} FROM ${table} GROUP BY ALL HAVING count(*) > 1)`))[0]?.n ?? 0);
    return {
      name: sinkType === 'databricks' ? 'service' : 'service-directory',
      tags,
      values: rows,
      values_per_s: doneAt === null ? null : round(expected / wall, 0),
      requests: null,
      naive_values_per_s: null,
      naive_requests: null,
      ceiling_values_per_s: null,
      peak_rss_mb: round(res.peak_rss_mb),
      bytes_per_value: null,
      json_bytes_per_value: null,
      wall_s: round(wall, 1)!,
      cpu_s: round(res.cpu_s, 1),
      values_per_cpu_s: round(rows / res.cpu_s, 0),
      expected_values: expected,
      complete: rows === expected,
      duplicate_keys: dupes,
      timeline,
    };
  } finally {
    await wh.close();
    await sim.close();
  }
}

interface ConfigOpts {
  dir: string;
  piUrl: string;
  start: string;
  nameFilter: string;
  sink?: string;
  lookbackEvery?: string;
  lookbackFullEvery?: string;
}

function writeConfig(o: ConfigOpts, file = 'agent.yaml'): string {
  mkdirSync(o.dir, { recursive: true });
  const f = path.join(o.dir, file);
  const yaml = `site: bench
state_dir: ${JSON.stringify(path.join(o.dir, 'state'))}
log: { level: warn, file: ${JSON.stringify(path.join(o.dir, 'agent.log'))} }
pi:
  url: ${o.piUrl}
  auth: { type: anonymous }
  concurrency: 4
  max_count: 10000
  tags_per_request: 200
tags:
  - { dataserver: SIMPI, name_filter: ${JSON.stringify(o.nameFilter)} }
timeseries:
  start: ${JSON.stringify(o.start)}
  lookback: ${argv.lookback}
  lookback_every: ${o.lookbackEvery ?? argv['lookback-every']}
  lookback_full_every: ${o.lookbackFullEvery ?? '6h'}
  schedule: "*/1 * * * *"
buffer:
  max_bytes: 50GB
${o.sink ?? `sink: { type: directory, path: ${JSON.stringify(path.join(o.dir, 'out'))} }`}
`;
  writeFileSync(f, yaml);
  chmodSync(f, 0o600);
  return f;
}

/** WebIDs of the tags the agent selects, in the simulator's own encoding. */
function webIds(sim: RunningSim, filter: (i: number) => boolean, limit = Infinity): string[] {
  const out: string[] = [];
  for (let i = 0; i < sim.sim.tags.size() && out.length < limit; i++) if (filter(i)) out.push(sim.sim.tags.webId(i));
  return out;
}

async function ceilingFor(sim: RunningSim, ids: string[], windows: [string, string][], rows: number, dir: string): Promise<{ http: ChildOut; sqlite: ChildOut }> {
  const sqliteRows = Math.max(1000, Math.min(rows, 2_000_000));
  log(`ceiling: HTTP fetch-and-discard of ${ids.length} tags, then SQLite raw insert of ${sqliteRows} rows`);
  // One process for both (a process start costs seconds on a loaded machine; RSS is not reported).
  const c = await runChild('ceiling', {
    http: { url: sim.url, webIds: ids, windows, tagsPerRequest: 200, maxCount: 150000, concurrency: 4 },
    sqlite: { rows: sqliteRows, dir },
  });
  const part = (k: string): ChildOut => ({
    ...(c.extra?.[k] as Omit<ChildOut, 'wall_s' | 'peak_rss_mb' | 'cpu_s'>),
    peak_rss_mb: c.peak_rss_mb,
    cpu_s: Number((c.extra?.[k] as { cpu_s?: number }).cpu_s ?? c.cpu_s),
    wall_s: c.wall_s,
  });
  return { http: part('http'), sqlite: part('sqlite') };
}

/**
 * The ceiling client's windows from startMs to now, `stepMs` long, shorter when there are few
 * 200-tag groups: at least 8 requests, so its 4 in flight are used as the agent's are.
 */
function ceilingWindows(startMs: number, stepMs: number, tags: number): [string, string][] {
  const groups = Math.ceil(tags / 200);
  const steps = Math.ceil((NOW_MS - startMs) / stepMs);
  const step = groups * steps >= 8 ? stepMs : Math.ceil((NOW_MS - startMs) / Math.ceil(8 / groups) / 1000) * 1000;
  const out: [string, string][] = [];
  // Windows meet at their ends (PI's recorded reads include both): the next starts 1 ms later.
  for (let t = startMs; t < NOW_MS; t += step) out.push([iso(t === startMs ? t : t + 1), iso(Math.min(NOW_MS, t + step))]);
  return out;
}

const results: ScenarioResult[] = [];
const targets: Target[] = [];

function agentRow(name: string, tags: number, a: ChildOut): ScenarioResult {
  const x = a.extra ?? {};
  const rows = Number(x.buffered_rows ?? 0);
  return {
    name,
    tags,
    values: a.values,
    values_per_s: round(a.values / a.work_s, 0),
    requests: a.requests,
    naive_values_per_s: null,
    naive_requests: null,
    ceiling_values_per_s: null,
    peak_rss_mb: round(a.peak_rss_mb),
    bytes_per_value: rows > 0 ? round(Number(x.buffered_bytes) / rows, 2) : null,
    json_bytes_per_value: a.values > 0 ? round(a.bytes_received / a.values, 1) : null,
    wall_s: round(a.wall_s, 1)!,
    work_s: round(a.work_s, 2),
    cpu_s: round(a.cpu_s, 1),
    values_per_cpu_s: round(a.values / a.cpu_s, 0),
    values_per_tag_hour: null,
    batches: x.batches ?? null,
    errors: x.errors ?? null,
  };
}

function simOptions(tags: number, intervalSec: number, historyStart: string): Parameters<typeof startSimulator>[0] {
  const o: Parameters<typeof startSimulator>[0] = { port: 0, tags, seed: 7, historyStart, now: NOW, intervalSec, mix: 'plant' };
  if (LATENCY) o.latency = LATENCY;
  return o;
}

/** Catch-up of `tags` × `hours`; keeps the simulator and state for steady state and upload when asked. */
async function catchUp(name: string, tags: number, hours: number, withBaselines: boolean): Promise<{ sim: RunningSim; dir: string; cfg: string; row: ScenarioResult }> {
  const dir = path.join(work, name);
  const startMs = NOW_MS - hours * 3600_000;
  const sim = await startSimulator(simOptions(tags, INTERVAL, iso(startMs - 24 * 3600_000)));
  const cfg = writeConfig({ dir, piUrl: sim.url, start: iso(startMs), nameFilter: '*' });
  log(`${name}: agent extracting ${tags} tags × ${hours} h of ${INTERVAL}-second data`);
  const served0 = { ...sim.sim.served };
  const a = await runChild('agent-extract', { config: cfg });
  const row = agentRow(name, tags, a);
  row.values_per_tag_hour = round(a.values / tags / hours, 0);
  // What the simulator served the agent and the latency it charged (summed over concurrent requests).
  row.sim_requests = sim.sim.served.requests - served0.requests;
  row.sim_charged_s = round((sim.sim.served.chargedMs - served0.chargedMs) / 1000, 2);
  row.tags_s = round(Number(a.extra?.tags_s ?? 0), 2);
  // Pushed now: the baselines below fill in the same object, and a failing baseline keeps the agent's figures.
  results.push(row);
  if (withBaselines) {
    const naiveIds = webIds(sim, () => true, NAIVE_TAGS);
    log(`${name}: naive connector over ${naiveIds.length} tags (sample)`);
    const n = await runChild('naive', { url: sim.url, webIds: naiveIds, start: iso(startMs), end: NOW, dir: path.join(dir, 'naive') });
    row.naive_values_per_s = round(n.values / n.work_s, 0);
    row.naive_requests = Math.round((n.requests * tags) / naiveIds.length);
    row.naive_sample_tags = naiveIds.length;
    row.naive_sample_requests = n.requests;
    row.naive_peak_rss_mb = round(n.peak_rss_mb);
    row.naive_values_per_cpu_s = round(n.values / n.cpu_s, 0);
    // One-hour windows: 200 tags' hour fits one batch response of modest size.
    const windows = ceilingWindows(startMs, 3600_000, tags);
    const { http, sqlite } = await ceilingFor(
      sim,
      webIds(sim, () => true),
      windows,
      a.values,
      path.join(dir, 'ceiling'),
    );
    const h = http.values / http.work_s;
    const s = sqlite.values / sqlite.work_s;
    row.ceiling_http_values_per_s = round(h, 0);
    row.ceiling_sqlite_values_per_s = round(s, 0);
    row.ceiling_values_per_s = round(Math.min(h, s), 0);
    row.ceiling_http_values = http.values;
    row.ceiling_http_client_values_per_cpu_s = round(http.values / http.cpu_s, 0);
    row.fraction_of_ceiling = round(a.values / a.work_s / Math.min(h, s), 3);
    row.x_naive = row.naive_values_per_s ? round(a.values / a.work_s / row.naive_values_per_s, 1) : null;
  }
  return { sim, dir, cfg, row };
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const machine = {
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    mem_gb: round(os.totalmem() / 1024 ** 3, 1),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadavg_at_start: os.loadavg().map((x) => round(x, 2)),
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    params: {
      tags: TAGS,
      hours: HOURS,
      interval_s: INTERVAL,
      backfill_tags: BF_TAGS,
      backfill_days: BF_DAYS,
      backfill_interval_s: BF_INTERVAL,
      naive_sample_tags: NAIVE_TAGS,
      lookback: argv.lookback,
      lookback_every: argv['lookback-every'],
      mix: 'plant',
      latency: LATENCY ?? null,
      agent_env: SERVICE_ENV,
    },
  };
  log(`work dir ${work}`);
  rmSync(CHILD_DIR, { recursive: true, force: true });
  await build({
    entryPoints: [CHILD_SRC],
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outdir: CHILD_DIR,
    entryNames: '[name]',
    chunkNames: 'chunk-[hash]',
    outExtension: { '.js': '.js' },
    logLevel: 'warning',
  });
  // The output is ESM: a package.json beside it says so to node (.js files).
  writeFileSync(path.join(CHILD_DIR, 'package.json'), '{"type":"module"}\n');
  let catchUpRate: number | null = null;

  if (want('catch-up') || want('steady') || want('upload')) {
    // Memory must stay flat as the data grows: the same run at half the tags first.
    if (want('catch-up')) {
      const half = await catchUp('catch-up-half', Math.max(20, Math.round(TAGS / 2)), HOURS, false);
      await half.sim.close();
    }
    const full = await catchUp('catch-up', TAGS, HOURS, want('catch-up'));
    catchUpRate = full.row.values_per_s;
    const x = full.row;
    if (want('catch-up')) {
      targets.push({
        target: 'catch-up ≥ 20x naive',
        scenario: 'catch-up',
        figure: `${x.x_naive}x (${x.values_per_s} vs ${x.naive_values_per_s} values/s)`,
        met: Number(x.x_naive) >= 20,
      });
      targets.push({
        target: 'catch-up ≥ 50% of ceiling',
        scenario: 'catch-up',
        figure: `${round(Number(x.fraction_of_ceiling) * 100, 0)}% of ${x.ceiling_values_per_s} values/s`,
        met: Number(x.fraction_of_ceiling) >= 0.5,
      });
      const bpv = x.bytes_per_value;
      targets.push({
        target: 'batch files ≤ 6 bytes/value',
        scenario: 'catch-up',
        figure: `${bpv} B/value (JSON ${x.json_bytes_per_value} B/value)`,
        met: bpv !== null && bpv <= 6,
      });
    }

    if (want('steady')) {
      // The tags are caught up; one more minute of data appears and one cycle runs. A plain cycle
      // (the lookback re-read is not due: lookback_every 15m) reads only what is new; a lookback
      // cycle (lookback_every 0s: due every cycle) polls stream updates and re-reads from the oldest
      // change PI reported (the default, lookback_full_every 6h): the first one after cycles without
      // polls re-reads the appends since the last poll; the next one runs the default,
      // lookback_every auto (polled every cycle: each tag read in its poll's /batch); a whole-window
      // lookback cycle (lookback_full_every 0s, as every 6 h by default) re-reads the whole window.
      const cycles = [
        ['steady-state', '15m', '6h'],
        ['steady-lookback-first', '0s', '6h'],
        ['steady-lookback', 'auto', '6h'],
        ['steady-lookback-full', '0s', '0s'],
      ] as const;
      for (const [name, every, fullEvery] of cycles) {
        full.sim.sim.advance('1m');
        const cfg = writeConfig(
          { dir: full.dir, piUrl: full.sim.url, start: iso(NOW_MS - HOURS * 3600_000), nameFilter: '*', lookbackEvery: every, lookbackFullEvery: fullEvery },
          `agent-${name}.yaml`,
        );
        log(`${name}: one 1-minute cycle of ${TAGS} tags (lookback ${argv.lookback}, lookback_every ${every}, lookback_full_every ${fullEvery})`);
        const served0 = full.sim.sim.served.requests;
        const s = await runChild('agent-extract', { config: cfg, skipTags: true });
        const row = agentRow(name, TAGS, s);
        // Buffer rows/bytes are cumulative with the catch-up still buffered: not this cycle's.
        row.bytes_per_value = null;
        // Recorded-value requests and the stream-updates polls before the re-reads (none in a plain cycle).
        row.requests = Number(s.extra?.timeseries_requests ?? s.requests) + Number(s.extra?.updates_requests ?? 0);
        row.updates_requests = Number(s.extra?.updates_requests ?? 0);
        row.all_requests = s.requests;
        row.sim_requests = full.sim.sim.served.requests - served0;
        row.cycle_s = round(s.work_s, 2);
        row.lookback_every = every;
        row.lookback_full_every = fullEvery;
        row.rereads = s.extra?.rereads ?? null;
        row.rereads_narrowed = s.extra?.rereads_narrowed ?? null;
        row.rereads_read_ahead = s.extra?.rereads_read_ahead ?? null;
        row.tags_per_request = round(TAGS / Number(row.requests), 0);
        row.values_per_tag = round(s.values / TAGS, 1);
        results.push(row);
        const kind =
          every === '15m'
            ? 'plain cycle'
            : fullEvery === '0s'
              ? 'whole-window lookback cycle'
              : every === 'auto'
                ? 'default cycle: lookback_every auto, polled every cycle'
                : 'first lookback cycle after cycles without polls';
        targets.push({
          target: `steady ≤ 1 request per 200 tags per cycle (${kind})`,
          scenario: name,
          figure: `${row.requests} requests for ${TAGS} tags (1 per ${row.tags_per_request}), ${row.values_per_tag} values per tag, ${row.cycle_s} s per cycle`,
          met: Number(row.requests) <= Math.ceil(TAGS / 200),
        });
      }
    }

    if (want('upload')) {
      log('upload: starting the warehouse emulator');
      const wh = await startWarehouse({ dataDir: path.join(full.dir, 'warehouse') });
      try {
        const cfg = writeConfig(
          { dir: full.dir, piUrl: full.sim.url, start: iso(NOW_MS - HOURS * 3600_000), nameFilter: '*', sink: warehouseSink(wh) },
          'agent-upload.yaml',
        );
        log('upload: agent sink pass into the emulator');
        const u = await runChild('agent-sink', { config: cfg }, { BENCH_DBX_TOKEN: wh.token });
        const committed = await wh.query('SELECT count(*) AS n FROM pi.pi_timeseries');
        const row: ScenarioResult = {
          name: 'upload',
          tags: TAGS,
          values: u.values,
          values_per_s: round(u.values / u.work_s, 0),
          requests: null,
          naive_values_per_s: null,
          naive_requests: null,
          ceiling_values_per_s: null,
          peak_rss_mb: round(u.peak_rss_mb),
          bytes_per_value: Number(u.extra?.rows_before) > 0 ? round(Number(u.extra?.bytes_before) / Number(u.extra?.rows_before), 2) : null,
          json_bytes_per_value: null,
          wall_s: round(u.wall_s, 1)!,
          work_s: round(u.work_s, 2),
          cpu_s: round(u.cpu_s, 1),
          units: u.extra?.units ?? null,
          rows_left: u.extra?.rows_left ?? null,
          warehouse_rows: Number(committed[0]?.n ?? 0),
        };
        results.push(row);
        targets.push({
          target: 'upload ≥ catch-up rate',
          scenario: 'upload',
          figure: `${row.values_per_s} vs ${catchUpRate} values/s`,
          met: Number(row.values_per_s) >= Number(catchUpRate),
        });
      } finally {
        await wh.close();
      }
    }
    await full.sim.close();
  }

  if (want('service')) {
    const row = await service(TAGS, HOURS, SERVICE_SINK);
    results.push(row);
    const rate = catchUpRate === null ? '' : ` (extraction alone, catch-up scenario: ${catchUpRate} values/s)`;
    targets.push({
      target: 'service end to end: every value committed once',
      scenario: row.name,
      figure: `${row.values} of ${row.expected_values} values in the warehouse, ${row.duplicate_keys} duplicate keys, ${row.values_per_s} values/s from process start${rate}`,
      met: row.complete === true && row.duplicate_keys === 0,
    });
  }

  if (want('backfill')) {
    const dir = path.join(work, 'backfill');
    const startMs = NOW_MS - BF_DAYS * 86400_000;
    const sim = await startSimulator(simOptions(BF_TAGS, BF_INTERVAL, iso(startMs - 86400_000)));
    try {
      const cfg = writeConfig({ dir, piUrl: sim.url, start: iso(startMs), nameFilter: '*' });
      log(`backfill: agent extracting ${BF_TAGS} tags × ${BF_DAYS} days of ${BF_INTERVAL}-second data`);
      const a = await runChild('agent-extract', { config: cfg });
      const row = agentRow('deep-backfill', Number(a.extra?.tags_discovered ?? BF_TAGS), a);
      row.values_per_tag_hour = round(a.values / Number(row.tags) / (BF_DAYS * 24), 1);
      results.push(row);
      const ids = webIds(sim, () => true);
      // Each naive tag is BF_DAYS × 1,440 values in 1,000-value pages: a smaller sample.
      const naiveIds = ids.slice(0, Math.max(1, Math.round(NAIVE_TAGS / 20)));
      log(`backfill: naive connector over ${naiveIds.length} tags (sample)`);
      const n = await runChild('naive', { url: sim.url, webIds: naiveIds, start: iso(startMs), end: NOW, dir: path.join(dir, 'naive') });
      row.naive_values_per_s = round(n.values / n.work_s, 0);
      row.naive_requests = Math.round((n.requests * ids.length) / naiveIds.length);
      row.naive_sample_tags = naiveIds.length;
      const windows = ceilingWindows(startMs, 86400_000, ids.length);
      const { http, sqlite } = await ceilingFor(sim, ids, windows, a.values, path.join(dir, 'ceiling'));
      const h = http.values / http.work_s;
      const s = sqlite.values / sqlite.work_s;
      row.ceiling_http_values_per_s = round(h, 0);
      row.ceiling_sqlite_values_per_s = round(s, 0);
      row.ceiling_values_per_s = round(Math.min(h, s), 0);
      row.fraction_of_ceiling = round(a.values / a.work_s / Math.min(h, s), 3);
      row.x_naive = row.naive_values_per_s ? round(a.values / a.work_s / row.naive_values_per_s, 1) : null;
    } finally {
      await sim.close();
    }
  }

  const rssMax = Math.max(...results.map((r) => r.peak_rss_mb ?? 0));
  targets.push({
    target: 'peak RSS ≤ 250 MB in every scenario',
    scenario: 'all',
    figure: results.map((r) => `${r.name} ${r.peak_rss_mb} MB`).join(', '),
    met: rssMax <= 250,
  });
  const half = results.find((r) => r.name === 'catch-up-half');
  const full = results.find((r) => r.name === 'catch-up');
  if (half && full) {
    targets.push({
      target: 'memory flat as data grows',
      scenario: 'catch-up',
      figure: `${half.values} values: ${half.peak_rss_mb} MB; ${full.values} values: ${full.peak_rss_mb} MB`,
      met: Number(full.peak_rss_mb) <= Number(half.peak_rss_mb) * 1.25 + 10,
    });
  }

  const report = { machine, scenarios: results, targets, total_wall_s: round((performance.now() - t0) / 1000, 1) };
  if (argv.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else printTable(report.scenarios, targets, machine, report.total_wall_s);
  if (!argv.keep) rmSync(work, { recursive: true, force: true });
  else log(`kept ${work}`);
}

function printTable(rows: ScenarioResult[], tg: Target[], machine: Record<string, unknown>, total: number | null): void {
  const cols: [string, (r: ScenarioResult) => unknown][] = [
    ['scenario', (r) => r.name],
    ['tags', (r) => r.tags],
    ['values', (r) => r.values],
    ['values/s', (r) => r.values_per_s],
    ['requests', (r) => r.requests],
    ['naive v/s', (r) => r.naive_values_per_s],
    ['naive req', (r) => r.naive_requests],
    ['ceiling v/s', (r) => r.ceiling_values_per_s],
    ['of ceiling', (r) => r.fraction_of_ceiling ?? null],
    ['v/cpu-s', (r) => r.values_per_cpu_s ?? null],
    ['RSS MB', (r) => r.peak_rss_mb],
    ['B/value', (r) => r.bytes_per_value],
    ['JSON B/value', (r) => r.json_bytes_per_value],
    ['wall s', (r) => r.wall_s],
  ];
  const cells = rows.map((r) =>
    cols.map(([, f]) => {
      const v = f(r);
      return v === null || v === undefined ? '-' : String(v);
    }),
  );
  const widths = cols.map(([h], i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => c.map((s, i) => (i === 0 ? s.padEnd(widths[i]!) : s.padStart(widths[i]!))).join('  ');
  const out = [line(cols.map(([h]) => h)), ...cells.map(line), ''];
  for (const t of tg) out.push(`${t.met ? 'MET    ' : 'NOT MET'}  ${t.target}: ${t.figure}`);
  out.push('', `machine: ${JSON.stringify(machine)}`, `total ${total} s`);
  process.stdout.write(out.join('\n') + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  if (results.length > 0) process.stderr.write(`bench: results so far: ${JSON.stringify(results)}\n`);
  if (!argv.keep) rmSync(work, { recursive: true, force: true });
  process.exit(1);
});
