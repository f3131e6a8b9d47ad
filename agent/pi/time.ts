/**
 * PI timestamps and the agent's durations (piwebapi-fidelity.md §4).
 *
 * The agent keeps time as integer microseconds since the Unix epoch (what Parquet and Databricks
 * store). PI sends up to 7 fractional digits (100 ns ticks); the tick below the microsecond is kept
 * separately. Rounding down to the microsecond never merges two distinct PI times: sub-second PI
 * times are multiples of 1/65536 s (≈15.26 µs, §4). Microseconds are safe integers for years
 * 1685–2254, which covers the PI archive range (1970–2038); whole-second times beyond it, such as
 * the open event frame end `9999-12-31T23:59:59Z`, are still exact (multiples of 64 below 2^58).
 */
import { ConfigError, PiError } from '../errors.js';

export interface PiTime {
  /** Microseconds since 1970-01-01T00:00:00Z, rounded down. */
  us: number;
  /** The 100 ns remainder below `us`, 0–9. */
  ticks: number;
}

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?(Z|[+-]\d{2}:?\d{2})$/;

/** Seconds since the epoch of a proleptic Gregorian UTC date; handles years 0–99 (Date.UTC does not). */
function utcSeconds(y: number, mo: number, d: number, h: number, mi: number, s: number): number | undefined {
  const dt = new Date(0);
  dt.setUTCFullYear(y, mo - 1, d);
  dt.setUTCHours(h, mi, s, 0);
  // Reject what Date would silently roll over (Feb 30, 24:00, 60 s).
  if (
    dt.getUTCFullYear() !== y ||
    dt.getUTCMonth() !== mo - 1 ||
    dt.getUTCDate() !== d ||
    dt.getUTCHours() !== h ||
    dt.getUTCMinutes() !== mi ||
    dt.getUTCSeconds() !== s
  ) {
    return undefined;
  }
  return dt.getTime() / 1000;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil; any year). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Two decimal digits at i, or -1. */
function d2(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

const POW10 = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000];

/**
 * The UTC forms PI sends for every recorded value (`2026-01-01T00:00:05Z`, `…05.5Z`, up to 7
 * fractional digits) without RegExp or Date: this runs once per value. Same result as the general
 * path, bit for bit (the same arithmetic on the same integers); undefined for any other form.
 */
function parseUtcFast(s: string): PiTime | undefined {
  const n = s.length;
  if (
    n < 20 ||
    n > 28 ||
    s.charCodeAt(n - 1) !== 90 /* Z */ ||
    s.charCodeAt(4) !== 45 ||
    s.charCodeAt(7) !== 45 ||
    s.charCodeAt(10) !== 84 /* T */ ||
    s.charCodeAt(13) !== 58 ||
    s.charCodeAt(16) !== 58
  )
    return undefined;
  const y1 = d2(s, 0);
  const y2 = d2(s, 2);
  const mo = d2(s, 5);
  const d = d2(s, 8);
  const h = d2(s, 11);
  const mi = d2(s, 14);
  const se = d2(s, 17);
  if (y1 < 0 || y2 < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59) return undefined;
  const y = y1 * 100 + y2;
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (d > (mo === 2 && leap ? 29 : MONTH_DAYS[mo - 1]!)) return undefined;
  let frac7 = 0;
  if (n > 20) {
    // `.` and 1–7 digits before the Z
    if (s.charCodeAt(19) !== 46 || n < 22) return undefined;
    for (let i = 20; i < n - 1; i++) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) return undefined;
      frac7 = frac7 * 10 + c;
    }
    frac7 *= POW10[28 - n]!;
  }
  const secs = daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
  return { us: secs * 1_000_000 + Math.floor(frac7 / 10), ticks: frac7 % 10 };
}

/**
 * `2022-02-18T15:10:08.8757629Z` (or with an offset, 0–7 fractional digits) → µs + ticks.
 * Throws PI_BAD_RESPONSE on anything else: it only ever parses what PI sent.
 */
export function parsePiTimestamp(s: string): PiTime {
  return parseUtcFast(s) ?? parsePiTimestampGeneral(s);
}

/** The general path (any offset); exported for the tests that hold the fast path to it. */
export function parsePiTimestampGeneral(s: string): PiTime {
  const m = ISO_RE.exec(s);
  const secs = m ? utcSeconds(+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : undefined;
  if (!m || secs === undefined) throw new PiError('PI_BAD_RESPONSE', `PI sent a timestamp the agent cannot read: '${s.slice(0, 40)}'`);
  let offsetSecs = 0;
  const zone = m[8]!;
  if (zone !== 'Z') {
    const digits = zone.replace(':', '');
    const sign = digits[0] === '-' ? -1 : 1;
    offsetSecs = sign * (Number(digits.slice(1, 3)) * 3600 + Number(digits.slice(3, 5)) * 60);
  }
  const frac7 = Number((m[7] ?? '').padEnd(7, '0'));
  return { us: (secs - offsetSecs) * 1_000_000 + Math.floor(frac7 / 10), ticks: frac7 % 10 };
}

/**
 * µs (and optional 100 ns ticks) → `2024-01-01T00:00:00.123456Z`, the form the agent sends PI
 * (always UTC with `Z`, §4). Whole seconds carry no fraction; trailing zeros are trimmed.
 */
export function formatPiTime(us: number, ticks = 0): string {
  if (!Number.isInteger(us) || !Number.isInteger(ticks) || ticks < 0 || ticks > 9) throw new RangeError(`not a PI time: ${us}µs + ${ticks} ticks`);
  const secs = Math.floor(us / 1_000_000);
  const frac7 = (us - secs * 1_000_000) * 10 + ticks;
  const iso = new Date(secs * 1000).toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z
  const base = iso.slice(0, iso.indexOf('.'));
  if (frac7 === 0) return `${base}Z`;
  return `${base}.${String(frac7).padStart(7, '0').replace(/0+$/, '')}Z`;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `45s`, `30m`, `2h`, `1d`, `1w`, `500ms`, or combined (`1h30m`) → milliseconds. */
export function parseDuration(s: string): number {
  const text = s.trim();
  const re = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    pos = re.lastIndex;
    while (text[pos] === ' ') pos++;
    re.lastIndex = pos;
  }
  if (text === '' || pos !== text.length) {
    throw new ConfigError([`invalid duration '${s}': use a number and a unit (ms, s, m, h, d, w), e.g. 45s, 30m, 2h, 1d`]);
  }
  return Math.round(total);
}
