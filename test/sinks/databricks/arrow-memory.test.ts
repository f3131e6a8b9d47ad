/**
 * The MERGE dedupe's memory: batch files are read one row group at a time, so parquet-wasm's heap
 * (which grows to fit what it reads and never shrinks) stays a row group's size. Its own file, so
 * the heap starts fresh (tap runs each file in its own process).
 */
import t from 'tap';
import * as parquet from 'parquet-wasm';
import { decodeBatch } from '../../../agent/batch/decode.js';
import { encodeBatch } from '../../../agent/batch/encode.js';
import { TABLES, type Row } from '../../../agent/batch/tables.js';
import { dropRows, supersededRows } from '../../../agent/sinks/databricks/arrow.js';

const wasmMB = (): number => (parquet as unknown as { wasmMemory(): { buffer: ArrayBuffer } }).wasmMemory().buffer.byteLength / 1048576;

t.test('30,000 tags of metadata updated twice in one MERGE unit', async (t) => {
  const tag = (i: number, descriptor: string): Row => ({
    site: 'plant-a',
    tag_webid: `F1DPmN2abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH${String(i).padStart(6, '0')}`,
    point_id: i,
    name: `UNIT${i % 40}.AREA${i % 7}.TIC-${i}.PV`,
    path: `\\\\PISRV01\\UNIT${i % 40}.AREA${i % 7}.TIC-${i}.PV`,
    dataserver: 'PISRV01',
    descriptor,
    point_class: 'classic',
    point_type: 'Float32',
    digital_set_name: null,
    engineering_units: 'degC',
    span: 100,
    zero: 0,
    step: false,
    future: false,
    ingested_at: 1_795_000_000_000_000,
    op: 'update',
  });
  const first = encodeBatch(
    TABLES.pi_tags,
    Array.from({ length: 30_000 }, (_, i) => tag(i, `Reactor ${i % 40} temperature controller ${i} process value`)),
  );
  // The second file updates every third tag again.
  const again = Array.from({ length: 10_000 }, (_, k) => tag(3 * k, `Reactor ${(3 * k) % 40} temperature controller ${3 * k}, recalibrated`));
  const second = encodeBatch(TABLES.pi_tags, again);
  const dropped = supersededRows(
    [
      { rows: 30_000, read: () => first },
      { rows: 10_000, read: () => second },
    ],
    TABLES.pi_tags.key,
  );
  t.equal(dropped[1], null, 'the later file keeps every row');
  t.equal(
    dropped[0]!.reduce((a, b) => a + b, 0),
    10_000,
    'the earlier file loses the 10,000 tags updated again',
  );
  t.ok(
    [...dropped[0]!].every((d, i) => d === (i % 3 === 0 ? 1 : 0)),
    'exactly every third tag',
  );
  const rewritten = dropRows(first, dropped[0]!);
  // Read whole (before: every row group of a file at once) the same work took it to 52.8 MB.
  t.ok(wasmMB() <= 24, `WebAssembly memory ${wasmMB().toFixed(1)} MB`);
  const kept = decodeBatch(rewritten);
  t.equal(kept.length, 20_000);
  t.same(
    kept.map((r) => r.point_id),
    Array.from({ length: 30_000 }, (_, i) => i).filter((i) => i % 3 !== 0),
    'the other tags, in order',
  );
});
