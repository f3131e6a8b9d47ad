/**
 * The agent's logger: pino JSON lines to a size-rotated file in the state directory, and a short
 * human line on the console when someone is watching. Secrets are removed twice: pino `redact`
 * blanks known credential fields, and every line passes through the config's value redactor, so a
 * secret that slipped into a message or an error text is still replaced by `***`.
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { redactor } from '../config/redact.js';
import type { AgentConfig, LogLevel } from '../config/types.js';
import { describeError } from '../errors.js';
import { RotatingFile } from './rotating-file.js';

export type Logger = PinoLogger;

export interface LoggerOptions {
  /** Write to the log file of the config (default true). Falls back to console only if it cannot be opened. */
  file?: boolean;
  /**
   * Console output: 'auto' (default) = everything on stdout when it is a terminal, else warnings and
   * worse on stderr; 'stderr' = warnings and worse on stderr; false = none.
   */
  console?: 'auto' | boolean | 'stderr';
  /** Overrides config.log.level. */
  level?: LogLevel;
}

/** Field paths blanked by pino before serialisation (credentials in objects passed to the logger). */
export const REDACT_PATHS = [
  'password',
  'token',
  'client_secret',
  'authorization',
  '*.password',
  '*.token',
  '*.client_secret',
  '*.authorization',
  '*.*.password',
  '*.*.token',
  '*.*.client_secret',
  'headers.authorization',
  '*.headers.authorization',
  'headers.cookie',
  '*.headers.cookie',
];

export interface AgentLogger {
  logger: Logger;
  /** Same file, no console: for what the console already shows in another form (a command's failure line). */
  fileLogger?: Logger;
  /** Absolute path of the log file, when one is written. */
  file?: string;
  close(): void;
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const PINO_KEYS = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'site']);

/** One JSON log line → `15:04:05 WARN message key=value ...` for a terminal. */
export function formatConsoleLine(line: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const t = typeof o.time === 'number' ? new Date(o.time).toISOString().slice(11, 19) : '';
  const lvl = LEVEL_NAMES[o.level as number] ?? String(o.level);
  const extra = Object.entries(o)
    .filter(([k]) => !PINO_KEYS.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : k === 'err' ? consoleError(v) : JSON.stringify(v)}`)
    .join(' ');
  return `${t} ${lvl.padEnd(5)} ${String(o.msg ?? '')}${extra ? ` ${extra}` : ''}\n`;
}

// The console shows what failed; the stack stays in the file.
function consoleError(v: unknown): string {
  const e = v as { code?: unknown; message?: unknown };
  return e && typeof e === 'object' ? `${e.code ? `${String(e.code)}: ` : ''}${String(e.message ?? '')}` : JSON.stringify(v);
}

export function createLogger(config: AgentConfig, opts: LoggerOptions = {}): AgentLogger {
  const redact = redactor(config);
  let file: RotatingFile | undefined;
  let fileError: unknown;
  if (opts.file ?? true) {
    try {
      file = new RotatingFile(config.log.file, config.log.max_size, config.log.max_files);
    } catch (err) {
      fileError = err;
    }
  }
  const consoleMode = opts.console ?? 'auto';
  const toStdout = consoleMode === true || (consoleMode === 'auto' && process.stdout.isTTY === true);
  // Without a file, problems still need to reach someone.
  // Without a terminal (a service), warnings and errors still go to stderr: journald / the service log.
  const toStderr = !toStdout && consoleMode !== false;

  const stream: DestinationStream = {
    write(line: string) {
      const clean = redact(line);
      file?.write(clean);
      if (toStdout) process.stdout.write(formatConsoleLine(clean));
      else if (toStderr && /"level":(4|5|6)0/.test(clean)) process.stderr.write(formatConsoleLine(clean));
    },
  };
  const options = {
    level: opts.level ?? config.log.level,
    base: { pid: process.pid, site: config.site },
    redact: { paths: REDACT_PATHS, censor: '***' },
    serializers: { err: errorSerializer },
  };
  const logger = pino(options, stream);
  const fileLogger = file ? pino(options, { write: (line: string) => file.write(redact(line)) }) : undefined;
  if (fileError) logger.warn({ file: config.log.file, reason: describeError(fileError) }, 'cannot write the log file; logging to the console only');
  return { logger, ...(fileLogger ? { fileLogger } : {}), file: file?.file, close: () => file?.close() };
}

/** Errors keep their code, message, stack (for the file) and a one-line cause. */
function errorSerializer(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const o: Record<string, unknown> = { type: err.name, message: err.message };
  const code = (err as { code?: unknown }).code;
  if (code !== undefined) o.code = code;
  o.stack = err.stack;
  if (err.cause !== undefined) o.cause = describeError(err.cause);
  return o;
}

/** A logger for when no config could be loaded (errors go to stderr only). */
export function bareLogger(level: LogLevel = 'warn'): Logger {
  return pino({ level }, { write: (line: string) => process.stderr.write(formatConsoleLine(line)) });
}
