import { parseDuration } from '../../config/values.js';
import { flush as flushBuffer } from '../../service/flush.js';
import type { FlushProgress } from '../../service/upload.js';
import { exitCodeOf } from '../exit.js';
import { UsageError, type Command } from '../command.js';
import { withSession } from '../session.js';

export const flush: Command = {
  name: 'flush',
  summary: 'upload everything buffered now and wait',
  description: `
Seals what the sources have extracted and uploads everything buffered, then exits 0 once all of it
is committed. With the service running, it asks the service (local control endpoint) and waits;
otherwise it does the work itself under the store lock. Exits 3 with the reason when data is still
buffered because the sink is unreachable or --timeout passed; nothing is lost, the service carries
on. Exits 1 when the sink refuses the upload (credentials, permissions).`,
  options: {
    timeout: { type: 'string', arg: 'DURATION', help: 'give up waiting after this long (default 30m)' },
  },
  needsConfig: true,
  async run(values, ctx) {
    const text = typeof values.timeout === 'string' ? values.timeout : '30m';
    const timeoutMs = parseDuration(text);
    if (timeoutMs === undefined) throw new UsageError(`--timeout '${text}' is not a duration (write e.g. 90s, 10m, 1h)`, 'flush');
    return withSession(values, ctx, { logFile: true, console: 'stderr' }, async (s) =>
      exitCodeOf(await flushBuffer(s.config, { ...s.io, timeoutMs, progress: progressPrinter() })),
    );
  },
};

/** A progress line on a terminal; plain lines (one per upload) otherwise. */
function progressPrinter(): (p: FlushProgress) => void {
  const tty = process.stderr.isTTY === true;
  return (p) => {
    const line = `uploaded ${p.units} unit(s), ${p.rows} row(s); ${p.remaining} batch(es) left`;
    if (tty) process.stderr.write(`\r${line}\x1b[K${p.remaining === 0 ? '\n' : ''}`);
    else process.stderr.write(`${line}\n`);
  };
}
