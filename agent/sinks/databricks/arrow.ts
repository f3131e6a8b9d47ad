/**
 * Row-key work on batch files without turning rows into JS objects: a MERGE unit must hold one
 * source row per key (platform-notes "COPY INTO and MERGE"), so the last row per key is kept,
 * reading only the key columns (Parquet → Arrow through parquet-wasm), and only a file that
 * actually holds a superseded row is rewritten (Arrow slices, no decoding into rows).
 */
import { DataType, makeBuilder, makeData, RecordBatch, Struct, Table, tableFromIPC, tableToIPC, type Data, type Vector } from 'apache-arrow';
import * as parquet from 'parquet-wasm';
import { fileLayout } from '../../batch/read.js';
import { batchWriterProperties, joinSlices } from '../../batch/write.js';
import { AgentError } from '../../errors.js';

/**
 * Reads one row group of a Parquet file (or only `columns` of it) into an Arrow table. One at a
 * time: parquet-wasm's heap grows to fit what it reads and never shrinks, so it then grows to one
 * row group of the encoder's (~2 MiB of column data), not to a whole file of tag metadata.
 */
export function readParquetArrow(bytes: Uint8Array, group: number, columns?: string[]): Table {
  try {
    // Large record batches: arrow-js pays a fixed cost per IPC message (the default is 1024 rows).
    return tableFromIPC(
      parquet.readParquet(bytes, columns === undefined ? { batchSize: 65536, rowGroups: [group] } : { batchSize: 65536, rowGroups: [group], columns }).intoIPCStream(),
    );
  } catch (err) {
    throw new AgentError('BATCH_ENCODE_FAILED', `cannot read Parquet batch: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * For files read in order, the rows superseded by a later row of the same key (in the same file or
 * a later one): per file a bitmap of dropped rows (1 = dropped), or null when the file keeps every
 * row. Only the key columns are read, into one Float64Array per key part (int64 and timestamps as
 * two exact 32-bit halves, strings as their index in a per-column dictionary); then one sort of row
 * numbers by (key, position). About 50 bytes per row of the unit, never a row object or key string.
 */
export function supersededRows(files: { rows: number; read(): Uint8Array }[], key: string[]): (Uint8Array | null)[] {
  const total = files.reduce((n, f) => n + f.rows, 0);
  const keys = new KeyParts(key, total);
  const starts: number[] = [];
  let at = 0;
  for (const f of files) {
    const bytes = f.read();
    const file = fileLayout(bytes);
    if (file.rows !== f.rows || at + f.rows > total) throw new AgentError('BATCH_ENCODE_FAILED', `batch file has ${file.rows} rows, the store says ${f.rows}`);
    const start = at;
    starts.push(start);
    for (let g = 0; g < file.groups; g++) {
      const table = readParquetArrow(bytes, g, key);
      if (at + table.numRows > start + f.rows) throw new AgentError('BATCH_ENCODE_FAILED', `batch file has more rows than its footer says`);
      keys.add(table, at);
      at += table.numRows;
    }
    if (at !== start + f.rows) throw new AgentError('BATCH_ENCODE_FAILED', `batch file has fewer rows than its footer says`);
  }
  return keys.superseded(starts, files);
}

type KeyLayout = 'wide' | 'num' | 'dict';

/** How a key column is held: int64 and timestamps as two 32-bit halves, small numbers as is, the rest by dictionary. */
function layoutOf(t: DataType): KeyLayout {
  if ((DataType.isTimestamp(t) || (DataType.isInt(t) && t.bitWidth === 64)) && LITTLE_ENDIAN) return 'wide';
  return (DataType.isInt(t) && t.bitWidth <= 32) || DataType.isFloat(t) ? 'num' : 'dict';
}

/** The unit's key columns as Float64Arrays, one per key part, row `at + i` for a table's row i. */
class KeyParts {
  private readonly layouts: KeyLayout[] = [];
  private readonly parts: Float64Array[] = [];
  private readonly dicts: Map<unknown, number>[];

  constructor(
    private readonly key: string[],
    private readonly total: number,
  ) {
    this.dicts = key.map(() => new Map<unknown, number>());
  }

  add(table: Table, at: number): void {
    let p = 0;
    this.key.forEach((name, j) => {
      const vector: Vector | null = table.getChild(name);
      if (!vector) throw new AgentError('BATCH_ENCODE_FAILED', `batch file has no key column ${name}`);
      if (this.layouts[j] === undefined) {
        const layout = (this.layouts[j] = layoutOf(vector.type as DataType));
        for (let k = 0; k < (layout === 'wide' ? 2 : 1); k++) this.parts.push(new Float64Array(this.total));
      }
      const layout = this.layouts[j];
      const a = this.parts[p]!;
      const b = layout === 'wide' ? this.parts[p + 1]! : undefined;
      p += layout === 'wide' ? 2 : 1;
      this.fill(vector, layout, a, b, at, this.dicts[j]!);
    });
  }

  private fill(vector: Vector, layout: KeyLayout, a: Float64Array, b: Float64Array | undefined, at: number, dict: Map<unknown, number>): void {
    let row = at;
    for (const data of vector.data) {
      const values = data.values as unknown;
      const halves = layout === 'wide' && values instanceof BigInt64Array ? new Int32Array(values.buffer, values.byteOffset, values.length * 2) : undefined;
      const nums =
        layout === 'num' && (values instanceof Int32Array || values instanceof Float64Array || values instanceof Int16Array || values instanceof Int8Array)
          ? values
          : undefined;
      for (let i = 0; i < data.length; i++, row++) {
        // Key columns are NOT NULL; a null still compares equal only to another null.
        if (data.nullCount > 0 && !data.getValid(i)) {
          a[row] = -Infinity;
          if (b) b[row] = -Infinity;
          continue;
        }
        const k = i + data.offset;
        if (halves && b) {
          a[row] = halves[2 * k + 1]!;
          b[row] = halves[2 * k]! >>> 0;
          continue;
        }
        if (nums) {
          a[row] = nums[k]!;
          continue;
        }
        const v: unknown = vector.get(row - at);
        let id = dict.get(v);
        if (id === undefined) dict.set(v, (id = dict.size));
        a[row] = id;
        if (b) b[row] = 0;
      }
    }
  }

  /** One sort of row numbers by (key, position); every row but the last of its key is marked in its file's bitmap. */
  superseded(starts: number[], files: { rows: number }[]): (Uint8Array | null)[] {
    const total = this.total;
    const order = new Uint32Array(total);
    for (let i = 0; i < total; i++) order[i] = i;
    const cmp = (x: number, y: number): number => {
      for (const part of this.parts) {
        const u = part[x]!;
        const v = part[y]!;
        if (u < v) return -1;
        if (u > v) return 1;
      }
      return 0;
    };
    order.sort((x, y) => cmp(x, y) || x - y);
    const dropped: (Uint8Array | null)[] = files.map(() => null);
    for (let k = 0; k + 1 < total; k++) {
      const x = order[k]!;
      if (cmp(x, order[k + 1]!) !== 0) continue;
      // x is not the last row of its key: find its file (starts ascend) and mark it.
      let lo = 0;
      let hi = starts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid]! <= x) lo = mid;
        else hi = mid - 1;
      }
      (dropped[lo] ??= new Uint8Array(files[lo]!.rows))[x - starts[lo]!] = 1;
    }
    return dropped;
  }
}

/**
 * The file without the dropped rows (kept rows in their order), as zstd Parquet: row group by row
 * group (each read, cut and written on its own), joined into one file.
 */
export function dropRows(bytes: Uint8Array, dropped: Uint8Array): Uint8Array {
  const { groups } = fileLayout(bytes);
  if (groups === 0) return bytes;
  const pieces: Uint8Array[] = [];
  let base = 0;
  for (let g = 0; g < groups; g++) {
    const table = readParquetArrow(bytes, g);
    let n = 0;
    const keep = new Uint32Array(table.numRows);
    for (let i = 0; i < table.numRows; i++) if (dropped[base + i] !== 1) keep[n++] = i;
    base += table.numRows;
    // A row group left empty is left out (the file keeps one, empty, if every row goes).
    if (n === 0 && (g < groups - 1 || pieces.length > 0)) continue;
    const rows = keep.subarray(0, n);
    // One record batch, column by column: a row object never exists, and slicing instead would make
    // one IPC message (with its dictionaries) per kept range.
    const children = table.schema.fields.map((f) => takeColumn(table.getChild(f.name) as Vector, rows));
    const kept = new Table([new RecordBatch(table.schema, makeData({ type: new Struct(table.schema.fields), length: n, nullCount: 0, children }))]);
    try {
      // Properties per piece: build() and writeParquet both consume (free) what they are given.
      pieces.push(parquet.writeParquet(parquet.Table.fromIPCStream(tableToIPC(kept, 'stream')), batchWriterProperties().build()));
    } catch (err) {
      throw new AgentError('BATCH_ENCODE_FAILED', `cannot rewrite a Parquet batch without superseded rows: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
    }
  }
  return joinSlices('rewrite', pieces);
}

type NumberArray = Int8Array | Int16Array | Int32Array | BigInt64Array | Float32Array | Float64Array;

/**
 * The rows `keep` (ascending) of a column. Numbers and timestamps are copied from the value buffer
 * (get() would turn µs timestamps into float milliseconds); strings, dictionaries and booleans go
 * through a builder.
 */
function takeColumn(vector: Vector, keep: Uint32Array): Data {
  const type = vector.type as DataType;
  const first = vector.data[0]?.values as unknown;
  const fixed =
    (DataType.isInt(type) || DataType.isFloat(type) || DataType.isTimestamp(type)) &&
    (first instanceof Int8Array ||
      first instanceof Int16Array ||
      first instanceof Int32Array ||
      first instanceof BigInt64Array ||
      first instanceof Float32Array ||
      first instanceof Float64Array);
  if (!fixed) {
    const b = makeBuilder({ type, nullValues: [null, undefined] });
    for (const i of keep) b.append(vector.get(i));
    return b.finish().flush();
  }
  const out = new (first.constructor as new (n: number) => NumberArray)(keep.length);
  const valid = new Uint8Array((keep.length + 7) >> 3);
  let nulls = 0;
  let c = 0;
  let base = 0;
  for (let j = 0; j < keep.length; j++) {
    const i = keep[j]!;
    while (i >= base + vector.data[c]!.length) base += vector.data[c++]!.length;
    const data = vector.data[c]!;
    if (data.nullCount > 0 && !data.getValid(i - base)) {
      nulls++;
      continue;
    }
    valid[j >> 3]! |= 1 << (j & 7);
    out[j] = (data.values as NumberArray)[data.offset + i - base]!;
  }
  return makeData({ type, length: keep.length, nullCount: nulls, data: out, ...(nulls > 0 ? { nullBitmap: valid } : {}) } as Parameters<typeof makeData>[0]);
}
