/**
 * Upload-path benchmark (issue 4): N sealed batches of pi_timeseries rows in a store, then one
 * forwardAll into the warehouse emulator by a child process (an esbuild bundle, as scripts/bench.ts
 * does, so its peak RSS is the uploader's own). Prints values/s and peak RSS; asserts nothing.
 *
 *   node --import tsx scripts/bench-upload.ts [--batches 140] [--rows 5000] [--tags 200]
 *        [--change-every 10] [--max-bytes 256MB] [--max-batches N] [--max-merge-rows N] [--json]
 *
 * Every `--change-every`-th batch re-sends 5% of an earlier batch's rows as `update` (what a
 * timeseries lookback does), so the backlog needs COPY INTO and MERGE units. 0 = inserts only.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));

interface ChildArgs {
  stateDir: string;
  host: string;
  port: number;
  path: string;
  token: string;
  caPath: string;
  maxBytes: number;
  maxBatches?: number;
  maxMergeRows?: number;
}
interface ChildOut {
  units: number;
  rows: number;
  work_s: number;
  peak_rss_mb: number;
  cpu_s: number;
  rss_before_mb: number;
  end_heap_mb: number;
  end_external_mb: number;
  peak_heap_total_mb: number;
  peak_external_mb: number;
}

async function child(a: ChildArgs): Promise<void> {
  const { readFileSync } = await import('node:fs');
  const { Store } = await import('../agent/store/store.js');
  const { DatabricksSink } = await import('../agent/sinks/databricks/sink.js');
  const { forwardAll } = await import('../agent/sinks/forward.js');
  const store = Store.open({ stateDir: a.stateDir, site: 'bench' });
  const sink = new DatabricksSink({
    host: a.host,
    port: a.port,
    httpPath: a.path,
    auth: { type: 'token', token: a.token },
    caPem: readFileSync(a.caPath, 'utf8'),
    catalog: 'main',
    schema: 'pi',
    volume: 'pi_agent',
    site: 'bench',
    stagingDir: path.join(a.stateDir, 'staging'),
  });
  const rss_before_mb = process.memoryUsage().rss / 1024 ** 2;
  // Where the peak comes from (V8 heap, buffers outside it, or neither: native/wasm memory).
  const peak = { heap_total: 0, external: 0, array_buffers: 0 };
  const sample = setInterval(() => {
    const m = process.memoryUsage();
    peak.heap_total = Math.max(peak.heap_total, m.heapTotal / 1024 ** 2);
    peak.external = Math.max(peak.external, m.external / 1024 ** 2);
    peak.array_buffers = Math.max(peak.array_buffers, m.arrayBuffers / 1024 ** 2);
  }, 20);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await forwardAll(store, sink, {
    maxBytes: a.maxBytes,
    ...(a.maxBatches ? { maxBatches: a.maxBatches } : {}),
    ...(a.maxMergeRows ? { maxMergeRows: a.maxMergeRows } : {}),
  });
  const work_s = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sample);
  await sink.close();
  store.close();
  const m = process.memoryUsage();
  const out: ChildOut = {
    units: r.units,
    rows: r.rows,
    work_s,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    cpu_s: (cpu.user + cpu.system) / 1e6,
    rss_before_mb,
    end_heap_mb: m.heapUsed / 1024 ** 2,
    end_external_mb: m.external / 1024 ** 2,
    peak_heap_total_mb: peak.heap_total,
    peak_external_mb: peak.external,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

function bytes(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB)?$/i.exec(s.trim());
  if (!m) throw new Error(`not a size: ${s}`);
  return Math.round(Number(m[1]) * { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[(m[2] ?? 'B').toUpperCase() as 'B']);
}

async function main(): Promise<void> {
  const { values: argv } = parseArgs({
    options: {
      child: { type: 'string' },
      batches: { type: 'string', default: '140' },
      rows: { type: 'string', default: '5000' },
      tags: { type: 'string', default: '200' },
      'change-every': { type: 'string', default: '10' },
      'max-bytes': { type: 'string', default: '256MB' },
      'max-batches': { type: 'string' },
      'max-merge-rows': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (argv.child !== undefined) return child(JSON.parse(argv.child) as ChildArgs);

  const { build } = await import('esbuild');
  const { Store } = await import('../agent/store/store.js');
  const { startWarehouse } = await import('../test/sim/databricks/server.js');
  const N = Number(argv.batches);
  const ROWS = Number(argv.rows);
  const TAGS = Number(argv.tags);
  const EVERY = Number(argv['change-every']);
  const work = mkdtempSync(path.join(os.tmpdir(), 'pi-bench-upload-'));
  const bundleDir = path.join(here, '..', 'node_modules', '.cache', 'pi-agent-bench-upload');
  mkdirSync(bundleDir, { recursive: true });
  const bundle = path.join(bundleDir, `bench-upload-${process.pid}.mjs`);
  const w = await startWarehouse({ dataDir: path.join(work, 'warehouse') });
  try {
    await build({
      entryPoints: [fileURLToPath(import.meta.url)],
      bundle: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      outfile: bundle,
      logLevel: 'warning',
    });
    const stateDir = path.join(work, 'state');
    const store = Store.open({ stateDir, site: 'bench' });
    const T0 = Date.UTC(2026, 0, 1) * 1000;
    const ING = Date.UTC(2026, 10, 26) * 1000;
    const tag = (k: number) => `F1DPbenchTAG${String(k).padStart(6, '0')}AAAAAAAAAAAAAAAAAAAA`;
    let values = 0;
    let changed = 0;
    const perTag = Math.ceil(ROWS / TAGS);
    for (let b = 0; b < N; b++) {
      const rows = [];
      for (let i = 0; i < ROWS; i++) {
        const k = i % TAGS;
        const n = b * perTag + Math.floor(i / TAGS);
        rows.push({
          site: 'bench',
          tag_webid: tag(k),
          timestamp: T0 + n * 5_000_000,
          ordinal: 0,
          value_double: Math.sin(n / 10 + k),
          good: true,
          ingested_at: ING,
          op: 'insert',
        });
      }
      if (EVERY > 0 && b > 0 && b % EVERY === 0) {
        // 5% of the previous batch's events edited: the same keys, op update.
        for (let i = 0; i < ROWS; i += 20) {
          const k = i % TAGS;
          const n = (b - 1) * perTag + Math.floor(i / TAGS);
          rows.push({ site: 'bench', tag_webid: tag(k), timestamp: T0 + n * 5_000_000, ordinal: 0, value_double: -1, good: true, ingested_at: ING, op: 'update' });
          changed++;
        }
      }
      values += rows.length;
      store.commitStep([{ table: 'pi_timeseries', rows }], []);
    }
    const st = store.stats();
    store.close();
    const args: ChildArgs = { stateDir, host: w.host, port: w.port, path: w.path, token: w.token, caPath: w.caPath, maxBytes: bytes(argv['max-bytes']) };
    if (argv['max-batches'] !== undefined) args.maxBatches = Number(argv['max-batches']);
    if (argv['max-merge-rows'] !== undefined) args.maxMergeRows = Number(argv['max-merge-rows']);
    const t0 = performance.now();
    const out = await new Promise<ChildOut>((resolve, reject) => {
      const c = spawn(process.execPath, [bundle, '--child', JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      c.stdout.on('data', (d: Buffer) => {
        text += d.toString();
      });
      c.on('error', reject);
      c.on('exit', (code) => (code === 0 ? resolve(JSON.parse(text.trim().split('\n').pop()!) as ChildOut) : reject(new Error(`child exited ${code}: ${text}`))));
    });
    const wall = (performance.now() - t0) / 1000;
    const landed = Number((await w.query('SELECT count(*) AS n FROM pi.pi_timeseries'))[0]!.n);
    const result = {
      batches: N,
      values,
      changed_rows: changed,
      buffered_bytes: st.bytes,
      units: out.units,
      rows_uploaded: out.rows,
      warehouse_rows: landed,
      expected_warehouse_rows: values - changed,
      values_per_s: Math.round(out.rows / out.work_s),
      work_s: Number(out.work_s.toFixed(2)),
      cpu_s: Number(out.cpu_s.toFixed(1)),
      wall_s: Number(wall.toFixed(1)),
      peak_rss_mb: Math.round(out.peak_rss_mb),
      rss_before_upload_mb: Math.round(out.rss_before_mb),
      end_heap_mb: Math.round(out.end_heap_mb),
      end_external_mb: Math.round(out.end_external_mb),
      peak_heap_total_mb: Math.round(out.peak_heap_total_mb),
      peak_external_mb: Math.round(out.peak_external_mb),
    };
    if (argv.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else for (const [k, v] of Object.entries(result)) process.stdout.write(`${k.padEnd(24)} ${v}\n`);
  } finally {
    await w.close();
    rmSync(bundle, { force: true });
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
