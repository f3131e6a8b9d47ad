/**
 * Encoding typed rows into compressed Parquet batches (design.md "Data flow": batch), and back.
 *
 * Rows are stably sorted by the table's clustering key first (computed from the key columns alone):
 * values of one tag then sit side by side, which is what makes a time-series value cost a few bytes;
 * the sort is stable, so several rows of one row key (e.g. insert then delete) keep their order.
 * Then, slice by slice (SLICE_ROWS rows or ~SLICE_BYTES of column data, one Parquet row group
 * each), one compiled pass reads the rows in that order into reused typed arrays (strings as
 * dictionary codes: a tag WebID, site, unit or op crosses into WebAssembly once per slice, not once
 * per row), parquet-wasm writes the slice with zstd and time-series encodings (writerProperties),
 * and the slices' row groups are joined into one file (joinParquet). Memory is a slice's, whatever
 * the batch size.
 */
import {
  Bool,
  Dictionary,
  Field,
  Float64,
  Int32,
  Int64,
  makeData,
  makeVector,
  RecordBatch,
  Schema,
  Struct,
  Table,
  tableFromIPC,
  tableToIPC,
  TimestampMicrosecond,
  Utf8,
  DataType,
  type Data,
} from 'apache-arrow';
import * as parquet from 'parquet-wasm';
import { AgentError } from '../errors.js';
import { VERSION } from '../version.js';
import type { ColumnType, Op, Row, TableDef, TableName } from './tables.js';

/**
 * The writer's name in the file footer, in parquet-mr's `<app> version <v> (build <b>)` form: Spark
 * ignores min/max statistics of string columns when it cannot parse created_by (PARQUET-251 guard),
 * which would weaken data skipping on tag_webid in Databricks.
 */
const CREATED_BY = `pi-agent version ${VERSION} (build pi-agent)`;

export interface EncodeOptions {
  /** Stable-sort rows by the table's `clusterBy` columns before writing (default true). */
  sort?: boolean;
  /** Rows per Parquet row group (default 131072); each is encoded on its own (bounded memory). */
  rowGroupRows?: number;
}

/** An encoded batch plus what the store records about it. */
export interface SealedBatch {
  table: TableName;
  data: Uint8Array;
  rows: number;
  /** Distinct `op` values in the batch. */
  ops: Op[];
  /** Row key (JSON array of the key columns) of the first and last row in file order. */
  firstKey: string;
  lastKey: string;
  /** Fingerprint of the column layout: only batches with equal fingerprints are merged. */
  schema: string;
}

const OPS: ReadonlySet<string> = new Set<Op>(['insert', 'update', 'delete']);
const INT32_MAX = 2147483647;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Rows per Arrow record batch when reading a file back (arrow-js pays a fixed cost per batch). */
const READ_BATCH_ROWS = 65536;

/** The column layout the writer needs (a TableDef's columns, or a file's schema for concat). */
interface ColumnSpec {
  name: string;
  type: ColumnType;
  nullable: boolean;
}

/**
 * One column (of a slice, or of whole files for concat) in typed arrays: the intermediate form.
 * `valid` holds one byte per row (1 = value present); booleans likewise one byte per row (simple
 * writes in the row pass; bits are packed per slice).
 */
interface Col {
  spec: ColumnSpec;
  valid: Uint8Array;
  nulls: number;
  /** string: dictionary codes (Int32Array) into `dict`; int32: Int32Array; double: Float64Array; boolean: Uint8Array; int64/timestamp_us: BigInt64Array. */
  values: Int32Array | Float64Array | Uint8Array | BigInt64Array;
  /** string only: distinct values, in first-seen order. */
  dict?: string[];
  /**
   * string only: `dict` holds exactly the values of the rows filled since it was reset, and NULL
   * rows hold code 0 (the row pass of encodeRows), so the codes already are the slice's own.
   */
  sliceDict?: boolean;
}

function fail(name: string, message: string): never {
  throw new AgentError('BATCH_ENCODE_FAILED', `${name}: ${message}`);
}

/** A short, stable description of the column layout (names, types, nullability). */
export function schemaFingerprint(table: TableDef): string {
  return table.columns.map((c) => `${c.name}:${c.type}${c.nullable ? '?' : ''}`).join(',');
}

function describe(v: unknown): string {
  return typeof v === 'string' ? `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}` : `${typeof v} ${String(v)}`;
}

function newCol(spec: ColumnSpec, n: number): Col {
  const valid = new Uint8Array(n);
  switch (spec.type) {
    case 'string': return { spec, valid, nulls: 0, values: new Int32Array(n), dict: [] };
    case 'int32': return { spec, valid, nulls: 0, values: new Int32Array(n) };
    case 'double': return { spec, valid, nulls: 0, values: new Float64Array(n) };
    case 'boolean': return { spec, valid, nulls: 0, values: new Uint8Array(n) };
    case 'int64':
    case 'timestamp_us': return { spec, valid, nulls: 0, values: new BigInt64Array(n) };
  }
}

// ---------------------------------------------------------------------------------------------
// Rows → columns

type Extractor = (
  rows: Row[],
  order: Uint32Array | undefined,
  from: number,
  len: number,
  cols: Col[],
  bad: (col: number, row: number, value: unknown) => never,
  unknown: (row: number) => never,
) => void;

const extractors = new WeakMap<TableDef, Extractor>();

/**
 * Compiles, once per table, a pass that reads rows `order[from + i]` (or `from + i`), i < len,
 * into `cols` (one slice), every column with a literal property name. Rows from one source share
 * one shape, so each read is a monomorphic inline cache: a generic `row[name]` loop is several
 * times slower. Column names come from TABLES (static), and are embedded with JSON.stringify.
 * Strings become codes into the slice's dictionary, looked up in a Map only when they differ from
 * the previous row's value (rows of one tag come together).
 */
function extractor(table: TableDef): Extractor {
  const cached = extractors.get(table);
  if (cached) return cached;
  const lines: string[] = [];
  table.columns.forEach((c, j) => {
    lines.push(`const V${j} = cols[${j}].valid, X${j} = cols[${j}].values; let N${j} = 0;`);
    if (c.type === 'string') lines.push(`const D${j} = cols[${j}].dict, M${j} = new Map(); let P${j}, C${j} = 0;`);
    if (c.type === 'int64' || c.type === 'timestamp_us') lines.push(`const W${j} = new Int32Array(X${j}.buffer, X${j}.byteOffset, 2 * X${j}.length);`);
  });
  lines.push('for (let i = 0; i < len; i++) {');
  lines.push('  const ri = order === undefined ? from + i : order[from + i];');
  lines.push('  const r = rows[ri];');
  lines.push('  let present = 0, v;');
  table.columns.forEach((c, j) => {
    lines.push(`  v = r[${JSON.stringify(c.name)}];`);
    // A NULL string gets code 0 (in range of any dictionary), as sliceStrings would give it.
    lines.push(`  if (v === null || v === undefined) { V${j}[i] = 0; ${c.type === 'string' ? `X${j}[i] = 0; ` : ''}if (v === null) present++; ${c.nullable ? `N${j}++;` : `bad(${j}, ri, v);`} } else {`);
    lines.push(`    present++; V${j}[i] = 1;`);
    switch (c.type) {
      case 'string':
        lines.push(`    if (v !== P${j}) { if (typeof v !== 'string') bad(${j}, ri, v); let k = M${j}.get(v); if (k === undefined) { k = D${j}.length; D${j}.push(v); M${j}.set(v, k); } P${j} = v; C${j} = k; }`);
        lines.push(`    X${j}[i] = C${j};`);
        break;
      case 'int32':
        lines.push(`    if (typeof v !== 'number' || (v | 0) !== v) bad(${j}, ri, v); X${j}[i] = v;`);
        break;
      case 'double':
        lines.push(`    if (typeof v !== 'number') bad(${j}, ri, v); X${j}[i] = v;`);
        break;
      case 'boolean':
        lines.push(`    if (v === true) X${j}[i] = 1; else if (v === false) X${j}[i] = 0; else bad(${j}, ri, v);`);
        break;
      case 'int64':
      case 'timestamp_us':
        // Little-endian lo/hi halves without allocating a BigInt per value.
        lines.push(`    if (typeof v === 'number') { if (!Number.isSafeInteger(v)) bad(${j}, ri, v); W${j}[2 * i] = v >>> 0; W${j}[2 * i + 1] = Math.floor(v / 4294967296); }`);
        lines.push(`    else if (typeof v === 'bigint' && v >= -9223372036854775808n && v <= 9223372036854775807n) X${j}[i] = v; else bad(${j}, ri, v);`);
        break;
    }
    lines.push('  }');
  });
  // A property the table does not define would otherwise vanish silently (misspelt column).
  lines.push('  let keys = 0; for (const _ in r) keys++;');
  lines.push('  if (keys !== present) unknown(ri);');
  lines.push('}');
  table.columns.forEach((_c, j) => lines.push(`cols[${j}].nulls = N${j};`));
  const fn = new Function('rows', 'order', 'from', 'len', 'cols', 'bad', 'unknown', lines.join('\n')) as Extractor;
  extractors.set(table, fn);
  return fn;
}

type KeyExtractor = (rows: Row[], cols: Col[]) => void;
const keyExtractors = new WeakMap<TableDef, KeyExtractor>();

/**
 * Compiles a pass reading only the clustering columns of every row into sort-key columns: strings
 * as dictionary codes, numbers (int64/timestamps included) as doubles. Values of the wrong type
 * are left to the full pass, which rejects them.
 */
function keyExtractor(table: TableDef): KeyExtractor {
  const cached = keyExtractors.get(table);
  if (cached) return cached;
  const lines: string[] = ['const n = rows.length;'];
  const keyCols = table.clusterBy.map((name) => table.columns.find((c) => c.name === name)!);
  keyCols.forEach((c, j) => {
    lines.push(`const V${j} = cols[${j}].valid, X${j} = cols[${j}].values;`);
    if (c.type === 'string') lines.push(`const D${j} = cols[${j}].dict, M${j} = new Map(); let P${j}, C${j} = 0;`);
  });
  lines.push('for (let i = 0; i < n; i++) {');
  lines.push('  const r = rows[i];');
  lines.push('  let v;');
  keyCols.forEach((c, j) => {
    lines.push(`  v = r[${JSON.stringify(c.name)}];`);
    if (c.type === 'string') {
      lines.push(`  if (typeof v === 'string') { V${j}[i] = 1; if (v !== P${j}) { let k = M${j}.get(v); if (k === undefined) { k = D${j}.length; D${j}.push(v); M${j}.set(v, k); } P${j} = v; C${j} = k; } X${j}[i] = C${j}; }`);
    } else {
      lines.push(`  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') { V${j}[i] = 1; X${j}[i] = Number(v); }`);
    }
  });
  lines.push('}');
  const fn = new Function('rows', 'cols', lines.join('\n')) as KeyExtractor;
  keyExtractors.set(table, fn);
  return fn;
}

function rowOrder(table: TableDef, rows: Row[]): Uint32Array | undefined {
  if (table.clusterBy.length === 0 || rows.length < 2) return undefined;
  const keyCols = table.clusterBy.map((name) => {
    const c = table.columns.find((col) => col.name === name)!;
    return newCol({ name, type: c.type === 'string' ? 'string' : 'double', nullable: true }, rows.length);
  });
  keyExtractor(table)(rows, keyCols);
  return sortOrder(keyCols, table.clusterBy, rows.length);
}

// ---------------------------------------------------------------------------------------------
// Sorting on the columns

/** Ranks of a dictionary's values in code-unit order (the order of JS `<` on strings). */
function dictRanks(dict: string[]): Int32Array {
  const idx = Array.from(dict.keys()).sort((a, b) => (dict[a]! < dict[b]! ? -1 : dict[a]! > dict[b]! ? 1 : 0));
  const rank = new Int32Array(dict.length);
  idx.forEach((code, r) => { rank[code] = r; });
  return rank;
}

/** Numeric sort keys of one column: ranks for strings, values for numbers, NULL first. */
function sortKeys(col: Col, n: number): Float64Array {
  const keys = new Float64Array(n);
  const { valid } = col;
  const v = col.values;
  if (col.spec.type === 'string') {
    const rank = dictRanks(col.dict!);
    const codes = v as Int32Array;
    for (let i = 0; i < n; i++) keys[i] = valid[i] ? rank[codes[i]!]! : -Infinity;
  } else if (v instanceof BigInt64Array) {
    // Exact below 2^53 µs (year 2255); beyond, like Number(bigint).
    const w = new Int32Array(v.buffer, v.byteOffset, 2 * n);
    for (let i = 0; i < n; i++) keys[i] = valid[i] ? w[2 * i + 1]! * 4294967296 + (w[2 * i]! >>> 0) : -Infinity;
  } else {
    for (let i = 0; i < n; i++) keys[i] = valid[i] ? (v as Float64Array | Int32Array | Uint8Array)[i]! : -Infinity;
  }
  return keys;
}

/**
 * A stable permutation sorting rows by `columns` (NULL first, strings in code-unit order), or
 * undefined when they already are sorted. A string first key (a tag WebID) is bucketed by a
 * counting sort; within a bucket rows usually already come in time order, so typical batches sort
 * in linear time and only disordered runs pay for a comparison sort.
 */
function sortOrder(cols: Col[], columns: string[], n: number): Uint32Array | undefined {
  if (columns.length === 0 || n < 2) return undefined;
  const keyCols = columns.map((name) => cols.find((c) => c.spec.name === name)!);
  const keys = keyCols.map((c) => sortKeys(c, n));
  const k0 = keys[0]!;
  const rest = keys.slice(1);
  const k1 = rest.length === 1 ? rest[0]! : undefined;
  // One key after the first (tag, then time) is the usual case: the same result without the loop.
  const cmpRest = k1 ? (x: number, y: number): number => {
    const d = k1[x]! - k1[y]!;
    return d !== 0 ? d : 0;
  } : (x: number, y: number): number => {
    for (const k of rest) {
      const d = k[x]! - k[y]!;
      if (d !== 0) return d;
    }
    return 0;
  };
  let sorted = true;
  for (let i = 1; i < n; i++) {
    const d = k0[i - 1]! - k0[i]!;
    if (d > 0 || (d === 0 && cmpRest(i - 1, i) > 0)) { sorted = false; break; }
  }
  if (sorted) return undefined;
  const idx = new Uint32Array(n);
  const first = keyCols[0]!;
  if (first.spec.type === 'string') {
    // Counting sort by rank (-Infinity = NULL goes to bucket 0), stable by construction.
    const buckets = first.dict!.length + 1;
    const start = new Uint32Array(buckets + 1);
    for (let i = 0; i < n; i++) start[(k0[i] === -Infinity ? 0 : k0[i]! + 1) + 1]!++;
    for (let b = 0; b < buckets; b++) start[b + 1]! += start[b]!;
    const fill = start.slice(0, buckets);
    for (let i = 0; i < n; i++) idx[fill[k0[i] === -Infinity ? 0 : k0[i]! + 1]!++] = i;
    if (rest.length > 0) {
      for (let b = 0; b < buckets; b++) {
        const run = idx.subarray(start[b]!, start[b + 1]!);
        let ordered = true;
        for (let i = 1; i < run.length; i++) if (cmpRest(run[i - 1]!, run[i]!) > 0) { ordered = false; break; }
        // The index tie-break keeps rows of equal keys in input order (a stable sort).
        if (!ordered) run.sort((x, y) => cmpRest(x, y) || x - y);
      }
    }
    return idx;
  }
  for (let i = 0; i < n; i++) idx[i] = i;
  return idx.sort((x, y) => k0[x]! - k0[y]! || cmpRest(x, y) || x - y);
}

// ---------------------------------------------------------------------------------------------
// Columns → Arrow → Parquet

function arrowType(c: ColumnSpec, j: number): DataType {
  switch (c.type) {
    // Dictionary-encoded in Arrow: each distinct string crosses into WebAssembly once. The Parquet
    // column is a plain BYTE_ARRAY (UTF8) string for every reader; only Arrow readers see the
    // dictionary (from the embedded Arrow schema).
    case 'string': return new Dictionary(new Utf8(), new Int32(), j);
    case 'int32': return new Int32();
    case 'int64': return new Int64();
    case 'double': return new Float64();
    case 'boolean': return new Bool();
    // UTC-adjusted microseconds: Spark reads TIMESTAMP (not TIMESTAMP_NTZ), DuckDB TIMESTAMPTZ.
    case 'timestamp_us': return new TimestampMicrosecond('UTC');
  }
}

/** One slice of the output: rows `from` to `from + length` of the columns. */
interface SliceRows {
  from: number;
  length: number;
}

/** Packs one byte per row of the slice into an Arrow bitmap. */
function packBits(bytes: Uint8Array, s: SliceRows): Uint8Array {
  const bits = new Uint8Array((s.length + 7) >> 3);
  const from = s.from;
  for (let i = 0; i < s.length; i++) if (bytes[from + i]) bits[i >> 3]! |= 1 << (i & 7);
  return bits;
}

function countNulls(valid: Uint8Array, s: SliceRows): number {
  let present = 0;
  for (let i = 0; i < s.length; i++) present += valid[s.from + i]!;
  return s.length - present;
}

function utf8Dictionary(name: string, dict: string[]): Data<Utf8> {
  // An empty dictionary gets one entry so that codes of NULL slots stay in range for every reader.
  const values = dict.length ? dict : [''];
  const encoder = new TextEncoder();
  const offsets = new Int32Array(values.length + 1);
  let buf = new Uint8Array(Math.max(64, values.length * 24));
  let off = 0;
  for (let i = 0; i < values.length; i++) {
    const s = values[i]!;
    // UTF-8 is at most 3 bytes per UTF-16 code unit.
    if (off + s.length * 3 > buf.length) {
      if (off + s.length * 3 > INT32_MAX) fail(name, 'more than 2 GiB of distinct text in one slice of a batch');
      const next = new Uint8Array(Math.min(INT32_MAX, Math.max(buf.length * 2, off + s.length * 3)));
      next.set(buf.subarray(0, off));
      buf = next;
    }
    off += encoder.encodeInto(s, buf.subarray(off)).written;
    offsets[i + 1] = off;
  }
  return makeData({ type: new Utf8(), length: values.length, valueOffsets: offsets, data: buf.subarray(0, off) });
}

/**
 * A string column's slice: codes renumbered into a dictionary of only the values the slice uses
 * (a high-cardinality column must not send its whole dictionary with every slice).
 */
function sliceStrings(col: Col, s: SliceRows): { codes: Int32Array; dict: string[] } {
  const src = col.values as Int32Array;
  // The row pass already numbered the slice's strings in first-seen order: renumbering is the identity.
  if (col.sliceDict && s.from === 0) return { codes: src.subarray(0, s.length), dict: col.dict! };
  const global = col.dict!;
  const valid = col.valid;
  const local = new Int32Array(global.length).fill(-1);
  const dict: string[] = [];
  const codes = new Int32Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const r = s.from + i;
    if (!valid[r]) continue;
    const g = src[r]!;
    let k = local[g]!;
    if (k < 0) { k = local[g] = dict.length; dict.push(global[g]!); }
    codes[i] = k;
  }
  return { codes, dict };
}

function arrowColumn(col: Col, j: number, s: SliceRows, tableName: string): Data {
  const type = arrowType(col.spec, j);
  const nulls = col.nulls ? countNulls(col.valid, s) : 0;
  const common = { length: s.length, nullCount: nulls, nullBitmap: nulls ? packBits(col.valid, s) : undefined };
  switch (col.spec.type) {
    case 'string': {
      const { codes, dict } = sliceStrings(col, s);
      return makeData({ ...common, type: type as Dictionary<Utf8, Int32>, data: codes, dictionary: makeVector(utf8Dictionary(`${tableName}: column ${col.spec.name}`, dict)) });
    }
    case 'int32': return makeData({ ...common, type: type as Int32, data: (col.values as Int32Array).subarray(s.from, s.from + s.length) });
    case 'double': return makeData({ ...common, type: type as Float64, data: (col.values as Float64Array).subarray(s.from, s.from + s.length) });
    case 'boolean': return makeData({ ...common, type: type as Bool, data: packBits(col.values as Uint8Array, s) });
    case 'int64': return makeData({ ...common, type: type as Int64, data: (col.values as BigInt64Array).subarray(s.from, s.from + s.length) });
    case 'timestamp_us': return makeData({ ...common, type: type as TimestampMicrosecond, data: (col.values as BigInt64Array).subarray(s.from, s.from + s.length) as unknown as Int32Array });
  }
}

/** What every batch file is written with: zstd and the parseable writer name (also files rewritten by the sinks). */
export function batchWriterProperties(): parquet.WriterPropertiesBuilder {
  return new parquet.WriterPropertiesBuilder().setCompression(parquet.Compression.ZSTD).setCreatedBy(CREATED_BY);
}

/**
 * Per-column encodings chosen for time series, all of them read by Spark/parquet-mr (>= 3.3, every
 * current Databricks runtime, vectorized and Photon) and DuckDB:
 * - integers and timestamps: DELTA_BINARY_PACKED. Sorted timestamps are nearly regular and
 *   ordinals/codes nearly constant, so deltas take a few bits where PLAIN takes 4–8 bytes;
 * - doubles: PLAIN or BYTE_STREAM_SPLIT (each of the 8 bytes in its own stream), whichever
 *   compresses a sample of the slice better (probeDoubleEncoding);
 * - strings and booleans: the defaults (dictionary with RLE codes for strings, bit-packed booleans).
 * Dictionary encoding is off for numbers: it is tried first and rarely wins (measured: quantised
 * Float32 values 1.62 B/value with a dictionary, 1.41 PLAIN).
 */
function writerProperties(cols: ColumnSpec[], doubles: Map<string, parquet.Encoding>): parquet.WriterProperties {
  let b = batchWriterProperties();
  for (const c of cols) {
    if (c.type === 'int32' || c.type === 'int64' || c.type === 'timestamp_us') {
      b = b.setColumnDictionaryEnabled(c.name, false).setColumnEncoding(c.name, parquet.Encoding.DELTA_BINARY_PACKED);
    } else if (c.type === 'double') {
      b = b.setColumnDictionaryEnabled(c.name, false).setColumnEncoding(c.name, doubles.get(c.name) ?? parquet.Encoding.BYTE_STREAM_SPLIT);
    }
  }
  return b.build();
}

/** Values of a double column's slice sampled for probeDoubleEncoding. */
const PROBE_VALUES = 16384;

/**
 * PLAIN or BYTE_STREAM_SPLIT for a slice of doubles, by zstd-compressing a sample both ways.
 * Measured (zstd, 1 MB pages): quantised Float32 process values (few distinct values per tag:
 * whole 8-byte values repeat) 1.41 B/value PLAIN vs 1.74 split; random Float64 mantissas 7.43
 * PLAIN vs 6.16 split (the sign/exponent/high-mantissa streams compress, the noise does not).
 */
function probeDoubleEncoding(data: Data): parquet.Encoding {
  const values = data.values as Float64Array;
  const sample = new Float64Array(Math.min(PROBE_VALUES, data.length));
  let k = 0;
  for (let i = 0; i < data.length && k < sample.length; i++) {
    if (data.nullCount === 0 || (data.nullBitmap![i >> 3]! & (1 << (i & 7))) !== 0) sample[k++] = values[i]!;
  }
  if (k < 64) return parquet.Encoding.BYTE_STREAM_SPLIT;
  const f = new Field('v', new Float64(), false);
  const child = makeData({ type: new Float64(), length: k, data: sample.subarray(0, k) });
  const ipc = tableToIPC(new Table([new RecordBatch(new Schema([f]), makeData({ type: new Struct([f]), length: k, nullCount: 0, children: [child] }))]), 'stream');
  const size = (e: parquet.Encoding): number => parquet.writeParquet(
    parquet.Table.fromIPCStream(ipc),
    new parquet.WriterPropertiesBuilder().setCompression(parquet.Compression.ZSTD).setStatisticsEnabled(parquet.EnabledStatistics.None)
      .setDictionaryEnabled(false).setEncoding(e).build(),
  ).length;
  return size(parquet.Encoding.PLAIN) <= size(parquet.Encoding.BYTE_STREAM_SPLIT) ? parquet.Encoding.PLAIN : parquet.Encoding.BYTE_STREAM_SPLIT;
}

/**
 * Rows per Parquet row group. Each slice crosses into WebAssembly and is written on its own, and
 * the slices' row groups are joined into one file (joinParquet): the WebAssembly heap, which never
 * shrinks, then holds one slice (a few MB), not the whole batch.
 */
const SLICE_ROWS = 131072;
/**
 * ... and at most about this many bytes of column data (sliceBytes): rows with long strings (tag
 * metadata, AF attributes) make slices of fewer rows. The WebAssembly heap grows to several times
 * a slice's column data: 30,000 tags' metadata in one slice took it to 30.7 MB, for good (issue 7).
 */
const SLICE_BYTES = 2 * 1024 * 1024;
/** A slice is never cut below this many rows for its size (row groups that small compress poorly). */
const MIN_SLICE_ROWS = 1024;

const WIDTH: Record<ColumnType, number> = { string: 4, int32: 4, double: 8, boolean: 1, int64: 8, timestamp_us: 8 };

/** Bytes of column data in `len` rows of `cols`: values (strings as 4-byte codes) and dictionaries. */
function sliceBytes(cols: Col[], len: number): number {
  let bytes = 0;
  for (const c of cols) {
    bytes += len * WIDTH[c.spec.type];
    if (c.dict) for (const v of c.dict) bytes += v.length;
  }
  return bytes;
}

/** Writes one slice of columns as a Parquet file (one row group). */
function writeSlice(tableName: string, cols: Col[], s: SliceRows): Uint8Array {
  const specs = cols.map((c) => c.spec);
  const fields = specs.map((c, j) => new Field(c.name, arrowType(c, j), c.nullable));
  const children = cols.map((c, j) => arrowColumn(c, j, s, tableName));
  const struct = makeData({ type: new Struct(fields), length: s.length, nullCount: 0, children });
  try {
    const doubles = new Map<string, parquet.Encoding>();
    specs.forEach((c, j) => { if (c.type === 'double') doubles.set(c.name, probeDoubleEncoding(children[j]!)); });
    // writeParquet takes ownership of the WebAssembly table and frees it when done.
    return parquet.writeParquet(parquet.Table.fromIPCStream(tableToIPC(new Table([new RecordBatch(new Schema(fields), struct)]), 'stream')), writerProperties(specs, doubles));
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

/**
 * Encodes rows slice by slice: sort order first (from the clustering columns only), then each
 * slice of rows in that order is read into reused typed arrays and written as one row group. The
 * encoder's memory is then a slice's, whatever the batch size.
 */
function encodeRows(table: TableDef, rows: Row[], order: Uint32Array | undefined, sliceRows: number, ops?: Set<string>): Uint8Array {
  if (!LITTLE_ENDIAN) throw new AgentError('BATCH_ENCODE_FAILED', 'big-endian platforms are not supported');
  const n = rows.length;
  const cols = table.columns.map((c) => newCol(c, Math.min(sliceRows, Math.max(n, 1))));
  const bad = (j: number, row: number, v: unknown): never => {
    const c = table.columns[j]!;
    if (v === null || v === undefined) fail(table.name, `column ${c.name} is not nullable but row ${row} has no value`);
    return fail(table.name, `column ${c.name} row ${row}: expected ${c.type}, got ${describe(v)}`);
  };
  const unknown = (row: number): never => {
    const known = new Set(table.columns.map((c) => c.name));
    const extra = Object.keys(rows[row]!).filter((k) => !known.has(k));
    return fail(table.name, `row ${row} has column ${extra.join(', ') || '(undefined values)'}, which the table does not define`);
  };
  const extract = extractor(table);
  const opCol = cols.find((c) => c.spec.name === 'op');
  const files: Uint8Array[] = [];
  let len = 0;
  for (let from = 0; from === 0 || from < n; from += len) {
    len = Math.min(sliceRows, n - from);
    for (const c of cols) if (c.dict) c.dict = [];
    extract(rows, order, from, len, cols, bad, unknown);
    // Too many bytes for one slice: read fewer rows again, and keep that size for the next slices.
    for (let bytes = sliceBytes(cols, len); len > MIN_SLICE_ROWS && bytes > SLICE_BYTES; bytes = sliceBytes(cols, len)) {
      len = Math.max(MIN_SLICE_ROWS, Math.floor((len * SLICE_BYTES) / bytes));
      sliceRows = len;
      for (const c of cols) if (c.dict) c.dict = [];
      extract(rows, order, from, len, cols, bad, unknown);
    }
    for (const c of cols) if (c.dict) c.sliceDict = true;
    if (ops && opCol) for (const op of opCol.dict!) ops.add(op);
    files.push(writeSlice(table.name, cols, { from: 0, length: len }));
  }
  return joinSlices(table.name, files);
}

// ---------------------------------------------------------------------------------------------
// Joining Parquet files: row groups side by side, one footer

/** A Thrift compact-protocol value, kept with its wire type so that it is written back unchanged. */
type TValue = number | bigint | boolean | Uint8Array | TStruct | TList;
interface TField { id: number; type: number; value: TValue }
interface TStruct { fields: TField[] }
interface TList { elemType: number; items: TValue[] }

const T_BOOL_TRUE = 1, T_BOOL_FALSE = 2, T_I8 = 3, T_I16 = 4, T_I32 = 5, T_I64 = 6, T_DOUBLE = 7, T_BINARY = 8, T_LIST = 9, T_SET = 10, T_STRUCT = 12;

/** Just enough of the Thrift compact protocol to read and rewrite a Parquet FileMetaData. */
class ThriftReader {
  private pos = 0;
  constructor(private readonly b: Uint8Array) {}
  /** Bytes read so far. */
  get offset(): number {
    return this.pos;
  }
  private byte(): number {
    if (this.pos >= this.b.length) throw new Error('truncated Parquet footer');
    return this.b[this.pos++]!;
  }
  private varint(): bigint {
    let r = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const x = this.byte();
      r |= BigInt(x & 0x7f) << shift;
      if ((x & 0x80) === 0) return r;
    }
    throw new Error('bad varint in Parquet footer');
  }
  private zigzag(): bigint {
    const n = this.varint();
    return (n >> 1n) ^ -(n & 1n);
  }
  private bytes(len: number): Uint8Array {
    if (this.pos + len > this.b.length) throw new Error('truncated Parquet footer');
    const out = this.b.slice(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  value(type: number): TValue {
    switch (type) {
      case T_BOOL_TRUE: return true;
      case T_BOOL_FALSE: return false;
      case T_I8: return this.byte();
      case T_I16:
      case T_I32: return Number(this.zigzag());
      case T_I64: return this.zigzag();
      case T_DOUBLE: return this.bytes(8);
      case T_BINARY: return this.bytes(Number(this.varint()));
      case T_LIST:
      case T_SET: {
        const h = this.byte();
        const elemType = h & 15;
        const size = h >> 4 === 15 ? Number(this.varint()) : h >> 4;
        const items: TValue[] = [];
        // Booleans inside a collection are one byte each (kept as the raw byte).
        for (let i = 0; i < size; i++) items.push(elemType === T_BOOL_TRUE || elemType === T_BOOL_FALSE ? this.byte() : this.value(elemType));
        return { elemType, items };
      }
      case T_STRUCT: return this.struct();
      default: throw new Error(`unsupported Thrift type ${type} in Parquet footer`);
    }
  }
  struct(): TStruct {
    const fields: TField[] = [];
    let last = 0;
    for (;;) {
      const h = this.byte();
      if (h === 0) return { fields };
      const type = h & 15;
      const id = h >> 4 ? last + (h >> 4) : Number(this.zigzag());
      last = id;
      fields.push({ id, type, value: type === T_BOOL_TRUE ? true : type === T_BOOL_FALSE ? false : this.value(type) });
    }
  }
}

class ThriftWriter {
  private out: number[] = [];
  private varint(v: bigint): void {
    let n = v;
    while (n >= 0x80n) { this.out.push(Number(n & 0x7fn) | 0x80); n >>= 7n; }
    this.out.push(Number(n));
  }
  private zigzag(v: bigint): void {
    this.varint(v >= 0n ? v << 1n : ((-v) << 1n) - 1n);
  }
  private raw(b: Uint8Array): void {
    for (const x of b) this.out.push(x);
  }
  value(type: number, v: TValue): void {
    switch (type) {
      case T_I8: this.out.push((v as number) & 0xff); break;
      case T_I16:
      case T_I32: this.zigzag(BigInt(v as number)); break;
      case T_I64: this.zigzag(v as bigint); break;
      case T_DOUBLE: this.raw(v as Uint8Array); break;
      case T_BINARY: this.varint(BigInt((v as Uint8Array).length)); this.raw(v as Uint8Array); break;
      case T_LIST:
      case T_SET: {
        const l = v as TList;
        if (l.items.length < 15) this.out.push((l.items.length << 4) | l.elemType);
        else { this.out.push(0xf0 | l.elemType); this.varint(BigInt(l.items.length)); }
        for (const item of l.items) {
          if (l.elemType === T_BOOL_TRUE || l.elemType === T_BOOL_FALSE) this.out.push(item as number);
          else this.value(l.elemType, item);
        }
        break;
      }
      case T_STRUCT: this.struct(v as TStruct); break;
      default: throw new Error(`unsupported Thrift type ${type}`);
    }
  }
  struct(s: TStruct): void {
    let last = 0;
    for (const f of s.fields) {
      const type = f.type === T_BOOL_TRUE || f.type === T_BOOL_FALSE ? (f.value ? T_BOOL_TRUE : T_BOOL_FALSE) : f.type;
      const d = f.id - last;
      if (d > 0 && d <= 15) this.out.push((d << 4) | type);
      else { this.out.push(type); this.zigzag(BigInt(f.id)); }
      last = f.id;
      if (type !== T_BOOL_TRUE && type !== T_BOOL_FALSE) this.value(type, f.value);
    }
    this.out.push(0);
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

const tfield = (s: TStruct, id: number): TField | undefined => s.fields.find((f) => f.id === id);

/**
 * Checks every offset index entry of a Parquet file against the pages it points to: the location
 * of the first data page is the chunk's data_page_offset, and each location's size is its page
 * header plus compressed_page_size. Returns the number of pages checked; throws on a mismatch.
 * Exported for tests (joinParquet rewrites these offsets).
 */
export function checkOffsetIndexes(bytes: Uint8Array): number {
  const n = bytes.length;
  const len = new DataView(bytes.buffer, bytes.byteOffset, n).getUint32(n - 8, true);
  const meta = new ThriftReader(bytes.subarray(n - 8 - len, n - 8)).struct();
  let pages = 0;
  for (const g of ((tfield(meta, 4)?.value as TList | undefined)?.items ?? []) as TStruct[]) {
    for (const c of ((tfield(g, 1)?.value as TList | undefined)?.items ?? []) as TStruct[]) {
      const cm = tfield(c, 3)?.value as TStruct;
      const off = tfield(c, 4);
      const olen = tfield(c, 5);
      if (!off || !olen) continue;
      const at = Number(off.value as bigint);
      const oi = new ThriftReader(bytes.subarray(at, at + (olen.value as number))).struct();
      const locations = ((tfield(oi, 1)?.value as TList | undefined)?.items ?? []) as TStruct[];
      if (locations.length && tfield(locations[0]!, 1)?.value !== tfield(cm, 9)?.value) throw new Error(`offset index of row group ${pages}: first page is not the data page`);
      for (const loc of locations) {
        const o = Number(tfield(loc, 1)!.value as bigint);
        const size = tfield(loc, 2)!.value as number;
        const r = new ThriftReader(bytes.subarray(o, o + size));
        const header = r.struct();
        if ((tfield(header, 3)?.value as number) + r.offset !== size) throw new Error(`offset index entry at ${o} does not match its page`);
        pages++;
      }
    }
  }
  return pages;
}

/** Adds `delta` to the i64 fields `ids` of a struct (absolute file offsets). */
function shiftOffsets(s: TStruct, ids: number[], delta: bigint): void {
  for (const f of s.fields) if (ids.includes(f.id) && f.type === T_I64) f.value = (f.value as bigint) + delta;
}

const MAGIC = [0x50, 0x41, 0x52, 0x31]; // "PAR1"

/**
 * Joins Parquet files of one schema, written by this module, into one file: their row groups are
 * copied side by side and the footer lists them all, with file offsets moved (parquet.thrift:
 * RowGroup.file_offset; ColumnChunk.file_offset and column index offset; ColumnMetaData data,
 * index, dictionary page and bloom filter offsets). Offset indexes hold absolute page offsets too:
 * they are rewritten after the row groups. Row order is kept.
 */
function joinParquet(files: Uint8Array[]): Uint8Array {
  const parts = files.map((file) => {
    const n = file.length;
    if (n < 12 || MAGIC.some((m, i) => file[i] !== m || file[n - 4 + i] !== m)) throw new Error('not a Parquet file');
    const len = new DataView(file.buffer, file.byteOffset, n).getUint32(n - 8, true);
    const start = n - 8 - len;
    if (start < 4) throw new Error('bad Parquet footer length');
    return { file, start, meta: new ThriftReader(file.subarray(start, n - 8)).struct() };
  });
  const groups: TValue[] = [];
  const indexes: Uint8Array[] = [];
  let rows = 0n;
  let pos = 4;
  let indexPos = 4 + parts.reduce((sum, p) => sum + p.start - 4, 0);
  for (const { file, start, meta } of parts) {
    const delta = BigInt(pos - 4);
    const rg = tfield(meta, 4)?.value as TList | undefined;
    if (!rg || rg.elemType !== T_STRUCT) throw new Error('Parquet footer without row groups');
    for (const g of rg.items as TStruct[]) {
      shiftOffsets(g, [5], delta);
      const chunks = tfield(g, 1)?.value as TList | undefined;
      for (const c of (chunks?.items ?? []) as TStruct[]) {
        if (tfield(c, 1)) throw new Error('Parquet column chunk in another file');
        shiftOffsets(c, [2, 6], delta);
        const cm = tfield(c, 3)?.value as TStruct | undefined;
        if (cm) shiftOffsets(cm, [9, 10, 11, 14], delta);
        const oiOffset = tfield(c, 4);
        const oiLength = tfield(c, 5);
        if (oiOffset && oiLength) {
          const at = Number(oiOffset.value as bigint);
          const oi = new ThriftReader(file.subarray(at, at + (oiLength.value as number))).struct();
          const locations = tfield(oi, 1)?.value as TList | undefined;
          for (const loc of (locations?.items ?? []) as TStruct[]) shiftOffsets(loc, [1], delta);
          const w = new ThriftWriter();
          w.struct(oi);
          const blob = w.bytes();
          oiOffset.value = BigInt(indexPos);
          oiLength.value = blob.length;
          indexes.push(blob);
          indexPos += blob.length;
        }
      }
      const ordinal = tfield(g, 7);
      if (ordinal) ordinal.value = groups.length;
      groups.push(g);
    }
    rows += (tfield(meta, 3)?.value as bigint | undefined) ?? 0n;
    pos += start - 4;
  }
  const m = parts[0]!.meta;
  (tfield(m, 3) as TField).value = rows;
  (tfield(m, 4) as TField).value = { elemType: T_STRUCT, items: groups };
  const w = new ThriftWriter();
  w.struct(m);
  const footer = w.bytes();
  const out = new Uint8Array(indexPos + footer.length + 8);
  out.set(MAGIC, 0);
  let at = 4;
  for (const p of parts) { out.set(p.file.subarray(4, p.start), at); at += p.start - 4; }
  for (const blob of indexes) { out.set(blob, at); at += blob.length; }
  out.set(footer, at);
  new DataView(out.buffer).setUint32(at + footer.length, footer.length, true);
  out.set(MAGIC, at + footer.length + 4);
  return out;
}

/**
 * Encodes rows for one destination table into a zstd Parquet file with exactly the columns of
 * `table` (TABLES[...] in tables.ts). Throws AgentError BATCH_ENCODE_FAILED naming the column for a
 * missing required value, a value of the wrong type, or a column the table does not define.
 */
export function encodeBatch(table: TableDef, rows: Row[], opts: EncodeOptions = {}): Uint8Array {
  const order = opts.sort === false ? undefined : rowOrder(table, rows);
  return encodeRows(table, rows, order, Math.max(1, opts.rowGroupRows ?? SLICE_ROWS));
}

/** Encodes rows and describes the batch for the store (ops, first/last row key, schema). */
export function sealBatch(table: TableDef, rows: Row[]): SealedBatch {
  const order = rowOrder(table, rows);
  const seen = new Set<string>();
  const data = encodeRows(table, rows, order, SLICE_ROWS, seen);
  const ops = new Set<Op>();
  for (const op of seen) {
    if (!OPS.has(op)) fail(table.name, `column op must be insert, update or delete, got ${describe(op)}`);
    ops.add(op as Op);
  }
  const keyOf = (r: Row | undefined): string => (r ? JSON.stringify(table.key.map((k) => { const v = r[k]; return typeof v === 'bigint' ? v.toString() : v ?? null; })) : '[]');
  const first = rows.length ? rows[order ? order[0]! : 0] : undefined;
  const last = rows.length ? rows[order ? order[rows.length - 1]! : rows.length - 1] : undefined;
  return { table: table.name, data, rows: rows.length, ops: [...ops].sort(), firstKey: keyOf(first), lastKey: keyOf(last), schema: schemaFingerprint(table) };
}

// ---------------------------------------------------------------------------------------------
// Parquet → Arrow → columns / rows

function readError(err: unknown): AgentError {
  return err instanceof AgentError ? err : new AgentError('BATCH_ENCODE_FAILED', `cannot read Parquet batch: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

/** Rows and row groups of a Parquet file, from its footer. */
export function fileLayout(bytes: Uint8Array): { rows: number; groups: number } {
  try {
    const n = bytes.length;
    if (n < 12 || MAGIC.some((m, i) => bytes[i] !== m || bytes[n - 4 + i] !== m)) throw new Error('not a Parquet file');
    const len = new DataView(bytes.buffer, bytes.byteOffset, n).getUint32(n - 8, true);
    if (n - 8 - len < 4) throw new Error('bad Parquet footer length');
    const meta = new ThriftReader(bytes.subarray(n - 8 - len, n - 8)).struct();
    return { rows: Number((tfield(meta, 3)?.value as bigint | undefined) ?? 0n), groups: ((tfield(meta, 4)?.value as TList | undefined)?.items ?? []).length };
  } catch (err) {
    throw readError(err);
  }
}

/**
 * One row group of a file (or, for `group` undefined, its schema with no rows) as an Arrow table.
 * Reading a row group at a time keeps the WebAssembly heap at one row group's size.
 */
function readArrow(bytes: Uint8Array, group: number | undefined): Table {
  try {
    // Large record batches: arrow-js pays a fixed cost per IPC message (the default is 1024 rows).
    // intoIPCStream consumes (frees) the WebAssembly table.
    if (group === undefined) return tableFromIPC(parquet.readSchema(bytes).intoIPCStream());
    return tableFromIPC(parquet.readParquet(bytes, { batchSize: READ_BATCH_ROWS, rowGroups: [group] }).intoIPCStream());
  } catch (err) {
    throw readError(err);
  }
}

/** The column layout of a file: plain and dictionary strings are both `string`. */
function specOf(field: Field): ColumnSpec {
  const t = DataType.isDictionary(field.type) ? (field.type as Dictionary).dictionary : field.type;
  const type: ColumnType | undefined = DataType.isUtf8(t) ? 'string'
    : DataType.isTimestamp(t) ? 'timestamp_us'
    : DataType.isBool(t) ? 'boolean'
    : DataType.isFloat(t) ? 'double'
    : DataType.isInt(t) ? ((t as { bitWidth: number }).bitWidth === 64 ? 'int64' : 'int32')
    : undefined;
  if (!type) throw new AgentError('BATCH_ENCODE_FAILED', `cannot read Parquet batch: column ${field.name} has unsupported type ${String(field.type)}`);
  return { name: field.name, type, nullable: field.nullable };
}

/** Decodes a Utf8 Arrow array into strings (used for dictionaries and for files with plain strings). */
function utf8Strings(data: Data): string[] {
  const offsets = data.valueOffsets as Int32Array;
  const bytes = data.values as Uint8Array;
  const decoder = new TextDecoder();
  const out = new Array<string>(data.length);
  // arrow-js slices offsets (not the bytes) with the array: offsets[i] is row i of this Data.
  for (let i = 0; i < data.length; i++) out[i] = decoder.decode(bytes.subarray(offsets[i]!, offsets[i + 1]!));
  return out;
}

/**
 * Appends one Arrow chunk of a column to `col` at row `at`. String dictionaries are merged through
 * `index` (string → code), so batches read from several files share one dictionary.
 */
function appendChunk(col: Col, data: Data, at: number, index: Map<string, number>): void {
  // arrow-js convention (Data.slice): fixed-width values and Utf8 offsets are already sliced to
  // this Data, bitmaps (validity, booleans) are not and are read from `data.offset`.
  const n = data.length;
  const off = data.offset;
  const valid = col.valid;
  const bitmap = data.nullBitmap;
  if (data.nullCount === 0 || !bitmap || bitmap.length === 0) valid.fill(1, at, at + n);
  else {
    let nulls = 0;
    for (let i = 0; i < n; i++) {
      const b = off + i;
      if (bitmap[b >> 3]! & (1 << (b & 7))) valid[at + i] = 1;
      else nulls++;
    }
    col.nulls += nulls;
  }
  switch (col.spec.type) {
    case 'string': {
      const codes = col.values as Int32Array;
      const dict = col.dict!;
      const code = (s: string): number => {
        let k = index.get(s);
        if (k === undefined) { k = dict.length; dict.push(s); index.set(s, k); }
        return k;
      };
      if (DataType.isDictionary(data.type)) {
        const strings = data.dictionary!.data.flatMap(utf8Strings);
        const remap = new Int32Array(strings.length);
        strings.forEach((s, k) => { remap[k] = code(s); });
        const src = data.values as unknown as ArrayLike<number>;
        for (let i = 0; i < n; i++) if (valid[at + i]) codes[at + i] = remap[Number(src[i])]!;
      } else {
        const strings = utf8Strings(data);
        let prev: string | undefined;
        let k = 0;
        for (let i = 0; i < n; i++) {
          if (!valid[at + i]) continue;
          const s = strings[i]!;
          if (s !== prev) { k = code(s); prev = s; }
          codes[at + i] = k;
        }
      }
      break;
    }
    case 'boolean': {
      const bits = data.values as Uint8Array;
      const out = col.values as Uint8Array;
      for (let i = 0; i < n; i++) { const b = off + i; out[at + i] = (bits[b >> 3]! >> (b & 7)) & 1; }
      break;
    }
    case 'int32':
    case 'double':
    case 'int64':
    case 'timestamp_us': {
      const src = data.values as Int32Array | Float64Array | BigInt64Array;
      (col.values as typeof src).set(src.subarray(0, n) as never, at);
      break;
    }
  }
}

/** Reads Parquet files of one table (same column names and types) into columns, rows in order. */
function filesToColumns(parts: Uint8Array[]): { cols: Col[]; n: number } {
  const layouts = parts.map(fileLayout);
  const sig = (s: ColumnSpec[]): string => s.map((c) => `${c.name}:${c.type}`).join(',');
  const specs = readArrow(parts[0]!, undefined).schema.fields.map(specOf);
  const n = layouts.reduce((sum, l) => sum + l.rows, 0);
  const cols = specs.map((s) => newCol(s, n));
  const indexes = cols.map(() => new Map<string, number>());
  let at = 0;
  parts.forEach((part, p) => {
    for (let g = 0; g < layouts[p]!.groups; g++) {
      const t = readArrow(part, g);
      if (sig(t.schema.fields.map(specOf)) !== sig(specs)) throw new AgentError('BATCH_ENCODE_FAILED', 'cannot merge Parquet batches with different columns');
      if (at + t.numRows > n) throw new AgentError('BATCH_ENCODE_FAILED', 'cannot read Parquet batch: more rows than its footer says');
      specs.forEach((s, j) => {
        let pos = at;
        for (const data of t.getChild(s.name)!.data) {
          appendChunk(cols[j]!, data, pos, indexes[j]!);
          pos += data.length;
        }
      });
      at += t.numRows;
    }
  });
  if (at !== n) throw new AgentError('BATCH_ENCODE_FAILED', 'cannot read Parquet batch: fewer rows than its footer says');
  return { cols, n };
}

type RowBuilder = (rows: Row[], from: number, n: number, values: unknown[][]) => void;
const rowBuilders = new Map<string, RowBuilder>();

/** Compiles a loop that creates every row with one object literal (one hidden class for all rows). */
function rowBuilder(names: string[]): RowBuilder {
  const key = JSON.stringify(names);
  let fn = rowBuilders.get(key);
  if (!fn) {
    const props = names.map((name, j) => `${JSON.stringify(name)}: A${j}[i]`).join(', ');
    const unpack = names.map((_n, j) => `const A${j} = values[${j}];`).join('\n');
    fn = new Function('rows', 'from', 'n', 'values', `${unpack}\nfor (let i = 0; i < n; i++) rows[from + i] = { ${props} };`) as RowBuilder;
    rowBuilders.set(key, fn);
  }
  return fn;
}

/** The JS values of rows [from, from + n) of a column (null where invalid). */
function columnValues(col: Col, from: number, n: number): unknown[] {
  const out = new Array<unknown>(n);
  const valid = col.valid;
  const v = col.values;
  switch (col.spec.type) {
    case 'string': {
      const codes = v as Int32Array;
      const dict = col.dict!;
      for (let i = 0; i < n; i++) out[i] = valid[from + i] ? dict[codes[from + i]!] : null;
      break;
    }
    case 'boolean':
      for (let i = 0; i < n; i++) out[i] = valid[from + i] ? v[from + i] === 1 : null;
      break;
    case 'int64':
    case 'timestamp_us': {
      const big = v as BigInt64Array;
      const w = new Int32Array(big.buffer, big.byteOffset, big.length * 2);
      for (let i = 0; i < n; i++) {
        const r = from + i;
        if (!valid[r]) { out[i] = null; continue; }
        const hi = w[2 * r + 1]!;
        const lo = w[2 * r]! >>> 0;
        // Safe integers (|v| < 2^53) as numbers without a BigInt per value; the rest as bigint.
        out[i] = hi >= -2097152 && hi < 2097152 && !(hi === -2097152 && lo === 0) ? hi * 4294967296 + lo : big[r];
      }
      break;
    }
    default: {
      const num = v as Int32Array | Float64Array;
      for (let i = 0; i < n; i++) out[i] = valid[from + i] ? num[from + i] : null;
    }
  }
  return out;
}

/**
 * Reads a batch back into rows, in file order. int64 and timestamp (µs since the epoch, UTC) values
 * come back as numbers when they are safe integers and as bigint otherwise (beyond year 2255 for µs).
 * Reads files of the current encoder (dictionary strings) and of earlier ones (plain strings).
 */
export function decodeBatch(bytes: Uint8Array): Row[] {
  const { cols, n } = filesToColumns([bytes]);
  const rows = new Array<Row>(n);
  const build = rowBuilder(cols.map((c) => c.spec.name));
  // In slices: the per-column value arrays stay small whatever the batch size.
  for (let from = 0; from < n; from += READ_BATCH_ROWS) {
    const len = Math.min(READ_BATCH_ROWS, n - from);
    build(rows, from, len, cols.map((c) => columnValues(c, from, len)));
  }
  return rows;
}

/** Appends rows [off, off + take) of an Arrow column (any chunking) to `col` at row `at`. */
function appendRange(col: Col, chunks: readonly Data[], off: number, take: number, at: number, index: Map<string, number>): void {
  let base = 0;
  for (const data of chunks) {
    const start = Math.max(off, base);
    const end = Math.min(off + take, base + data.length);
    if (start < end) appendChunk(col, start === base && end - start === data.length ? data : data.slice(start - base, end - start), at + start - off, index);
    base += data.length;
    if (base >= off + take) break;
  }
}

/**
 * Concatenates Parquet batches of one table (same schema) into one file; rows keep their order.
 * Used to coalesce small batches into one upload unit. Streams: the parts' row groups are read one
 * at a time into a slice of SLICE_ROWS rows (or ~SLICE_BYTES of column data), each full slice is
 * written as a row group (small batches merge into full row groups, which compress better), and
 * the row groups are joined, so memory is one slice and one input row group, whatever the unit's
 * size. Parts written by earlier versions of the encoder (plain strings) merge with current ones.
 */
export function concatBatches(parts: Uint8Array[], opts: { rowGroupRows?: number } = {}): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const sliceRows = Math.max(1, opts.rowGroupRows ?? SLICE_ROWS);
  if (parts.length === 0) throw new AgentError('BATCH_ENCODE_FAILED', 'no batches to concatenate');
  const sig = (s: ColumnSpec[]): string => s.map((c) => `${c.name}:${c.type}`).join(',');
  const specs = readArrow(parts[0]!, undefined).schema.fields.map(specOf);
  const cols = specs.map((s) => newCol(s, sliceRows));
  let indexes = cols.map(() => new Map<string, number>());
  let fill = 0;
  // Bytes of the slice's dictionaries so far (sliceBytes, kept as strings are added).
  let dictBytes = 0;
  const rowBytes = cols.reduce((sum, c) => sum + WIDTH[c.spec.type], 0);
  const files: Uint8Array[] = [];
  const flush = (): void => {
    files.push(writeSlice('concat', cols, { from: 0, length: fill }));
    for (const c of cols) {
      c.valid.fill(0, 0, fill);
      c.nulls = 0;
      if (c.dict) c.dict = [];
    }
    indexes = cols.map(() => new Map<string, number>());
    fill = 0;
    dictBytes = 0;
  };
  for (const part of parts) {
    const groups = fileLayout(part).groups;
    for (let g = 0; g < groups; g++) {
      const t = readArrow(part, g);
      if (sig(t.schema.fields.map(specOf)) !== sig(specs)) throw new AgentError('BATCH_ENCODE_FAILED', 'cannot merge Parquet batches with different columns');
      const chunks = specs.map((s) => t.getChild(s.name)!.data);
      for (let off = 0; off < t.numRows;) {
        const take = Math.min(sliceRows - fill, t.numRows - off);
        cols.forEach((c, j) => {
          const known = c.dict?.length ?? 0;
          appendRange(c, chunks[j]!, off, take, fill, indexes[j]!);
          if (c.dict) for (let k = known; k < c.dict.length; k++) dictBytes += c.dict[k]!.length;
        });
        fill += take;
        off += take;
        // A slice ends at SLICE_ROWS rows or after the input row group that takes it past SLICE_BYTES.
        if (fill === sliceRows || (fill >= MIN_SLICE_ROWS && fill * rowBytes + dictBytes > SLICE_BYTES)) flush();
      }
    }
  }
  if (fill > 0 || files.length === 0) flush();
  return joinSlices('concat', files);
}
