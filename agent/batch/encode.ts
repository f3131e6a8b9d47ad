/**
 * Encoding typed rows into compressed Parquet batches (design.md "Data flow": batch), and back.
 *
 * Columns are built straight into Arrow buffers (typed arrays, one pass per column) and written by
 * parquet-wasm with zstd. Rows are stably sorted by the table's clustering key first: values of one
 * tag then sit side by side, which is what makes a time-series value cost a few bytes. The sort is
 * stable, so several rows of one row key (e.g. insert then delete) keep their relative order.
 */
import {
  Bool,
  Field,
  Float64,
  Int32,
  Int64,
  makeData,
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
import type { Column, ColumnType, Op, Row, TableDef, TableName } from './tables.js';

export interface EncodeOptions {
  /** Stable-sort rows by the table's `clusterBy` columns before writing (default true). */
  sort?: boolean;
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
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function fail(table: TableDef, message: string): never {
  throw new AgentError('BATCH_ENCODE_FAILED', `${table.name}: ${message}`);
}

function arrowType(type: ColumnType): DataType {
  switch (type) {
    case 'string': return new Utf8();
    case 'int32': return new Int32();
    case 'int64': return new Int64();
    case 'double': return new Float64();
    case 'boolean': return new Bool();
    // UTC-adjusted microseconds: Spark reads TIMESTAMP (not TIMESTAMP_NTZ), DuckDB TIMESTAMPTZ.
    case 'timestamp_us': return new TimestampMicrosecond('UTC');
  }
}

/** A short, stable description of the column layout (names, types, nullability). */
export function schemaFingerprint(table: TableDef): string {
  return table.columns.map((c) => `${c.name}:${c.type}${c.nullable ? '?' : ''}`).join(',');
}

function describe(v: unknown): string {
  return typeof v === 'string' ? `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}` : `${typeof v} ${String(v)}`;
}

/** Per-column output of the row pass: validity bitmap, null count and the raw values. */
interface ColumnOut {
  valid: Uint8Array;
  nulls: number;
  /** string: Utf8Builder; int32: Int32Array; int64/timestamp_us: Int32Array (lo, hi pairs); double: Float64Array; boolean: Uint8Array bits. */
  values: Utf8Builder | Int32Array | Float64Array | Uint8Array;
  /** int64/timestamp_us only: the same buffer as `values`, for bigint inputs. */
  big?: BigInt64Array;
}

type Extractor = (
  rows: Row[],
  order: Uint32Array | undefined,
  out: ColumnOut[],
  bad: (col: number, row: number, value: unknown) => never,
  unknown: (row: number) => never,
) => void;

const extractors = new WeakMap<TableDef, Extractor>();

/**
 * Compiles, once per table, a row pass that reads every column with a literal property name.
 * Rows from one source share one shape, so each read is a monomorphic inline cache: this is what
 * keeps a million rows near one second (a generic `row[name]` loop is several times slower).
 * Column names come from TABLES (static), and are embedded with JSON.stringify.
 */
function extractor(table: TableDef): Extractor {
  const cached = extractors.get(table);
  if (cached) return cached;
  const lines: string[] = [];
  lines.push('const n = rows.length;');
  table.columns.forEach((c, j) => {
    lines.push(`const V${j} = out[${j}].valid, X${j} = out[${j}].values${c.type === 'int64' || c.type === 'timestamp_us' ? `, B${j} = out[${j}].big` : ''}; let N${j} = 0;`);
  });
  lines.push('for (let i = 0; i < n; i++) {');
  lines.push('  const ri = order === undefined ? i : order[i];');
  lines.push('  const r = rows[ri];');
  lines.push('  let present = 0, v;');
  table.columns.forEach((c, j) => {
    lines.push(`  v = r[${JSON.stringify(c.name)}];`);
    lines.push(`  if (v === null || v === undefined) { if (v === null) present++; ${c.nullable ? `N${j}++;` : `bad(${j}, ri, v);`} } else {`);
    lines.push(`    present++; V${j}[i >> 3] |= 1 << (i & 7);`);
    switch (c.type) {
      case 'string':
        lines.push(`    if (typeof v !== 'string') bad(${j}, ri, v); X${j}.push(i, v);`);
        break;
      case 'int32':
        lines.push(`    if (typeof v !== 'number' || (v | 0) !== v) bad(${j}, ri, v); X${j}[i] = v;`);
        break;
      case 'double':
        lines.push(`    if (typeof v !== 'number') bad(${j}, ri, v); X${j}[i] = v;`);
        break;
      case 'boolean':
        lines.push(`    if (v === true) X${j}[i >> 3] |= 1 << (i & 7); else if (v !== false) bad(${j}, ri, v);`);
        break;
      case 'int64':
      case 'timestamp_us':
        // Little-endian lo/hi halves without allocating a BigInt per value.
        lines.push(`    if (typeof v === 'number') { if (!Number.isSafeInteger(v)) bad(${j}, ri, v); X${j}[2 * i] = v >>> 0; X${j}[2 * i + 1] = Math.floor(v / 4294967296); }`);
        lines.push(`    else if (typeof v === 'bigint' && v >= -9223372036854775808n && v <= 9223372036854775807n) B${j}[i] = v; else bad(${j}, ri, v);`);
        break;
    }
    lines.push('  }');
  });
  // A property the table does not define would otherwise vanish silently (misspelt column).
  lines.push('  let keys = 0; for (const _ in r) keys++;');
  lines.push('  if (keys !== present) unknown(ri);');
  lines.push('}');
  table.columns.forEach((_c, j) => lines.push(`out[${j}].nulls = N${j};`));
  const fn = new Function('rows', 'order', 'out', 'bad', 'unknown', lines.join('\n')) as Extractor;
  extractors.set(table, fn);
  return fn;
}

/** Builds a Utf8 column's offsets and bytes as values arrive (no intermediate array of strings). */
class Utf8Builder {
  readonly offsets: Int32Array;
  private buf: Uint8Array;
  private off = 0;
  /** Last row index written to `offsets`. */
  private row = 0;
  // Repeated values (site, tag WebID, op, units) are UTF-8 encoded once.
  private readonly cache = new Map<string, Uint8Array>();
  private readonly encoder = new TextEncoder();
  private prev: string | undefined;
  private prevBytes: Uint8Array = new Uint8Array(0);

  constructor(n: number, private readonly onOverflow: () => never) {
    this.offsets = new Int32Array(n + 1);
    this.buf = new Uint8Array(Math.max(64, Math.min(n * 16, 1 << 26)));
  }

  push(i: number, v: string): void {
    if (v !== this.prev) {
      let bytes = this.cache.get(v);
      if (bytes === undefined) {
        bytes = this.encoder.encode(v);
        if (this.cache.size < 65536) this.cache.set(v, bytes);
      }
      this.prev = v;
      this.prevBytes = bytes;
    }
    const bytes = this.prevBytes;
    const offsets = this.offsets;
    // Rows skipped since the last value were nulls: zero-length entries.
    for (let r = this.row + 1; r <= i; r++) offsets[r] = this.off;
    if (this.off + bytes.length > this.buf.length) {
      if (this.off + bytes.length > INT32_MAX) this.onOverflow();
      const next = new Uint8Array(Math.min(INT32_MAX, Math.max(this.buf.length * 2, this.off + bytes.length)));
      next.set(this.buf.subarray(0, this.off));
      this.buf = next;
    }
    this.buf.set(bytes, this.off);
    this.off += bytes.length;
    offsets[i + 1] = this.off;
    this.row = i + 1;
  }

  finish(): { offsets: Int32Array; data: Uint8Array } {
    for (let r = this.row + 1; r < this.offsets.length; r++) this.offsets[r] = this.off;
    return { offsets: this.offsets, data: this.buf.subarray(0, this.off) };
  }
}

function buildColumns(table: TableDef, rows: Row[], order: Uint32Array | undefined): Data[] {
  if (!LITTLE_ENDIAN) throw new AgentError('BATCH_ENCODE_FAILED', 'big-endian platforms are not supported');
  const n = rows.length;
  const out: ColumnOut[] = table.columns.map((c) => {
    const valid = new Uint8Array((n + 7) >> 3);
    switch (c.type) {
      case 'string': return { valid, nulls: 0, values: new Utf8Builder(n, () => fail(table, `column ${c.name}: more than 2 GiB of text in one batch`)) };
      case 'int32': return { valid, nulls: 0, values: new Int32Array(n) };
      case 'double': return { valid, nulls: 0, values: new Float64Array(n) };
      case 'boolean': return { valid, nulls: 0, values: new Uint8Array((n + 7) >> 3) };
      case 'int64':
      case 'timestamp_us': {
        const big = new BigInt64Array(n);
        return { valid, nulls: 0, values: new Int32Array(big.buffer), big };
      }
    }
  });
  const bad = (j: number, row: number, v: unknown): never => {
    const c = table.columns[j]!;
    if (v === null || v === undefined) fail(table, `column ${c.name} is not nullable but row ${row} has no value`);
    return fail(table, `column ${c.name} row ${row}: expected ${c.type}, got ${describe(v)}`);
  };
  const unknown = (row: number): never => {
    const known = new Set(table.columns.map((c) => c.name));
    const extra = Object.keys(rows[row]!).filter((k) => !known.has(k));
    return fail(table, `row ${row} has column ${extra.join(', ') || '(undefined values)'}, which the table does not define`);
  };
  extractor(table)(rows, order, out, bad, unknown);
  return table.columns.map((c, j) => {
    const o = out[j]!;
    const type = arrowType(c.type);
    const common = { length: n, nullCount: o.nulls, nullBitmap: o.valid };
    switch (c.type) {
      case 'string': {
        const { offsets, data } = (o.values as Utf8Builder).finish();
        return makeData({ ...common, type: type as Utf8, valueOffsets: offsets, data });
      }
      case 'int32': return makeData({ ...common, type: type as Int32, data: o.values as Int32Array });
      case 'double': return makeData({ ...common, type: type as Float64, data: o.values as Float64Array });
      case 'boolean': return makeData({ ...common, type: type as Bool, data: o.values as Uint8Array });
      case 'int64': return makeData({ ...common, type: type as Int64, data: o.big! });
      case 'timestamp_us': return makeData({ ...common, type: type as TimestampMicrosecond, data: o.big! as unknown as Int32Array });
    }
  });
}

function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  // Nulls first, like SQL's NULLS FIRST for ascending order.
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

/** Numeric sort keys of one column: ranks for strings, values for numbers, NULL first. */
function sortKeys(rows: Row[], column: string): Float64Array {
  const keys = new Float64Array(rows.length);
  let strings: Map<string, number> | undefined;
  for (let i = 0; i < rows.length; i++) {
    const v = rows[i]![column];
    if (typeof v === 'string') (strings ??= new Map()).set(v, 0);
  }
  if (strings) {
    // Code-unit order, like compareValues; ranks turn every string comparison into a number one.
    const sorted = [...strings.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    sorted.forEach((v, rank) => strings!.set(v, rank));
  }
  for (let i = 0; i < rows.length; i++) {
    const v = rows[i]![column];
    keys[i] = v === null || v === undefined ? -Infinity : typeof v === 'string' ? strings!.get(v)! : Number(v);
  }
  return keys;
}

/** A stable permutation sorting rows by `columns`, or undefined when they already are sorted. */
function sortOrder(rows: Row[], columns: string[]): Uint32Array | undefined {
  if (columns.length === 0 || rows.length < 2) return undefined;
  const cmp = (a: Row, b: Row): number => {
    for (const c of columns) {
      const d = compareValues(a[c], b[c]);
      if (d !== 0) return d;
    }
    return 0;
  };
  let sorted = true;
  for (let i = 1; i < rows.length && sorted; i++) if (cmp(rows[i - 1]!, rows[i]!) > 0) sorted = false;
  if (sorted) return undefined;
  const keys = columns.map((c) => sortKeys(rows, c));
  const idx = new Uint32Array(rows.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  // The index tie-break keeps rows of equal keys in input order (a stable sort).
  if (keys.length === 1) {
    const k0 = keys[0]!;
    return idx.sort((x, y) => k0[x]! - k0[y]! || x - y);
  }
  const k0 = keys[0]!;
  const k1 = keys[1]!;
  const more = keys.slice(2);
  return idx.sort((x, y) => {
    const d = k0[x]! - k0[y]! || k1[x]! - k1[y]!;
    if (d !== 0) return d;
    for (const k of more) {
      const e = k[x]! - k[y]!;
      if (e !== 0) return e;
    }
    return x - y;
  });
}

function writerProperties(schema: Schema): parquet.WriterProperties {
  let b = new parquet.WriterPropertiesBuilder().setCompression(parquet.Compression.ZSTD).setCreatedBy('pi-agent');
  for (const f of schema.fields) {
    // Sorted timestamps are nearly regular: deltas take a few bits where dictionary/plain take 8
    // bytes before zstd. Spark (>= 3.3, every current Databricks runtime) and DuckDB read it.
    if (DataType.isTimestamp(f.type)) b = b.setColumnDictionaryEnabled(f.name, false).setColumnEncoding(f.name, parquet.Encoding.DELTA_BINARY_PACKED);
  }
  return b.build();
}

function writeArrow(table: Table): Uint8Array {
  const wasmTable = parquet.Table.fromIPCStream(tableToIPC(table, 'stream'));
  return parquet.writeParquet(wasmTable, writerProperties(table.schema));
}

/**
 * Encodes rows for one destination table into a zstd Parquet file with exactly the columns of
 * `table` (TABLES[...] in tables.ts). Throws AgentError BATCH_ENCODE_FAILED naming the column for a
 * missing required value, a value of the wrong type, or a column the table does not define.
 */
export function encodeBatch(table: TableDef, rows: Row[], opts: EncodeOptions = {}): Uint8Array {
  return encodeRows(table, rows, opts.sort === false ? undefined : sortOrder(rows, table.clusterBy));
}

function encodeRows(table: TableDef, rows: Row[], order: Uint32Array | undefined): Uint8Array {
  const fields = table.columns.map((c) => new Field(c.name, arrowType(c.type), c.nullable));
  const children = buildColumns(table, rows, order);
  const schema = new Schema(fields);
  const struct = makeData({ type: new Struct(fields), length: rows.length, nullCount: 0, children });
  try {
    return writeArrow(new Table([new RecordBatch(schema, struct)]));
  } catch (err) {
    throw new AgentError('BATCH_ENCODE_FAILED', `${table.name}: Parquet writer failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** Encodes rows and describes the batch for the store (ops, first/last row key, schema). */
export function sealBatch(table: TableDef, rows: Row[]): SealedBatch {
  const order = sortOrder(rows, table.clusterBy);
  const data = encodeRows(table, rows, order);
  const ops = new Set<Op>();
  let lastOp: unknown;
  for (const r of rows) {
    const op = r.op;
    if (op === lastOp) continue;
    if (typeof op !== 'string' || !OPS.has(op)) fail(table, `column op must be insert, update or delete, got ${describe(op)}`);
    ops.add(op as Op);
    lastOp = op;
  }
  const keyOf = (r: Row | undefined): string => (r ? JSON.stringify(table.key.map((k) => { const v = r[k]; return typeof v === 'bigint' ? v.toString() : v ?? null; })) : '[]');
  const first = rows.length ? rows[order ? order[0]! : 0] : undefined;
  const last = rows.length ? rows[order ? order[rows.length - 1]! : rows.length - 1] : undefined;
  return { table: table.name, data, rows: rows.length, ops: [...ops].sort(), firstKey: keyOf(first), lastKey: keyOf(last), schema: schemaFingerprint(table) };
}

function readArrow(bytes: Uint8Array): Table {
  try {
    // Large record batches: arrow-js pays a fixed cost per IPC message (the default is 1024 rows).
    return tableFromIPC(parquet.readParquet(bytes, { batchSize: 65536 }).intoIPCStream());
  } catch (err) {
    throw new AgentError('BATCH_ENCODE_FAILED', `cannot read Parquet batch: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/**
 * Reads a batch back into rows, in file order. int64 and timestamp (µs since the epoch, UTC) values
 * come back as numbers when they are safe integers and as bigint otherwise (beyond year 2255 for µs).
 */
export function decodeBatch(bytes: Uint8Array): Row[] {
  const table = readArrow(bytes);
  const rows: Row[] = Array.from({ length: table.numRows }, () => ({}));
  for (const field of table.schema.fields) {
    const vector = table.getChild(field.name)!;
    let base = 0;
    for (const data of vector.data) {
      const valid = (i: number): boolean => data.nullCount === 0 || data.getValid(i);
      const values = data.values as unknown;
      if (values instanceof BigInt64Array) {
        for (let i = 0; i < data.length; i++) {
          const v = values[i + data.offset]!;
          rows[base + i]![field.name] = !valid(i) ? null : v >= MIN_SAFE && v <= MAX_SAFE ? Number(v) : v;
        }
      } else {
        const get = (i: number): unknown => vector.get(base + i);
        for (let i = 0; i < data.length; i++) {
          const v = valid(i) ? get(i) : null;
          rows[base + i]![field.name] = v as Row[string];
        }
      }
      base += data.length;
    }
  }
  return rows;
}

/**
 * Concatenates Parquet batches of one table (same schema) into one file; rows keep their order.
 * Used to coalesce small batches into one upload unit.
 */
export function concatBatches(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const batches: RecordBatch[] = [];
  let schema: Schema | undefined;
  for (const part of parts) {
    const t = readArrow(part);
    schema ??= t.schema;
    batches.push(...t.batches);
  }
  if (!schema) throw new AgentError('BATCH_ENCODE_FAILED', 'no batches to concatenate');
  try {
    return writeArrow(new Table(schema, batches));
  } catch (err) {
    throw new AgentError('BATCH_ENCODE_FAILED', `cannot merge Parquet batches: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}
