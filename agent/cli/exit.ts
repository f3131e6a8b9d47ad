import type { Outcome } from '../service/outcome.js';

/** Exit codes of every command; scripts and service managers rely on them. */
export const EXIT = {
  /** Everything asked for was done. */
  OK: 0,
  /** It failed (PI or sink unreachable, store error...): the message says why. */
  FAILURE: 1,
  /** Bad command line or bad/insecure config: nothing was attempted. */
  USAGE: 2,
  /** It ran but did not finish: data left in the buffer, backpressure, a source failed, timeout. */
  PARTIAL: 3,
  /** Interrupted (SIGINT/SIGTERM) before it finished; nothing is lost. */
  INTERRUPTED: 130,
} as const;

export const EXIT_CODES_HELP = `Exit codes:
  0    ok: everything asked for was done
  1    failure (the message says why)
  2    usage or config error: nothing was attempted
  3    partial: ran but did not finish (data still buffered, a source failed, timeout)
  130  interrupted; nothing is lost, the next run continues`;

/** The exit code of a command's outcome. */
export function exitCodeOf(outcome: Outcome): number {
  switch (outcome) {
    case 'ok':
      return EXIT.OK;
    case 'failed':
      return EXIT.FAILURE;
    case 'partial':
      return EXIT.PARTIAL;
    case 'interrupted':
      return EXIT.INTERRUPTED;
  }
}
