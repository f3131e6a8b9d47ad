/**
 * One measured process of the benchmark (scripts/bench.ts runs it as a child so its peak RSS is
 * its own, not the simulator's). Prints one JSON line on stdout and nothing else there.
 *
 *   node node_modules/.cache/pi-agent-bench/child.js MODE JSON-ARGS|@ARGS-FILE   (esbuild bundle of this file, made by bench.ts)
 *
 * Modes:
 *   agent-extract  tag discovery + one timeseries cycle of the real agent (config file)
 *   agent-sink     one sink pass of the real agent (config file)
 *   agent-service  `pi-agent run` itself (runService: schedules, sources and the sink loop in one
 *                  process) until SIGTERM; the bench stops it once the warehouse holds every value
 *   naive          one /streams/{webId}/recorded request per tag, default maxCount, paging by hand,
 *                  row-by-row SQLite inserts (what the public connectors do)
 *   ceiling-http   POST /batch of recorded sub-requests, bodies read and discarded
 *   ceiling-sqlite prepared INSERT of N rows in one transaction (SQLite's raw insert rate)
 *   ceiling        ceiling-http then ceiling-sqlite in one process (`extra.http`, `extra.sqlite`)
 */
import Database from 'better-sqlite3';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { request } from 'undici';

/**
 * The agent's modules load only in the agent modes (the bundle is split at this import): the
 * baselines then start without the SQL driver, Arrow and parquet-wasm, seconds on a loaded machine.
 */
async function agentModules(): Promise<{
  loadConfig: typeof import('../../agent/config/load.js').loadConfig;
  bareLogger: typeof import('../../agent/observe/log.js').bareLogger;
  cycle: {
    openAgent: typeof import('../../agent/service/agent.js').openAgent;
    runTagsSource: typeof import('../../agent/sources/tags/source.js').runTagDiscovery;
    runTimeseriesSource: typeof import('../../agent/sources/timeseries/source.js').runTimeseriesSource;
    runSink: typeof import('../../agent/service/upload.js').uploadBuffered;
  };
  runService: typeof import('../../agent/service/run.js').runService;
}> {
  const [{ loadConfig }, { bareLogger }, { openAgent }, { runTagDiscovery }, { runTimeseriesSource }, { uploadBuffered }, { tuneHeap }, { runService }] =
    await Promise.all([
      import('../../agent/config/load.js'),
      import('../../agent/observe/log.js'),
      import('../../agent/service/agent.js'),
      import('../../agent/sources/tags/source.js'),
      import('../../agent/sources/timeseries/source.js'),
      import('../../agent/service/upload.js'),
      import('../../agent/service/heap.js'),
      import('../../agent/service/run.js'),
    ]);
  const cycle = { openAgent, runTagsSource: runTagDiscovery, runTimeseriesSource, runSink: uploadBuffered };
  // As `pi-agent` does at start (agent/cli/main.ts): the agent is measured as it runs.
  tuneHeap();
  return { loadConfig, bareLogger, cycle, runService };
}

interface Out {
  values: number;
  requests: number;
  bytes_received: number;
  /** Seconds of the measured work only (process start and module loading excluded). */
  work_s: number;
  extra?: Record<string, unknown>;
}

const now = (): number => performance.now() / 1000;

async function agentExtract(a: { config: string; skipTags?: boolean }): Promise<Out> {
  const {
    loadConfig,
    bareLogger,
    cycle: { openAgent, runTagsSource, runTimeseriesSource },
  } = await agentModules();
  const config = loadConfig(a.config, { checkPermissions: false });
  const agent = await openAgent(config, bareLogger('warn'));
  try {
    const t0 = now();
    let tags = 0;
    if (!a.skipTags) tags = (await runTagsSource(agent)).length;
    const t1 = now();
    const r = await runTimeseriesSource(agent);
    const t2 = now();
    const st = agent.store.stats();
    return {
      values: r.values,
      requests: agent.client.stats.requests,
      bytes_received: agent.client.stats.bytesReceived,
      work_s: t2 - t1,
      extra: {
        tags_discovered: tags,
        tags_s: t1 - t0,
        timeseries_requests: r.requests,
        updates_requests: r.streamUpdates?.requests ?? 0,
        rereads: r.rereads,
        rereads_narrowed: r.narrowed,
        rereads_read_ahead: r.streamUpdates?.readAhead ?? 0,
        commits: r.commits,
        errors: r.errors.size,
        paused: r.paused,
        inserts: r.inserts,
        updates: r.updates,
        deletes: r.deletes,
        buffered_rows: st.pending_rows,
        buffered_bytes: st.bytes,
        batches: st.sealed_batches,
      },
    };
  } finally {
    await agent.close();
  }
}

async function agentSink(a: { config: string }): Promise<Out> {
  const {
    loadConfig,
    bareLogger,
    cycle: { openAgent, runSink },
  } = await agentModules();
  const config = loadConfig(a.config, { checkPermissions: false });
  const agent = await openAgent(config, bareLogger('warn'));
  try {
    const before = agent.store.stats();
    const t0 = now();
    const r = await runSink(agent);
    const t1 = now();
    const after = agent.store.stats();
    return {
      values: r.rows,
      requests: 0,
      bytes_received: 0,
      work_s: t1 - t0,
      extra: { units: r.units, rows_before: before.pending_rows, bytes_before: before.bytes, rows_left: after.pending_rows },
    };
  } finally {
    await agent.close();
  }
}

/**
 * The service as `pi-agent run` runs it, until SIGTERM (sent by the bench once the warehouse holds
 * every value). The figures are the bench's (warehouse rows over time, from the spawn); this
 * reports the process's own: peak RSS and CPU.
 */
async function agentService(a: { config: string }): Promise<Out> {
  const { loadConfig, bareLogger, runService } = await agentModules();
  const config = loadConfig(a.config, { checkPermissions: false });
  const stop = new AbortController();
  process.once('SIGTERM', () => stop.abort());
  const t0 = now();
  // BENCH_MEM_TRACE=FILE: process.memoryUsage() every second, one JSON line each (where the peak is).
  const trace = process.env.BENCH_MEM_TRACE;
  const sampler = trace
    ? setInterval(() => {
        const m = process.memoryUsage();
        const mb = (x: number): number => Math.round(x / 1048576);
        // Linux: the resident set split into anonymous memory (heaps) and mapped files (code).
        const smaps: Record<string, number> = {};
        try {
          for (const [, k, kb] of readFileSync('/proc/self/smaps_rollup', 'utf8').matchAll(/^(Rss|Anonymous|Shared_Clean|Private_Clean):\s+(\d+) kB/gm))
            smaps[k!] = Math.round(Number(kb) / 1024);
        } catch {
          /* not Linux */
        }
        appendFileSync(
          trace,
          `${JSON.stringify({ s: Math.round(now() - t0), rss: mb(m.rss), heapTotal: mb(m.heapTotal), heapUsed: mb(m.heapUsed), external: mb(m.external), arrayBuffers: mb(m.arrayBuffers), ...smaps })}\n`,
        );
      }, 1000)
    : undefined;
  sampler?.unref();
  const code = await runService(config, bareLogger('warn'), stop.signal);
  clearInterval(sampler);
  if (code !== 'ok') throw new Error(`runService returned ${code}`);
  return { values: 0, requests: 0, bytes_received: 0, work_s: now() - t0 };
}

interface Item {
  Timestamp: string;
  Value: unknown;
  Good?: boolean;
  Questionable?: boolean;
  Substituted?: boolean;
  Annotated?: boolean;
  UnitsAbbreviation?: string;
}

async function getJson(url: string, counters: { requests: number; bytes: number }): Promise<unknown> {
  const res = await request(url, { method: 'GET', headers: { accept: 'application/json' } });
  const buf = Buffer.from(await res.body.arrayBuffer());
  counters.requests++;
  counters.bytes += buf.length;
  if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode} from ${url}: ${buf.toString('utf8').slice(0, 200)}`);
  return JSON.parse(buf.toString('utf8')) as unknown;
}

/**
 * The public-connector way: sequential, one tag at a time, maxCount default (1000), next page from
 * the last timestamp (dropping the values already seen at it), one INSERT statement per value.
 */
async function naive(a: { url: string; webIds: string[]; start: string; end: string; dir: string }): Promise<Out> {
  mkdirSync(a.dir, { recursive: true });
  const db = new Database(path.join(a.dir, 'naive.db'));
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE IF NOT EXISTS v (webid TEXT, ts TEXT, value TEXT, good INTEGER, questionable INTEGER, substituted INTEGER, annotated INTEGER)');
  const ins = db.prepare('INSERT INTO v VALUES (?, ?, ?, ?, ?, ?, ?)');
  const c = { requests: 0, bytes: 0 };
  let values = 0;
  const t0 = now();
  for (const w of a.webIds) {
    let start = a.start;
    let skipAtStart = 0;
    for (;;) {
      const q = new URLSearchParams({ startTime: start, endTime: a.end });
      const body = (await getJson(`${a.url}/streams/${encodeURIComponent(w)}/recorded?${q}`, c)) as { Items: Item[] };
      const items = body.Items;
      for (const it of items.slice(skipAtStart)) {
        // Row by row, autocommit: each value its own statement and transaction.
        ins.run(w, it.Timestamp, JSON.stringify(it.Value), it.Good ? 1 : 0, it.Questionable ? 1 : 0, it.Substituted ? 1 : 0, it.Annotated ? 1 : 0);
        values++;
      }
      if (items.length < 1000) break;
      const last = items[items.length - 1]!.Timestamp;
      skipAtStart = items.filter((it) => it.Timestamp === last).length;
      start = last;
    }
  }
  const t1 = now();
  db.close();
  return { values, requests: c.requests, bytes_received: c.bytes, work_s: t1 - t0 };
}

/** The simulator's serving rate for the agent's kind of request; bodies are counted, not parsed. */
async function ceilingHttp(a: {
  url: string;
  webIds: string[];
  windows: [string, string][];
  tagsPerRequest: number;
  maxCount: number;
  concurrency: number;
}): Promise<Out> {
  const jobs: { ids: string[]; start: string; end: string }[] = [];
  for (const [start, end] of a.windows) {
    for (let i = 0; i < a.webIds.length; i += a.tagsPerRequest) jobs.push({ ids: a.webIds.slice(i, i + a.tagsPerRequest), start, end });
  }
  let requests = 0;
  let bytes = 0;
  let values = 0;
  const countValues = (buf: Buffer): number => {
    // Count `"Timestamp"` occurrences instead of parsing: the client discards the data.
    let n = 0;
    let i = 0;
    const needle = Buffer.from('"Timestamp"');
    while ((i = buf.indexOf(needle, i)) >= 0) {
      n++;
      i += needle.length;
    }
    return n;
  };
  const t0 = now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const j = jobs[next++]!;
      const batch: Record<string, { Method: string; Resource: string }> = {};
      j.ids.forEach((w, k) => {
        const q = new URLSearchParams({
          startTime: j.start,
          endTime: j.end,
          maxCount: String(a.maxCount),
          boundaryType: 'Inside',
          selectedFields: 'Items.Timestamp;Items.Value;Items.Good;Items.Questionable;Items.Substituted;Items.Annotated;UnitsAbbreviation',
        });
        batch[String(k)] = { Method: 'GET', Resource: `${a.url}/streams/${encodeURIComponent(w)}/recorded?${q}` };
      });
      const post = async (): Promise<{ statusCode: number; buf: Buffer }> => {
        const res = await request(`${a.url}/batch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-requested-with': 'bench' },
          body: JSON.stringify(batch),
        });
        return { statusCode: res.statusCode, buf: Buffer.from(await res.body.arrayBuffer()) };
      };
      // A kept-alive socket the server closed meanwhile (its 5 s keepAliveTimeout on a loaded
      // machine) resets: send the request again, as any client would.
      const { statusCode, buf } = await post().catch(async (err: unknown) => {
        if ((err as { code?: string }).code !== 'ECONNRESET') throw err;
        return post();
      });
      const res = { statusCode };
      if (res.statusCode !== 207 && res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode} from /batch: ${buf.toString('utf8').slice(0, 200)}`);
      requests++;
      bytes += buf.length;
      values += countValues(buf);
    }
  };
  await Promise.all(Array.from({ length: a.concurrency }, () => worker()));
  return { values, requests, bytes_received: bytes, work_s: now() - t0 };
}

/** Rows shaped like pi_timeseries rows, inserted with one prepared statement in one transaction. */
function ceilingSqlite(a: { rows: number; dir: string }): Out {
  mkdirSync(a.dir, { recursive: true });
  const db = new Database(path.join(a.dir, 'ceiling.db'));
  db.pragma('journal_mode = WAL');
  db.exec(`CREATE TABLE IF NOT EXISTS v (site TEXT, tag_webid TEXT, timestamp INTEGER, ordinal INTEGER, value_double REAL,
    value_int INTEGER, value_string TEXT, good INTEGER, questionable INTEGER, substituted INTEGER, annotated INTEGER, units TEXT, ingested_at INTEGER, op TEXT)`);
  const ins = db.prepare('INSERT INTO v VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const webids = Array.from({ length: 1000 }, (_, i) => `F1DPbench0000000000000000000000000000000000AAAAU0lNUElcU0lNLkZMT0FUMzIuMDAw${i}`);
  const t0 = now();
  const chunk = 100_000;
  for (let done = 0; done < a.rows; done += chunk) {
    const n = Math.min(chunk, a.rows - done);
    db.transaction(() => {
      for (let k = 0; k < n; k++) {
        const i = done + k;
        ins.run(
          'plant-a',
          webids[i % 1000],
          1_767_225_600_000_000 + i * 5_000_000,
          0,
          Math.fround(i * 0.37),
          null,
          null,
          1,
          0,
          0,
          0,
          'degC',
          1_780_000_000_000_000,
          'insert',
        );
      }
    })();
  }
  const t1 = now();
  db.close();
  return { values: a.rows, requests: 0, bytes_received: 0, work_s: t1 - t0 };
}

async function main(): Promise<void> {
  const [mode, json] = process.argv.slice(2);
  const text = json?.startsWith('@') ? readFileSync(json.slice(1), 'utf8') : (json ?? '{}');
  const args = JSON.parse(text) as never;
  let out: Out;
  // CPU seconds of this process for the whole mode (setup included): a figure the other processes
  // sharing the machine distort less than wall time.
  const cpu0 = process.cpuUsage();
  switch (mode) {
    case 'agent-extract':
      out = await agentExtract(args);
      break;
    case 'agent-sink':
      out = await agentSink(args);
      break;
    case 'agent-service':
      out = await agentService(args);
      break;
    case 'naive':
      out = await naive(args);
      break;
    case 'ceiling-http':
      out = await ceilingHttp(args);
      break;
    case 'ceiling-sqlite':
      out = ceilingSqlite(args);
      break;
    case 'ceiling': {
      const a = args as { http: Parameters<typeof ceilingHttp>[0]; sqlite: Parameters<typeof ceilingSqlite>[0] };
      const c0 = process.cpuUsage();
      const http = await ceilingHttp(a.http);
      const c1 = process.cpuUsage(c0);
      const sqlite = ceilingSqlite(a.sqlite);
      const c2 = process.cpuUsage(c0);
      const cpu = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1e6;
      out = {
        values: http.values,
        requests: http.requests,
        bytes_received: http.bytes_received,
        work_s: http.work_s + sqlite.work_s,
        extra: { http: { ...http, cpu_s: cpu(c1) }, sqlite: { ...sqlite, cpu_s: cpu(c2) - cpu(c1) } },
      };
      break;
    }
    default:
      throw new Error(`unknown mode ${mode}`);
  }
  // maxRSS is in kilobytes: the peak resident set of this process over its whole life.
  const peak_rss_mb = process.resourceUsage().maxRSS / 1024;
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(JSON.stringify({ ...out, peak_rss_mb, cpu_s: (cpu.user + cpu.system) / 1e6 }) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench child: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
