import { parseDuration } from '../../config/values.js';
import { flushAgent } from '../../service/api.js';
import { UsageError, type Command } from '../command.js';
import { withSession } from '../session.js';

export const flush: Command = {
  name: 'flush',
  summary: 'upload everything buffered now and wait',
  description: `
Seals what the sources have extracted and uploads everything buffered, then exits 0 once all of it
is committed. With the service running, it asks the service (local control endpoint) and waits;
otherwise it does the work itself under the store lock. Exits 3 with the reason when data is still
buffered at --timeout (sink unreachable, for example); nothing is lost, the service carries on.`,
  options: {
    timeout: { type: 'string', arg: 'DURATION', help: 'give up waiting after this long (default 30m)' },
  },
  needsConfig: true,
  async run(values, ctx) {
    const text = typeof values.timeout === 'string' ? values.timeout : '30m';
    const timeoutMs = parseDuration(text);
    if (timeoutMs === undefined) throw new UsageError(`--timeout '${text}' is not a duration (write e.g. 90s, 10m, 1h)`, 'flush');
    return withSession(values, ctx, { logFile: true, console: 'stderr' }, (s) => flushAgent(s.config, { ...s.io, timeoutMs }));
  },
};
