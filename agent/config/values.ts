/** Parsing of the value notations the config accepts: durations, sizes, timestamps, cron. */
import { validateDetailed } from 'node-cron';

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
export const DURATION_PATTERN = '^([0-9]+(ms|s|m|h|d|w))+$';

/** `90s`, `2h`, `1h30m`, `500ms` → milliseconds; undefined when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (!new RegExp(DURATION_PATTERN).test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(/([0-9]+)(ms|s|m|h|d|w)/g)) total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
  return total;
}

// Binary multiples, as disk and memory buffers are usually sized: 1KB = 1024 bytes.
const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3, tb: 1024 ** 4 };
export const SIZE_PATTERN = '^[0-9]+(\\.[0-9]+)?\\s*([KkMmGgTt]i?[Bb]|[Bb])?$';

/** `2GB`, `512MB`, `1.5GiB`, `1048576` → bytes; undefined when it is not a size. */
export function parseSize(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isInteger(text) && text >= 0 ? text : undefined;
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*([kmgt]?)(i?)(b?)$/i.exec(text.trim());
  if (!m) return undefined;
  if (m[3] && !m[4]) return undefined; // "2Gi" without B
  const unit = m[2] ? `${m[2].toLowerCase()}b` : 'b';
  return Math.round(Number(m[1]) * SIZE_UNITS[unit]!);
}

export const TIMESTAMP_PATTERN = '^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2}))?$';

/**
 * ISO 8601 with an explicit zone (or a bare date, read as UTC midnight) → normalised ISO UTC;
 * undefined otherwise. A time without a zone is refused: the agent runs on servers whose local
 * zone nobody remembers.
 */
export function parseTimestamp(text: string): string | undefined {
  const s = text.trim();
  if (!new RegExp(TIMESTAMP_PATTERN).test(s)) return undefined;
  const d = new Date(s.length === 10 ? `${s}T00:00:00Z` : s);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** A node-cron problem description, or undefined when the expression is valid. */
export function cronProblem(expr: string): string | undefined {
  const r = validateDetailed(expr);
  if (r.valid) return undefined;
  return r.errors.map((e) => e.message).join('; ') || 'not a cron expression';
}
