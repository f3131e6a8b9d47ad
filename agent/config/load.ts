/** YAML file → validated AgentConfig, or a ConfigError listing every problem with its position. */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError } from '../errors.js';
import { insecureDirProblem, insecureFileProblem } from './permissions.js';
import type { AclOptions } from './acl.js';
import type { DpapiOptions } from './dpapi.js';
import { CONFIG_SPEC } from './spec.js';
import type { AgentConfig } from './types.js';
import { validateDocument } from './validate.js';
import { addProblem, offsetAt, type ValidationContext } from './validation-context.js';

export interface LoadOptions {
  /** Where `${VAR}` references are looked up; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Refuse files and directories other users can read (POSIX modes, or Windows ACLs); default true. */
  checkPermissions?: boolean;
  /** How Windows ACLs are read (tests replace PowerShell); default the real thing on Windows. */
  acl?: AclOptions;
  /**
   * Default true. false for commands that never contact PI or the sink (status): secret references
   * are checked for form only and left as empty strings, so an operator's shell, which lacks the
   * service's environment and secret files, can still read the status.
   */
  resolveSecrets?: boolean;
  /** How `dpapi:` secrets are decrypted (tests replace PowerShell); default the real thing on Windows. */
  dpapi?: DpapiOptions;
}

export function loadConfig(file: string, opts: LoadOptions = {}): AgentConfig {
  const checkPermissions = opts.checkPermissions ?? true;
  const acl = opts.acl ?? {};
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : 'cannot be read';
    throw new ConfigError([`${file}: ${why} — pass --config FILE, or start from conf/pi-agent.example.yaml`]);
  }
  if (checkPermissions) {
    const p = insecureFileProblem(file, file, acl);
    if (p) throw new ConfigError([p], 'CONFIG_INSECURE');
  }

  const lc = new LineCounter();
  const doc = parseDocument(maskEnvRefs(text), { lineCounter: lc, keepSourceTokens: true, prettyErrors: false, uniqueKeys: true });
  const ctx: ValidationContext = {
    file,
    doc,
    lc,
    env: opts.env ?? process.env,
    baseDir: dirname(resolve(file)),
    checkPermissions,
    resolveSecrets: opts.resolveSecrets ?? true,
    dpapi: opts.dpapi ?? {},
    acl,
    problems: [],
    warnings: [],
  };
  if (doc.errors.length) {
    for (const e of doc.errors) addProblem(ctx, e.pos[0], `YAML syntax: ${e.message.split('\n')[0]}`, 'check indentation and quoting around this place');
    throw toError(ctx);
  }
  if (doc.contents === null) {
    addProblem(ctx, 0, 'the file is empty', 'start from conf/pi-agent.example.yaml');
    throw toError(ctx);
  }

  const raw = validateDocument(ctx, CONFIG_SPEC);
  if (raw) crossCheck(ctx, raw);
  if (ctx.problems.length || !raw) throw toError(ctx);

  const config = raw as unknown as AgentConfig;
  config.config_file = resolve(file);
  if (!config.log.file) config.log.file = join(config.state_dir, 'logs', 'pi-agent.log');
  config.warnings = ctx.warnings.sort((a, b) => a.offset - b.offset).map((w) => w.text);

  if (checkPermissions) {
    const p = insecureDirProblem(config.state_dir, acl);
    if (p) throw new ConfigError([p], 'CONFIG_INSECURE');
  }
  return config;
}

/** Rules that involve more than one key. */
function crossCheck(ctx: ValidationContext, raw: Record<string, unknown>): void {
  const ts = raw.timeseries as { shards?: { count: number; index: number } } | undefined;
  // `raw` may be partial (other problems were found): compare only values that are present.
  if (ts?.shards && typeof ts.shards.index === 'number' && typeof ts.shards.count === 'number' && ts.shards.index >= ts.shards.count) {
    addProblem(
      ctx,
      offsetAt(ctx, ['timeseries', 'shards', 'index']),
      `timeseries.shards.index is ${ts.shards.index} but count is ${ts.shards.count}`,
      `write an index from 0 to ${ts.shards.count - 1}`,
    );
  }
  // Keys as written (a value that failed its own check is already a problem).
  const written = (k: string) => ctx.doc.hasIn(['sink', 'proxy', k]);
  if ((raw.sink as { proxy?: unknown } | undefined)?.proxy && written('username') !== written('password')) {
    addProblem(
      ctx,
      offsetAt(ctx, ['sink', 'proxy'], 'key'),
      'sink.proxy needs both username and password, or neither',
      'write username: and password: ${PROXY_PASSWORD} under proxy:',
    );
  }
  const tags = raw.tags as unknown[] | undefined;
  if (ts && (!ctx.doc.has('tags') || (Array.isArray(tags) && tags.length === 0))) {
    addProblem(
      ctx,
      offsetAt(ctx, ['timeseries'], 'key'),
      'timeseries is configured but no tags are selected',
      "add a tags: list, e.g. tags: [{ dataserver: PISRV01, name_filter: '*' }]",
    );
  }
}

/**
 * `{ password: ${PI_PASSWORD} }` (the form design.md documents) is not valid YAML: `{` and `}` are
 * flow indicators. References are swapped for a same-length, YAML-neutral spelling before parsing
 * (so line and column stay exact) and swapped back when values are read (validation-context.ts `unmask`).
 */
function maskEnvRefs(text: string): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => `$\u00ab${name}\u00bb`);
}

function toError(ctx: ValidationContext): ConfigError {
  const sorted = ctx.problems.sort((a, b) => a.offset - b.offset);
  const insecureOnly = sorted.every((p) => p.insecure);
  return new ConfigError(
    sorted.map((p) => p.text),
    insecureOnly ? 'CONFIG_INSECURE' : 'CONFIG_INVALID',
  );
}
