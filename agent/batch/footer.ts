/**
 * A Parquet file's footer: its layout (rows, row groups), and joining files of one schema into one
 * by rewriting their footers into a single one. Errors are plain Errors: the reader and the writer
 * (read.ts, write.ts) say which batch they were reading or writing.
 */
import { ThriftReader, tfield, T_I64, T_STRUCT, writeStruct, type TField, type TList, type TStruct } from './thrift.js';

const MAGIC = [0x50, 0x41, 0x52, 0x31]; // "PAR1"

/** A Parquet file with its footer (FileMetaData) parsed; the footer starts at byte `start`. */
interface Footer {
  file: Uint8Array;
  start: number;
  meta: TStruct;
}

function readFooter(file: Uint8Array): Footer {
  const n = file.length;
  if (n < 12 || MAGIC.some((m, i) => file[i] !== m || file[n - 4 + i] !== m)) throw new Error('not a Parquet file');
  const len = new DataView(file.buffer, file.byteOffset, n).getUint32(n - 8, true);
  const start = n - 8 - len;
  if (start < 4) throw new Error('bad Parquet footer length');
  return { file, start, meta: new ThriftReader(file.subarray(start, n - 8)).struct() };
}

/** Rows and row groups of a Parquet file, from its footer. */
export function footerLayout(bytes: Uint8Array): { rows: number; groups: number } {
  const { meta } = readFooter(bytes);
  return { rows: Number((tfield(meta, 3)?.value as bigint | undefined) ?? 0n), groups: ((tfield(meta, 4)?.value as TList | undefined)?.items ?? []).length };
}

/**
 * Every encoding a file's column chunks use, as parquet.thrift numbers (FileMetaData.row_groups →
 * RowGroup.columns → ColumnChunk.meta_data → ColumnMetaData.encodings), e.g. 9 = BYTE_STREAM_SPLIT.
 */
export function footerEncodings(bytes: Uint8Array): Set<number> {
  const out = new Set<number>();
  for (const g of ((tfield(readFooter(bytes).meta, 4)?.value as TList | undefined)?.items ?? []) as TStruct[]) {
    for (const c of ((tfield(g, 1)?.value as TList | undefined)?.items ?? []) as TStruct[]) {
      const cm = tfield(c, 3)?.value as TStruct | undefined;
      for (const e of ((cm && tfield(cm, 2)?.value) as TList | undefined)?.items ?? []) out.add(Number(e));
    }
  }
  return out;
}

/** Adds `delta` to the i64 fields `ids` of a struct (absolute file offsets). */
function shiftOffsets(s: TStruct, ids: number[], delta: bigint): void {
  for (const f of s.fields) if (ids.includes(f.id) && f.type === T_I64) f.value = (f.value as bigint) + delta;
}

/**
 * Joins Parquet files of one schema, slices written by write.ts, into one file: their row groups are
 * copied side by side and the footer lists them all, with file offsets moved (parquet.thrift:
 * RowGroup.file_offset; ColumnChunk.file_offset and column index offset; ColumnMetaData data,
 * index, dictionary page and bloom filter offsets). Offset indexes hold absolute page offsets too:
 * they are rewritten after the row groups. Row order is kept.
 */
export function joinParquet(files: Uint8Array[]): Uint8Array {
  const parts = files.map(readFooter);
  const joined = new JoinedFooter(parts);
  for (const part of parts) joined.add(part);
  return joined.file();
}

/** The joined file's footer and offset indexes, built from the files' footers in file order. */
class JoinedFooter {
  private readonly groups: TStruct[] = [];
  /** Offset indexes, rewritten, in the order they are written after the row groups. */
  private readonly indexes: Uint8Array[] = [];
  private rows = 0n;
  /** Where the next file's row groups start in the joined file. */
  private pos = 4;
  /** Where the next offset index goes: after every file's row groups. */
  private indexPos: number;

  constructor(private readonly parts: Footer[]) {
    this.indexPos = 4 + parts.reduce((sum, p) => sum + p.start - 4, 0);
  }

  /** Takes the row groups of the next file, their offsets moved to where they land. */
  add({ file, start, meta }: Footer): void {
    const delta = BigInt(this.pos - 4);
    const rg = tfield(meta, 4)?.value as TList | undefined;
    if (!rg || rg.elemType !== T_STRUCT) throw new Error('Parquet footer without row groups');
    for (const g of rg.items as TStruct[]) {
      shiftOffsets(g, [5], delta);
      const chunks = tfield(g, 1)?.value as TList | undefined;
      for (const c of (chunks?.items ?? []) as TStruct[]) this.moveChunk(file, c, delta);
      const ordinal = tfield(g, 7);
      if (ordinal) ordinal.value = this.groups.length;
      this.groups.push(g);
    }
    this.rows += (tfield(meta, 3)?.value as bigint | undefined) ?? 0n;
    this.pos += start - 4;
  }

  private moveChunk(file: Uint8Array, c: TStruct, delta: bigint): void {
    if (tfield(c, 1)) throw new Error('Parquet column chunk in another file');
    shiftOffsets(c, [2, 6], delta);
    const cm = tfield(c, 3)?.value as TStruct | undefined;
    if (cm) shiftOffsets(cm, [9, 10, 11, 14], delta);
    const oiOffset = tfield(c, 4);
    const oiLength = tfield(c, 5);
    if (oiOffset && oiLength) this.moveOffsetIndex(file, oiOffset, oiLength, delta);
  }

  /** Rewrites a chunk's offset index (page offsets moved) to its place after the row groups. */
  private moveOffsetIndex(file: Uint8Array, oiOffset: TField, oiLength: TField, delta: bigint): void {
    const at = Number(oiOffset.value);
    const oi = new ThriftReader(file.subarray(at, at + (oiLength.value as number))).struct();
    const locations = tfield(oi, 1)?.value as TList | undefined;
    for (const loc of (locations?.items ?? []) as TStruct[]) shiftOffsets(loc, [1], delta);
    const blob = writeStruct(oi);
    oiOffset.value = BigInt(this.indexPos);
    oiLength.value = blob.length;
    this.indexes.push(blob);
    this.indexPos += blob.length;
  }

  /** The joined file: magic, every file's row groups, the offset indexes, the footer, magic. */
  file(): Uint8Array {
    const m = this.parts[0]!.meta;
    (tfield(m, 3) as TField).value = this.rows;
    (tfield(m, 4) as TField).value = { elemType: T_STRUCT, items: this.groups };
    const footer = writeStruct(m);
    const out = new Uint8Array(this.indexPos + footer.length + 8);
    out.set(MAGIC, 0);
    let at = 4;
    for (const p of this.parts) {
      out.set(p.file.subarray(4, p.start), at);
      at += p.start - 4;
    }
    for (const blob of this.indexes) {
      out.set(blob, at);
      at += blob.length;
    }
    out.set(footer, at);
    new DataView(out.buffer).setUint32(at + footer.length, footer.length, true);
    out.set(MAGIC, at + footer.length + 4);
    return out;
  }
}
