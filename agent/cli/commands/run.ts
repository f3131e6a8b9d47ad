import { runService } from '../../service/run.js';
import { runAgentOnce } from '../../service/once.js';
import { exitCodeOf } from '../exit.js';
import type { Command } from '../command.js';
import { withSession } from '../session.js';

export const run: Command = {
  name: 'run',
  summary: 'run the agent (--once: one cycle, then exit)',
  description: `
Runs the agent: sources on their schedules, the sink loop continuously, until SIGTERM/SIGINT
(service stop). With --once, runs every enabled source once, seals, tries the sink and exits:
0 only if everything was extracted and committed, 3 if data is left in the buffer.
Logs go to log.file of the config, and to the terminal when there is one.
It refuses to start (SITE_TAKEN, exit 1) when another store beat for the same site (and shard) in
pi_agent_status within three heartbeat intervals: two agents would extract everything twice.
--take-over starts anyway, when this agent replaces that one.`,
  options: {
    once: { type: 'boolean', help: 'one cycle of every source, then upload and exit' },
    'take-over': { type: 'boolean', help: 'start even if another agent (store) beat for this site lately: this one replaces it' },
  },
  needsConfig: true,
  async run(values, ctx) {
    const takeOver = values['take-over'] === true;
    return withSession(values, ctx, { logFile: true, console: 'auto' }, async (s) =>
      exitCodeOf(values.once === true ? await runAgentOnce(s.config, s.io, { takeOver }) : await runService(s.config, s.io.logger, s.io.signal, { takeOver })),
    );
  },
};
