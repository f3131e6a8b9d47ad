/**
 * What the CLI asks of the service layer: one function per command. Each takes the validated config and the command's options,
 * and resolves to an exit code (see agent/cli/exit.ts) or, for status, the report. Failures are
 * thrown as AgentError (the CLI prints `pi-agent: CODE: message`, exit 1).
 */
import type { AgentConfig } from '../config/types.js';
import { mkdirSync } from 'node:fs';
import { EXIT } from '../cli/exit.js';
import type { Logger } from '../observe/log.js';
import type { StatusReport } from '../observe/status.js';
import { backfill, buildStatus, check, flush, reset } from './commands.js';
import { openAgent, runOnce } from './cycle.js';
import { runService } from './run.js';

export interface CommandIo {
  /** The command's logger (file + console as decided by the CLI); secrets already redacted. */
  logger: Logger;
  /** Writes text for the operator to stdout (SQL, check results); add the newline yourself. */
  print: (text: string) => void;
  /** Aborted on SIGINT/SIGTERM: finish or abandon in-flight work safely, then resolve. */
  signal: AbortSignal;
}

export interface RunOptions extends CommandIo {
  /** Run every enabled source once, seal, try the sink, exit (design.md "Contracts"). */
  once: boolean;
}

export interface StatusOptions extends CommandIo {}

export interface FlushOptions extends CommandIo {
  /** Give up after this many milliseconds (exit 3 with what is still buffered). */
  timeoutMs: number;
}

export interface CheckOptions extends CommandIo {
  /** Contact PI Web API (authenticate, read one tag). */
  pi: boolean;
  /** Contact the sink (directory writable / Databricks session, catalog objects present). */
  sink: boolean;
}

export interface BackfillOptions extends CommandIo {
  /** Tag paths (`\\SERVER\TAG`); empty = every selected tag. */
  tags: string[];
  /** ISO 8601 UTC, inclusive. */
  start: string;
  /** ISO 8601 UTC, exclusive. */
  end: string;
}

export type ResettableSource = 'tags' | 'timeseries' | 'af' | 'event_frames';

export interface ResetOptions extends CommandIo {
  source: ResettableSource;
  /** Tag paths to rewind (timeseries only); empty = all. */
  tags: string[];
  /** ISO 8601 UTC to rewind to; undefined = the configured start. */
  to?: string;
}

export interface SetupOptions extends CommandIo {
  /** Print the DDL for an administrator instead of executing it. */
  printSql: boolean;
}

function progressPrinter(): ((p: { units: number; rows: number; remaining: number }) => void) | undefined {
  // A progress line on a terminal; plain lines (one per upload) otherwise.
  const tty = process.stderr.isTTY === true;
  return (p) => {
    const line = `uploaded ${p.units} unit(s), ${p.rows} row(s); ${p.remaining} batch(es) left`;
    if (tty) process.stderr.write(`\r${line}\x1b[K${p.remaining === 0 ? '\n' : ''}`);
    else process.stderr.write(`${line}\n`);
  };
}

export async function runAgent(config: AgentConfig, options: RunOptions): Promise<number> {
  if (!options.once) return runService(config, options.logger, options.signal);
  const agent = await openAgent(config, options.logger);
  try {
    const r = await runOnce(agent, options.signal);
    if (options.signal.aborted) return EXIT.INTERRUPTED;
    for (const p of r.problems) options.print(`pi-agent: ${p}\n`);
    return r.ok ? EXIT.OK : EXIT.PARTIAL;
  } finally {
    await agent.close();
  }
}

export async function agentStatus(config: AgentConfig, options: StatusOptions): Promise<StatusReport> {
  void options;
  return buildStatus(config);
}

export async function flushAgent(config: AgentConfig, options: FlushOptions): Promise<number> {
  const progress = progressPrinter();
  return flush(config, { ...options, ...(progress ? { progress } : {}) });
}

export async function checkAgent(config: AgentConfig, options: CheckOptions): Promise<number> {
  return check(config, options);
}

export async function backfillTags(config: AgentConfig, options: BackfillOptions): Promise<number> {
  return backfill(config, options);
}

export async function resetProgress(config: AgentConfig, options: ResetOptions): Promise<number> {
  const io: Parameters<typeof reset>[1] = { print: options.print, source: options.source, tags: options.tags };
  if (options.to !== undefined) io.to = options.to;
  return reset(config, io);
}

export async function setupSink(config: AgentConfig, options: SetupOptions): Promise<number> {
  if (config.sink.type === 'directory') {
    mkdirSync(config.sink.path, { recursive: true });
    options.print(options.printSql ? '-- the directory sink needs no SQL\n' : `directory sink ready: ${config.sink.path}\n`);
    return EXIT.OK;
  }
  const { DatabricksSink } = await import('../sinks/databricks.js');
  const sink = await DatabricksSink.fromConfig(config, options.logger);
  try {
    if (options.printSql) {
      options.print(`${sink.setupSql().map((s) => `${s.trim()};`).join('\n\n')}\n`);
      return EXIT.OK;
    }
    await sink.prepare();
    options.print(`Databricks objects ready: ${config.sink.catalog}.${config.sink.schema}, volume ${config.sink.volume}, tables\n`);
    return EXIT.OK;
  } finally {
    await sink.close();
  }
}
