/**
 * Encoding typed rows into compressed Parquet batches (design.md "Data flow": batch); decode.ts
 * reads them back, concat.ts joins them into upload units.
 *
 * Rows are stably sorted by the table's clustering key first (order.ts). Then, slice by slice
 * (SLICE_ROWS rows or ~SLICE_BYTES of column data, one Parquet row group each: slice.ts), one
 * compiled pass reads the rows in that order into reused typed arrays (columns.ts; strings as
 * dictionary codes: a tag WebID, site, unit or op crosses into WebAssembly once per slice, not once
 * per row), parquet-wasm writes the slice with zstd and time-series encodings that every
 * Databricks reader takes (write.ts), and the slices' row groups are joined into one file
 * (footer.ts). Memory is a slice's, whatever the batch size.
 */
import { describe, fail, SliceColumns } from './columns.js';
import { rowOrder } from './order.js';
import { MIN_SLICE_ROWS, SLICE_BYTES, SLICE_ROWS, sliceBytes } from './slice.js';
import type { Op, Row, TableDef, TableName } from './tables.js';
import { joinSlices, writeSlice, type ParquetOptions } from './write.js';

export interface EncodeOptions extends ParquetOptions {
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

/** A short, stable description of the column layout (names, types, nullability). */
export function schemaFingerprint(table: TableDef): string {
  return table.columns.map((c) => `${c.name}:${c.type}${c.nullable ? '?' : ''}`).join(',');
}

/**
 * Encodes rows slice by slice: each slice of rows in `order` is read into reused typed arrays and
 * written as one row group. The encoder's memory is then a slice's, whatever the batch size.
 * Collects the distinct `op` values into `ops` when given.
 */
function encodeRows(table: TableDef, rows: Row[], order: Uint32Array | undefined, sliceRows: number, parquetOpts: ParquetOptions, ops?: Set<string>): Uint8Array {
  const n = rows.length;
  const slice = new SliceColumns(table, rows, order, Math.min(sliceRows, Math.max(n, 1)));
  const opCol = slice.cols.find((c) => c.spec.name === 'op');
  const files: Uint8Array[] = [];
  let len = 0;
  // At least one slice: no rows still make a file (with the table's schema and no row group data).
  for (let from = 0, first = true; first || from < n; from += len, first = false) {
    len = Math.min(sliceRows, n - from);
    slice.fill(from, len);
    // Too many bytes for one slice: read fewer rows again, and keep that size for the next slices.
    for (let bytes = sliceBytes(slice.cols, len); len > MIN_SLICE_ROWS && bytes > SLICE_BYTES; bytes = sliceBytes(slice.cols, len)) {
      len = Math.max(MIN_SLICE_ROWS, Math.floor((len * SLICE_BYTES) / bytes));
      sliceRows = len;
      slice.fill(from, len);
    }
    if (ops && opCol) for (const op of opCol.dict!) ops.add(op);
    files.push(writeSlice(table.name, slice.cols, { from: 0, length: len }, parquetOpts));
  }
  return joinSlices(table.name, files);
}

/**
 * Encodes rows for one destination table into a zstd Parquet file with exactly the columns of
 * `table` (TABLES[...] in tables.ts). Throws AgentError BATCH_ENCODE_FAILED naming the column for a
 * missing required value, a value of the wrong type, or a column the table does not define.
 */
export function encodeBatch(table: TableDef, rows: Row[], opts: EncodeOptions = {}): Uint8Array {
  const order = opts.sort === false ? undefined : rowOrder(table, rows);
  return encodeRows(table, rows, order, Math.max(1, opts.rowGroupRows ?? SLICE_ROWS), opts);
}

/** Encodes rows and describes the batch for the store (ops, first/last row key, schema). */
export function sealBatch(table: TableDef, rows: Row[], opts: ParquetOptions = {}): SealedBatch {
  const order = rowOrder(table, rows);
  const seen = new Set<string>();
  const data = encodeRows(table, rows, order, SLICE_ROWS, opts, seen);
  const ops = new Set<Op>();
  for (const op of seen) {
    if (!OPS.has(op)) fail(table.name, `column op must be insert, update or delete, got ${describe(op)}`);
    ops.add(op as Op);
  }
  const keyOf = (r: Row | undefined): string =>
    r
      ? JSON.stringify(
          table.key.map((k) => {
            const v = r[k];
            return typeof v === 'bigint' ? v.toString() : (v ?? null);
          }),
        )
      : '[]';
  const first = rows.length ? rows[order ? order[0]! : 0] : undefined;
  const last = rows.length ? rows[order ? order[rows.length - 1]! : rows.length - 1] : undefined;
  return { table: table.name, data, rows: rows.length, ops: [...ops].sort(), firstKey: keyOf(first), lastKey: keyOf(last), schema: schemaFingerprint(table) };
}
