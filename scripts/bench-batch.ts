/**
 * Benchmark of the batch encoder (agent/batch): rows/s, bytes per value and peak RSS of
 * sealing one batch, plus decode and concat times, for two pi_timeseries mixes:
 *   plant  — a realistic plant: mostly Float32 process values quantised to instrument resolution,
 *            regular 5 s timestamps, some Float64, ints, digital and string tags, mostly good quality;
 *   random — the worst case: Float64 values with random mantissas at irregular sub-second times
 *            (like the simulator's FAST tags);
 *   interleaved — (optional) the plant rows in time order across tags, as a streamset response
 *            returns them: adds the cost of sorting.
 * Each scenario runs in a fresh child process, so its peak RSS is its own. Prints figures; asserts
 * nothing.
 *
 *   node --import tsx scripts/bench-batch.ts [--rows 1000000] [--tags 1000] [--only plant,random,interleaved]
 *        [--parquet default,bss] [--encoder DIR] [--json]
 *
 * --parquet runs each scenario once per writer choice: `default` (encodings every Databricks reader
 * takes), `bss` (the sink.parquet.byte_stream_split opt-in: doubles BYTE_STREAM_SPLIT where smaller,
 * the default before issue 17). Both in one run compare them on the same machine load.
 *
 * --encoder DIR loads another version of agent/batch to compare before/after: sealBatch and
 * encodeBatch from DIR/encode.ts, decodeBatch and concatBatches from DIR/decode.ts and
 * DIR/concat.ts (or, in versions before these files, from encode.ts). Inside the repository, so
 * that its packages resolve, and with package.json, so that the writer's name (with the version) is
 * the same, e.g.
 *   mkdir -p tmp/before && git archive REV agent package.json | tar -x -C tmp/before
 *   node --import tsx scripts/bench-batch.ts --encoder tmp/before/agent/batch
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TABLES, type Row } from '../agent/batch/tables.js';
import { tsRow } from '../test/helpers/batch.js';

type Encoder = typeof import('../agent/batch/encode.js') & typeof import('../agent/batch/decode.js') & typeof import('../agent/batch/concat.js');

/** The encoder's functions from one version of agent/batch (`dir`, default this one). */
async function loadEncoder(dir: string | undefined): Promise<Encoder> {
  const base = dir ? path.resolve(dir) : fileURLToPath(new URL('../agent/batch/', import.meta.url));
  const files = ['encode.ts', 'decode.ts', 'concat.ts'].map((f) => path.join(base, f)).filter((f) => existsSync(f));
  const modules = await Promise.all(files.map((f) => import(pathToFileURL(f).href) as Promise<Partial<Encoder>>));
  return Object.assign({}, ...modules) as Encoder;
}

/** Deterministic PRNG (mulberry32) so runs are comparable. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const START_US = Date.UTC(2026, 0, 1) * 1000;
const INGESTED_US = Date.UTC(2026, 10, 26, 12) * 1000;

function webid(t: number): string {
  // A WebID-looking tag id: realistic length, shared prefix.
  return `F1DPmN0Chf2_2UyKeQ3yZXAYgAAQAAAAUElTUlYwMVxTSU5VU09JRD${t.toString(36).padStart(6, '0')}`;
}

function baseRow(tag: string, ts: number, units: string | null): Row {
  return tsRow({ tag_webid: tag, timestamp: ts, units, ingested_at: INGESTED_US });
}

/**
 * A plant's tags at a regular 5 s scan, in tag order: 70% Float32 process values (a slow drift plus
 * instrument noise, quantised to the instrument's resolution, then stored as float32 by PI), 10%
 * Float64 (calculated values), 8% Int32, 7% digital, 5% string; ~0.2% system states
 * (I/O Timeout), 0.5% questionable.
 */
export function plantRows(tags: number, events: number, seed = 1): Row[] {
  const rand = rng(seed);
  const rows: Row[] = [];
  for (let t = 0; t < tags; t++) {
    const tag = webid(t);
    const k = t % 100;
    const kind = k < 70 ? 'f32' : k < 80 ? 'f64' : k < 88 ? 'int' : k < 95 ? 'digital' : 'string';
    const units = kind === 'f32' || kind === 'f64' ? ['degC', 'bar', 'm3/h', 'kW', '%'][t % 5]! : null;
    const resolution = [0.1, 0.01, 0.001, 0.5][t % 4]!;
    const base = 10 + rand() * 200;
    let drift = 0;
    let ts = START_US + (t % 5) * 1_000_000;
    let state = 0;
    for (let e = 0; e < events; e++, ts += 5_000_000) {
      const row = baseRow(tag, ts, units);
      drift += (rand() - 0.5) * 0.05 * base * 0.01;
      const noise = (rand() - 0.5) * base * 0.002;
      if (kind === 'f32') row.value_double = Math.fround(Math.round((base + drift + noise) / resolution) * resolution);
      else if (kind === 'f64') row.value_double = (base + drift + noise) * 1.0000001;
      else if (kind === 'int') row.value_int = Math.floor(e / 12) + t * 1000;
      else if (kind === 'digital') {
        if (rand() < 0.01) state = (state + 1) % 3;
        row.digital_code = state;
        row.digital_name = ['Open', 'Closed', 'Transit'][state]!;
      } else row.value_string = `Batch ${Math.floor(e / 720)} phase ${['fill', 'heat', 'hold', 'drain'][Math.floor(e / 180) % 4]}`;
      const q = rand();
      if (q < 0.002) {
        row.good = false;
        row.is_system_state = true;
        row.value_double = null;
        row.value_int = null;
        row.value_string = null;
        row.digital_name = 'I/O Timeout';
        row.digital_code = 246;
      } else if (q < 0.007) row.questionable = true;
      rows.push(row);
    }
  }
  return rows;
}

/** Worst case: Float64 values with random mantissas, ~4 events/s at irregular 1/65536 s times. */
export function randomRows(tags: number, events: number, seed = 2): Row[] {
  const rand = rng(seed);
  const rows: Row[] = [];
  for (let t = 0; t < tags; t++) {
    const tag = webid(t);
    const base = 20 + rand() * 80;
    const amp = 5 + rand() * 17;
    let ticks = Math.floor(rand() * 65536);
    for (let e = 0; e < events; e++) {
      ticks += 4096 + Math.floor(rand() * (32768 - 4096));
      const ts = START_US + Math.round((ticks * 1e6) / 65536);
      const row = baseRow(tag, ts, 'degC');
      row.value_double = base + amp * Math.sin(ticks / 65536 / 600) + (rand() - 0.5) * amp * 0.1;
      rows.push(row);
    }
  }
  return rows;
}

interface ScenarioResult {
  name: string;
  parquet: string;
  rows: number;
  bytes: number;
  bytes_per_value: number;
  encode_wall_ms: number;
  encode_cpu_ms: number;
  rows_per_s: number;
  /** Rows per CPU-second (user + system, GC threads included): steadier than wall on a shared machine. */
  rows_per_cpu_s: number;
  rss_before_mb: number;
  /** High-water RSS before the encode (row generation); peak_rss_mb above it is the encoder's. */
  max_rss_before_mb: number;
  peak_rss_mb: number;
  encode_rss_mb: number;
  wasm_memory_mb: number;
  decode_wall_ms: number;
  concat_wall_ms: number;
}

const MB = 1024 * 1024;

async function child(name: string, n: number, tags: number, encoderDir: string | undefined, variant: string): Promise<ScenarioResult> {
  const enc = await loadEncoder(encoderDir);
  const opts = { byteStreamSplit: variant === 'bss' };
  const parquet = await import('parquet-wasm');
  const table = TABLES.pi_timeseries;
  const events = Math.ceil(n / tags);
  let rows = (name === 'random' ? randomRows : plantRows)(tags, events).slice(0, n);
  // Time order across tags, as a multi-tag (streamset) response interleaves them: the encoder sorts.
  if (name === 'interleaved')
    rows = rows
      .map((r, i) => ({ r, i }))
      .sort((a, b) => (a.r.timestamp as number) - (b.r.timestamp as number) || a.i - b.i)
      .map((x) => x.r);
  // Warm up the WebAssembly module and the JIT on another slice of the same shape.
  enc.sealBatch(table, rows.slice(0, 2000), opts);
  (globalThis as { gc?: () => void }).gc?.();
  const rssBefore = process.memoryUsage().rss;
  const maxBefore = process.resourceUsage().maxRSS * 1024;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const sealed = enc.sealBatch(table, rows, opts);
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  // resourceUsage().maxRSS is in KiB.
  const peak = process.resourceUsage().maxRSS * 1024;
  const wasm = parquet.wasmMemory().buffer.byteLength;
  const t1 = performance.now();
  const back = enc.decodeBatch(sealed.data);
  const decodeWall = performance.now() - t1;
  if (back.length !== rows.length) throw new Error(`decoded ${back.length} rows of ${rows.length}`);
  back.length = 0;
  const tenth = Math.ceil(rows.length / 10);
  const parts: Uint8Array[] = [];
  for (let i = 0; i < rows.length; i += tenth) parts.push(enc.encodeBatch(table, rows.slice(i, i + tenth), opts));
  const t2 = performance.now();
  enc.concatBatches(parts, opts);
  const concatWall = performance.now() - t2;
  return {
    name,
    parquet: variant,
    rows: rows.length,
    bytes: sealed.data.length,
    bytes_per_value: sealed.data.length / rows.length,
    encode_wall_ms: Math.round(wall),
    encode_cpu_ms: Math.round((cpu.user + cpu.system) / 1000),
    rows_per_s: Math.round(rows.length / (wall / 1000)),
    rows_per_cpu_s: Math.round(rows.length / ((cpu.user + cpu.system) / 1e6)),
    rss_before_mb: +(rssBefore / MB).toFixed(1),
    max_rss_before_mb: +(maxBefore / MB).toFixed(1),
    peak_rss_mb: +(peak / MB).toFixed(1),
    encode_rss_mb: +((peak - rssBefore) / MB).toFixed(1),
    wasm_memory_mb: +(wasm / MB).toFixed(1),
    decode_wall_ms: Math.round(decodeWall),
    concat_wall_ms: Math.round(concatWall),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '1000000' },
      tags: { type: 'string', default: '1000' },
      only: { type: 'string', default: 'plant,random' },
      encoder: { type: 'string' },
      parquet: { type: 'string', default: 'default' },
      json: { type: 'boolean', default: false },
      child: { type: 'string' },
    },
  });
  const n = Number(values.rows);
  const tags = Number(values.tags);
  if (values.child) {
    process.stdout.write(`${JSON.stringify(await child(values.child, n, tags, values.encoder, values.parquet))}\n`);
    return;
  }
  const results: ScenarioResult[] = [];
  for (const name of values.only.split(',')) {
    for (const variant of values.parquet.split(',')) {
      const args = ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--child', name, '--rows', String(n), '--tags', String(tags), '--parquet', variant];
      if (values.encoder) args.push('--encoder', values.encoder);
      const r = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
      if (r.status !== 0) throw new Error(`scenario ${name} (${variant}) failed (exit ${r.status})`);
      results.push(JSON.parse(r.stdout.trim().split('\n').pop()!) as ScenarioResult);
    }
  }
  const machine = { cpus: (await import('node:os')).cpus().length, node: process.version, load: (await import('node:os')).loadavg().map((l) => +l.toFixed(1)) };
  if (values.json) {
    console.log(JSON.stringify({ machine, encoder: values.encoder ?? 'agent/batch', scenarios: results }));
    return;
  }
  console.log(`encoder ${values.encoder ?? 'agent/batch'}; ${machine.cpus} CPUs, Node ${machine.node}, load ${machine.load.join(' ')}`);
  console.log('scenario  parquet  rows       B/value  rows/s wall/cpu    encode wall/cpu ms  RSS before/peak/encode MB  wasm MB  decode ms  concat(10) ms');
  for (const r of results) {
    console.log(
      `${r.name.padEnd(9)} ${r.parquet.padEnd(8)} ${String(r.rows).padEnd(10)} ${r.bytes_per_value.toFixed(2).padEnd(8)} ${`${r.rows_per_s} / ${r.rows_per_cpu_s}`.padEnd(18)} ` +
        `${`${r.encode_wall_ms} / ${r.encode_cpu_ms}`.padEnd(19)} ${`${r.rss_before_mb} / ${r.peak_rss_mb} / ${r.encode_rss_mb}`.padEnd(26)} ` +
        `${String(r.wasm_memory_mb).padEnd(8)} ${String(r.decode_wall_ms).padEnd(10)} ${r.concat_wall_ms}`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
