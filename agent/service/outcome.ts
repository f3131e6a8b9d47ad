/**
 * How a command ended, as the service sees it; the CLI turns it into an exit code (cli/exit.ts),
 * so nothing below the CLI knows about processes.
 */
import type { Logger } from '../observe/log.js';

export type Outcome =
  /** Everything asked for was done. */
  | 'ok'
  /** It failed; a message said why. */
  | 'failed'
  /** It ran but did not finish: data left in the buffer, a source failed, a timeout. */
  | 'partial'
  /** Stopped by a signal before it finished; nothing is lost. */
  | 'interrupted';

/** What the service layer asks of the command line: a logger, a way to print, a stop signal. */
export interface CommandIo {
  /** The command's logger (file + console as decided by the CLI); secrets already redacted. */
  logger: Logger;
  /** Writes text for the operator to stdout (SQL, check results); add the newline yourself. */
  print: (text: string) => void;
  /** Aborted on SIGINT/SIGTERM: finish or abandon in-flight work safely, then resolve. */
  signal: AbortSignal;
}
