/**
 * Batch rows and checks on batch files that the agent itself never needs: the tests build
 * pi_timeseries rows with tsRow or secondRows and use checkOffsetIndexes to prove that files joined or rewritten
 * by agent/batch (footer.ts) are valid Parquet.
 */
import type { Op, Row } from '../../agent/batch/tables.js';
import { ThriftReader, tfield, type TList, type TStruct } from '../../agent/batch/thrift.js';

/**
 * `n` good pi_timeseries rows of one tag, one a second from `t0` (µs), with a double from
 * `value(i)` (default i + 0.5) and only the columns that carry something (the rest are null when
 * encoded): the series the sink tests upload.
 */
export function secondRows(tag: string, n: number, o: { t0: number; ingestedAt: number; op?: Op; value?: (i: number) => number }): Row[] {
  const value = o.value ?? ((i: number) => i + 0.5);
  return Array.from({ length: n }, (_, i) => ({
    site: 'plant-a',
    tag_webid: tag,
    timestamp: o.t0 + i * 1_000_000,
    ordinal: 0,
    value_double: value(i),
    good: true,
    ingested_at: o.ingestedAt,
    op: o.op ?? 'insert',
  }));
}

/**
 * A full pi_timeseries row with every column present (decodeBatch returns every column): a good
 * value of tag W1 with no value set, the columns in `over` on top.
 */
export function tsRow(over: Partial<Row>): Row {
  return {
    site: 'plant-a',
    tag_webid: 'W1',
    timestamp: 1_780_000_000_000_000,
    ordinal: 0,
    value_double: null,
    value_int: null,
    value_string: null,
    value_bool: null,
    value_timestamp: null,
    digital_name: null,
    digital_code: null,
    is_system_state: false,
    good: true,
    questionable: false,
    substituted: false,
    annotated: false,
    units: null,
    ingested_at: 1_795_000_000_123_456,
    op: 'insert',
    ...over,
  };
}

/**
 * Checks every offset index entry of a Parquet file against the pages it points to: the location
 * of the first data page is the chunk's data_page_offset, and each location's size is its page
 * header plus compressed_page_size. Returns the number of pages checked; throws on a mismatch.
 * (joinParquet rewrites these offsets.)
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
      const at = Number(off.value);
      const oi = new ThriftReader(bytes.subarray(at, at + (olen.value as number))).struct();
      const locations = ((tfield(oi, 1)?.value as TList | undefined)?.items ?? []) as TStruct[];
      if (locations.length && tfield(locations[0]!, 1)?.value !== tfield(cm, 9)?.value)
        throw new Error(`offset index of row group ${pages}: first page is not the data page`);
      for (const loc of locations) {
        const o = Number(tfield(loc, 1)!.value);
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
