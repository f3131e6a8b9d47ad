/** What every config-using command does first: load the config, open the logger, wire signals. */
import { AgentError } from '../errors.js';
import { loadConfig } from '../config/load.js';
import { redactor } from '../config/redact.js';
import type { AgentConfig } from '../config/types.js';
import { createLogger, type AgentLogger, type LoggerOptions } from '../observe/log.js';
import type { CommandIo } from '../service/outcome.js';
import { configPath, type CliContext, type OptionValues } from './command.js';

export interface Session {
  config: AgentConfig;
  log: AgentLogger;
  io: CommandIo;
  /** Removes signal handlers and closes the log file. */
  close(): void;
}

export interface SessionOptions {
  /** Write the log file (false for read-only commands such as status). */
  logFile: boolean;
  console: LoggerOptions['console'];
  /** false: leave secret references unresolved (see LoadOptions.resolveSecrets). Default true. */
  resolveSecrets?: boolean;
}

/** Loads and validates the config (a ConfigError propagates: exit 2), then opens the logger. */
export function openSession(values: OptionValues, ctx: CliContext, opts: SessionOptions): Session {
  const config = loadConfig(configPath(values), { resolveSecrets: opts.resolveSecrets ?? true });
  const redact = redactor(config);
  ctx.redact = redact;
  for (const w of config.warnings) process.stderr.write(`pi-agent: warning: ${w}\n`);

  const log = createLogger(config, { file: opts.logFile, console: opts.console });
  ctx.logFile = log.file;
  for (const w of config.warnings) log.fileLogger?.warn(w); // the console got them above

  // First signal: ask the work to stop cleanly. Second: leave now (the store is crash-safe).
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(130);
    log.logger.info({ signal: sig }, 'stopping');
    controller.abort(new Error(`received ${sig}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  return {
    config,
    log,
    io: { logger: log.logger, print: (text) => process.stdout.write(redact(text)), signal: controller.signal },
    close() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      log.close();
    },
  };
}

/** Runs `body` inside a session and always closes it. */
export async function withSession<T>(values: OptionValues, ctx: CliContext, opts: SessionOptions, body: (s: Session) => Promise<T>): Promise<T> {
  const session = openSession(values, ctx, opts);
  try {
    return await body(session);
  } catch (err) {
    // The file gets the whole error (stack included); the terminal gets one line from main.ts.
    // The console gets main.ts's one line; logging there too would print it twice.
    session.log.fileLogger?.error({ err }, err instanceof AgentError ? 'command failed' : 'unexpected error');
    throw err;
  } finally {
    session.close();
  }
}
