/**
 * Slices: the rows written as one Parquet row group. How many rows a slice holds (by rows and by
 * bytes of column data), and a slice of columns as Arrow data, which is what crosses into
 * WebAssembly (write.ts).
 */
import { Bool, Dictionary, Float64, Int32, Int64, makeData, makeVector, TimestampMicrosecond, Utf8, type Data, type DataType } from 'apache-arrow';
import { fail, type Col, type ColumnSpec } from './columns.js';
import type { ColumnType } from './tables.js';

/**
 * Rows per Parquet row group. Each slice crosses into WebAssembly and is written on its own, and
 * the slices' row groups are joined into one file (joinParquet): the WebAssembly heap, which never
 * shrinks, then holds one slice (a few MB), not the whole batch.
 */
export const SLICE_ROWS = 131072;
/**
 * ... and at most about this many bytes of column data (sliceBytes): rows with long strings (tag
 * metadata, AF attributes) make slices of fewer rows. The WebAssembly heap grows to several times
 * a slice's column data, for good (issue 7).
 */
export const SLICE_BYTES = 2 * 1024 * 1024;
/** A slice is never cut below this many rows for its size (row groups that small compress poorly). */
export const MIN_SLICE_ROWS = 1024;

/** Bytes per row of a column's values in typed arrays (strings as 4-byte codes). */
export const WIDTH: Record<ColumnType, number> = { string: 4, int32: 4, double: 8, boolean: 1, int64: 8, timestamp_us: 8 };

/** Bytes of column data in `len` rows of `cols`: values (strings as 4-byte codes) and dictionaries. */
export function sliceBytes(cols: Col[], len: number): number {
  let bytes = 0;
  for (const c of cols) {
    bytes += len * WIDTH[c.spec.type];
    if (c.dict) for (const v of c.dict) bytes += v.length;
  }
  return bytes;
}

/** One slice of the output: rows `from` to `from + length` of the columns. */
export interface SliceRows {
  from: number;
  length: number;
}

const INT32_MAX = 2147483647;

export function arrowType(c: ColumnSpec, j: number): DataType {
  switch (c.type) {
    // Dictionary-encoded in Arrow: each distinct string crosses into WebAssembly once. The Parquet
    // column is a plain BYTE_ARRAY (UTF8) string for every reader; only Arrow readers see the
    // dictionary (from the embedded Arrow schema).
    case 'string':
      return new Dictionary(new Utf8(), new Int32(), j);
    case 'int32':
      return new Int32();
    case 'int64':
      return new Int64();
    case 'double':
      return new Float64();
    case 'boolean':
      return new Bool();
    // UTC-adjusted microseconds: Spark reads TIMESTAMP (not TIMESTAMP_NTZ), DuckDB TIMESTAMPTZ.
    case 'timestamp_us':
      return new TimestampMicrosecond('UTC');
  }
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
    if (k < 0) {
      k = local[g] = dict.length;
      dict.push(global[g]!);
    }
    codes[i] = k;
  }
  return { codes, dict };
}

/** Column `j` of a slice as Arrow data (of type arrowType(col.spec, j)). */
export function arrowColumn(col: Col, j: number, s: SliceRows, tableName: string): Data {
  const type = arrowType(col.spec, j);
  const nulls = col.nulls ? countNulls(col.valid, s) : 0;
  const common = { length: s.length, nullCount: nulls, nullBitmap: nulls ? packBits(col.valid, s) : undefined };
  switch (col.spec.type) {
    case 'string': {
      const { codes, dict } = sliceStrings(col, s);
      return makeData({
        ...common,
        type: type as Dictionary<Utf8, Int32>,
        data: codes,
        dictionary: makeVector(utf8Dictionary(`${tableName}: column ${col.spec.name}`, dict)),
      });
    }
    case 'int32':
      return makeData({ ...common, type: type as Int32, data: (col.values as Int32Array).subarray(s.from, s.from + s.length) });
    case 'double':
      return makeData({ ...common, type: type as Float64, data: (col.values as Float64Array).subarray(s.from, s.from + s.length) });
    case 'boolean':
      return makeData({ ...common, type: type as Bool, data: packBits(col.values as Uint8Array, s) });
    case 'int64':
      return makeData({ ...common, type: type as Int64, data: (col.values as BigInt64Array).subarray(s.from, s.from + s.length) });
    case 'timestamp_us':
      return makeData({ ...common, type: type as TimestampMicrosecond, data: (col.values as BigInt64Array).subarray(s.from, s.from + s.length) });
  }
}
