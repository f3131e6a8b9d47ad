/**
 * The encoder's WebAssembly memory (parquet-wasm's heap grows to fit the largest slice and never
 * shrinks, so it is RSS for the rest of the agent's life): slices are cut by bytes as well as rows.
 * Its own file, so the heap starts fresh (tap runs each file in its own process); each test
 * checks the memory before it decodes (reading grows it too).
 */
import t from 'tap';
import * as parquet from 'parquet-wasm';
import { concatBatches } from '../../agent/batch/concat.js';
import { decodeBatch } from '../../agent/batch/decode.js';
import { encodeBatch } from '../../agent/batch/encode.js';
import { TABLES, type Row } from '../../agent/batch/tables.js';
import { tsRow } from '../helpers/batch.js';

const wasmMB = (): number => (parquet as unknown as { wasmMemory(): { buffer: ArrayBuffer } }).wasmMemory().buffer.byteLength / 1048576;

/** Rows in each row group of a Parquet file (its footer, read by parquet-wasm). */
async function rowGroups(bytes: Uint8Array): Promise<number[]> {
  const meta = (await parquet.ParquetFile.fromFile(new Blob([bytes]))).metadata();
  return Array.from({ length: meta.numRowGroups() }, (_, g) => meta.rowGroup(g).numRows());
}

t.test('concatBatches of 120,000 time-series rows cuts its slices by bytes too', async (t) => {
  const parts: Uint8Array[] = [];
  const want: Row[] = [];
  for (let b = 0; b < 16; b++) {
    const rows: Row[] = Array.from({ length: 7_500 }, (_, i) =>
      tsRow({
        tag_webid: `F1DPmN2abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH${String(b * 11 + Math.floor(i / 721)).padStart(6, '0')}`,
        timestamp: 1_780_000_000_000_000 + (i % 721) * 5_000_000,
        value_double: Math.round(Math.sin(i / 50) * 1000) / 10,
        units: 'degC',
        ingested_at: 1_795_000_000_000_000,
      }),
    );
    parts.push(encodeBatch(TABLES.pi_timeseries, rows));
    want.push(...rows);
  }
  const merged = concatBatches(parts);
  const groups = await rowGroups(merged);
  t.equal(
    groups.reduce((a, b) => a + b, 0),
    want.length,
    'row counts add up',
  );
  // ~80 bytes of column data per row: a slice ends after the input row group that takes it past
  // 2 MiB (26,215 rows), so 30,000 (4 batches of 7,500) rows each; not 131,072.
  t.same(groups, [30_000, 30_000, 30_000, 30_000], 'slices of 4 input batches');
  // In one 120,000-row slice (when 131,072 rows was the only limit) it grew to 21.8 MB.
  t.ok(wasmMB() <= 16, `WebAssembly memory ${wasmMB().toFixed(1)} MB after merging`);
  t.same(decodeBatch(merged), want, 'every row, in order');
});

t.test('30,000 tags of metadata (long strings) are written in slices of ~2 MiB: WebAssembly memory stays small, every row back', async (t) => {
  const rows: Row[] = Array.from({ length: 30_000 }, (_, i) => ({
    site: 'plant-a',
    tag_webid: `F1DPmN2abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH${String(i).padStart(6, '0')}`,
    point_id: i,
    name: `UNIT${i % 40}.AREA${i % 7}.TIC-${i}.PV`,
    path: `\\\\PISRV01\\UNIT${i % 40}.AREA${i % 7}.TIC-${i}.PV`,
    dataserver: 'PISRV01',
    descriptor: `Reactor ${i % 40} temperature controller ${i} process value`,
    point_class: 'classic',
    point_type: 'Float32',
    digital_set_name: null,
    engineering_units: 'degC',
    span: 100,
    zero: 0,
    step: false,
    future: false,
    ingested_at: 1_795_000_000_000_000,
    op: 'insert',
  }));
  const bytes = encodeBatch(TABLES.pi_tags, rows);
  const groups = await rowGroups(bytes);
  t.ok(groups.length > 1, `${groups.length} row groups`);
  t.equal(
    groups.reduce((a, b) => a + b, 0),
    rows.length,
    'row counts add up',
  );
  // ~240 bytes of column data per row (strings all distinct): ~8,700 rows per slice.
  t.ok(
    groups.every((n) => n >= 1024 && n <= 10_000),
    `slices of 1,024 to 10,000 rows: ${groups.join(', ')}`,
  );
  // One 30,000-row slice took it to 30.7 MB.
  t.ok(wasmMB() <= 16, `WebAssembly memory ${wasmMB().toFixed(1)} MB after encoding`);
  t.same(decodeBatch(bytes), rows, 'every row, in order (sorted by tag_webid already)');
});
