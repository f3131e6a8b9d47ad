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
  if (dt.getUTCFullYear() !== y || dt.getUTCMonth() !== mo - 1 || dt.getUTCDate() !== d || dt.getUTCHours() !== h || dt.getUTCMinutes() !== mi || dt.getUTCSeconds() !== s) {
    return undefined;
  }
  return dt.getTime() / 1000;
}

/**
 * `2022-02-18T15:10:08.8757629Z` (or with an offset, 0–7 fractional digits) → µs + ticks.
 * Throws PI_BAD_RESPONSE on anything else: it only ever parses what PI sent.
 */
export function parsePiTimestamp(s: string): PiTime {
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
