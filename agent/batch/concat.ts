/**
 * Concatenating batch files of one table into one file, to coalesce small batches into one upload
 * unit: read a row group at a time (read.ts) into slices, written again (write.ts).
 */
import type { Data, Table } from 'apache-arrow';
import { AgentError } from '../errors.js';
import { newCol, type Col, type ColumnSpec } from './columns.js';
import { appendRange, checkColumns, fileColumns, fileLayout, readArrow } from './read.js';
import { MIN_SLICE_ROWS, SLICE_BYTES, SLICE_ROWS, WIDTH } from './slice.js';
import { joinSlices, writeSlice, type ParquetOptions } from './write.js';

/**
 * Concatenates Parquet batches of one table (same schema) into one file; rows keep their order.
 * Used to coalesce small batches into one upload unit. Streams: the parts' row groups are read one
 * at a time into a slice of SLICE_ROWS rows (or ~SLICE_BYTES of column data), each full slice is
 * written as a row group (small batches merge into full row groups, which compress better), and
 * the row groups are joined, so memory is one slice and one input row group, whatever the unit's
 * size. Parts written by earlier versions of the encoder (plain strings) merge with current ones.
 * The result is written with `opts`' encodings (ParquetOptions), whatever the parts had.
 */
export function concatBatches(parts: Uint8Array[], opts: { rowGroupRows?: number } & ParquetOptions = {}): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const sliceRows = Math.max(1, opts.rowGroupRows ?? SLICE_ROWS);
  if (parts.length === 0) throw new AgentError('BATCH_ENCODE_FAILED', 'no batches to concatenate');
  const out = new ConcatSlices(fileColumns(parts[0]!), sliceRows, { byteStreamSplit: opts.byteStreamSplit === true });
  for (const part of parts) {
    const groups = fileLayout(part).groups;
    for (let g = 0; g < groups; g++) out.add(readArrow(part, g));
  }
  return out.finish();
}

/**
 * A batch written again with `opts`' encodings (rows, order and values unchanged), a row group at a
 * time. For batches sealed before an encoding change, e.g. with BYTE_STREAM_SPLIT doubles before
 * issue 17 made that an opt-in.
 */
export function rewriteBatch(part: Uint8Array, opts: ParquetOptions = {}): Uint8Array {
  const out = new ConcatSlices(fileColumns(part), SLICE_ROWS, { byteStreamSplit: opts.byteStreamSplit === true });
  const groups = fileLayout(part).groups;
  for (let g = 0; g < groups; g++) out.add(readArrow(part, g));
  return out.finish();
}

/** The slice being filled from input row groups, and the slices written so far. */
class ConcatSlices {
  private readonly cols: Col[];
  /** Per column, string → code in the slice's dictionary. */
  private indexes: Map<string, number>[];
  /** Rows in the slice so far. */
  private fill = 0;
  /** Bytes of the slice's dictionaries so far (sliceBytes, kept as strings are added). */
  private dictBytes = 0;
  private readonly rowBytes: number;
  private readonly files: Uint8Array[] = [];

  constructor(
    private readonly specs: ColumnSpec[],
    private readonly sliceRows: number,
    private readonly parquetOpts: ParquetOptions,
  ) {
    this.cols = specs.map((s) => newCol(s, sliceRows));
    this.indexes = this.cols.map(() => new Map<string, number>());
    this.rowBytes = this.cols.reduce((sum, c) => sum + WIDTH[c.spec.type], 0);
  }

  /** Appends an input row group, writing each slice it fills. */
  add(t: Table): void {
    checkColumns(t, this.specs);
    const chunks = this.specs.map((s) => t.getChild(s.name)!.data);
    for (let off = 0; off < t.numRows;) {
      const take = Math.min(this.sliceRows - this.fill, t.numRows - off);
      this.append(chunks, off, take);
      off += take;
      // A slice ends at SLICE_ROWS rows or after the input row group that takes it past SLICE_BYTES.
      if (this.fill === this.sliceRows || (this.fill >= MIN_SLICE_ROWS && this.fill * this.rowBytes + this.dictBytes > SLICE_BYTES)) this.flush();
    }
  }

  /** The joined file of every slice (one empty row group when there were no rows). */
  finish(): Uint8Array {
    if (this.fill > 0 || this.files.length === 0) this.flush();
    return joinSlices('concat', this.files);
  }

  private append(chunks: (readonly Data[])[], off: number, take: number): void {
    this.cols.forEach((c, j) => {
      const known = c.dict?.length ?? 0;
      appendRange(c, chunks[j]!, off, take, this.fill, this.indexes[j]!);
      if (c.dict) for (let k = known; k < c.dict.length; k++) this.dictBytes += c.dict[k]!.length;
    });
    this.fill += take;
  }

  private flush(): void {
    this.files.push(writeSlice('concat', this.cols, { from: 0, length: this.fill }, this.parquetOpts));
    for (const c of this.cols) {
      c.valid.fill(0, 0, this.fill);
      c.nulls = 0;
      if (c.dict) c.dict = [];
    }
    this.indexes = this.cols.map(() => new Map<string, number>());
    this.fill = 0;
    this.dictBytes = 0;
  }
}
