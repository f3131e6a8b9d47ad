import { buildStatus } from '../../service/status.js';
import { renderStatus } from '../../observe/status.js';
import type { Command } from '../command.js';
import { EXIT } from '../exit.js';
import { withSession } from '../session.js';

export const status: Command = {
  name: 'status',
  summary: 'show sources, buffer and sink (--json)',
  description: `
Shows each source's lag, last success and last error, what the buffer holds and the state of the
sink. Reads the store only (never the network), so it works whether the service runs or not.
--json prints one JSON object: agent, sources[] (name, lag_seconds, last_success, last_error,
and notes[] where there is more to know, e.g. late data older than the lookback window), buffer
(pending_rows, sealed_batches, bytes) and sink (type, last_commit, state).`,
  options: {
    json: { type: 'boolean', help: 'print the status as one JSON object' },
  },
  needsConfig: true,
  async run(values, ctx) {
    // Read-only and offline: no log file and no secrets, since an operator may run it from a shell
    // without the service's environment, or as another user.
    return withSession(values, ctx, { logFile: false, console: 'stderr', resolveSecrets: false }, async (s) => {
      const report = await buildStatus(s.config);
      s.io.print(values.json === true ? `${JSON.stringify(report)}\n` : renderStatus(report));
      return EXIT.OK;
    });
  },
};
