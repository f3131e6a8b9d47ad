/**
 * Child of scripts/bench-rss.ts (run as an esbuild bundle, like scripts/bench/child.ts): one mode
 * of the real agent, sampling its memory.
 *   discover  tag discovery only (fills the store's `tag:` entries)
 *   extract   one timeseries cycle over the tags already in the store
 * Prints one JSON line: peak RSS (maxRSS), sampled peaks of RSS and heapUsed, and the heap after
 * each phase.
 */
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';
import * as parquet from 'parquet-wasm';
import { loadConfig } from '../../agent/config/load.js';
import { bareLogger } from '../../agent/observe/log.js';
import { knownTags, runTagDiscovery as runTagsSource } from '../../agent/sources/tags/source.js';
import { openAgent } from '../../agent/service/agent.js';
import { runTimeseriesSource } from '../../agent/sources/timeseries/source.js';
import { Store } from '../../agent/store/store.js';

interface Stmt {
  get(...a: unknown[]): unknown;
}
interface Db {
  prepare(sql: string): Stmt;
}

/**
 * BENCH_RSS_CACHED_GET=1: Store.getProgress with one prepared statement per database instead of one
 * per call, to measure that change to agent/store/store.ts before making it.
 */
if (process.env.BENCH_RSS_CACHED_GET === '1') {
  const cache = new WeakMap<Db, Stmt>();
  Store.prototype.getProgress = function getProgress<T>(this: Store, key: string): T | undefined {
    const db = (this as unknown as { db: Db }).db;
    let st = cache.get(db);
    if (!st) cache.set(db, (st = db.prepare('SELECT value FROM progress WHERE key = ?')));
    const row = st.get(key) as { value: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.value) as T);
  };
}

const mb = (b: number): number => Math.round((b / 1048576) * 10) / 10;
const gc = (globalThis as { gc?: () => void }).gc;

async function main(): Promise<void> {
  // BENCH_RSS_V8_FLAGS: V8 flags set at run time (v8.setFlagsFromString), as an entry point could do
  // where node's command line is not available (the single binary).
  if (process.env.BENCH_RSS_V8_FLAGS) v8.setFlagsFromString(process.env.BENCH_RSS_V8_FLAGS);
  const [mode, cfgFile] = process.argv.slice(2);
  const config = loadConfig(cfgFile!, { checkPermissions: false });
  const agent = await openAgent(config, bareLogger('warn'));
  const phases: Record<string, Record<string, number>> = {};
  const mark = (name: string): void => {
    gc?.();
    const m = process.memoryUsage();
    // RssAnon: malloc'd and V8 pages; RssFile: mapped code and files.
    const status = readFileSync('/proc/self/status', 'utf8');
    const kb = (f: string): number => Number(new RegExp(`${f}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
    phases[name] = {
      rss: mb(m.rss),
      rss_anon: mb(kb('RssAnon')),
      rss_file: mb(kb('RssFile')),
      heap: mb(m.heapUsed),
      heap_total: mb(m.heapTotal),
      external: mb(m.external),
      array_buffers: mb(m.arrayBuffers),
      wasm: mb(parquet.wasmMemory().buffer.byteLength),
    };
  };
  let peakHeap = 0;
  let peakRss = 0;
  let peakExternal = 0;
  let atPeak: Record<string, number> = {};
  const sample = setInterval(() => {
    const m = process.memoryUsage();
    peakHeap = Math.max(peakHeap, m.heapUsed);
    if (m.rss > peakRss) {
      peakRss = m.rss;
      atPeak = {
        heap: mb(m.heapUsed),
        heap_total: mb(m.heapTotal),
        external: mb(m.external),
        array_buffers: mb(m.arrayBuffers),
        wasm: mb(parquet.wasmMemory().buffer.byteLength),
      };
    }
    peakExternal = Math.max(peakExternal, m.external);
  }, 20);
  const out: Record<string, unknown> = { mode };
  try {
    mark('open');
    if (mode === 'discover') {
      out.tags = (await runTagsSource(agent)).length;
      mark('discovered');
    } else {
      out.tags = knownTags(agent.store).length;
      mark('known-tags');
      const t0 = performance.now();
      const r = await runTimeseriesSource(agent);
      out.work_s = Math.round(performance.now() - t0) / 1000;
      out.values = r.values;
      out.requests = r.requests;
      out.errors = r.errors.size;
      mark('cycle-done');
    }
  } finally {
    clearInterval(sample);
    await agent.close();
  }
  out.phases = phases;
  out.sampled_peak_heap_mb = mb(peakHeap);
  out.sampled_peak_rss_mb = mb(peakRss);
  out.sampled_peak_external_mb = mb(peakExternal);
  out.at_sampled_peak_rss = atPeak;
  out.heap_limit_mb = mb(v8.getHeapStatistics().heap_size_limit);
  out.peak_rss_mb = Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench-rss child: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
