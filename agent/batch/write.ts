/**
 * Writing Parquet with parquet-wasm: a slice of columns as one file of one row group, zstd and
 * per-column encodings chosen for time series that every Databricks reader takes, and slice files
 * joined into one (footer.ts).
 */
import { Field, Float64, makeData, RecordBatch, Schema, Struct, Table, tableToIPC, type Data } from 'apache-arrow';
import * as parquet from 'parquet-wasm';
import { AgentError } from '../errors.js';
import { VERSION } from '../version.js';
import type { Col, ColumnSpec } from './columns.js';
import { joinParquet } from './footer.js';
import { arrowColumn, arrowType, type SliceRows } from './slice.js';

/**
 * The writer's name in the file footer, in parquet-mr's `<app> version <v> (build <b>)` form: Spark
 * ignores min/max statistics of string columns when it cannot parse created_by (PARQUET-251 guard),
 * which would weaken data skipping on tag_webid in Databricks.
 */
const CREATED_BY = `pi-agent version ${VERSION} (build pi-agent)`;

/** What every batch file is written with: zstd and the parseable writer name (also files rewritten by the sinks). */
export function batchWriterProperties(): parquet.WriterPropertiesBuilder {
  return new parquet.WriterPropertiesBuilder().setCompression(parquet.Compression.ZSTD).setCreatedBy(CREATED_BY);
}

/** Writer choices a config may change (sink.parquet). */
export interface ParquetOptions {
  /**
   * Doubles may be written BYTE_STREAM_SPLIT when that compresses better (sink.parquet.byte_stream_split,
   * default off): smaller files, but only for readers that know the encoding (see READABLE_ENCODINGS).
   */
  byteStreamSplit?: boolean;
}

/**
 * The encodings every Databricks reader takes. Spark's vectorized Parquet reader (Databricks
 * Runtime, SQL warehouses) reads, since Spark 3.3, DataPage V1 and V2 pages whose values are
 * PLAIN, dictionary (PLAIN_DICTIONARY / RLE_DICTIONARY), DELTA_BINARY_PACKED, DELTA_BYTE_ARRAY or
 * RLE (booleans only) and whose levels are RLE; anything else fails "Unsupported encoding: X"
 * (Spark branch-3.3 VectorizedColumnReader.getValuesReader and readPageV1). Missing there:
 * DELTA_LENGTH_BYTE_ARRAY on its own (Spark 3.4, SPARK-40128, apache/spark#37557) and
 * BYTE_STREAM_SPLIT (only in 2026, SPARK-56894; no Databricks page says Databricks Runtime or
 * Photon read it). parquet-wasm writes DataPage V1
 * (arrow-rs' default writer version 1.0). The emulator refuses files with other encodings
 * (test/sim/databricks/parquet-check.ts), so no test passes with one.
 */
export const READABLE_ENCODINGS: readonly string[] = ['PLAIN', 'PLAIN_DICTIONARY', 'RLE_DICTIONARY', 'RLE', 'DELTA_BINARY_PACKED', 'DELTA_BYTE_ARRAY'];

/**
 * Per-column encodings chosen for time series, by default all of them in READABLE_ENCODINGS:
 * - integers and timestamps: DELTA_BINARY_PACKED. Sorted timestamps are nearly regular and
 *   ordinals/codes nearly constant, so deltas take a few bits where PLAIN takes 4–8 bytes;
 * - doubles: PLAIN; with the byteStreamSplit opt-in, PLAIN or BYTE_STREAM_SPLIT (each of the 8
 *   bytes in its own stream), whichever compresses a sample of the slice better (probeDoubleEncoding);
 * - strings and booleans: the defaults (dictionary with RLE codes for strings, PLAIN bit-packed
 *   booleans; a dictionary grown too large falls back to PLAIN).
 * Dictionary encoding is off for numbers: it is tried first and rarely wins, not even on quantised
 * Float32 values, where PLAIN does better.
 */
function writerProperties(cols: ColumnSpec[], doubles: Map<string, parquet.Encoding>): parquet.WriterProperties {
  let b = batchWriterProperties();
  for (const c of cols) {
    if (c.type === 'int32' || c.type === 'int64' || c.type === 'timestamp_us') {
      b = b.setColumnDictionaryEnabled(c.name, false).setColumnEncoding(c.name, parquet.Encoding.DELTA_BINARY_PACKED);
    } else if (c.type === 'double') {
      b = b.setColumnDictionaryEnabled(c.name, false).setColumnEncoding(c.name, doubles.get(c.name) ?? parquet.Encoding.PLAIN);
    }
  }
  return b.build();
}

/** Values of a double column's slice sampled for probeDoubleEncoding. */
const PROBE_VALUES = 16384;

/**
 * PLAIN or BYTE_STREAM_SPLIT for a slice of doubles, by zstd-compressing a sample both ways.
 * Quantised Float32 process values (few distinct values per tag: whole 8-byte values repeat) do
 * better PLAIN; random Float64 mantissas do better split (the sign/exponent/high-mantissa streams
 * compress, the noise does not).
 */
function probeDoubleEncoding(data: Data): parquet.Encoding {
  const values = data.values as Float64Array;
  const sample = new Float64Array(Math.min(PROBE_VALUES, data.length));
  let k = 0;
  for (let i = 0; i < data.length && k < sample.length; i++) {
    if (data.nullCount === 0 || (data.nullBitmap[i >> 3]! & (1 << (i & 7))) !== 0) sample[k++] = values[i]!;
  }
  if (k < 64) return parquet.Encoding.BYTE_STREAM_SPLIT;
  const f = new Field('v', new Float64(), false);
  const child = makeData({ type: new Float64(), length: k, data: sample.subarray(0, k) });
  const ipc = tableToIPC(new Table([new RecordBatch(new Schema([f]), makeData({ type: new Struct([f]), length: k, nullCount: 0, children: [child] }))]), 'stream');
  const size = (e: parquet.Encoding): number =>
    parquet.writeParquet(
      parquet.Table.fromIPCStream(ipc),
      new parquet.WriterPropertiesBuilder()
        .setCompression(parquet.Compression.ZSTD)
        .setStatisticsEnabled(parquet.EnabledStatistics.None)
        .setDictionaryEnabled(false)
        .setEncoding(e)
        .build(),
    ).length;
  return size(parquet.Encoding.PLAIN) <= size(parquet.Encoding.BYTE_STREAM_SPLIT) ? parquet.Encoding.PLAIN : parquet.Encoding.BYTE_STREAM_SPLIT;
}

/** Writes one slice of columns as a Parquet file (one row group). */
export function writeSlice(tableName: string, cols: Col[], s: SliceRows, opts: ParquetOptions = {}): Uint8Array {
  const specs = cols.map((c) => c.spec);
  const fields = specs.map((c, j) => new Field(c.name, arrowType(c, j), c.nullable));
  const children = cols.map((c, j) => arrowColumn(c, j, s, tableName));
  const struct = makeData({ type: new Struct(fields), length: s.length, nullCount: 0, children });
  try {
    const doubles = new Map<string, parquet.Encoding>();
    specs.forEach((c, j) => {
      if (c.type === 'double' && opts.byteStreamSplit === true) doubles.set(c.name, probeDoubleEncoding(children[j]!));
    });
    // writeParquet takes ownership of the WebAssembly table and frees it when done.
    return parquet.writeParquet(
      parquet.Table.fromIPCStream(tableToIPC(new Table([new RecordBatch(new Schema(fields), struct)]), 'stream')),
      writerProperties(specs, doubles),
    );
  } catch (err) {
    throw new AgentError('BATCH_ENCODE_FAILED', `${tableName}: Parquet writer failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** Joins slice files into one; a footer this code cannot rewrite (a newer writer's) is an error. */
export function joinSlices(tableName: string, files: Uint8Array[]): Uint8Array {
  if (files.length === 1) return files[0]!;
  try {
    return joinParquet(files);
  } catch (err) {
    throw new AgentError('BATCH_ENCODE_FAILED', `${tableName}: cannot join Parquet row groups: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}
