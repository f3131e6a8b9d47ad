/**
 * PI timed values → typed `pi_timeseries` columns, never coerced (fidelity §4): numbers by point
 * type, digital and system states as name + code, strings, booleans, timestamps, structured values
 * as JSON text.
 */
import type { Row } from '../../batch/tables.js';

/** A value as PI Web API returns it inside `Items` of a recorded call. */
export interface PiValueItem {
  Timestamp: string;
  Value?: unknown;
  UnitsAbbreviation?: string;
  Good?: boolean;
  Questionable?: boolean;
  Substituted?: boolean;
  Annotated?: boolean;
  Errors?: unknown[];
}

/** The value columns of one event (everything but site, tag, timestamp, ordinal, ingested_at, op). */
export interface TypedValue {
  value_double: number | null;
  value_int: number | null;
  value_string: string | null;
  value_bool: boolean | null;
  value_timestamp: number | null;
  digital_name: string | null;
  digital_code: number | null;
  is_system_state: boolean | null;
  good: boolean | null;
  questionable: boolean | null;
  substituted: boolean | null;
  annotated: boolean | null;
  units: string | null;
}

const INTEGER_TYPES = new Set(['int16', 'int32', 'int64']);

function isStateObject(v: unknown): v is { Name: string; Value: number; IsSystem?: boolean } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'Name' in v && 'Value' in v;
}

/**
 * Type one value. `pointType` is the PI point type (Float32, Int32, Digital, String, Timestamp...)
 * when known; `parseTime` turns an ISO string into µs (for Timestamp points).
 */
export function typeValue(item: PiValueItem, pointType: string | undefined, streamUnits: string | undefined, parseTime: (s: string) => number): TypedValue {
  const out = nullValue();
  fillValue(out, item, pointType?.toLowerCase(), streamUnits, parseTime);
  return out;
}

/** Writes the typed columns of `item` into `out` (whose value columns are all null). `type` is lower case. */
function fillValue(out: TypedValue, item: PiValueItem, type: string | undefined, streamUnits: string | undefined, parseTime: (s: string) => number): void {
  out.good = item.Good ?? null;
  out.questionable = item.Questionable ?? null;
  out.substituted = item.Substituted ?? null;
  out.annotated = item.Annotated ?? null;
  const units = item.UnitsAbbreviation ?? streamUnits ?? null;
  out.units = units === '' ? null : units;
  const v = item.Value;
  if (v === null || v === undefined) return;
  if (typeof v === 'number') {
    if (type !== undefined && INTEGER_TYPES.has(type) && Number.isInteger(v)) out.value_int = v;
    else out.value_double = v;
  } else if (typeof v === 'string') {
    if (type === 'timestamp' && /^\d{4}-\d\d-\d\dT/.test(v)) {
      try {
        out.value_timestamp = parseTime(v);
      } catch {
        out.value_string = v;
      }
    } else out.value_string = v;
  } else if (typeof v === 'boolean') {
    out.value_bool = v;
  } else if (isStateObject(v)) {
    out.digital_name = String(v.Name);
    out.digital_code = Number(v.Value);
    out.is_system_state = v.IsSystem === true;
  } else {
    out.value_string = JSON.stringify(v);
  }
}

/**
 * The `pi_timeseries` row of one PI value, built as one object (no intermediate TypedValue: this
 * runs once per value). `type` is the point type in lower case.
 */
export function eventRow(
  site: string,
  tagWebId: string,
  timestampUs: number,
  ordinal: number,
  item: PiValueItem,
  type: string | undefined,
  streamUnits: string | undefined,
  parseTime: (s: string) => number,
  ingestedAt: number,
  op: 'insert' | 'update',
): Row & TypedValue {
  const row = {
    site,
    tag_webid: tagWebId,
    timestamp: timestampUs,
    ordinal,
    value_double: null as number | null,
    value_int: null as number | null,
    value_string: null as string | null,
    value_bool: null as boolean | null,
    value_timestamp: null as number | null,
    digital_name: null as string | null,
    digital_code: null as number | null,
    is_system_state: null as boolean | null,
    good: null as boolean | null,
    questionable: null as boolean | null,
    substituted: null as boolean | null,
    annotated: null as boolean | null,
    units: null as string | null,
    ingested_at: ingestedAt,
    op: op as string,
  };
  fillValue(row, item, type, streamUnits, parseTime);
  return row;
}

/** cyrb53 state while hashValue feeds it (module-level: no closure or object per value). */
let h1 = 0;
let h2 = 0;

function feed(s: string): void {
  let a = h1;
  let b = h2;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 2654435761);
    b = Math.imul(b ^ c, 1597334677);
  }
  h1 = a;
  h2 = b;
}

/** One column's text as the template literal `${v}` would give it, then the `|` after it. */
function feedColumn(v: string | number | boolean | null, last = false): void {
  feed(typeof v === 'string' ? v : String(v));
  if (!last) {
    h1 = Math.imul(h1 ^ 124, 2654435761);
    h2 = Math.imul(h2 ^ 124, 1597334677);
  }
}

/**
 * A 53-bit hash of everything that makes an event's content (cyrb53): equal content, equal hash.
 * Used by the lookback digest to tell unchanged, edited and new events apart; digests are stored,
 * so the value must never change: it is cyrb53 of the text
 * `${value_double}|${value_int}|${value_string}|…|${annotated}|${units}`, fed column by column
 * (building that string cost twice as much; this runs for every event kept in the digest).
 */
export function hashValue(v: TypedValue): number {
  h1 = 0xdeadbeef;
  h2 = 0x41c6ce57;
  feedColumn(v.value_double);
  feedColumn(v.value_int);
  feedColumn(v.value_string);
  feedColumn(v.value_bool);
  feedColumn(v.value_timestamp);
  feedColumn(v.digital_name);
  feedColumn(v.digital_code);
  feedColumn(v.is_system_state);
  feedColumn(v.good);
  feedColumn(v.questionable);
  feedColumn(v.substituted);
  feedColumn(v.annotated);
  feedColumn(v.units, true);
  let a = h1;
  let b = h2;
  a = Math.imul(a ^ (a >>> 16), 2246822507) ^ Math.imul(b ^ (b >>> 13), 3266489909);
  b = Math.imul(b ^ (b >>> 16), 2246822507) ^ Math.imul(a ^ (a >>> 13), 3266489909);
  return 4294967296 * (2097151 & b) + (a >>> 0);
}

/** The `pi_timeseries` row for one event. */
export function timeseriesRow(
  site: string,
  tagWebId: string,
  timestampUs: number,
  ordinal: number,
  v: TypedValue,
  ingestedAt: number,
  op: 'insert' | 'update' | 'delete',
): Row {
  return { site, tag_webid: tagWebId, timestamp: timestampUs, ordinal, ...v, ingested_at: ingestedAt, op };
}

/** Every value column null: a fresh object each call (typeValue fills it in place). */
function nullValue(): TypedValue {
  return {
    value_double: null,
    value_int: null,
    value_string: null,
    value_bool: null,
    value_timestamp: null,
    digital_name: null,
    digital_code: null,
    is_system_state: null,
    good: null,
    questionable: null,
    substituted: null,
    annotated: null,
    units: null,
  };
}

export const NULL_VALUE: TypedValue = nullValue();
