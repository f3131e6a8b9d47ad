/**
 * Reading batch files back: Parquet → Arrow (parquet-wasm, a row group at a time) → columns in
 * typed arrays (columns.ts), which decode.ts turns into rows and concat.ts writes again.
 * Reads files of the current encoder (dictionary strings) and of earlier ones (plain strings).
 */
import { DataType, tableFromIPC, type Data, type Field, type Table } from 'apache-arrow';
import * as parquet from 'parquet-wasm';
import { AgentError } from '../errors.js';
import { newCol, type Col, type ColumnSpec } from './columns.js';
import { footerLayout } from './footer.js';
import type { ColumnType } from './tables.js';

/** Rows per Arrow record batch when reading a file back (arrow-js pays a fixed cost per batch). */
export const READ_BATCH_ROWS = 65536;

function readError(err: unknown): AgentError {
  return err instanceof AgentError
    ? err
    : new AgentError('BATCH_ENCODE_FAILED', `cannot read Parquet batch: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

/** Rows and row groups of a Parquet file, from its footer. */
export function fileLayout(bytes: Uint8Array): { rows: number; groups: number } {
  try {
    return footerLayout(bytes);
  } catch (err) {
    throw readError(err);
  }
}

/**
 * One row group of a file (or, for `group` undefined, its schema with no rows) as an Arrow table.
 * Reading a row group at a time keeps the WebAssembly heap at one row group's size.
 */
export function readArrow(bytes: Uint8Array, group: number | undefined): Table {
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
  const t = DataType.isDictionary(field.type) ? field.type.dictionary : field.type;
  const type: ColumnType | undefined = DataType.isUtf8(t)
    ? 'string'
    : DataType.isTimestamp(t)
      ? 'timestamp_us'
      : DataType.isBool(t)
        ? 'boolean'
        : DataType.isFloat(t)
          ? 'double'
          : DataType.isInt(t)
            ? (t as { bitWidth: number }).bitWidth === 64
              ? 'int64'
              : 'int32'
            : undefined;
  if (!type) throw new AgentError('BATCH_ENCODE_FAILED', `cannot read Parquet batch: column ${field.name} has unsupported type ${String(field.type)}`);
  return { name: field.name, type, nullable: field.nullable };
}

/** The columns of a file, from its schema. */
export function fileColumns(bytes: Uint8Array): ColumnSpec[] {
  return readArrow(bytes, undefined).schema.fields.map(specOf);
}

/** Throws unless a row group read (readArrow) has the columns `specs` (names and types). */
export function checkColumns(t: Table, specs: ColumnSpec[]): void {
  const sig = (s: ColumnSpec[]): string => s.map((c) => `${c.name}:${c.type}`).join(',');
  if (sig(t.schema.fields.map(specOf)) !== sig(specs)) throw new AgentError('BATCH_ENCODE_FAILED', 'cannot merge Parquet batches with different columns');
}

/** Decodes a Utf8 Arrow array into strings (used for dictionaries and for files with plain strings). */
function utf8Strings(data: Data): string[] {
  const offsets = data.valueOffsets as Int32Array;
  const bytes = data.values as Uint8Array;
  const decoder = new TextDecoder();
  const out = new Array<string>(data.length);
  // arrow-js slices offsets (not the bytes) with the array: offsets[i] is row i of this Data.
  for (let i = 0; i < data.length; i++) out[i] = decoder.decode(bytes.subarray(offsets[i], offsets[i + 1]));
  return out;
}

// arrow-js convention (Data.slice): fixed-width values and Utf8 offsets are already sliced to a
// Data, bitmaps (validity, booleans) are not and are read from `data.offset`.

/**
 * Appends one Arrow chunk of a column to `col` at row `at`. String dictionaries are merged through
 * `index` (string → code), so batches read from several files share one dictionary.
 */
function appendChunk(col: Col, data: Data, at: number, index: Map<string, number>): void {
  appendValidity(col, data, at);
  switch (col.spec.type) {
    case 'string':
      appendStrings(col, data, at, index);
      break;
    case 'boolean': {
      const bits = data.values as Uint8Array;
      const out = col.values as Uint8Array;
      const off = data.offset;
      for (let i = 0; i < data.length; i++) {
        const b = off + i;
        out[at + i] = (bits[b >> 3]! >> (b & 7)) & 1;
      }
      break;
    }
    case 'int32':
    case 'double':
    case 'int64':
    case 'timestamp_us': {
      const src = data.values as Int32Array | Float64Array | BigInt64Array;
      (col.values as typeof src).set(src.subarray(0, data.length) as never, at);
      break;
    }
  }
}

/** Sets `col.valid` for the chunk's rows and counts its nulls. */
function appendValidity(col: Col, data: Data, at: number): void {
  const n = data.length;
  const off = data.offset;
  const valid = col.valid;
  const bitmap = data.nullBitmap;
  if (data.nullCount === 0 || !bitmap || bitmap.length === 0) {
    valid.fill(1, at, at + n);
    return;
  }
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    const b = off + i;
    if (bitmap[b >> 3]! & (1 << (b & 7))) valid[at + i] = 1;
    else nulls++;
  }
  col.nulls += nulls;
}

/** A chunk of strings (dictionary or plain) as codes into `col.dict`, present rows only. */
function appendStrings(col: Col, data: Data, at: number, index: Map<string, number>): void {
  const n = data.length;
  const valid = col.valid;
  const codes = col.values as Int32Array;
  const dict = col.dict!;
  const code = (s: string): number => {
    let k = index.get(s);
    if (k === undefined) {
      k = dict.length;
      dict.push(s);
      index.set(s, k);
    }
    return k;
  };
  if (DataType.isDictionary(data.type)) {
    const strings = data.dictionary!.data.flatMap(utf8Strings);
    const remap = new Int32Array(strings.length);
    strings.forEach((s, k) => {
      remap[k] = code(s);
    });
    const src = data.values as unknown as ArrayLike<number>;
    for (let i = 0; i < n; i++) if (valid[at + i]) codes[at + i] = remap[Number(src[i])]!;
    return;
  }
  const strings = utf8Strings(data);
  let prev: string | undefined;
  let k = 0;
  for (let i = 0; i < n; i++) {
    if (!valid[at + i]) continue;
    const s = strings[i]!;
    if (s !== prev) {
      k = code(s);
      prev = s;
    }
    codes[at + i] = k;
  }
}

/** Appends rows [off, off + take) of an Arrow column (any chunking) to `col` at row `at`. */
export function appendRange(col: Col, chunks: readonly Data[], off: number, take: number, at: number, index: Map<string, number>): void {
  let base = 0;
  for (const data of chunks) {
    const start = Math.max(off, base);
    const end = Math.min(off + take, base + data.length);
    if (start < end) appendChunk(col, start === base && end - start === data.length ? data : data.slice(start - base, end - start), at + start - off, index);
    base += data.length;
    if (base >= off + take) break;
  }
}

/** Reads Parquet files of one table (same column names and types) into columns, rows in order. */
export function readColumns(parts: Uint8Array[]): { cols: Col[]; n: number } {
  const layouts = parts.map(fileLayout);
  const specs = fileColumns(parts[0]!);
  const n = layouts.reduce((sum, l) => sum + l.rows, 0);
  const cols = specs.map((s) => newCol(s, n));
  const indexes = cols.map(() => new Map<string, number>());
  let at = 0;
  parts.forEach((part, p) => {
    for (let g = 0; g < layouts[p]!.groups; g++) {
      const t = readArrow(part, g);
      checkColumns(t, specs);
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
