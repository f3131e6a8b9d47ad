/** What a command declares (options, help) and how its arguments are parsed (node:util parseArgs). */
import { parseArgs } from 'node:util';
import { EXIT_CODES_HELP } from './exit.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Placeholder shown in help, e.g. FILE, TIME. */
  arg?: string;
  help: string;
}

export type OptionValues = Record<string, string | boolean | string[] | boolean[] | undefined>;

export interface Command {
  name: string;
  /** One line for the global help. */
  summary: string;
  /** Paragraph(s) under the usage line of `pi-agent NAME --help`. */
  description: string;
  /** Options besides --config and --help. */
  options: Record<string, OptionSpec>;
  /** false for commands that need no config (version). */
  needsConfig: boolean;
  run(values: OptionValues, ctx: CliContext): Promise<number>;
}

/** State the dispatcher needs when a command fails (set once the command has a config and logger). */
export interface CliContext {
  /** Path of the log file the command writes, mentioned for unexpected errors. */
  logFile?: string;
  /** Redacts secrets from an error message. */
  redact?: (text: string) => string;
}

/** A mistake on the command line: printed with a pointer to --help, exit 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export const DEFAULT_CONFIG = './pi-agent.yaml';

/** `--tag PATH` (repeatable) or `--all`, exactly one of the two: the paths, empty for all. */
export function tagsOrAll(values: OptionValues, command: string, missing: string): string[] {
  const tags = (values.tag as string[] | undefined) ?? [];
  if (tags.length && values.all === true) throw new UsageError('use either --tag or --all, not both', command);
  if (!tags.length && values.all !== true) throw new UsageError(missing, command);
  return tags;
}

export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  config: { type: 'string', short: 'c', arg: 'FILE', help: `the YAML config (default $PI_AGENT_CONFIG, else ${DEFAULT_CONFIG})` },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

export function parseCommandArgs(cmd: Command, args: string[]): OptionValues {
  const all: Record<string, OptionSpec | undefined> = { ...COMMON_OPTIONS, ...(cmd.needsConfig ? {} : { config: undefined }), ...cmd.options };
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, o] of Object.entries(all)) {
    if (!o) continue;
    options[name] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) };
  }
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`, cmd.name);
    return values as OptionValues;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    // parseArgs messages are already specific ("Unknown option '--foo'..."); keep the first sentence.
    const msg = (err as Error).message.split('. ')[0]!.replace(/\.$/, '');
    throw new UsageError(msg.charAt(0).toLowerCase() + msg.slice(1), cmd.name);
  }
}

export function configPath(values: OptionValues, env: NodeJS.ProcessEnv = process.env): string {
  const v = values.config;
  return typeof v === 'string' && v ? v : env.PI_AGENT_CONFIG || DEFAULT_CONFIG;
}

export function commandHelp(cmd: Command): string {
  const all = { ...cmd.options, ...(cmd.needsConfig ? COMMON_OPTIONS : { help: COMMON_OPTIONS.help! }) };
  const rows = Object.entries(all).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.arg ? ` ${o.arg}` : ''}`;
    return [flag, o.help + (o.multiple ? ' (repeatable)' : '')] as const;
  });
  const width = Math.max(...rows.map(([f]) => f.length));
  const opts = rows.map(([f, h]) => `  ${f.padEnd(width)}  ${h}`).join('\n');
  return `Usage: pi-agent ${cmd.name} [options]

${cmd.description.trim()}

Options:
${opts}

${EXIT_CODES_HELP}
`;
}
