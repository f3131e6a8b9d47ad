/**
 * Walks a parsed YAML document against CONFIG_SPEC, collecting every problem in one pass with its
 * line and column, and builds the converted value (defaults, absolute paths, ms, bytes, secrets).
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node, type YAMLMap } from 'yaml';
import { unprotectDpapi, type DpapiOptions } from './dpapi.js';
import { insecureFileProblem } from './permissions.js';
import type { Field, ObjectSpec, Spec } from './fields.js';
import { closest } from './suggest.js';
import { cronProblem, parseDuration, parseSize, parseTimestamp } from './values.js';

export interface ValidationContext {
  file: string;
  doc: Document;
  lc: LineCounter;
  env: NodeJS.ProcessEnv;
  /** Directory relative paths are resolved against. */
  baseDir: string;
  checkPermissions: boolean;
  /** false: secret references are checked for form only and left empty (read-only commands). */
  resolveSecrets: boolean;
  dpapi: DpapiOptions;
  problems: { offset: number; text: string; insecure?: boolean }[];
  warnings: { offset: number; text: string }[];
}

type Yn = Node | null | undefined;

const offsetOf = (node: Yn, fallback: number): number => node?.range?.[0] ?? fallback;

export function location(ctx: ValidationContext, offset: number): string {
  const { line, col } = ctx.lc.linePos(offset);
  return `${ctx.file}:${line}:${col}`;
}

function problem(ctx: ValidationContext, offset: number, message: string, hint?: string, insecure = false): void {
  ctx.problems.push({ offset, text: `${location(ctx, offset)}: ${message}${hint ? ` — ${hint}` : ''}`, insecure });
}

export function warn(ctx: ValidationContext, offset: number, message: string): void {
  ctx.warnings.push({ offset, text: `${location(ctx, offset)}: ${message}` });
}

function deref(ctx: ValidationContext, node: Yn): Yn {
  return isAlias(node) ? (node.resolve(ctx.doc) as Yn) : node;
}

/** True for an absent key or one written with nothing after the colon. */
function isEmpty(node: Yn): boolean {
  return node == null || (isScalar(node) && node.value === null);
}

const describe = (node: Yn): string => {
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (typeof v === 'number') return `the number ${String(node.source ?? v)}`;
    if (typeof v === 'boolean') return `the boolean ${String(v)}`;
    return `'${unmask(String(v))}'`;
  }
  return 'nothing';
};

/** Undoes load.ts `maskEnvRefs`: `$«NAME»` back to `${NAME}`. */
export const unmask = (s: string): string => s.replace(/\$\u00ab([A-Za-z_][A-Za-z0-9_]*)\u00bb/g, (_, n: string) => `\${${n}}`);

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Scalar text with `${VAR}` expanded; undefined (and a problem) when a variable is missing. */
function scalarText(ctx: ValidationContext, node: Yn, path: string, fallback: number): string | undefined {
  if (!isScalar(node) || node.value === null || typeof node.value === 'object') {
    problem(ctx, offsetOf(node, fallback), `${path} must be text, got ${describe(node)}`, 'write a single value on the same line');
    return undefined;
  }
  // A number or boolean written where text is expected is taken as the text the user wrote.
  const raw = typeof node.value === 'string' ? unmask(node.value) : String(node.source ?? node.value);
  let ok = true;
  const text = raw.replace(ENV_REF, (_, name: string) => {
    const v = ctx.env[name];
    if (v === undefined) {
      ok = false;
      problem(ctx, offsetOf(node, fallback), `${path}: environment variable ${name} is not set`, `set ${name} in the service environment`);
      return '';
    }
    return v;
  });
  return ok ? text : undefined;
}

function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
}

/** Converts one value; returns undefined after recording a problem. */
function check(ctx: ValidationContext, nodeIn: Yn, spec: Spec, path: string, fallback: number): unknown {
  const node = deref(ctx, nodeIn);
  const at = offsetOf(node, fallback);
  switch (spec.kind) {
    case 'object':
      return checkObject(ctx, node, spec, path, fallback);
    case 'list': {
      if (!isSeq(node)) {
        problem(ctx, at, `${path} must be a list, got ${describe(node)}`, `write a YAML list, e.g. ${path.split('.').pop()}: [first, second]`);
        return undefined;
      }
      if (spec.minItems && node.items.length < spec.minItems) problem(ctx, at, `${path} needs at least ${spec.minItems} item(s)`, 'add one, or remove the section to skip it');
      const out = node.items.map((item, i) => check(ctx, item as Yn, spec.items, `${path}[${i}]`, offsetOf(item as Yn, at)));
      return out;
    }
    case 'tagged': {
      if (!isMap(node)) {
        problem(ctx, at, `${path} must be a mapping, got ${describe(node)}`, `write e.g. ${path.split('.').pop()}: { type: ${Object.keys(spec.variants)[0]} }`);
        return undefined;
      }
      const typeNode = deref(ctx, node.get('type', true) as Yn);
      const kinds = Object.keys(spec.variants);
      if (isEmpty(typeNode)) {
        problem(ctx, fallback, `${path}: missing required key 'type'`, `add type: one of ${kinds.join(', ')}`);
        return undefined;
      }
      const t = isScalar(typeNode) ? unmask(String(typeNode.value)) : '';
      const variant = spec.variants[t];
      if (!variant) {
        const s = closest(t, kinds);
        problem(ctx, offsetOf(typeNode, at), `${path}.type: unknown type '${t}'`, s ? `did you mean '${s}'? (one of ${kinds.join(', ')})` : `write one of ${kinds.join(', ')}`);
        return undefined;
      }
      const rest = checkObject(ctx, node, variant, path, fallback, ['type']);
      return rest === undefined ? undefined : { type: t, ...(rest as object) };
    }
    case 'oneOfKeys': {
      if (!isMap(node)) {
        problem(ctx, at, `${path} must be a mapping, got ${describe(node)}`, `write e.g. { ${Object.keys(spec.variants[0]!.fields)[0]}: ... }`);
        return undefined;
      }
      const leads = spec.variants.map((v) => Object.keys(v.fields)[0]!);
      const present = spec.variants.filter((v) => node.has(Object.keys(v.fields)[0]!));
      if (present.length !== 1) {
        problem(ctx, at, present.length ? `${path} mixes ${leads.filter((k) => node.has(k)).join(' and ')}` : `${path} has none of ${leads.join(', ')}`, `write exactly one of ${leads.join(', ')} per entry`);
        return undefined;
      }
      return checkObject(ctx, node, present[0]!, path, fallback);
    }
    case 'secret':
      return checkSecret(ctx, node, spec, path, at);
    default:
      break;
  }

  // Scalars.
  if (!isScalar(node) || node.value === null || typeof node.value === 'object') {
    problem(ctx, at, `${path} must be a single value, got ${describe(node)}`, scalarHint(spec, path));
    return undefined;
  }
  const v = node.value;
  switch (spec.kind) {
    case 'boolean':
      if (typeof v !== 'boolean') {
        problem(ctx, at, `${path} must be true or false, got ${describe(node)}`, `write ${path.split('.').pop()}: true or false`);
        return undefined;
      }
      return v;
    case 'integer': {
      if (typeof v !== 'number' || !Number.isInteger(v)) {
        problem(ctx, at, `${path} must be a whole number, got ${describe(node)}`, scalarHint(spec, path));
        return undefined;
      }
      if ((spec.min !== undefined && v < spec.min) || (spec.max !== undefined && v > spec.max)) {
        problem(ctx, at, `${path} is ${v}, outside ${spec.min ?? '-∞'}..${spec.max ?? '∞'}`, `write a number from ${spec.min} to ${spec.max}`);
        return undefined;
      }
      return v;
    }
    case 'size': {
      const text = typeof v === 'number' ? v : scalarText(ctx, node, path, at);
      if (text === undefined) return undefined;
      const bytes = parseSize(text);
      if (bytes === undefined) {
        problem(ctx, at, `${path}: '${String(text)}' is not a size`, `write a size such as ${spec.example} (units B, KB, MB, GB, TB; 1KB = 1024 bytes)`);
        return undefined;
      }
      return bytes;
    }
    default:
      break;
  }
  if (typeof v !== 'string' && spec.kind !== 'string' && spec.kind !== 'pipath') {
    problem(ctx, at, `${path} must be text, got ${describe(node)}`, scalarHint(spec, path));
    return undefined;
  }
  const text = scalarText(ctx, node, path, at);
  if (text === undefined) return undefined;
  return checkText(ctx, text, spec, path, at);
}

function scalarHint(spec: Spec, path: string): string {
  const key = path.split('.').pop() ?? path;
  switch (spec.kind) {
    case 'integer':
      return `write a whole number, e.g. ${key}: ${spec.example ?? spec.min ?? 1}`;
    case 'duration':
      return `write a duration such as ${key}: ${spec.example} (units ms, s, m, h, d, w)${spec.keywords ? `, or ${spec.keywords.join(' or ')}` : ''}`;
    case 'size':
      return `write a size such as ${key}: ${spec.example}`;
    case 'cron':
      return `write a cron expression in quotes, e.g. ${key}: '*/5 * * * *'`;
    case 'timestamp':
      return `write an ISO 8601 time in quotes, e.g. ${key}: "2026-01-01T00:00:00Z"`;
    case 'url':
      return `write a URL, e.g. ${key}: https://pi.plant.local/piwebapi`;
    case 'enum':
      return `write one of ${spec.values.join(', ')}`;
    default:
      return `write ${key}: <value>`;
  }
}

/** Checks and converts a text value (also used for defaults, with the position of the owning map). */
function checkText(ctx: ValidationContext, text: string, spec: Spec, path: string, at: number): unknown {
  switch (spec.kind) {
    case 'string':
      if (spec.pattern && !spec.pattern.test(text)) {
        problem(ctx, at, `${path}: '${text}' is not allowed`, spec.hint ? `use ${spec.hint}` : `write a non-empty value${spec.example ? `, e.g. ${spec.example}` : ''}`);
        return undefined;
      }
      if (spec.maxLength && text.length > spec.maxLength) {
        problem(ctx, at, `${path} is ${text.length} characters long`, `use at most ${spec.maxLength}`);
        return undefined;
      }
      return text;
    case 'enum':
      if (!spec.values.includes(text)) {
        const s = closest(text, spec.values);
        problem(ctx, at, `${path}: '${text}' is not one of ${spec.values.join(', ')}`, s ? `did you mean '${s}'?` : `write one of ${spec.values.join(', ')}`);
        return undefined;
      }
      return text;
    case 'duration': {
      if (spec.keywords?.includes(text)) return text;
      const ms = parseDuration(text);
      if (ms === undefined) {
        problem(ctx, at, `${path}: '${text}' is not a duration`, scalarHint(spec, path));
        return undefined;
      }
      return ms;
    }
    case 'size': {
      const bytes = parseSize(text);
      if (bytes === undefined) {
        problem(ctx, at, `${path}: '${text}' is not a size`, `write a size such as ${spec.example}`);
        return undefined;
      }
      return bytes;
    }
    case 'cron': {
      const why = cronProblem(text);
      if (why) {
        problem(ctx, at, `${path}: '${text}' is not a valid cron expression (${why})`, scalarHint(spec, path));
        return undefined;
      }
      return text;
    }
    case 'timestamp': {
      const iso = parseTimestamp(text);
      if (!iso) {
        problem(ctx, at, `${path}: '${text}' is not an ISO 8601 time with a zone`, scalarHint(spec, path));
        return undefined;
      }
      return iso;
    }
    case 'url': {
      let u: URL;
      try {
        u = new URL(text);
      } catch {
        problem(ctx, at, `${path}: '${text}' is not a URL`, scalarHint(spec, path));
        return undefined;
      }
      if (u.protocol === 'http:') {
        if (!isLoopback(u.hostname)) {
          problem(ctx, at, `${path}: plain http:// to ${u.hostname} would send credentials and data unencrypted`, `use https://${u.host}${u.pathname}`);
          return undefined;
        }
        warn(ctx, at, `${path} uses plain http:// (allowed only because ${u.hostname} is this machine)`);
      } else if (u.protocol !== 'https:') {
        problem(ctx, at, `${path}: unsupported scheme ${u.protocol}`, 'use an https:// URL');
        return undefined;
      }
      if (u.username || u.password) {
        problem(ctx, at, `${path} contains credentials`, 'remove them from the URL and use the auth section');
        return undefined;
      }
      return text.replace(/\/+$/, '');
    }
    case 'path': {
      if (!text.trim()) {
        problem(ctx, at, `${path} is empty`, 'write a path');
        return undefined;
      }
      const abs = isAbsolute(text) ? text : resolve(ctx.baseDir, text);
      if (spec.mustExist) {
        try {
          readFileSync(abs);
        } catch {
          problem(ctx, at, `${path}: cannot read ${abs}`, 'check the path (relative paths start at the config file directory)');
          return undefined;
        }
      }
      return abs;
    }
    case 'pipath':
      if (!/^\\\\[^\\]+\\.+/.test(text)) {
        problem(ctx, at, `${path}: '${text}' is not a PI/AF path`, `write it in single quotes, e.g. '${spec.example}'`);
        return undefined;
      }
      return text;
    default:
      problem(ctx, at, `${path} has an unexpected value`, 'see conf/pi-agent.example.yaml');
      return undefined;
  }
}

function checkSecret(ctx: ValidationContext, node: Yn, spec: Extract<Spec, { kind: 'secret' }>, path: string, at: number): string | undefined {
  const key = path.split('.').pop()!;
  const how = `write ${key}: \${${spec.envExample}} (environment variable), ${key}: file:/etc/pi-agent/${key.replace(/_/g, '-')} (a file readable only by the service) or, on Windows, ${key}: dpapi:<base64> (installer/windows/README.md)`;
  if (!isScalar(node) || node.value === null) {
    problem(ctx, at, `${path} must be a secret reference, got ${describe(node)}`, how);
    return undefined;
  }
  // The value is never echoed back: it may be the secret itself.
  const raw = typeof node.value === 'string' ? unmask(node.value).trim() : '';
  const env = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(raw);
  const dpapi = raw.startsWith('dpapi:');
  if ((env || dpapi || raw.startsWith('file:')) && !ctx.resolveSecrets) return '';
  if (dpapi) {
    const r = unprotectDpapi(raw.slice(6), ctx.dpapi);
    if ('problem' in r) {
      problem(ctx, at, `${path}: ${r.problem}`, r.hint);
      return undefined;
    }
    return r.value;
  }
  if (env) {
    const value = ctx.env[env[1]!];
    if (value === undefined || value === '') {
      problem(ctx, at, `${path}: environment variable ${env[1]} is ${value === undefined ? 'not set' : 'empty'}`, `set ${env[1]} in the service environment (systemd: EnvironmentFile=; Windows: the service's environment)`);
      return undefined;
    }
    return value;
  }
  if (raw.startsWith('file:')) {
    const rel = raw.slice(5);
    const file = isAbsolute(rel) ? rel : resolve(ctx.baseDir, rel);
    let content: string;
    try {
      content = readFileSync(file, 'utf8');
    } catch {
      problem(ctx, at, `${path}: cannot read secret file ${file}`, 'check the path and that the service account can read it');
      return undefined;
    }
    if (ctx.checkPermissions) {
      const p = insecureFileProblem(file, `${path}: secret file ${file}`);
      if (p) {
        problem(ctx, at, p, undefined, true);
        return undefined;
      }
    }
    const value = content.replace(/\r?\n$/, '');
    if (!value) {
      problem(ctx, at, `${path}: secret file ${file} is empty`, 'write the secret into it');
      return undefined;
    }
    return value;
  }
  problem(ctx, at, `${path} is written in clear in the config file`, how);
  return undefined;
}

function checkObject(ctx: ValidationContext, node: Yn, spec: ObjectSpec, path: string, fallback: number, extraKeys: string[] = []): unknown {
  const at = offsetOf(node, fallback);
  let map: YAMLMap | undefined;
  if (isMap(node)) map = node;
  else if (!isEmpty(node)) {
    problem(ctx, at, `${path || 'the file'} must be a mapping (key: value lines), got ${describe(node)}`, spec.example ? `write e.g. ${spec.example} on the next line, indented` : 'see conf/pi-agent.example.yaml');
    return undefined;
  }
  const known = Object.keys(spec.fields);
  const seen = new Map<string, Yn>();
  const keyAt = new Map<string, number>();
  for (const pair of map?.items ?? []) {
    const keyNode = pair.key as Yn;
    const key = isScalar(keyNode) ? unmask(String(keyNode.value)) : '';
    const kat = offsetOf(keyNode, at);
    if (extraKeys.includes(key)) continue;
    if (!(key in spec.fields)) {
      const where = path ? ` in ${path}` : '';
      const s = closest(key, known);
      problem(ctx, kat, `unknown key '${key}'${where}`, s ? `did you mean '${s}'?` : known.length ? `known keys here: ${known.join(', ')}` : 'this section takes no keys');
      continue;
    }
    seen.set(key, pair.value as Yn);
    keyAt.set(key, kat);
  }
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(spec.fields)) {
    const kp = path ? `${path}.${key}` : key;
    const valueNode = seen.get(key);
    if (!isEmpty(valueNode)) {
      const v = check(ctx, valueNode, field.spec, kp, keyAt.get(key) ?? at);
      if (v !== undefined) out[key] = v;
      continue;
    }
    // A missing key is reported where its section starts (the section's own key), 1:1 for the file.
    const v = absentValue(ctx, field, kp, keyAt.get(key) ?? fallback);
    if (v !== MISSING && v !== undefined) out[key] = v;
  }
  // Partial on failure, so rules across keys (load.ts crossCheck) still see what was valid.
  return out;
}

const MISSING = Symbol('missing');

/** The value of a key that is absent or empty: its default, nothing, or a "missing" problem. */
function absentValue(ctx: ValidationContext, field: Field, path: string, at: number): unknown {
  const spec = field.spec;
  if (field.required) {
    problem(ctx, at, `missing required key '${path}'`, requiredHint(spec, path));
    return MISSING;
  }
  if (field.default !== undefined) {
    if (spec.kind === 'tagged') return { type: field.default };
    if (typeof field.default !== 'string') return field.default;
    const v = checkText(ctx, field.default, spec, path, at);
    return v === undefined ? MISSING : v;
  }
  // Sections whose keys all have defaults exist even when not written (log, metrics, buffer).
  if (spec.kind === 'object' && Object.values(spec.fields).every((f) => !f.required)) return checkObject(ctx, null, spec, path, at) ?? MISSING;
  return undefined;
}

function requiredHint(spec: Spec, path: string): string {
  const key = path.split('.').pop()!;
  switch (spec.kind) {
    case 'object':
      return `add ${key}: with ${spec.example ?? 'its keys'} under it`;
    case 'tagged':
      return `add ${key}: { type: ${Object.keys(spec.variants).join(' | ')}, ... }`;
    case 'string':
      return `add ${key}: ${spec.example ?? '<value>'}`;
    case 'secret':
      return `add ${key}: \${${spec.envExample}}`;
    case 'list':
      return `add ${key}: [ ... ]`;
    default:
      return scalarHint(spec, path).replace(/^write/, 'add');
  }
}

/** Validates the whole document; the result is meaningful only when ctx.problems is empty. */
export function validateDocument(ctx: ValidationContext, root: ObjectSpec): Record<string, unknown> | undefined {
  return checkObject(ctx, ctx.doc.contents as Yn, root, '', 0) as Record<string, unknown> | undefined;
}

/**
 * Position of a key path in the document, for problems found after conversion: the value's start,
 * or with `key` the key's own start (for problems about a whole section).
 */
export function offsetAt(ctx: ValidationContext, keys: string[], which: 'value' | 'key' = 'value'): number {
  let node: Yn = ctx.doc.contents as Yn;
  let found = 0;
  for (const k of keys) {
    node = deref(ctx, node);
    if (!isMap(node)) break;
    const pair = node.items.find((p) => isScalar(p.key) && unmask(String(p.key.value)) === k);
    if (!pair) break;
    const keyNode = pair.key as Yn;
    const valueNode = deref(ctx, pair.value as Yn);
    found = which === 'key' && k === keys[keys.length - 1] ? offsetOf(keyNode, found) : offsetOf(valueNode, offsetOf(keyNode, found));
    node = valueNode;
  }
  return found;
}

export { problem as addProblem };
