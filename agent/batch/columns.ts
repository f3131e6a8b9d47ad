/**
 * Columns in typed arrays, the encoder's intermediate form between rows and Arrow/Parquet, and the
 * compiled row pass that reads a slice of rows into them (SliceColumns).
 */
import { AgentError } from '../errors.js';
import type { ColumnType, Row, TableDef } from './tables.js';

/** The column layout the writer needs (a TableDef's columns, or a file's schema for concat). */
export interface ColumnSpec {
  name: string;
  type: ColumnType;
  nullable: boolean;
}

/**
 * One column (of a slice, or of whole files for concat) in typed arrays: the intermediate form.
 * `valid` holds one byte per row (1 = value present); booleans likewise one byte per row (simple
 * writes in the row pass; bits are packed per slice).
 */
export interface Col {
  spec: ColumnSpec;
  valid: Uint8Array;
  nulls: number;
  /** string: dictionary codes (Int32Array) into `dict`; int32: Int32Array; double: Float64Array; boolean: Uint8Array; int64/timestamp_us: BigInt64Array. */
  values: Int32Array | Float64Array | Uint8Array | BigInt64Array;
  /** string only: distinct values, in first-seen order. */
  dict?: string[];
  /**
   * string only: `dict` holds exactly the values of the rows filled since it was reset, and NULL
   * rows hold code 0 (the row pass, SliceColumns), so the codes already are the slice's own.
   */
  sliceDict?: boolean;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function fail(name: string, message: string): never {
  throw new AgentError('BATCH_ENCODE_FAILED', `${name}: ${message}`);
}

/** A value for an error message: its type, and the value (a long string cut). */
export function describe(v: unknown): string {
  return typeof v === 'string' ? `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}` : `${typeof v} ${String(v)}`;
}

export function newCol(spec: ColumnSpec, n: number): Col {
  const valid = new Uint8Array(n);
  switch (spec.type) {
    case 'string':
      return { spec, valid, nulls: 0, values: new Int32Array(n), dict: [] };
    case 'int32':
      return { spec, valid, nulls: 0, values: new Int32Array(n) };
    case 'double':
      return { spec, valid, nulls: 0, values: new Float64Array(n) };
    case 'boolean':
      return { spec, valid, nulls: 0, values: new Uint8Array(n) };
    case 'int64':
    case 'timestamp_us':
      return { spec, valid, nulls: 0, values: new BigInt64Array(n) };
  }
}

/**
 * The columns of one slice of rows, refilled slice by slice: rows `order[from + i]` (or
 * `from + i`) are read into the same typed arrays each time, so the encoder's memory is a slice's.
 */
export class SliceColumns {
  readonly cols: Col[];
  private readonly extract: Extractor;

  constructor(
    private readonly table: TableDef,
    private readonly rows: Row[],
    private readonly order: Uint32Array | undefined,
    capacity: number,
  ) {
    if (!LITTLE_ENDIAN) throw new AgentError('BATCH_ENCODE_FAILED', 'big-endian platforms are not supported');
    this.cols = table.columns.map((c) => newCol(c, capacity));
    this.extract = extractor(table);
  }

  /** Reads `len` rows from position `from` of the order; each string column gets a fresh dictionary. */
  fill(from: number, len: number): void {
    for (const c of this.cols) if (c.dict) c.dict = [];
    this.extract(this.rows, this.order, from, len, this.cols, this.bad, this.unknown);
    for (const c of this.cols) if (c.dict) c.sliceDict = true;
  }

  private readonly bad = (j: number, row: number, v: unknown): never => {
    const c = this.table.columns[j]!;
    if (v === null || v === undefined) fail(this.table.name, `column ${c.name} is not nullable but row ${row} has no value`);
    return fail(this.table.name, `column ${c.name} row ${row}: expected ${c.type}, got ${describe(v)}`);
  };

  private readonly unknown = (row: number): never => {
    const known = new Set(this.table.columns.map((c) => c.name));
    const extra = Object.keys(this.rows[row]!).filter((k) => !known.has(k));
    return fail(this.table.name, `row ${row} has column ${extra.join(', ') || '(undefined values)'}, which the table does not define`);
  };
}

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
  table.columns.forEach((c, j) => lines.push(...columnSetup(c.type, j)));
  lines.push('for (let i = 0; i < len; i++) {');
  lines.push('  const ri = order === undefined ? from + i : order[from + i];');
  lines.push('  const r = rows[ri];');
  lines.push('  let present = 0, v;');
  table.columns.forEach((c, j) => lines.push(...columnRead(c, j)));
  // A property the table does not define would otherwise vanish silently (misspelt column).
  lines.push('  let keys = 0; for (const _ in r) keys++;');
  lines.push('  if (keys !== present) unknown(ri);');
  lines.push('}');
  table.columns.forEach((_c, j) => lines.push(`cols[${j}].nulls = N${j};`));
  const fn = new Function('rows', 'order', 'from', 'len', 'cols', 'bad', 'unknown', lines.join('\n')) as Extractor;
  extractors.set(table, fn);
  return fn;
}

/** Generated code before the loop: column `j`'s arrays, null count and string dictionary state. */
function columnSetup(type: ColumnType, j: number): string[] {
  const lines = [`const V${j} = cols[${j}].valid, X${j} = cols[${j}].values; let N${j} = 0;`];
  if (type === 'string') lines.push(`const D${j} = cols[${j}].dict, M${j} = new Map(); let P${j}, C${j} = 0;`);
  if (type === 'int64' || type === 'timestamp_us') lines.push(`const W${j} = new Int32Array(X${j}.buffer, X${j}.byteOffset, 2 * X${j}.length);`);
  return lines;
}

/** Generated code in the loop: reads column `j` of row `r` into slot `i`, checking its type. */
function columnRead(c: ColumnSpec, j: number): string[] {
  return [
    `  v = r[${JSON.stringify(c.name)}];`,
    // A NULL string gets code 0 (in range of any dictionary), as sliceStrings would give it.
    `  if (v === null || v === undefined) { V${j}[i] = 0; ${c.type === 'string' ? `X${j}[i] = 0; ` : ''}if (v === null) present++; ${c.nullable ? `N${j}++;` : `bad(${j}, ri, v);`} } else {`,
    `    present++; V${j}[i] = 1;`,
    ...valueRead(c.type, j),
    '  }',
  ];
}

/** Generated code for a present value `v` of column `j`. */
function valueRead(type: ColumnType, j: number): string[] {
  switch (type) {
    case 'string':
      return [
        `    if (v !== P${j}) { if (typeof v !== 'string') bad(${j}, ri, v); let k = M${j}.get(v); if (k === undefined) { k = D${j}.length; D${j}.push(v); M${j}.set(v, k); } P${j} = v; C${j} = k; }`,
        `    X${j}[i] = C${j};`,
      ];
    case 'int32':
      return [`    if (typeof v !== 'number' || (v | 0) !== v) bad(${j}, ri, v); X${j}[i] = v;`];
    case 'double':
      return [`    if (typeof v !== 'number') bad(${j}, ri, v); X${j}[i] = v;`];
    case 'boolean':
      return [`    if (v === true) X${j}[i] = 1; else if (v === false) X${j}[i] = 0; else bad(${j}, ri, v);`];
    case 'int64':
    case 'timestamp_us':
      // Little-endian lo/hi halves without allocating a BigInt per value.
      return [
        `    if (typeof v === 'number') { if (!Number.isSafeInteger(v)) bad(${j}, ri, v); W${j}[2 * i] = v >>> 0; W${j}[2 * i + 1] = Math.floor(v / 4294967296); }`,
        `    else if (typeof v === 'bigint' && v >= -9223372036854775808n && v <= 9223372036854775807n) X${j}[i] = v; else bad(${j}, ri, v);`,
      ];
  }
}
