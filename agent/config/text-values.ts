/**
 * Text values by spec kind: each kind's conversion of the text the operator wrote (or a default)
 * into its value — an enum member, milliseconds, bytes, a checked URL, an absolute path — and the
 * hint that shows how to write it.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Spec } from './fields.js';
import { closest } from './suggest.js';
import { addProblem, warn, type ValidationContext } from './validation-context.js';
import { cronProblem, parseDuration, parseSize, parseTimestamp } from './values.js';

type SpecOf<K extends Spec['kind']> = Extract<Spec, { kind: K }>;

/** Converts `text` for a spec of kind K; returns undefined after recording a problem. */
type TextCheck<K extends Spec['kind']> = (ctx: ValidationContext, text: string, spec: SpecOf<K>, path: string, at: number) => unknown;

export function scalarHint(spec: Spec, path: string): string {
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

const checkString: TextCheck<'string'> = (ctx, text, spec, path, at) => {
  if (spec.pattern && !spec.pattern.test(text)) {
    addProblem(ctx, at, `${path}: '${text}' is not allowed`, spec.hint ? `use ${spec.hint}` : `write a non-empty value${spec.example ? `, e.g. ${spec.example}` : ''}`);
    return undefined;
  }
  if (spec.maxLength && text.length > spec.maxLength) {
    addProblem(ctx, at, `${path} is ${text.length} characters long`, `use at most ${spec.maxLength}`);
    return undefined;
  }
  return text;
};

const checkEnum: TextCheck<'enum'> = (ctx, text, spec, path, at) => {
  if (!spec.values.includes(text)) {
    const s = closest(text, spec.values);
    addProblem(ctx, at, `${path}: '${text}' is not one of ${spec.values.join(', ')}`, s ? `did you mean '${s}'?` : `write one of ${spec.values.join(', ')}`);
    return undefined;
  }
  return text;
};

const checkDuration: TextCheck<'duration'> = (ctx, text, spec, path, at) => {
  if (spec.keywords?.includes(text)) return text;
  const ms = parseDuration(text);
  if (ms === undefined) {
    addProblem(ctx, at, `${path}: '${text}' is not a duration`, scalarHint(spec, path));
    return undefined;
  }
  return ms;
};

const checkSize: TextCheck<'size'> = (ctx, text, spec, path, at) => {
  const bytes = parseSize(text);
  if (bytes === undefined) {
    addProblem(ctx, at, `${path}: '${text}' is not a size`, `write a size such as ${spec.example}`);
    return undefined;
  }
  return bytes;
};

const checkCron: TextCheck<'cron'> = (ctx, text, spec, path, at) => {
  const why = cronProblem(text);
  if (why) {
    addProblem(ctx, at, `${path}: '${text}' is not a valid cron expression (${why})`, scalarHint(spec, path));
    return undefined;
  }
  return text;
};

const checkTimestamp: TextCheck<'timestamp'> = (ctx, text, spec, path, at) => {
  const iso = parseTimestamp(text);
  if (!iso) {
    addProblem(ctx, at, `${path}: '${text}' is not an ISO 8601 time with a zone`, scalarHint(spec, path));
    return undefined;
  }
  return iso;
};

function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
}

const checkUrl: TextCheck<'url'> = (ctx, text, spec, path, at) => {
  if (spec.proxy) return checkProxyUrl(ctx, text, path, at);
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    addProblem(ctx, at, `${path}: '${text}' is not a URL`, scalarHint(spec, path));
    return undefined;
  }
  if (u.protocol === 'http:') {
    if (!isLoopback(u.hostname)) {
      addProblem(ctx, at, `${path}: plain http:// to ${u.hostname} would send credentials and data unencrypted`, `use https://${u.host}${u.pathname}`);
      return undefined;
    }
    warn(ctx, at, `${path} uses plain http:// (allowed only because ${u.hostname} is this machine)`);
  } else if (u.protocol !== 'https:') {
    addProblem(ctx, at, `${path}: unsupported scheme ${u.protocol}`, 'use an https:// URL');
    return undefined;
  }
  if (u.username || u.password) {
    addProblem(ctx, at, `${path} contains credentials`, 'remove them from the URL and use the auth section');
    return undefined;
  }
  return text.replace(/\/+$/, '');
};

/**
 * An HTTP proxy: `http://host[:port]`. The value is never echoed (it may hold a password); a login
 * inside the URL is refused, since it would sit in the file in clear: it goes in username/password.
 */
function checkProxyUrl(ctx: ValidationContext, text: string, path: string, at: number): string | undefined {
  const key = path.split('.').pop()!;
  const example = `${key}: http://proxy.plant.local:3128`;
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    addProblem(ctx, at, `${path} is not a URL`, `write e.g. ${example}`);
    return undefined;
  }
  if (u.username || u.password) {
    addProblem(
      ctx,
      at,
      `${path} has a login inside the URL, in clear`,
      `write the URL alone and the login as username: and password: \${PROXY_PASSWORD} under ${key}: (README "Proxy")`,
    );
    return undefined;
  }
  if (u.protocol !== 'http:') {
    addProblem(ctx, at, `${path}: proxies are reached with http:// (CONNECT), got ${u.protocol}//`, `write e.g. ${example}; TLS to Databricks runs inside the tunnel`);
    return undefined;
  }
  if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.hash) {
    addProblem(ctx, at, `${path} must be http://host:port, without a path`, `write e.g. ${example}`);
    return undefined;
  }
  return `http://${u.host}`;
}

const checkPath: TextCheck<'path'> = (ctx, text, spec, path, at) => {
  if (!text.trim()) {
    addProblem(ctx, at, `${path} is empty`, 'write a path');
    return undefined;
  }
  const abs = isAbsolute(text) ? text : resolve(ctx.baseDir, text);
  if (spec.mustExist) {
    try {
      readFileSync(abs);
    } catch {
      addProblem(ctx, at, `${path}: cannot read ${abs}`, 'check the path (relative paths start at the config file directory)');
      return undefined;
    }
  }
  return abs;
};

const checkPiPath: TextCheck<'pipath'> = (ctx, text, spec, path, at) => {
  if (!/^\\\\[^\\]+\\.+/.test(text)) {
    addProblem(ctx, at, `${path}: '${text}' is not a PI/AF path`, `write it in single quotes, e.g. '${spec.example}'`);
    return undefined;
  }
  return text;
};

const TEXT_CHECKS: { [K in Spec['kind']]?: TextCheck<K> } = {
  string: checkString,
  enum: checkEnum,
  duration: checkDuration,
  size: checkSize,
  cron: checkCron,
  timestamp: checkTimestamp,
  url: checkUrl,
  path: checkPath,
  pipath: checkPiPath,
};

/** Checks and converts a text value (also used for defaults, with the position of the owning map). */
export function checkText(ctx: ValidationContext, text: string, spec: Spec, path: string, at: number): unknown {
  const convert = TEXT_CHECKS[spec.kind] as TextCheck<Spec['kind']> | undefined;
  if (!convert) {
    addProblem(ctx, at, `${path} has an unexpected value`, 'see conf/pi-agent.example.yaml');
    return undefined;
  }
  return convert(ctx, text, spec, path, at);
}
