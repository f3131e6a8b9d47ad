/**
 * Tag discovery with a `point_source` selector, by PI Web API release. A release that ignores
 * `sourceFilter` on GET dataservers/{webId}/points (before 2023 in agent/pi/version.ts and
 * test/sim/piwebapi/versions.ts) returns every point; the agent then reads each listed point's
 * `pointsource` attribute itself, one /batch per page of points (agent/pi/points.ts listPoints). On
 * 2023 the server filters. Prints figures per release and the ratio to the 2023 run of the same
 * size in the same invocation; asserts nothing.
 *
 *   node --import tsx scripts/bench-discovery.ts [--tags 30000 | --tags 10000,30000] [--versions 2018SP1,2023]
 *        [--latency 5,1,1,8] [--json]
 *
 * Each run: a fresh simulator in this process (plant mix, seed 7, behaving as the release, with the
 * serving cost of test/sim/piwebapi/latency.ts; `--latency 0` = none) and a fresh state directory;
 * then the agent's own tags source (runTagDiscovery, agent/sources/tags/source.ts) for
 * `{ dataserver: SIMPI, point_source: CALC }`, with the context openAgent builds (loadConfig,
 * openStore, openPi, PiPointDirectory), also in this process. 2023 is always run (the reference).
 * A small unmeasured run first warms up the JIT.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../agent/config/load.js';
import { bareLogger } from '../agent/observe/log.js';
import type { RequestInfo } from '../agent/pi/client.js';
import { openStore } from '../agent/service/agent.js';
import { openPi, PiPointDirectory } from '../agent/sources/pi.js';
import { runTagDiscovery } from '../agent/sources/tags/source.js';
import { parseLatency, type LatencyOptions } from '../test/sim/piwebapi/latency.js';
import { startSimulator } from '../test/sim/piwebapi/server.js';
import { isSimVersion, SIM_VERSION_NAMES, type SimVersionName } from '../test/sim/piwebapi/versions.js';

const { values: argv } = parseArgs({
  options: {
    tags: { type: 'string', default: '30000' },
    versions: { type: 'string', default: '2018SP1,2023' },
    latency: { type: 'string', default: '5,1,1,8' },
    json: { type: 'boolean', default: false },
  },
});
const SIZES = argv.tags.split(',').map((s) => {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--tags: positive integers, comma-separated, got '${argv.tags}'`);
  return n;
});
const REFERENCE: SimVersionName = '2023';
const VERSIONS: SimVersionName[] = argv.versions.split(',').map((v) => {
  if (!isSimVersion(v)) throw new Error(`--versions: ${v} is not one of ${SIM_VERSION_NAMES.join(', ')}`);
  return v;
});
if (!VERSIONS.includes(REFERENCE)) VERSIONS.push(REFERENCE);
const LATENCY: LatencyOptions | undefined = parseLatency(argv.latency);
const POINT_SOURCE = 'CALC';
const NOW = '2026-01-02T00:00:00Z';

interface Run {
  release: SimVersionName;
  points: number;
  selected: number;
  /** The simulator's own count of points with this point source. */
  expected: number;
  requests: number;
  list_requests: number;
  batch_requests: number;
  /** Batch sub-requests (counted by the simulator's latency model; null with `--latency 0`). */
  sub_requests: number | null;
  sim_requests: number;
  mb_received: number;
  /** Sum of the listing and of the /batch request times (the agent sends them one after another). */
  list_s: number;
  batch_s: number;
  wall_s: number;
  /** CPU of this process: the agent and the simulator together. */
  cpu_s: number;
  paths: string[];
}

const log = (s: string): void => {
  process.stderr.write(`[bench-discovery ${new Date().toISOString().slice(11, 19)}] ${s}\n`);
};
const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;

function kindOf(p: string): 'list' | 'batch' | 'other' {
  if (/\/batch$/i.test(p)) return 'batch';
  if (/\/dataservers\/[^/]+\/points$/i.test(p)) return 'list';
  return 'other';
}

async function discover(release: SimVersionName, tags: number): Promise<Run> {
  const opts: Parameters<typeof startSimulator>[0] = { port: 0, tags, seed: 7, now: NOW, historyStart: '2026-01-01T00:00:00Z', mix: 'plant', version: release };
  if (LATENCY) opts.latency = LATENCY;
  const sim = await startSimulator(opts);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pi-agent-bench-discovery-'));
  try {
    const file = path.join(dir, 'agent.yaml');
    writeFileSync(
      file,
      `site: bench
state_dir: ${JSON.stringify(path.join(dir, 'state'))}
pi: { url: ${JSON.stringify(sim.url)}, auth: { type: anonymous } }
tags:
  - { dataserver: SIMPI, point_source: ${POINT_SOURCE} }
sink: { type: directory, path: ${JSON.stringify(path.join(dir, 'out'))} }
`,
      { mode: 0o600 },
    );
    const config = loadConfig(file, { checkPermissions: false });
    const byKind = { list: { n: 0, ms: 0 }, batch: { n: 0, ms: 0 }, other: { n: 0, ms: 0 } };
    const onRequest = (info: RequestInfo): void => {
      const k = byKind[kindOf(info.path)];
      k.n++;
      k.ms += info.ms;
    };
    // The context openAgent (agent/service/agent.ts) builds, with a request hook; the tags source needs no sink.
    const store = openStore(config);
    const client = await openPi(config, onRequest, store.webIdAliases());
    try {
      const ctx = { config, store, client, directory: new PiPointDirectory(client), logger: bareLogger('warn') };
      const served0 = { ...sim.sim.served };
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const found = await runTagDiscovery(ctx);
      const wall = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      let expected = 0;
      for (let i = 0; i < sim.sim.tagCount(); i++) if (sim.sim.tagMeta(i).pointSource === POINT_SOURCE) expected++;
      return {
        release,
        points: sim.sim.tagCount(),
        selected: found.length,
        expected,
        requests: client.stats.requests,
        list_requests: byKind.list.n,
        batch_requests: byKind.batch.n,
        sub_requests: LATENCY ? sim.sim.served.subRequests - served0.subRequests : null,
        sim_requests: sim.sim.served.requests - served0.requests,
        mb_received: round(client.stats.bytesReceived / 1024 ** 2, 1),
        list_s: round(byKind.list.ms / 1000),
        batch_s: round(byKind.batch.ms / 1000),
        wall_s: round(wall),
        cpu_s: round((cpu.user + cpu.system) / 1e6),
        paths: found.map((t) => t.path).sort(),
      };
    } finally {
      await client.close();
      store.close();
    }
  } finally {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function table(runs: Run[]): string[] {
  const ref = (r: Run): Run | undefined => runs.find((x) => x.release === REFERENCE && x.points === r.points);
  const ratio = (a: number, b: number | undefined): string => (b ? `${round(a / b, 1)}x` : '-');
  const cols: [string, (r: Run) => unknown][] = [
    ['release', (r) => r.release],
    ['points', (r) => r.points],
    ['selected', (r) => r.selected],
    ['HTTP req', (r) => r.requests],
    ['list req', (r) => r.list_requests],
    ['/batch req', (r) => r.batch_requests],
    ['sub-req', (r) => r.sub_requests ?? '-'],
    ['MB recv', (r) => r.mb_received],
    ['list s', (r) => r.list_s],
    ['/batch s', (r) => r.batch_s],
    ['wall s', (r) => r.wall_s],
    ['CPU s', (r) => r.cpu_s],
    ['req vs 2023', (r) => ratio(r.requests, ref(r)?.requests)],
    ['time vs 2023', (r) => ratio(r.wall_s, ref(r)?.wall_s)],
  ];
  const cells = runs.map((r) => cols.map(([, f]) => String(f(r))));
  const widths = cols.map(([h], i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => c.map((s, i) => (i === 0 ? s.padEnd(widths[i]!) : s.padStart(widths[i]!))).join('  ');
  return [line(cols.map(([h]) => h)), ...cells.map(line)];
}

function checks(runs: Run[]): string[] {
  const out: string[] = [];
  for (const size of SIZES) {
    const mine = runs.filter((r) => r.points === size);
    const base = mine.find((r) => r.release === REFERENCE)!;
    const same = mine.every((r) => r.paths.length === base.paths.length && r.paths.every((p, i) => p === base.paths[i]));
    const requests = mine.every((r) => r.requests === r.sim_requests) ? 'agent and simulator count the same HTTP requests' : 'agent and simulator request counts differ';
    out.push(
      `${size} points: same selection: ${same ? 'yes' : 'no'} (${mine.map((r) => `${r.release} ${r.selected}`).join(', ')}; ` +
        `the simulator holds ${base.expected} ${POINT_SOURCE} points); ${requests}`,
    );
  }
  return out;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const machine = {
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    node: process.version,
    loadavg_at_start: os.loadavg().map((x) => round(x)),
    date: new Date().toISOString(),
    latency: LATENCY ?? null,
  };
  log(`warm-up: 700 points on ${REFERENCE} and ${VERSIONS[0]} (not measured)`);
  for (const v of new Set([REFERENCE, VERSIONS[0]!])) await discover(v, 700);
  const runs: Run[] = [];
  for (const size of SIZES) {
    for (const v of VERSIONS) {
      log(`${v}: ${size} points, selector { dataserver: SIMPI, point_source: ${POINT_SOURCE} }`);
      runs.push(await discover(v, size));
    }
  }
  const total = round((performance.now() - t0) / 1000, 1);
  if (argv.json) {
    process.stdout.write(JSON.stringify({ machine, runs: runs.map(({ paths: _, ...r }) => r), checks: checks(runs), total_s: total }, null, 2) + '\n');
    return;
  }
  const out = [...table(runs), '', ...checks(runs), '', `machine: ${JSON.stringify(machine)}`, `total ${total} s`];
  process.stdout.write(out.join('\n') + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench-discovery: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
