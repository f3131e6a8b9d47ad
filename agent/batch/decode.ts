/**
 * A batch file back as rows (the inverse of encodeBatch): Parquet → columns (read.ts) → JS rows.
 */
import type { Col } from './columns.js';
import { READ_BATCH_ROWS, readColumns } from './read.js';
import type { Row } from './tables.js';

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
    case 'timestamp_us':
      wideValues(v as BigInt64Array, valid, from, out);
      break;
    default: {
      const num = v as Int32Array | Float64Array;
      for (let i = 0; i < n; i++) out[i] = valid[from + i] ? num[from + i] : null;
    }
  }
  return out;
}

/** int64 values of rows [from, from + out.length) into `out`: numbers where safe, else bigint. */
function wideValues(big: BigInt64Array, valid: Uint8Array, from: number, out: unknown[]): void {
  const w = new Int32Array(big.buffer, big.byteOffset, big.length * 2);
  for (let i = 0; i < out.length; i++) {
    const r = from + i;
    if (!valid[r]) {
      out[i] = null;
      continue;
    }
    const hi = w[2 * r + 1]!;
    const lo = w[2 * r]! >>> 0;
    // Safe integers (|v| < 2^53) as numbers without a BigInt per value; the rest as bigint.
    out[i] = hi >= -2097152 && hi < 2097152 && !(hi === -2097152 && lo === 0) ? hi * 4294967296 + lo : big[r];
  }
}

/**
 * Reads a batch back into rows, in file order. int64 and timestamp (µs since the epoch, UTC) values
 * come back as numbers when they are safe integers and as bigint otherwise (beyond year 2255 for µs).
 * Reads files of the current encoder (dictionary strings) and of earlier ones (plain strings).
 */
export function decodeBatch(bytes: Uint8Array): Row[] {
  const { cols, n } = readColumns([bytes]);
  const rows = new Array<Row>(n);
  const build = rowBuilder(cols.map((c) => c.spec.name));
  // In slices: the per-column value arrays stay small whatever the batch size.
  for (let from = 0; from < n; from += READ_BATCH_ROWS) {
    const len = Math.min(READ_BATCH_ROWS, n - from);
    build(
      rows,
      from,
      len,
      cols.map((c) => columnValues(c, from, len)),
    );
  }
  return rows;
}
