#!/usr/bin/env node
/**
 * pi-agent command line: parses arguments, dispatches to agent/cli/commands/<name>.ts and turns
 * failures into one readable line and an exit code (exit.ts). Never a stack trace on the terminal:
 * AgentError → `pi-agent: CODE: message`; anything else → a short message and the log file path.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AgentError, ConfigError } from '../errors.js';
import { tuneHeap } from '../service/heap.js';
import { VERSION } from '../version.js';
import { commandHelp, parseCommandArgs, UsageError, type CliContext, type Command } from './command.js';
import { backfill } from './commands/backfill.js';
import { check } from './commands/check.js';
import { flush } from './commands/flush.js';
import { reset } from './commands/reset.js';
import { run } from './commands/run.js';
import { setup } from './commands/setup.js';
import { status } from './commands/status.js';
import { version } from './commands/version.js';
import { EXIT, EXIT_CODES_HELP } from './exit.js';

export const COMMANDS: readonly Command[] = [run, status, flush, check, backfill, reset, setup, version];

export function globalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `pi-agent ${VERSION}: moves PI System data into Databricks, exactly once.

Usage: pi-agent <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Options:
  -c, --config FILE  the YAML config (default $PI_AGENT_CONFIG, else ./pi-agent.yaml)
  -h, --help         help (pi-agent <command> --help for a command's options)
      --version      print the version

${EXIT_CODES_HELP}
`;
}

/** Runs the command line `argv` (without node and script) and resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const ctx: CliContext = {};
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === '--help' || name === '-h') {
      process.stdout.write(globalHelp());
      return name === undefined ? EXIT.USAGE : EXIT.OK;
    }
    if (name === '--version') return await version.run({}, ctx);
    if (name === 'help') {
      const target = rest[0] === undefined ? undefined : findCommand(rest[0]);
      process.stdout.write(target ? commandHelp(target) : globalHelp());
      return EXIT.OK;
    }
    const cmd = findCommand(name);
    const values = parseCommandArgs(cmd, rest);
    if (values.help === true) {
      process.stdout.write(commandHelp(cmd));
      return EXIT.OK;
    }
    return await cmd.run(values, ctx);
  } catch (err) {
    return reportFailure(err, ctx);
  }
}

function findCommand(name: string): Command {
  const cmd = COMMANDS.find((c) => c.name === name);
  if (cmd) return cmd;
  if (name.startsWith('-')) throw new UsageError(`expected a command before '${name}'`);
  throw new UsageError(`unknown command '${name}'`);
}

/** Prints one failure for an operator and returns its exit code. */
export function reportFailure(err: unknown, ctx: CliContext): number {
  const redact = ctx.redact ?? ((t: string) => t);
  const say = (text: string): void => {
    process.stderr.write(`${redact(text)}\n`);
  };
  if (err instanceof UsageError) {
    say(`pi-agent: ${err.message}`);
    say(`Run 'pi-agent ${err.command ? `${err.command} ` : ''}--help' for usage.`);
    return EXIT.USAGE;
  }
  if (err instanceof ConfigError) {
    const n = err.problems.length;
    say(`pi-agent: ${err.code}: ${n === 1 ? 'a problem' : `${n} problems`} in the config${err.code === 'CONFIG_INSECURE' ? ' (permissions)' : ''}:`);
    for (const p of err.problems) say(p);
    return EXIT.USAGE;
  }
  if (err instanceof AgentError) {
    say(`pi-agent: ${err.code}: ${err.message}`);
    // A config that cannot be used is the operator's to fix, as exit.ts promises: nothing was attempted.
    return err.code === 'CONFIG_INVALID' || err.code === 'CONFIG_INSECURE' ? EXIT.USAGE : EXIT.FAILURE;
  }
  const msg = err instanceof Error ? err.message : String(err);
  say(`pi-agent: unexpected error: ${msg}`);
  say(ctx.logFile ? `Details (stack trace) are in ${ctx.logFile}` : 'This is a bug: please report it with the command you ran.');
  return EXIT.FAILURE;
}

/** Defined only in the single-binary bundle (scripts/build-binary.ts), whose entry this always is. */
declare const PI_AGENT_VERSION: string | undefined;

function isEntryPoint(): boolean {
  if (typeof PI_AGENT_VERSION === 'string') return true;
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

// Imported by tests and the single-binary bundle without running; executed as the `bin`.
if (isEntryPoint()) {
  tuneHeap();
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.exitCode = reportFailure(err, {});
    },
  );
}
