/**
 * The kinds of value a config key can hold (the Spec types) and the helpers that declare them. The
 * whole file's spec (spec.ts) is assembled from these, with each source's and sink's section declared
 * in its own folder (`sources/<name>/config.ts`, `sinks/<name>/config.ts`), which import only this.
 */

interface Base {
  description: string;
}

export type Spec =
  | (Base & { kind: 'string'; pattern?: RegExp; hint?: string; example?: string; maxLength?: number })
  | (Base & { kind: 'enum'; values: readonly string[] })
  | (Base & { kind: 'integer'; min?: number; max?: number; example?: number })
  | (Base & { kind: 'boolean' })
  /** `2h`, `90s` → milliseconds; or one of `keywords`, kept as written. */
  | (Base & { kind: 'duration'; example: string; keywords?: readonly string[] })
  /** `2GB` → bytes. */
  | (Base & { kind: 'size'; example: string })
  | (Base & { kind: 'cron' })
  /** ISO 8601 → normalised ISO UTC string. */
  | (Base & { kind: 'timestamp' })
  /** `proxy`: an HTTP proxy's URL, `http://host[:port]` (plain http is its normal form; no login inside). */
  | (Base & { kind: 'url'; proxy?: true })
  /** A file system path, resolved against the config file's directory. */
  | (Base & { kind: 'path'; mustExist?: boolean })
  /** A PI or AF path such as `\\SERVER\Name`. */
  | (Base & { kind: 'pipath'; example: string })
  /** A credential: only `${ENV_VAR}` or `file:/path` references are accepted. */
  | (Base & { kind: 'secret'; envExample: string })
  | ObjectSpec
  | (Base & { kind: 'list'; items: Spec; minItems?: number })
  /** Objects told apart by their `type` key. */
  | (Base & { kind: 'tagged'; variants: Record<string, ObjectSpec> })
  /** Objects told apart by which of their key fields is present (the first field of each variant). */
  | (Base & { kind: 'oneOfKeys'; variants: ObjectSpec[] });

export interface Field {
  spec: Spec;
  required?: boolean;
  /** Filled in when the key is absent (before conversion: as it would be written in YAML). */
  default?: string | number | boolean;
}

export interface ObjectSpec extends Base {
  kind: 'object';
  fields: Record<string, Field>;
  /** A line to show when the object is missing or empty, e.g. `lookback: 2h`. */
  example?: string;
  /** This field may be written alone in place of the mapping (`proxy: http://p:3128` for `proxy: { url: ... }`). */
  shorthand?: string;
}

export const cron = (description: string): Spec => ({ kind: 'cron', description });
export const str = (description: string, extra: Partial<{ pattern: RegExp; hint: string; example: string }> = {}): Spec => ({ kind: 'string', description, ...extra });
export const nonEmpty = /\S/;
export const dbPaths = (what: string): Spec => ({
  kind: 'list',
  minItems: 1,
  description: `${what} AF database paths`,
  items: { kind: 'pipath', description: 'AF database path', example: '\\\\AFSERVER\\Database' },
});
export const nameList = (description: string): Spec => ({ kind: 'list', description, items: str(description, { pattern: nonEmpty }) });
export const identifier = (description: string, example: string): Spec =>
  str(description, { pattern: /^[A-Za-z0-9_]+$/, hint: `letters, digits and _ only, e.g. ${example}`, example });
