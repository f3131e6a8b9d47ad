/**
 * Benchmark of the batch encoder: bytes per value and encode/decode time for a realistic
 * time-series mix. Prints figures; asserts nothing.
 *
 *   node --import tsx scripts/bench-batch.ts [--tags 1000] [--events 1000]
 */
import { parseArgs } from 'node:util';
import { concatBatches, decodeBatch, encodeBatch } from '../agent/batch/encode.js';
import { TABLES, type Row } from '../agent/batch/tables.js';

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

/** One tag's events the way PI archives them: mostly Float32 process values, some ints, digital and strings. */
export function timeseriesRows(tags: number, events: number, seed = 1): Row[] {
  const rand = rng(seed);
  const rows: Row[] = [];
  const start = Date.UTC(2026, 0, 1) * 1000;
  const ingested = Date.UTC(2026, 10, 26, 12) * 1000;
  for (let t = 0; t < tags; t++) {
    // A WebID-looking tag id: realistic length, shared prefix.
    const webid = `F1DPmN0Chf2_2UyKeQ3yZXAYgAAQAAAAUElTUlYwMVxTSU5VU09JRD${t.toString(36).padStart(6, '0')}`;
    const kind = t % 10; // 0-6 float, 7 int, 8 digital, 9 string
    let v = rand() * 100;
    let ts = start + Math.floor(rand() * 60) * 1_000_000;
    const units = kind < 7 ? ['degC', 'bar', 'm3/h', 'kW'][t % 4]! : null;
    // Most interfaces time-stamp whole seconds; some carry PI's 1/65536 s fractions (rounded to µs).
    const subSecond = t % 3 === 0;
    for (let e = 0; e < events; e++) {
      // Exception-reported data: irregular intervals.
      ts += 1_000_000 * (1 + Math.floor(rand() * 30));
      if (subSecond) ts = Math.floor(ts / 1e6) * 1e6 + Math.round(Math.floor(rand() * 65536) * (1e6 / 65536)) % 1_000_000;
      v += (rand() - 0.5) * 0.5;
      const row: Row = {
        site: 'plant-a', tag_webid: webid, timestamp: ts, ordinal: 0,
        value_double: null, value_int: null, value_string: null, value_bool: null, value_timestamp: null,
        digital_name: null, digital_code: null, is_system_state: false,
        good: true, questionable: false, substituted: false, annotated: false, units,
        ingested_at: ingested, op: 'insert',
      };
      if (kind < 7) row.value_double = Math.fround(v);
      else if (kind === 7) row.value_int = Math.round(v * 10);
      else if (kind === 8) { const code = Math.floor(rand() * 3); row.digital_code = code; row.digital_name = ['Open', 'Closed', 'Transit'][code]!; }
      else row.value_string = `Batch ${Math.floor(e / 50)} phase ${['fill', 'heat', 'hold', 'drain'][Math.floor(e / 12) % 4]}`;
      if (rand() < 0.002) { row.good = false; row.is_system_state = true; row.value_double = null; row.value_int = null; row.value_string = null; row.digital_name = 'I/O Timeout'; row.digital_code = 246; }
      rows.push(row);
    }
  }
  return rows;
}

/** Wall and CPU milliseconds of fn (CPU includes GC helper threads; on a busy machine wall >> CPU). */
function measure<T>(fn: () => T): [T, string] {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const r = fn();
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return [r, `${wall.toFixed(0)} ms wall, ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms cpu`];
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { tags: { type: 'string', default: '1000' }, events: { type: 'string', default: '1000' } } });
  const tags = Number(values.tags);
  const events = Number(values.events);
  const rows = timeseriesRows(tags, events);
  const table = TABLES.pi_timeseries;
  // Warm up the WebAssembly module and the JIT.
  encodeBatch(table, rows.slice(0, 1000));

  const [bytes, encodeT] = measure(() => encodeBatch(table, rows));
  // Time order across tags, as a multi-tag (streamset) response would interleave them.
  const interleaved = rows.slice().sort((a, b) => (a.timestamp as number) - (b.timestamp as number));
  const [, sortT] = measure(() => encodeBatch(table, interleaved));
  const [bytesUnsorted] = measure(() => encodeBatch(table, interleaved, { sort: false }));
  const [back, decodeT] = measure(() => decodeBatch(bytes));
  const tenth = rows.length / 10;
  const parts: Uint8Array[] = [];
  const [, partsT] = measure(() => { for (let i = 0; i < 10; i++) parts.push(encodeBatch(table, rows.slice(i * tenth, (i + 1) * tenth))); });
  const [merged, concatT] = measure(() => concatBatches(parts));

  const piJson = 150; // bytes of PI Web API JSON per recorded value (design.md)
  const per = (b: number): string => `${b} bytes = ${(b / rows.length).toFixed(2)} bytes/value`;
  console.log(`rows                        ${rows.length} (${tags} tags x ${events} events; PI JSON ~${piJson} bytes/value)`);
  console.log(`one batch, sorted input     ${per(bytes.length)}; encode ${encodeT}`);
  console.log(`time-interleaved input      encode incl. sort ${sortT}`);
  console.log(`same rows, left unsorted    ${per(bytesUnsorted.length)}`);
  console.log(`decode                      ${back.length} rows; ${decodeT}`);
  console.log(`10 batches of ${tenth}      ${per(parts.reduce((s, p) => s + p.length, 0))}; encode ${partsT}`);
  console.log(`concat of the 10            ${per(merged.length)}; ${concatT}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
