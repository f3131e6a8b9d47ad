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

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { tags: { type: 'string', default: '1000' }, events: { type: 'string', default: '1000' } } });
  const tags = Number(values.tags);
  const events = Number(values.events);
  const rows = timeseriesRows(tags, events);
  const table = TABLES.pi_timeseries;
  // Warm up the WebAssembly module and the JIT.
  encodeBatch(table, rows.slice(0, 1000));

  let t0 = performance.now();
  const bytes = encodeBatch(table, rows);
  const encodeMs = performance.now() - t0;

  const shuffled = [...rows].sort(() => 0).reverse();
  t0 = performance.now();
  const bytesUnsorted = encodeBatch(table, shuffled, { sort: false });
  const unsortedMs = performance.now() - t0;
  t0 = performance.now();
  encodeBatch(table, shuffled);
  const sortMs = performance.now() - t0;

  t0 = performance.now();
  const back = decodeBatch(bytes);
  const decodeMs = performance.now() - t0;

  const parts = [];
  for (let i = 0; i < 10; i++) parts.push(encodeBatch(table, rows.slice((i * rows.length) / 10, ((i + 1) * rows.length) / 10)));
  t0 = performance.now();
  const merged = concatBatches(parts);
  const concatMs = performance.now() - t0;

  const piJson = 150; // bytes of PI Web API JSON per recorded value (design.md)
  console.log(`rows                      ${rows.length} (${tags} tags x ${events} events)`);
  console.log(`parquet bytes             ${bytes.length}  = ${(bytes.length / rows.length).toFixed(2)} bytes/value (PI JSON ~${piJson})`);
  console.log(`encode (sorted input)     ${encodeMs.toFixed(0)} ms`);
  console.log(`encode (reverse, sorted)  ${sortMs.toFixed(0)} ms`);
  console.log(`unsorted file             ${bytesUnsorted.length} = ${(bytesUnsorted.length / rows.length).toFixed(2)} bytes/value (${unsortedMs.toFixed(0)} ms)`);
  console.log(`decode                    ${decodeMs.toFixed(0)} ms (${back.length} rows)`);
  console.log(`concat 10 batches         ${concatMs.toFixed(0)} ms, ${merged.length} bytes = ${(merged.length / rows.length).toFixed(2)} bytes/value`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
