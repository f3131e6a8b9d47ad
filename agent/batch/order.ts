/**
 * The order rows are written in: stably sorted by the table's clustering key, computed from the
 * key columns alone. Values of one tag then sit side by side, which is what makes a time-series
 * value cost a few bytes; the sort is stable, so several rows of one row key (e.g. insert then
 * delete) keep their order.
 */
import { newCol, type Col } from './columns.js';
import type { Row, TableDef } from './tables.js';

type KeyExtractor = (rows: Row[], cols: Col[]) => void;
const keyExtractors = new WeakMap<TableDef, KeyExtractor>();

/**
 * Compiles a pass reading only the clustering columns of every row into sort-key columns: strings
 * as dictionary codes, numbers (int64/timestamps included) as doubles. Values of the wrong type
 * are left to the full pass, which rejects them.
 */
function keyExtractor(table: TableDef): KeyExtractor {
  const cached = keyExtractors.get(table);
  if (cached) return cached;
  const lines: string[] = ['const n = rows.length;'];
  const keyCols = table.clusterBy.map((name) => table.columns.find((c) => c.name === name)!);
  keyCols.forEach((c, j) => {
    lines.push(`const V${j} = cols[${j}].valid, X${j} = cols[${j}].values;`);
    if (c.type === 'string') lines.push(`const D${j} = cols[${j}].dict, M${j} = new Map(); let P${j}, C${j} = 0;`);
  });
  lines.push('for (let i = 0; i < n; i++) {');
  lines.push('  const r = rows[i];');
  lines.push('  let v;');
  keyCols.forEach((c, j) => {
    lines.push(`  v = r[${JSON.stringify(c.name)}];`);
    if (c.type === 'string') {
      lines.push(
        `  if (typeof v === 'string') { V${j}[i] = 1; if (v !== P${j}) { let k = M${j}.get(v); if (k === undefined) { k = D${j}.length; D${j}.push(v); M${j}.set(v, k); } P${j} = v; C${j} = k; } X${j}[i] = C${j}; }`,
      );
    } else {
      lines.push(`  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') { V${j}[i] = 1; X${j}[i] = Number(v); }`);
    }
  });
  lines.push('}');
  const fn = new Function('rows', 'cols', lines.join('\n')) as KeyExtractor;
  keyExtractors.set(table, fn);
  return fn;
}

/** The positions of `rows` in write order, or undefined when that is their own order. */
export function rowOrder(table: TableDef, rows: Row[]): Uint32Array | undefined {
  if (table.clusterBy.length === 0 || rows.length < 2) return undefined;
  const keyCols = table.clusterBy.map((name) => {
    const c = table.columns.find((col) => col.name === name)!;
    return newCol({ name, type: c.type === 'string' ? 'string' : 'double', nullable: true }, rows.length);
  });
  keyExtractor(table)(rows, keyCols);
  return sortOrder(keyCols, table.clusterBy, rows.length);
}

/** Ranks of a dictionary's values in code-unit order (the order of JS `<` on strings). */
function dictRanks(dict: string[]): Int32Array {
  const idx = Array.from(dict.keys()).sort((a, b) => (dict[a]! < dict[b]! ? -1 : dict[a]! > dict[b]! ? 1 : 0));
  const rank = new Int32Array(dict.length);
  idx.forEach((code, r) => {
    rank[code] = r;
  });
  return rank;
}

/** Numeric sort keys of one column: ranks for strings, values for numbers, NULL first. */
function sortKeys(col: Col, n: number): Float64Array {
  const keys = new Float64Array(n);
  const { valid } = col;
  const v = col.values;
  if (col.spec.type === 'string') {
    const rank = dictRanks(col.dict!);
    const codes = v as Int32Array;
    for (let i = 0; i < n; i++) keys[i] = valid[i] ? rank[codes[i]!]! : -Infinity;
  } else if (v instanceof BigInt64Array) {
    // Exact below 2^53 µs (year 2255); beyond, like Number(bigint).
    const w = new Int32Array(v.buffer, v.byteOffset, 2 * n);
    for (let i = 0; i < n; i++) keys[i] = valid[i] ? w[2 * i + 1]! * 4294967296 + (w[2 * i]! >>> 0) : -Infinity;
  } else {
    for (let i = 0; i < n; i++) keys[i] = valid[i] ? v[i]! : -Infinity;
  }
  return keys;
}

/** Compares rows x and y on some sort keys: negative, 0 or positive. */
type Compare = (x: number, y: number) => number;

/**
 * A stable permutation sorting rows by `columns` (NULL first, strings in code-unit order), or
 * undefined when they already are sorted. A string first key (a tag WebID) is bucketed by a
 * counting sort; within a bucket rows usually already come in time order, so typical batches sort
 * in linear time and only disordered runs pay for a comparison sort.
 */
function sortOrder(cols: Col[], columns: string[], n: number): Uint32Array | undefined {
  if (columns.length === 0 || n < 2) return undefined;
  const keyCols = columns.map((name) => cols.find((c) => c.spec.name === name)!);
  const keys = keyCols.map((c) => sortKeys(c, n));
  const k0 = keys[0]!;
  const rest = keys.slice(1);
  const cmpRest = restComparator(rest);
  if (isSorted(k0, cmpRest, n)) return undefined;
  const first = keyCols[0]!;
  if (first.spec.type === 'string') return bucketSort(k0, first.dict!.length + 1, rest.length > 0 ? cmpRest : undefined, n);
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  return idx.sort((x, y) => k0[x]! - k0[y]! || cmpRest(x, y) || x - y);
}

/** Compares rows on the keys after the first. */
function restComparator(rest: Float64Array[]): Compare {
  // One key after the first (tag, then time) is the usual case: the same result without the loop.
  const k1 = rest.length === 1 ? rest[0]! : undefined;
  if (k1) {
    return (x: number, y: number): number => {
      const d = k1[x]! - k1[y]!;
      return d !== 0 ? d : 0;
    };
  }
  return (x: number, y: number): number => {
    for (const k of rest) {
      const d = k[x]! - k[y]!;
      if (d !== 0) return d;
    }
    return 0;
  };
}

function isSorted(k0: Float64Array, cmpRest: Compare, n: number): boolean {
  for (let i = 1; i < n; i++) {
    const d = k0[i - 1]! - k0[i]!;
    if (d > 0 || (d === 0 && cmpRest(i - 1, i) > 0)) return false;
  }
  return true;
}

/**
 * Counting sort by the first key's rank (-Infinity = NULL goes to bucket 0), stable by
 * construction; then each bucket not already in order by the other keys (`cmpRest`) is sorted.
 */
function bucketSort(k0: Float64Array, buckets: number, cmpRest: Compare | undefined, n: number): Uint32Array {
  const idx = new Uint32Array(n);
  const start = new Uint32Array(buckets + 1);
  for (let i = 0; i < n; i++) start[(k0[i] === -Infinity ? 0 : k0[i]! + 1) + 1]!++;
  for (let b = 0; b < buckets; b++) start[b + 1]! += start[b]!;
  const fill = start.slice(0, buckets);
  for (let i = 0; i < n; i++) idx[fill[k0[i] === -Infinity ? 0 : k0[i]! + 1]!++] = i;
  if (!cmpRest) return idx;
  for (let b = 0; b < buckets; b++) {
    const run = idx.subarray(start[b], start[b + 1]);
    let ordered = true;
    for (let i = 1; i < run.length; i++)
      if (cmpRest(run[i - 1]!, run[i]!) > 0) {
        ordered = false;
        break;
      }
    // The index tie-break keeps rows of equal keys in input order (a stable sort).
    if (!ordered) run.sort((x, y) => cmpRest(x, y) || x - y);
  }
  return idx;
}
