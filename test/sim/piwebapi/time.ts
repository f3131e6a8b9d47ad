/**
 * Simulator time: PI time strings in, UTC timestamps out (piwebapi-fidelity.md §4).
 * Internally a time is an integer count of 1/65536 s since the Unix epoch ("units"): every PI
 * sub-second time is such a multiple, and 2038 × 65536 stays well inside 2^53.
 */

export const UNITS_PER_SECOND = 65536;
export const UNITS_PER_MS = UNITS_PER_SECOND / 1000;

export function msToUnits(ms: number): number {
  return Math.round(ms * UNITS_PER_MS);
}

export function unitsToMs(u: number): number {
  return u / UNITS_PER_MS;
}

/** UTC with `Z`; no fraction for whole seconds, else exactly 7 digits (fidelity §4). */
export function formatUnits(u: number): string {
  const sec = Math.floor(u / UNITS_PER_SECOND);
  const frac = u - sec * UNITS_PER_SECOND;
  const base = isoSeconds(sec);
  if (frac === 0) return base + 'Z';
  const ticks = Math.round((frac * 1e7) / UNITS_PER_SECOND);
  return `${base}.${String(ticks).padStart(7, '0')}Z`;
}

const pad2 = (n: number): string => (n < 10 ? '0' + n : String(n));

let cachedMinute = Number.NaN;
let cachedPrefix = '';

/** `YYYY-MM-DDTHH:MM:SS` of whole epoch seconds; the `YYYY-MM-DDTHH:MM:` of the last minute is kept (hot in large reads). */
function isoSeconds(sec: number): string {
  const minute = Math.floor(sec / 60);
  if (minute !== cachedMinute) {
    const full = isoSecondsFull(minute * 60);
    cachedPrefix = full.slice(0, full.lastIndexOf(':') + 1);
    cachedMinute = minute;
  }
  return cachedPrefix + pad2(sec - minute * 60);
}

/** `YYYY-MM-DDTHH:MM:SS` of whole epoch seconds (Hinnant's civil-from-days). */
function isoSecondsFull(sec: number): string {
  const days = Math.floor(sec / 86400);
  const sod = sec - days * 86400;
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const h = Math.floor(sod / 3600);
  const mi = Math.floor((sod % 3600) / 60);
  return `${String(y).padStart(4, '0')}-${pad2(m)}-${pad2(d)}T${pad2(h)}:${pad2(mi)}:${pad2(sod % 60)}`;
}

export class TimeParseError extends Error {}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

const dtfCache = new Map<string, Intl.DateTimeFormat>();
function dtf(zone: string): Intl.DateTimeFormat {
  let f = dtfCache.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    dtfCache.set(zone, f);
  }
  return f;
}

export function isValidZone(zone: string): boolean {
  try {
    dtf(zone);
    return true;
  } catch {
    return false;
  }
}

/** Wall-clock fields of an instant in a zone. */
export function wallFields(ms: number, zone: string): { y: number; mo: number; d: number; h: number; mi: number; s: number } {
  const parts = dtf(zone).formatToParts(new Date(Math.floor(ms / 1000) * 1000));
  const get = (t: string): number => Number(parts.find((p) => p.type === t)?.value ?? 0);
  return { y: get('year'), mo: get('month'), d: get('day'), h: get('hour'), mi: get('minute'), s: get('second') };
}

/** Offset of `zone` from UTC at instant `ms`, in ms. */
function zoneOffsetMs(ms: number, zone: string): number {
  const w = wallFields(ms, zone);
  const asUtc = Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/**
 * A wall-clock time in `zone` → UTC ms. Ambiguous times (DST fall-back) take the earlier instant;
 * times in the spring-forward gap move forward by the gap, as Windows/.NET does (inferred).
 */
export function wallToUtcMs(y: number, mo: number, d: number, h: number, mi: number, s: number, msFrac: number, zone: string): number {
  const wall = Date.UTC(y, mo - 1, d, h, mi, s) + msFrac;
  // The offsets a day either side cover both sides of any transition near `wall`.
  const offs = [...new Set([zoneOffsetMs(wall - 86400000, zone), zoneOffsetMs(wall, zone), zoneOffsetMs(wall + 86400000, zone)])];
  const valid = offs.map((o) => wall - o).filter((t) => zoneOffsetMs(t, zone) === wall - t);
  // Fall-back overlap: two valid instants, take the earlier. Spring-forward gap: none, so move
  // forward by the gap (the offset in force before the transition).
  if (valid.length > 0) return Math.min(...valid);
  return wall - zoneOffsetMs(wall - 86400000, zone);
}

function midnightOf(ms: number, zone: string, addDays = 0): number {
  const w = wallFields(ms, zone);
  const day = new Date(Date.UTC(w.y, w.mo - 1, w.d + addDays));
  return wallToUtcMs(day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate(), 0, 0, 0, 0, zone);
}

const UNIT_MS: Record<string, number> = {
  s: 1000,
  sec: 1000,
  secs: 1000,
  second: 1000,
  seconds: 1000,
  m: 60000,
  min: 60000,
  mins: 60000,
  minute: 60000,
  minutes: 60000,
  h: 3600000,
  hr: 3600000,
  hrs: 3600000,
  hour: 3600000,
  hours: 3600000,
  d: 86400000,
  day: 86400000,
  days: 86400000,
  w: 604800000,
  wk: 604800000,
  week: 604800000,
  weeks: 604800000,
};

/** Apply `+2h-30m` style offsets; days and larger follow the wall clock of `zone` (DST-aware). */
function applyOffsets(baseMs: number, rest: string, zone: string, original: string): number {
  let ms = baseMs;
  const re = /\s*([+-])\s*(\d+(?:\.\d+)?)\s*([a-z]+)/giy;
  let pos = 0;
  const s = rest.trim();
  re.lastIndex = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) throw new TimeParseError(`Cannot parse time string '${original}'.`);
    const sign = m[1] === '-' ? -1 : 1;
    const n = Number(m[2]);
    const unit = m[3]!.toLowerCase();
    if (unit === 'mo' || unit === 'mon' || unit === 'month' || unit === 'months' || unit === 'y' || unit === 'yr' || unit === 'year' || unit === 'years') {
      const months = (unit.startsWith('y') ? 12 : 1) * n * sign;
      const w = wallFields(ms, zone);
      const frac = ms - Math.floor(ms / 1000) * 1000;
      const d = new Date(Date.UTC(w.y, w.mo - 1 + months, w.d));
      ms = wallToUtcMs(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), w.h, w.mi, w.s, frac, zone);
    } else if (unit === 'd' || unit === 'day' || unit === 'days' || unit === 'w' || unit === 'wk' || unit === 'week' || unit === 'weeks') {
      const days = (unit.startsWith('w') ? 7 : 1) * n * sign;
      const w = wallFields(ms, zone);
      const frac = ms - Math.floor(ms / 1000) * 1000;
      if (Number.isInteger(days)) {
        const d = new Date(Date.UTC(w.y, w.mo - 1, w.d + days));
        ms = wallToUtcMs(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), w.h, w.mi, w.s, frac, zone);
      } else {
        ms += days * 86400000;
      }
    } else {
      const u = UNIT_MS[unit];
      if (u === undefined) throw new TimeParseError(`Cannot parse time string '${original}'.`);
      ms += sign * n * u;
    }
    pos = re.lastIndex;
  }
  return ms;
}

function checkFields(input: string, y: number, mo: number, d: number, h: number, mi: number, s: number): void {
  const dim = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (mo < 1 || mo > 12 || d < 1 || d > dim || h > 23 || mi > 59 || s > 59) throw new TimeParseError(`Cannot parse time string '${input}'.`);
}

function fracToMs(frac: string | undefined): number {
  if (!frac) return 0;
  return Number('0.' + frac) * 1000;
}

/**
 * Parse a PI time string (fidelity §4) to units. `nowMs` is the simulated clock; `zone` the
 * server's (or the request's `timeZone`) IANA zone for `t`, `y`, names and naive dates.
 */
export function parsePiTime(input: string, nowMs: number, zone: string): number {
  const s = input.trim();
  if (s === '') throw new TimeParseError(`Cannot parse time string '${input}'.`);
  const lower = s.toLowerCase();

  // ISO 8601 with Z or offset, or naive (server zone).
  const iso = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i.exec(s);
  if (iso) {
    const [, y, mo, d, h, mi, sec, frac, tz] = iso;
    checkFields(input, +y!, +mo!, +d!, +(h ?? 0), +(mi ?? 0), +(sec ?? 0));
    const fms = fracToMs(frac);
    let ms: number;
    if (tz) {
      ms = Date.UTC(+y!, +mo! - 1, +d!, +(h ?? 0), +(mi ?? 0), +(sec ?? 0)) + fms;
      if (tz.toUpperCase() !== 'Z') {
        const m = /^([+-])(\d{2}):?(\d{2})$/.exec(tz)!;
        const off = (Number(m[2]) * 60 + Number(m[3])) * 60000 * (m[1] === '-' ? -1 : 1);
        ms -= off;
      }
    } else {
      ms = wallToUtcMs(+y!, +mo!, +d!, +(h ?? 0), +(mi ?? 0), +(sec ?? 0), fms, zone);
    }
    if (!Number.isFinite(ms)) throw new TimeParseError(`Cannot parse time string '${input}'.`);
    return msToUnits(ms);
  }

  // `15-Jan-2024 10:30:00` (server zone).
  const dmy = /^(\d{1,2})-([a-z]{3})-(\d{2}|\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?$/i.exec(s);
  if (dmy) {
    const [, d, mon, yy, h, mi, sec, frac] = dmy;
    const mo = MONTHS.indexOf(mon!.toLowerCase());
    if (mo < 0) throw new TimeParseError(`Cannot parse time string '${input}'.`);
    const year = yy!.length === 2 ? 2000 + Number(yy) : Number(yy);
    checkFields(input, year, mo + 1, +d!, +(h ?? 0), +(mi ?? 0), +(sec ?? 0));
    return msToUnits(wallToUtcMs(year, mo + 1, +d!, +(h ?? 0), +(mi ?? 0), +(sec ?? 0), fracToMs(frac), zone));
  }

  // Relative: base keyword followed by offsets.
  const rel = /^(\*|[a-z]+)?(.*)$/i.exec(lower)!;
  const word = rel[1] ?? '';
  const rest = rel[2] ?? '';
  let base: number;
  if (word === '') {
    // Offsets alone are relative to now (`-1d`).
    base = nowMs;
  } else if (word === '*') {
    base = nowMs;
  } else if (word === 't' || word === 'today') {
    base = midnightOf(nowMs, zone);
  } else if (word === 'y' || word === 'yesterday') {
    base = midnightOf(nowMs, zone, -1);
  } else if (WEEKDAYS.some((w) => word.startsWith(w)) && isDayName(word)) {
    // Most recent such day (today counts), at midnight.
    const target = WEEKDAYS.findIndex((w) => word.startsWith(w));
    const w = wallFields(nowMs, zone);
    const dow = new Date(Date.UTC(w.y, w.mo - 1, w.d)).getUTCDay();
    base = midnightOf(nowMs, zone, -((dow - target + 7) % 7));
  } else if (MONTHS.some((m) => word.startsWith(m)) && isMonthName(word)) {
    // Same day of month in that month of the current year, at midnight.
    const mo = MONTHS.findIndex((m) => word.startsWith(m));
    const w = wallFields(nowMs, zone);
    const dim = new Date(Date.UTC(w.y, mo + 1, 0)).getUTCDate();
    base = wallToUtcMs(w.y, mo + 1, Math.min(w.d, dim), 0, 0, 0, 0, zone);
  } else {
    throw new TimeParseError(`Cannot parse time string '${input}'.`);
  }
  if (rest.trim() !== '' && word === '' && !/^\s*[+-]/.test(rest)) throw new TimeParseError(`Cannot parse time string '${input}'.`);
  return msToUnits(applyOffsets(base, rest, zone, input));
}

function isDayName(w: string): boolean {
  return [
    'sun',
    'sunday',
    'mon',
    'monday',
    'tue',
    'tues',
    'tuesday',
    'wed',
    'wednesday',
    'thu',
    'thur',
    'thurs',
    'thursday',
    'fri',
    'friday',
    'sat',
    'saturday',
  ].includes(w);
}

function isMonthName(w: string): boolean {
  return [
    'jan',
    'january',
    'feb',
    'february',
    'mar',
    'march',
    'apr',
    'april',
    'may',
    'jun',
    'june',
    'jul',
    'july',
    'aug',
    'august',
    'sep',
    'sept',
    'september',
    'oct',
    'october',
    'nov',
    'november',
    'dec',
    'december',
  ].includes(w);
}

/** Parse a PI interval like `1h`, `30m`, `15s` (for interpolated) to units. */
export function parseInterval(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/i.exec(s);
  if (!m) throw new TimeParseError(`Cannot parse interval '${s}'.`);
  const u = UNIT_MS[m[2]!.toLowerCase()];
  if (u === undefined) throw new TimeParseError(`Cannot parse interval '${s}'.`);
  return msToUnits(Number(m[1]) * u);
}
